/**
 * Twilio's REST calls over Node's own http/https client with a keep-alive agent, for the Node
 * runtime (src/entry/wire.ts). Workers keep `fetch` (./twilio.ts). Why not `fetch` on Node too:
 * undici's fetch builds web streams, an AbortSignal and a Request per call; under
 * `bench:paging` that was about a fifth of Mayday's CPU, and http.request does the same POST
 * for a fraction of it. Failures keep fetch's shape, so classifyFetchError() reads both: an
 * `Error` with the system `code` (ECONNREFUSED…), or one named `TimeoutError`.
 */
import http from 'node:http';
import https from 'node:https';
import type { TwilioTransport } from './twilio';

/** Idle sockets are closed after this long, before a server's keep-alive timeout can race a new request. */
const IDLE_SOCKET_MS = 4_000;
/** Requests to Twilio at once; more wait in the agent's queue (opening a connection per page of a 1,000-page step costs more than it saves). */
const MAX_SOCKETS = 100;

export function nodeHttpTransport(): TwilioTransport & { close(): void } {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo', maxSockets: MAX_SOCKETS }),
    'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo', maxSockets: MAX_SOCKETS }),
  };

  function once(url: URL, headers: Record<string, string>, body: string, timeoutMs: number) {
    return new Promise<{ status: number; text: string }>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
      const req = mod.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      function fail(e: Error) {
        clearTimeout(timer);
        // A kept-alive socket the server had closed just as it was reused: the request never
        // reached it (Node's documented case); say so, and the caller tries a fresh socket.
        if (req.reusedSocket && (e as NodeJS.ErrnoException).code === 'ECONNRESET' && !responded) return reject(Object.assign(e, { staleSocket: true }));
        reject(e);
      }
      let responded = false;
      req.once('response', () => (responded = true));
      // The clock starts when the request has a socket: a request waiting for one of the agent's
      // sockets has not been sent, and must not time out as an unknown outcome.
      let timer: ReturnType<typeof setTimeout> | undefined;
      req.once('socket', () => {
        timer = setTimeout(() => {
          const e = new Error(`no answer within ${timeoutMs} ms`);
          e.name = 'TimeoutError';
          req.destroy(e);
        }, timeoutMs);
      });
      req.on('error', fail);
      req.end(body);
    });
  }

  const transport = async (href: string, init: { headers: Record<string, string>; body: string; timeoutMs: number }) => {
    const url = new URL(href);
    try {
      return await once(url, init.headers, init.body, init.timeoutMs);
    } catch (e) {
      if ((e as { staleSocket?: boolean }).staleSocket) return once(url, init.headers, init.body, init.timeoutMs);
      throw e;
    }
  };
  return Object.assign(transport, {
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  });
}
