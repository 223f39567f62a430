// @ts-check
/**
 * The app's words come from Mayday's catalogue (src/i18n/<lang>/app.ts), served as JSON at
 * /app/messages/<lang>.json and kept by the service worker for offline use.
 */

export const LANGUAGES = /** @type {const} */ (['en', 'es']);
/** @typedef {'en' | 'es'} Language */

/** @type {Record<string, any>} */
let messages = {};
/** @type {Language} */
let current = 'en';

export const language = () => current;

/** @param {unknown} x @returns {x is Language} */
export const isLanguage = (x) => x === 'en' || x === 'es';

/** The browser's language when it is one of ours, else English. */
export const browserLanguage = () => (navigator.languages ?? [navigator.language]).map((l) => l.slice(0, 2).toLowerCase()).find(isLanguage) ?? 'en';

/** @param {Language} lang */
export async function load(lang) {
  const res = await fetch(`/app/messages/${lang}.json`);
  if (!res.ok) throw new Error(`messages ${lang}: ${res.status}`);
  messages = await res.json();
  current = lang;
  document.documentElement.lang = lang;
  apply(document);
}

/**
 * The text at `key` ("sos.hold") with its {placeholders} filled in.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function t(key, params = {}) {
  /** @type {any} */
  let node = messages;
  for (const part of key.split('.')) node = node?.[part];
  if (typeof node !== 'string') return key;
  return node.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

/** Fills every [data-t] (text) and [data-t-label] (aria-label) under root. */
export function apply(/** @type {ParentNode} */ root) {
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(/** @type {HTMLElement} */ (el).dataset.t ?? '');
  for (const el of root.querySelectorAll('[data-t-label]')) el.setAttribute('aria-label', t(/** @type {HTMLElement} */ (el).dataset.tLabel ?? ''));
}

/** "0:12", "3:05", "1:02:03": how long ago, ticking by the second. */
export function age(/** @type {number} */ ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
