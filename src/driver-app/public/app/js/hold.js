// @ts-check
/**
 * Hold-to-send: the button acts only when held for `ms` (pointer, or Space/Enter held down), so
 * a tap or a pocket cannot send. Clicks are ignored altogether.
 */

/**
 * @param {HTMLElement} el
 * @param {{
 *   ms: number,
 *   onStart(): void,
 *   onStep(step: number): void,
 *   onShort(): void,
 *   onComplete(): void,
 * }} o
 */
export function holdToSend(el, o) {
  /** @type {ReturnType<typeof setTimeout>[]} */
  let timers = [];
  let holding = false;
  const clear = () => {
    for (const t of timers) clearTimeout(t);
    timers = [];
  };
  const begin = () => {
    if (holding) return;
    holding = true;
    o.onStart();
    o.onStep(1);
    timers.push(setTimeout(() => o.onStep(2), o.ms / 3));
    timers.push(setTimeout(() => o.onStep(3), (2 * o.ms) / 3));
    timers.push(
      setTimeout(() => {
        holding = false;
        clear();
        o.onComplete();
      }, o.ms),
    );
  };
  const end = () => {
    if (!holding) return;
    holding = false;
    clear();
    o.onShort();
  };
  const isKey = (/** @type {KeyboardEvent} */ e) => e.key === ' ' || e.key === 'Enter';

  el.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    // No el.focus() here: focus given by script after a tap would draw the keyboard's focus ring.
    try {
      el.setPointerCapture(e.pointerId);
    } catch {
      /* a synthetic pointer */
    }
    begin();
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) el.addEventListener(type, end);
  el.addEventListener('keydown', (e) => {
    if (!isKey(e)) return;
    e.preventDefault();
    if (!e.repeat) begin();
  });
  el.addEventListener('keyup', (e) => {
    if (!isKey(e)) return;
    e.preventDefault();
    end();
  });
  el.addEventListener('blur', end);
  el.addEventListener('contextmenu', (e) => e.preventDefault());
  el.addEventListener('click', (e) => e.preventDefault());
}
