// @ts-check
/**
 * The driver app's service worker (scope /app/): keeps the shell and both catalogues so /app
 * opens with no network, and sends an SOS kept on the phone when the connection comes back
 * (Background Sync), with its clientRequestId, so the page and this worker sending it both
 * make one incident. A classic script, not a module, so every browser with service workers runs it.
 */

/** @type {ServiceWorkerGlobalScope} */
const sw = /** @type {any} */ (self);

// Filled in by the server as it serves this file (src/driver-app/serve.ts): a digest of the shell
// (so any change installs a new worker) and the URLs to keep.
const VERSION = 'dev';
const PRECACHE = ['/app/'];
const CACHE = `mayday-app-${VERSION}`;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      await bypassForApi(event);
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE.map((u) => new Request(u, { cache: 'no-cache' })));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith('mayday-app-') && name !== CACHE) await caches.delete(name);
      await sw.clients.claim();
    })(),
  );
});

/**
 * The API never goes through this worker: where the browser has static routing (Chromium 123+),
 * /v1/ requests are routed to the network before any fetch event, so an SOS does not wait for
 * this worker's thread to wake and pass it on (the fetch handler below ignores them anyway).
 * @param {ExtendableEvent} event
 */
async function bypassForApi(event) {
  const install = /** @type {any} */ (event);
  const Pattern = /** @type {any} */ (globalThis).URLPattern;
  if (typeof install.addRoutes !== 'function' || typeof Pattern !== 'function') return;
  try {
    await install.addRoutes([{ condition: { urlPattern: new Pattern({ pathname: '/v1/*' }) }, source: 'network' }]);
  } catch {
    // An older form of the API: the fetch handler's early return still lets the request through.
  }
}

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== sw.location.origin || !url.pathname.startsWith('/app/')) return;
  if (url.pathname === CONFIG) return event.respondWith(config(req));
  // Every page of the app (/app/, /app/enroll#code) is the one shell.
  const key = req.mode === 'navigate' ? '/app/' : url.pathname;
  event.respondWith(
    (async () => {
      const hit = await caches.match(key, { cacheName: CACHE });
      return hit ?? fetch(req);
    })(),
  );
});

/** The app's configuration (the number to text SOS to): from the network when it answers, kept for when it does not. */
const CONFIG = '/app/config.json';
async function config(/** @type {Request} */ req) {
  const cache = await caches.open(CACHE);
  try {
    const res = await fetch(req, { cache: 'no-store' });
    if (res.ok) await cache.put(CONFIG, res.clone());
    return res;
  } catch {
    return (await cache.match(CONFIG)) ?? Response.error();
  }
}

// ---------------------------------------------------------------------------------------------
// Background Sync: the SOS the page keeps in IndexedDB (js/store.js: database 'mayday', store 'kv')

/** @param {IDBTransactionMode} mode @param {(s: IDBObjectStore) => IDBRequest} op @returns {Promise<any>} */
function kv(mode, op) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('mayday', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('kv');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction('kv', mode);
      const req = op(tx.objectStore('kv'));
      tx.oncomplete = () => {
        open.result.close();
        resolve(req.result);
      };
      tx.onerror = tx.onabort = () => reject(tx.error);
    };
  });
}

/** Sends the pending SOS once; throws while it is not stored, so the browser tries again later. */
async function sendPending() {
  const [pending, token] = await Promise.all([kv('readonly', (s) => s.get('pending')), kv('readonly', (s) => s.get('token'))]);
  if (!pending || !token) return;
  const body = { clientRequestId: pending.clientRequestId, kind: pending.kind, ...(pending.location ? { location: pending.location } : {}) };
  const res = await fetch('/v1/sos', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // Trying again would not help: the SOS stays kept, and the page, once open, says what to do
  // (after a 401, that the SOS was NOT sent and the phone is signed out).
  if (res.status === 401 || res.status === 403 || res.status === 400 || res.status === 422) return;
  if (res.status !== 201 && res.status !== 200) throw new Error(`SOS not stored yet (${res.status})`);
  const { incident } = await res.json();
  const now = await kv('readonly', (s) => s.get('pending'));
  if (now?.clientRequestId === pending.clientRequestId) {
    await kv('readwrite', (s) => s.delete('pending'));
    await kv('readwrite', (s) => s.put({ id: incident.id, code: incident.code }, 'current'));
  }
  for (const client of await sw.clients.matchAll({ type: 'window' })) client.postMessage({ type: 'sos-stored', clientRequestId: pending.clientRequestId, incident });
}

sw.addEventListener('sync', (event) => {
  const e = /** @type {ExtendableEvent & { tag: string }} */ (event);
  if (e.tag === 'mayday-sos') e.waitUntil(sendPending());
});
