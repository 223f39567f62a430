// @ts-check
/** Mayday's API as the phone calls it: the device token as a bearer token, JSON both ways. */

/** The request never got an answer (offline, a timeout, a dropped connection). */
export class Unreachable extends Error {}

/** @type {string | undefined} */
let token;
/** @type {() => void} */
let signedOut = () => {};

/** @param {string | undefined} t */
export function useToken(t) {
  token = t;
}

/** @param {() => void} fn called on any 401 to a request that carried the token */
export function onSignedOut(fn) {
  signedOut = fn;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ timeoutMs?: number, token?: string }} [o] `token`: another token than the phone's (an old one to revoke)
 * @returns {Promise<{ status: number, body: any }>}
 */
export async function call(method, path, body, o = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  const sent = o.token ?? token;
  if (sent) headers.authorization = `Bearer ${sent}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  /** @type {Response} */
  let res;
  /** @type {string} */
  let text;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    text = await res.text();
  } catch {
    throw new Unreachable(`${method} ${path}`);
  }
  /** @type {any} */
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.status === 401 && sent && sent === token) signedOut();
  return { status: res.status, body: parsed };
}
