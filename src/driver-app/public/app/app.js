// @ts-check
/**
 * The driver app: enrollment from a link, the SOS held for a second, what Mayday is doing while
 * the incident is open, check-ins, details, cancel with the PIN, and an SOS kept on the phone and
 * retried with the same clientRequestId until it is stored. Plain modules, no build step.
 */
import { call, onSignedOut, Unreachable, useToken } from './js/api.js';
import { distanceM, geoState, lastFix, onFix, watch } from './js/geo.js';
import { holdToSend } from './js/hold.js';
import { age, browserLanguage, isLanguage, language, load, t } from './js/i18n.js';
import * as store from './js/store.js';

/** @typedef {import('./js/geo.js').Fix} Fix */
/** @typedef {{ id: string, name: string, language: string }} Driver */
/** @typedef {{ clientRequestId: string, kind: string, location?: Fix, pressedAt: string }} Pending */
/** @typedef {{ id: string, code?: number }} Current */
/**
 * @typedef {{
 *   incident: { id: string, code: number, status: string, kind: string, openedAt: string },
 *   state: 'paging' | 'acknowledged' | 'cancelled' | 'resolved',
 *   pagedAt: string | null, acknowledgedBy: string | null, acknowledgedAt: string | null,
 *   checkIn: { seq: number, dueAt: string } | null, location: { at: string } | null,
 *   dispatch: { status: string, services: string[], requestedAt: string, psapContactedAt: string | null } | null,
 * }} Status
 */

const HOLD_MS = 1000;
const POLL_MS = 2000;
const STREAM_MS = 10_000;
const MOVE_M = 25;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5000;
const SYNC_TAG = 'mayday-sos';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const root = document.documentElement;

/** @type {Driver | undefined} */
let driver;
/** @type {Pending | undefined} */
let pending;
/** @type {Current | undefined} */
let current;
/** @type {Status | undefined} */
let status;
/** Which screen is up, and for the setup screen which words. */
let screen = { name: 'sos', heading: '', text: '', params: /** @type {Record<string, string>} */ ({}) };

// ---------------------------------------------------------------------------------------------
// Screens and words

/** @param {'setup' | 'sos' | 'incident' | 'ended'} name */
function show(name, focus = true) {
  for (const s of ['setup', 'sos', 'incident', 'ended']) $(`screen-${s}`).hidden = s !== name;
  $('menu').hidden = !driver || name === 'setup';
  if (focus && name !== 'sos') $('main').focus({ preventScroll: true });
}

/** Says it to screen readers (the live region is emptied first, so a repeat is said again). */
function announce(/** @type {string} */ text) {
  const el = $('announce');
  el.textContent = '';
  setTimeout(() => (el.textContent = text), 50);
}

/** @param {string} heading @param {string} text @param {Record<string, string>} [params] */
function setup(heading, text, params = {}) {
  screen = { name: 'setup', heading, text, params };
  show('setup');
  redraw();
}

/** @param {'idle' | 'holding' | 'sending' | 'queued' | 'stored' | 'unsent'} s */
const sosState = (s) => (root.dataset.sos = s);

async function textSosLink() {
  const to = await store.get('textSosTo');
  const link = /** @type {HTMLAnchorElement} */ ($('text-sos'));
  link.hidden = typeof to !== 'string' || !to;
  if (typeof to === 'string') link.href = `sms:${to}?&body=SOS`;
}

/** The number to text SOS to, which needs no token (the service worker keeps it for offline use). */
async function loadConfig() {
  try {
    const res = await fetch('/app/config.json');
    if (!res.ok) return;
    const { textSosTo } = await res.json();
    await store.set('textSosTo', typeof textSosTo === 'string' ? textSosTo : null);
    await textSosLink();
  } catch {
    /* offline with nothing kept: the number kept on the phone, if any, stays */
  }
}

/** Everything drawn from state, again (after a language switch, or a tick of the clock). */
function redraw() {
  for (const b of document.querySelectorAll('.lang')) b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.lang === language()));
  if (screen.name === 'setup') {
    $('setup-heading').textContent = t(screen.heading);
    $('setup-text').textContent = t(screen.text, screen.params);
  }
  $('menu-who').textContent = driver ? t('menu.who', { name: driver.name }) : '';
  drawGeo();
  drawStatus();
}

function drawGeo() {
  const s = geoState();
  const fix = lastFix();
  $('geo').dataset.state = s;
  $('geo-text').textContent = s === 'ready' && fix ? t('geo.ready', { m: Math.max(1, Math.round(fix.accuracyM)) }) : t(`geo.${s === 'ready' ? 'finding' : s}`);
}

function drawStatus() {
  if (!current && !pending) return;
  const box = $('status');
  const sos = root.dataset.sos;
  let main = '';
  let state = 'sending';
  if (sos === 'sending') main = t('sos.sending');
  else if (sos === 'queued') {
    main = t('sos.queued');
    state = 'queued';
  } else if (status?.state === 'acknowledged') {
    state = 'acknowledged';
    const ago = age(Date.now() - Date.parse(status.acknowledgedAt ?? ''));
    main = status.acknowledgedBy ? t('status.acknowledged', { name: status.acknowledgedBy, age: ago }) : t('status.acknowledgedSomeone', { age: ago });
  } else {
    state = 'paging';
    main = t('status.paging');
  }
  box.dataset.state = state;
  $('status-main').textContent = main;
  const code = current?.code ?? status?.incident.code;
  $('status-sub').textContent = code !== undefined && state !== 'queued' && state !== 'sending' ? `${t('sos.sent')} · ${t('status.incident', { code })}` : '';
  $('queued-hint').hidden = state !== 'queued';
  drawDispatch(status?.dispatch ?? null);
  const at = status?.location?.at;
  $('location-line').textContent = !current ? '' : at ? t('status.location', { age: age(Date.now() - Date.parse(at)) }) : t('status.noLocation');
  const stored = !!current;
  $('details').hidden = !stored;
  $('cancel').hidden = !stored;
  $('checkin').hidden = !(stored && status?.checkIn && status.checkIn.seq !== answeredCheckIn);
}

/** Dispatch statuses under which the driver is told help was asked for (not failed, not cancelled). */
const DISPATCHED = ['requested', 'active', 'psap_contacted', 'closed'];

/** "Police requested" (each service asked for), and "911 has been contacted" once the centre says so. */
function drawDispatch(/** @type {Status['dispatch']} */ d) {
  const on = !!d && DISPATCHED.includes(d.status) && d.services.length > 0;
  $('police').hidden = !on;
  $('psap').hidden = !(on && d?.psapContactedAt);
  if (!on || !d) return;
  const names = ['police', 'fire', 'medical'].filter((s) => d.services.includes(s)).map((s) => t(`dispatch.${s}`));
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')}${t('dispatch.and')}${names[names.length - 1]}` : names[0];
  const text = t('dispatch.requested', { services: list });
  $('police-text').textContent = text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Enrollment, the driver, signing out

async function enroll(/** @type {string} */ code) {
  setup('setup.heading', 'setup.working');
  let res;
  try {
    res = await call('POST', '/v1/app/enroll', { code });
  } catch (e) {
    if (e instanceof Unreachable) return setup('setup.heading', 'setup.offline');
    throw e;
  }
  if (res.status !== 201) return setup('setup.heading', 'setup.badLink');
  // The phone's previous token, if any, is revoked (now, or once there is a network), so a
  // phone enrolled again never leaves a live token behind.
  const [old, oldDriver, kept] = await Promise.all([store.get('token'), store.get('driver'), store.get('pending')]);
  const keep = { textSosTo: await store.get('textSosTo'), revoke: await store.get('revoke') };
  await store.clear();
  for (const [k, v] of Object.entries(keep)) if (v !== undefined) await store.set(k, v);
  await store.set('token', res.body.token);
  useToken(res.body.token);
  signingOut = undefined;
  if (typeof old === 'string' && old !== res.body.token) await revokeLater(old);
  await becomes(res.body.driver);
  announce(t('setup.ready', { name: res.body.driver.name }));
  // An SOS of the same driver still waiting to go goes on, with the new token and its clientRequestId.
  if (kept && /** @type {Driver | undefined} */ (oldDriver)?.id === res.body.driver.id) {
    pending = /** @type {Pending} */ (kept);
    await store.set('pending', pending);
    sosState('sending');
    showIncident();
    void refreshMe();
    return sendSos();
  }
  showSos();
  // The driver may have an SOS open already (pressed on another phone, or by text): it is resumed.
  await resumeOpen(await refreshMe());
}

/** Resumes the newest of the driver's open incidents, unless one is shown or pending, or it was cancelled on this phone. */
async function resumeOpen(/** @type {string[] | undefined} */ open) {
  if (!open || current || pending) return;
  const done = /** @type {string[]} */ ((await store.get('ended')) ?? []);
  const newest = open.find((id) => !done.includes(id));
  if (!newest || current || pending) return;
  current = { id: newest };
  await store.set('current', current);
  sosState('stored');
  startIncident(undefined);
}

/** Revokes `old` (a token this phone no longer uses) at once if it can, else keeps it to revoke later. */
async function revokeLater(/** @type {string} */ old) {
  const list = /** @type {string[]} */ ((await store.get('revoke')) ?? []);
  if (!list.includes(old)) await store.set('revoke', [...list, old]);
  await revokeKept();
}

/** @type {Promise<void> | undefined} */
let revoking;
/** Signs out every token kept to revoke; those the server did not answer for stay kept. */
function revokeKept() {
  revoking ??= (async () => {
    const list = /** @type {string[]} */ ((await store.get('revoke')) ?? []);
    /** @type {string[]} */
    const left = [];
    for (const old of list) {
      // 204 revoked; 401 already revoked; 409 not a device's (an administrator revokes it): done.
      const res = await call('POST', '/v1/app/sign-out', undefined, { token: old }).catch(() => undefined);
      if (!res || res.status >= 500 || res.status === 429) left.push(old);
    }
    const now = /** @type {string[]} */ ((await store.get('revoke')) ?? []);
    const rest = [...left, ...now.filter((t) => !list.includes(t))];
    await (rest.length ? store.set('revoke', rest) : store.del('revoke'));
  })().finally(() => (revoking = undefined));
  return revoking;
}

/** @param {Driver} d */
async function becomes(d) {
  driver = d;
  await store.set('driver', d);
  if (isLanguage(d.language) && d.language !== language()) await load(d.language);
  redraw();
}

/** The driver, their language and the number to text; the ids of their open incidents (newest first). */
async function refreshMe() {
  try {
    const res = await call('GET', '/v1/app/me');
    if (res.status !== 200) return undefined;
    await store.set('textSosTo', res.body.textSosTo ?? null);
    await textSosLink();
    await becomes(res.body.driver);
    return /** @type {string[]} */ (res.body.openIncidentIds ?? []);
  } catch {
    return undefined;
  }
}

/** @type {Promise<void> | undefined} */
let signingOut;

/**
 * Any 401: the device token was revoked. Nothing is offered but a new link; 911 and Text SOS stay.
 * An SOS pressed and not stored (or refused by that 401) is never dropped in silence: it is kept
 * as 'unsent' and the screen says plainly, until the phone is enrolled again, that it was NOT sent.
 * Several 401s at once sign out once.
 */
function signedOut() {
  signingOut ??= (async () => {
    stopIncident();
    clearTimeout(retryTimer);
    const held = pending; // read before any await: the SOS this 401 refused
    pending = undefined;
    current = undefined;
    driver = undefined;
    useToken(undefined);
    const unsent = held ?? (await store.get('pending')) ?? (await store.get('unsent'));
    const keep = { lang: language(), textSosTo: await store.get('textSosTo'), revoke: await store.get('revoke'), unsent };
    await store.clear();
    for (const [k, v] of Object.entries(keep)) if (v !== undefined) await store.set(k, v);
    if (unsent) {
      sosState('unsent');
      setup('signedOut.unsentHeading', 'signedOut.unsentBody');
      announce(t('signedOut.unsentHeading'));
    } else {
      sosState('idle');
      setup('signedOut.heading', 'signedOut.body');
      announce(t('signedOut.heading'));
    }
  })();
  return signingOut;
}

/** The driver signs this phone out: the token is revoked now, or kept and revoked once there is a network. */
async function signOut() {
  const token = await store.get('token');
  if (typeof token === 'string') await store.set('revoke', [...(/** @type {string[]} */ ((await store.get('revoke')) ?? [])), token]);
  useToken(undefined); // the sign-out below carries the token itself; its answer is no 401 of the phone's
  await signedOut();
  await revokeKept();
}

// ---------------------------------------------------------------------------------------------
// The SOS

function showSos() {
  screen.name = 'sos';
  sosState('idle');
  $('hold-hint').textContent = '';
  show('sos', false);
  redraw();
}

const reducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches;

function bindSos() {
  const button = $('sos');
  holdToSend(button, {
    ms: HOLD_MS,
    onStart() {
      sosState('holding');
      button.classList.add('holding');
      $('hold-hint').textContent = t('sos.holding');
    },
    onStep(n) {
      if (!reducedMotion()) return;
      button.dataset.step = String(n);
      $('hold-hint').textContent = t('sos.step', { n });
    },
    onShort() {
      button.classList.remove('holding');
      delete button.dataset.step;
      sosState('idle');
      $('hold-hint').textContent = t('sos.tapped');
    },
    onComplete() {
      button.classList.remove('holding');
      delete button.dataset.step;
      void press();
    },
  });
}

/** The hold completed: send now, with the last known fix. A press while one is pending reuses it. */
async function press() {
  performance.mark('mayday:sos:armed');
  sosState('sending');
  if (!pending) {
    const location = lastFix();
    pending = { clientRequestId: crypto.randomUUID(), kind: 'other', pressedAt: new Date().toISOString(), ...(location ? { location } : {}) };
  }
  retries = 0;
  const sent = sendSos();
  showIncident();
  void store.set('pending', pending);
  await sent;
}

let sending = false;
let retries = 0;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer;

/** Sends the pending SOS (always with its clientRequestId); on no answer, keeps it and tries again. */
async function sendSos() {
  if (!pending || sending) return;
  sending = true;
  clearTimeout(retryTimer);
  const p = pending;
  const body = { clientRequestId: p.clientRequestId, kind: p.kind, ...(p.location ? { location: p.location } : {}) };
  /** @type {{ status: number, body: any } | undefined} */
  let res;
  try {
    res = await call('POST', '/v1/sos', body, { timeoutMs: 8000 });
  } catch (e) {
    if (!(e instanceof Unreachable)) throw e;
  } finally {
    sending = false;
  }
  if (pending !== p) return; // stored meanwhile (the service worker's Background Sync)
  if (res && (res.status === 201 || res.status === 200)) return stored(res.body.incident);
  if (res?.status === 401) return; // signed out (call() said so)
  if (res?.status === 403) return signedOut(); // this token is not a driver's
  if (res && (res.status === 400 || res.status === 422) && p.location) {
    // A fix the server will not take must not hold the SOS back: it goes without it.
    delete p.location;
    void store.set('pending', p);
    return sendSos();
  }
  queued();
}

function queued() {
  sosState('queued');
  drawStatus();
  if (retries === 0) announce(t('sos.queued'));
  const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** retries++);
  retryTimer = setTimeout(() => void sendSos(), wait);
  void backgroundSync();
}

async function backgroundSync() {
  try {
    const reg = /** @type {ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }} */ (await navigator.serviceWorker?.ready);
    await reg?.sync?.register(SYNC_TAG);
  } catch {
    /* no Background Sync here: the page's own retries go on */
  }
}

/** @param {{ id: string, code: number, location?: { lat: number, lng: number, accuracyM: number | null, capturedAt: string } | null }} incident */
async function stored(incident) {
  performance.mark('mayday:sos:stored');
  clearTimeout(retryTimer);
  const sentWith = pending?.location;
  pending = undefined;
  sosState('stored');
  current = { id: incident.id, code: incident.code };
  await store.del('pending');
  await store.set('current', current);
  announce(`${t('sos.sent')}. ${t('status.paging')}`);
  startIncident(sentWith);
}

// ---------------------------------------------------------------------------------------------
// While an incident is open: live status, position, check-ins, details, cancel

/** @type {ReturnType<typeof setTimeout> | undefined} */
let pollTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */
let streamTimer;
/** The incident whose position streams: the one shown, and after either PIN the same one until it is resolved. */
/** @type {string | undefined} */
let streamed;
/** @type {(() => void) | undefined} */
let stopFixes;
/** @type {Fix | undefined} */
let lastSent;
let betterSent = false;
/** @type {number | undefined} */
let answeredCheckIn;

function showIncident() {
  screen.name = 'incident';
  $('details').classList.remove('sent');
  $('details-log').replaceChildren();
  $('note-label').dataset.t = 'details.note';
  $('note-label').textContent = t('details.note');
  /** @type {HTMLTextAreaElement} */ ($('note')).value = '';
  for (const k of document.querySelectorAll('.kind')) k.setAttribute('aria-pressed', 'false');
  $('cancel-form').hidden = true;
  $('cancel-open').hidden = false;
  $('checkin-note').hidden = true;
  $('details-note').hidden = true;
  show('incident');
  drawStatus();
}

/** @param {Fix | undefined} sentWith the fix the SOS carried */
function startIncident(sentWith) {
  stopIncident();
  status = undefined;
  lastSent = sentWith;
  betterSent = false;
  streamed = current?.id;
  showIncident();
  void poll();
  // The first better fix after the SOS goes at once; then every 10 s, or on 25 m of movement.
  stopFixes = onFix((fix) => {
    drawGeo();
    if (!fix || !streamed) return;
    if (!lastSent || distanceM(lastSent, fix) >= MOVE_M) return void sendFix(fix);
    if (!betterSent && fix.accuracyM < lastSent.accuracyM) {
      betterSent = true;
      void sendFix(fix);
    }
  });
  const now = lastFix();
  if (now && !lastSent) void sendFix(now);
  streamTimer = setInterval(() => {
    const fix = lastFix();
    if (fix && fix.capturedAt !== lastSent?.capturedAt) void sendFix(fix);
  }, STREAM_MS);
}

function stopIncident() {
  clearTimeout(pollTimer);
  pollTimer = undefined;
  stopStream();
}

function stopStream() {
  clearInterval(streamTimer);
  stopFixes?.();
  stopFixes = undefined;
  streamed = undefined;
}

async function sendFix(/** @type {Fix} */ fix) {
  const id = streamed;
  if (!id) return;
  const before = lastSent;
  lastSent = fix;
  const res = await call('POST', `/v1/incidents/${id}/locations`, fix).catch(() => undefined);
  if (!res || res.status >= 500) lastSent = before; // the next tick tries again
  // Resolved (409), or no longer the driver's to read (404): nothing more to stream to it.
  else if ((res.status === 409 || res.status === 404) && streamed === id) stopStream();
}

/** Reads the incident's status now, and again within 2 s while the app is in view. */
async function poll() {
  clearTimeout(pollTimer);
  const c = current;
  if (!c || document.hidden) return;
  try {
    const res = await call('GET', `/v1/app/incidents/${c.id}`);
    if (current !== c) return;
    if (res.status === 200) {
      const before = status?.state;
      status = /** @type {Status} */ (res.body);
      c.code = status.incident.code;
      if (status.state === 'cancelled' || status.state === 'resolved') return ended(status.state);
      if (status.state === 'acknowledged' && before !== 'acknowledged') announce(t('status.acknowledgedNews', { name: status.acknowledgedBy ?? '' }));
      if ($('psap').hidden && status.dispatch?.psapContactedAt) announce(t('dispatch.psap'));
      else if ($('police').hidden && status.dispatch) announce($('police-text').textContent || t('dispatch.requested', { services: '' }));
      if (status.checkIn && status.checkIn.seq !== answeredCheckIn && $('checkin').hidden) announce(t('checkIn.question'));
      if (root.dataset.sos !== 'stored') sosState('stored');
      drawStatus();
    } else if (res.status === 404) {
      return ended('resolved');
    }
  } catch {
    /* offline: the last news stays on screen; online and visibilitychange poll again at once */
  }
  if (current === c) pollTimer = setTimeout(() => void poll(), POLL_MS);
}

/**
 * The same screen whichever PIN cancelled it; the incident is polled no more. After either PIN
 * the position goes on streaming, the same way, until the incident is resolved: after a duress
 * PIN a dispatch still under way needs every fix.
 */
async function ended(/** @type {'cancelled' | 'resolved'} */ how) {
  const c = current;
  clearTimeout(pollTimer);
  pollTimer = undefined;
  if (how === 'resolved') stopStream();
  current = undefined;
  status = undefined;
  sosState('idle');
  if (c) {
    const list = /** @type {string[]} */ ((await store.get('ended')) ?? []);
    await store.set('ended', [c.id, ...list].slice(0, 50));
  }
  await store.del('current');
  screen.name = 'ended';
  $('ended-heading').textContent = t(`ended.${how}`);
  $('ended-text').textContent = t(`ended.${how}Hint`);
  $('ended-heading').dataset.t = `ended.${how}`;
  $('ended-text').dataset.t = `ended.${how}Hint`;
  show('ended');
  announce(t(`ended.${how}`));
}

function bindIncident() {
  const checkin = /** @type {HTMLFormElement} */ ($('checkin'));
  checkin.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answer = /** @type {HTMLButtonElement | null} */ (e.submitter)?.value;
    const seq = status?.checkIn?.seq;
    if (!current || (answer !== 'safe' && answer !== 'need_help')) return;
    const note = $('checkin-note');
    const res = await call('POST', `/v1/incidents/${current.id}/check-ins`, { status: answer }).catch(() => undefined);
    note.hidden = false;
    if (res && res.status === 201) {
      answeredCheckIn = seq;
      note.textContent = t(answer === 'safe' ? 'checkIn.sentSafe' : 'checkIn.sentHelp');
      drawStatus();
    } else note.textContent = t('checkIn.failed');
    announce(note.textContent);
  });

  const kinds = [...document.querySelectorAll('.kind')];
  for (const k of kinds) {
    k.addEventListener('click', () => {
      for (const other of kinds) other.setAttribute('aria-pressed', String(other === k && k.getAttribute('aria-pressed') !== 'true'));
    });
  }
  const details = /** @type {HTMLFormElement} */ ($('details'));
  details.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!current) return;
    const kind = /** @type {HTMLElement | undefined} */ (kinds.find((k) => k.getAttribute('aria-pressed') === 'true'))?.dataset.kind;
    const text = /** @type {HTMLTextAreaElement} */ ($('note')).value.trim();
    if (!kind && !text) return;
    const res = await call('POST', `/v1/incidents/${current.id}/details`, { ...(kind ? { kind } : {}), ...(text ? { note: text } : {}) }).catch(() => undefined);
    const line = $('details-note');
    line.hidden = false;
    const ok = res?.status === 200;
    line.textContent = !ok ? t('details.failed') : kind ? t('details.sent', { kind: t(`details.${kind}`) }) : t('details.sentNote');
    if (ok) {
      // What was sent is echoed; the kinds fold away and the note stays, for another one.
      const li = document.createElement('li');
      li.textContent = [kind ? t(`details.${kind}`) : '', text ? `“${text}”` : ''].filter(Boolean).join(': ');
      $('details-log').append(li);
      /** @type {HTMLTextAreaElement} */ ($('note')).value = '';
      for (const k of kinds) k.setAttribute('aria-pressed', 'false');
      details.classList.add('sent');
      $('note-label').dataset.t = 'details.more';
      $('note-label').textContent = t('details.more');
    }
    announce(line.textContent);
  });

  const form = /** @type {HTMLFormElement} */ ($('cancel-form'));
  const pin = /** @type {HTMLInputElement} */ ($('pin'));
  const error = $('pin-error');
  const say = (/** @type {string} */ key) => {
    error.hidden = false;
    error.textContent = t(key);
    pin.setAttribute('aria-invalid', 'true');
    announce(error.textContent);
  };
  $('cancel-open').addEventListener('click', () => {
    form.hidden = false;
    $('cancel-open').hidden = true;
    error.hidden = true;
    pin.removeAttribute('aria-invalid');
    pin.focus();
  });
  $('cancel-keep').addEventListener('click', () => {
    form.hidden = true;
    pin.value = '';
    $('cancel-open').hidden = false;
    $('cancel-open').focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = pin.value.trim();
    if (!/^\d{4,8}$/.test(value)) return say('cancel.badFormat');
    if (!current) return;
    const submit = /** @type {HTMLButtonElement} */ ($('cancel-submit'));
    submit.disabled = true;
    submit.textContent = t('cancel.checking');
    const res = await call('POST', `/v1/incidents/${current.id}/cancel`, { pin: value }).catch(() => undefined);
    submit.disabled = false;
    submit.textContent = t('cancel.submit');
    pin.value = '';
    if (!res) return say('cancel.failed');
    if (res.status === 200) return ended('cancelled');
    // Each refusal has its own error code (the same whichever PIN was entered).
    const code = String(res.body?.error?.code ?? '');
    if (code === 'already_resolved') return ended('resolved');
    if (code === 'already_cancelled') return ended('cancelled');
    if (code === 'cancel_locked') return say('cancel.locked');
    if (code === 'wrong_pin' || code === 'validation_failed') return say('cancel.wrong');
    say('cancel.failed');
  });
  pin.addEventListener('input', () => {
    pin.value = pin.value.replace(/\D/g, '').slice(0, 8);
  });

  $('ended-back').addEventListener('click', () => showSos());
}

// ---------------------------------------------------------------------------------------------
// Start

async function setLanguage(/** @type {'en' | 'es'} */ lang) {
  if (lang === language()) return;
  await load(lang);
  await store.set('lang', lang);
  if (driver) {
    driver = { ...driver, language: lang };
    await store.set('driver', driver);
    const res = await call('PATCH', '/v1/app/me', { language: lang }).catch(() => undefined);
    if (res?.status === 200) driver = res.body.driver;
  }
  redraw();
}

function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => undefined);
  navigator.serviceWorker.addEventListener('message', (e) => {
    const m = e.data;
    if (m?.type === 'sos-stored' && pending && m.clientRequestId === pending.clientRequestId) void stored(m.incident);
  });
}

async function main() {
  registerWorker();
  watch();
  onFix(() => drawGeo());
  const token = /** @type {string | undefined} */ (await store.get('token'));
  driver = token ? await store.get('driver') : undefined;
  const saved = await store.get('lang');
  const lang = driver && isLanguage(driver.language) ? driver.language : isLanguage(saved) ? saved : browserLanguage();
  await load(lang).catch(() => load('en'));
  await textSosLink();
  void loadConfig();
  void revokeKept();

  onSignedOut(() => void signedOut());
  bindSos();
  bindIncident();
  for (const b of document.querySelectorAll('.lang')) {
    b.addEventListener('click', () => {
      const l = /** @type {HTMLElement} */ (b).dataset.lang;
      if (isLanguage(l)) void setLanguage(l);
    });
  }
  $('sign-out').addEventListener('click', () => void signOut());
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void poll();
  });
  addEventListener('online', () => {
    void sendSos();
    void poll();
    void revokeKept();
  });
  setInterval(() => {
    if (screen.name === 'incident') drawStatus();
  }, 1000);

  if (location.pathname === '/app/enroll') {
    const code = decodeURIComponent(location.hash.slice(1));
    history.replaceState(null, '', '/app/');
    if (code) return enroll(code);
  }
  // Signed out with an SOS that never went: the screen keeps saying so.
  if (!token) return (await store.get('unsent')) ? signedOut() : setup('setup.heading', 'setup.none');
  useToken(token);
  redraw();

  pending = await store.get('pending');
  if (pending) {
    // An SOS pressed earlier and not stored yet: it goes again, with the same clientRequestId.
    sosState('sending');
    showIncident();
    void sendSos();
    void refreshMe();
    return;
  }
  current = await store.get('current');
  if (current) {
    sosState('stored');
    startIncident(undefined);
  } else showSos();
  await resumeOpen(await refreshMe());
}

void main();
