/**
 * Secrets with Web Crypto only (available on Node and on Workers alike).
 *
 * Tokens are 256-bit random strings, so one SHA-256 is enough to store them. PINs are 4 to 8
 * digits and could be brute-forced from a plain hash, so they get a salted PBKDF2.
 */
const enc = new TextEncoder();

const hex = (buf: ArrayBuffer | Uint8Array) =>
  Array.from(buf instanceof Uint8Array ? buf : new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * SHA-256 as the runtime does it best. Web Crypto by default (Workers); Node's wiring installs
 * its synchronous createHash (useSha256): Web Crypto's digest there is a job on the thread pool,
 * a thread woken and a promise settled for a few microseconds of hashing, on every
 * authenticated request.
 */
let sha256Sync: ((text: string) => string) | undefined;
export function useSha256(f: (text: string) => string): void {
  sha256Sync = f;
}

export async function sha256Hex(text: string): Promise<string> {
  if (sha256Sync) return sha256Sync(text);
  return hex(await crypto.subtle.digest('SHA-256', enc.encode(text)));
}

/** A new bearer token: a role prefix (so a leaked one can be recognised) and 32 random bytes. */
export function newToken(prefix: string): string {
  return `mdy_${prefix}_${b64url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export const hashToken = sha256Hex;

/** Shaped like a token mintToken('driver') makes (newToken('drv'): 32 random bytes, base64url). */
export const driverShaped = (token: string) => /^mdy_drv_[A-Za-z0-9_-]{43}$/.test(token);

const PIN_ITERATIONS = 100_000; // the most Workers' Web Crypto allows

async function pbkdf2(pin: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey('raw', enc.encode(pin), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256);
  return hex(bits);
}

/** "pbkdf2-sha256$iterations$salt$hash" */
export async function hashPin(pin: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return `pbkdf2-sha256$${PIN_ITERATIONS}$${hex(salt)}$${await pbkdf2(pin, salt, PIN_ITERATIONS)}`;
}

export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const [scheme, iter, saltHex, want] = stored.split('$');
  if (scheme !== 'pbkdf2-sha256' || !saltHex || !want) return false;
  const salt = new Uint8Array(saltHex.match(/../g)!.map((h) => parseInt(h, 16)));
  return timingSafeEqual(await pbkdf2(pin, salt, Number(iter)), want);
}

export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
