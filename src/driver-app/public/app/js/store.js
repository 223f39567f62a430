// @ts-check
/**
 * What the app keeps on the phone, in IndexedDB so the service worker can read it too (sw.js
 * reads 'token' and 'pending' for Background Sync). Keys: 'token' (the device token), 'driver'
 * (id, name, language), 'textSosTo' (the number to text SOS to), 'pending' (an SOS not stored
 * yet), 'unsent' (an SOS that never went because the phone was signed out: kept to say so),
 * 'current' (the incident on screen), 'ended' (incidents finished on this phone), 'lang',
 * 'revoke' (tokens this phone no longer uses, to sign out once the server answers).
 * Where IndexedDB is unavailable (some private modes) it falls back to memory for this page.
 */

const DB = 'mayday';
const STORE = 'kv';

/** @type {Promise<IDBDatabase | undefined> | undefined} */
let opened;
/** @type {Map<string, unknown>} */
const memory = new Map();

function database() {
  opened ??= new Promise((resolve) => {
    try {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
  return opened;
}

/**
 * @param {IDBTransactionMode} mode
 * @param {(s: IDBObjectStore) => IDBRequest} op
 * @returns {Promise<unknown>}
 */
async function run(mode, op) {
  const db = await database();
  if (!db) throw new Error('no IndexedDB');
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = op(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/**
 * @template T
 * @param {string} key
 * @returns {Promise<T | undefined>}
 */
export async function get(key) {
  try {
    return /** @type {T | undefined} */ (await run('readonly', (s) => s.get(key)));
  } catch {
    return /** @type {T | undefined} */ (memory.get(key));
  }
}

/** @param {string} key @param {unknown} value */
export async function set(key, value) {
  memory.set(key, value);
  await run('readwrite', (s) => s.put(value, key)).catch(() => undefined);
}

/** @param {string} key */
export async function del(key) {
  memory.delete(key);
  await run('readwrite', (s) => s.delete(key)).catch(() => undefined);
}

/** Forgets everything (signed out). */
export async function clear() {
  memory.clear();
  await run('readwrite', (s) => s.clear()).catch(() => undefined);
}
