/**
 * Talking to Mayday's API: JSON calls with a bearer token (fetch, for setup and checks), a lean
 * node:http client for the requests a benchmark measures, and the benchmark zone and SOS bodies.
 */
import { Agent, request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';

/**
 * One request with a bearer token (none when `token` is empty) and a JSON body (a string is sent
 * as it is): its status and text. Throws on a network error or after `timeoutMs`.
 */
export async function call(base: string, method: string, path: string, token: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, text: await res.text() };
}

/** A JSON call that must answer `want`: its parsed answer (`{}` when empty). */
export async function api<T = unknown>(base: string, method: string, path: string, token: string, body: unknown, want: number): Promise<T> {
  const { status, text } = await call(base, method, path, token, body);
  if (status !== want) throw new Error(`${method} ${path} answered ${status} (expected ${want}): ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * The client of measured requests: node:http over a keep-alive agent. It shares the machine's
 * cores with Mayday, so it should cost as little as it can: undici's fetch took about 0.2 of a
 * core at 100 SOS/s, node:http about half of that. Resolves when the whole answer is in; rejects
 * on a network error or after `timeoutMs`.
 */
export function send(url: string, o: { agent: Agent; method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...o.headers, ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}) };
    const req = httpRequest(url, { method: o.method ?? 'GET', agent: o.agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    const timeoutMs = o.timeoutMs ?? 30_000;
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Run `n` jobs with at most `width` at once. */
export async function pool(n: number, width: number, job: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await job(next++);
  }));
}

// --- the benchmark zone and its SOS ------------------------------------------------------------

export const KINDS = ['robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other'] as const;
export interface Point { lat: number; lng: number }
/** The benchmark zone's center; a zone is a square of +-HALF degrees around its center. */
export const CENTER: Point = { lat: 36.37, lng: -94.2 };
export const HALF = 0.05;
/** The square zone around `c` (GeoJSON wants [lng, lat]). */
export const square = ({ lat, lng }: Point = CENTER) => ({
  type: 'Polygon' as const,
  coordinates: [[[lng - HALF, lat - HALF], [lng + HALF, lat - HALF], [lng + HALF, lat + HALF], [lng - HALF, lat + HALF], [lng - HALF, lat - HALF]]],
});
export const ZONE_BOUNDARY = square(CENTER);

let seq = 0;
/**
 * An SOS body: a fresh clientRequestId, the kinds in turn (by `n`, default a counter), and a spot
 * well inside the square around `center`. `random` and `uuid` make it replayable from a seed.
 */
export function sosBody(o: { center?: Point; n?: number; random?: () => number; uuid?: () => string } = {}): string {
  const n = o.n ?? seq++;
  const c = o.center ?? CENTER;
  const random = o.random ?? Math.random;
  const clientRequestId = (o.uuid ?? randomUUID)();
  return JSON.stringify({
    clientRequestId,
    kind: KINDS[n % KINDS.length],
    location: {
      lat: Math.round((c.lat + (random() - 0.5) * HALF) * 1e6) / 1e6,
      lng: Math.round((c.lng + (random() - 0.5) * HALF) * 1e6) / 1e6,
      accuracyM: 5 + (n % 40),
    },
  });
}
