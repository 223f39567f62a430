/**
 * Mayday's HTTP server on Node (@hono/node-server over node:http), with timeouts that suit an
 * API rather than Node's defaults, under which a request whose body trickled in was held for
 * 300 s (requestTimeout) and headers for 60 s.
 */
import { createAdaptorServer } from '@hono/node-server';
import type { Server, ServerResponse } from 'node:http';

export interface ServerTimeouts {
  /** Until the request's headers are all in. Ours are small; a client slower than this is a slowloris. */
  headersTimeout: number;
  /**
   * Until the whole request (headers and body) is in. The largest body Mayday takes is 256 KiB,
   * seconds even on a poor mobile link. It ends when the request is received, not the response:
   * the console's event streams (GET, no body) and long exports are not cut by it.
   */
  requestTimeout: number;
  /**
   * An idle kept-alive connection is closed after this long: longer than a load balancer's usual
   * idle timeout (60 s), so the proxy closes first and never reuses a socket Node just closed.
   */
  keepAliveTimeout: number;
  /** How often node:http looks for connections past the two timeouts above. */
  connectionsCheckingInterval: number;
}

export const SERVER_TIMEOUTS: ServerTimeouts = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
  connectionsCheckingInterval: 1_000,
};

export interface MaydayServer extends Server {
  /**
   * Stop: take no new connection; let every request under way be answered, each response saying
   * `Connection: close` (its connection then ends, and a proxy does not reuse it); once their
   * handlers have returned (at most `cutAfterMs`), give the responses a second to go out, then
   * cut what is still open (the console's event streams, an export, a stuck client). Resolves
   * when no connection is left.
   */
  shutdown(cutAfterMs?: number): Promise<void>;
}

export function createServer(fetch: (req: Request) => Response | Promise<Response>, t: ServerTimeouts = SERVER_TIMEOUTS): MaydayServer {
  let handling = 0;
  let draining = false;
  const counted = async (req: Request) => {
    handling++;
    try {
      return await fetch(req);
    } finally {
      handling--;
    }
  };
  const server = createAdaptorServer({
    fetch: counted,
    serverOptions: { headersTimeout: t.headersTimeout, requestTimeout: t.requestTimeout, connectionsCheckingInterval: t.connectionsCheckingInterval },
  }) as MaydayServer;
  server.keepAliveTimeout = t.keepAliveTimeout;
  // Responses not yet written, so that those written while draining close their connection.
  const unanswered = new Set<ServerResponse>();
  server.prependListener('request', (_req, res) => {
    if (draining) return res.setHeader('Connection', 'close');
    unanswered.add(res);
    const done = () => unanswered.delete(res);
    res.once('finish', done);
    res.once('close', done);
  });
  server.shutdown = async (cutAfterMs = 10_000) => {
    draining = true;
    for (const res of unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
    const closed = new Promise<void>((res) => server.close(() => res()));
    server.closeIdleConnections();
    const until = Date.now() + cutAfterMs;
    while (handling > 0 && Date.now() < until) await sleep(20);
    await Promise.race([closed, sleep(1_000)]);
    server.closeAllConnections();
    await closed;
  };
  return server;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
