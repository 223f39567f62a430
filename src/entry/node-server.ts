/**
 * Mayday's HTTP server on Node (@hono/node-server over node:http), with timeouts that suit an
 * API rather than Node's defaults, under which a request whose body trickled in was held for
 * 300 s (requestTimeout) and headers for 60 s.
 */
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';

export interface ServerTimeouts {
  /** Until the request's headers are all in. Ours are small; a client slower than this is a slowloris. */
  headersTimeout: number;
  /**
   * Until the whole request (headers and body) is in. The largest body Mayday takes is 64 KiB,
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

export function createServer(fetch: (req: Request) => Response | Promise<Response>, t: ServerTimeouts = SERVER_TIMEOUTS): Server {
  const server = createAdaptorServer({
    fetch,
    serverOptions: { headersTimeout: t.headersTimeout, requestTimeout: t.requestTimeout, connectionsCheckingInterval: t.connectionsCheckingInterval },
  }) as Server;
  server.keepAliveTimeout = t.keepAliveTimeout;
  return server;
}
