import { createServer, type Server } from 'node:net';

/** A TCP port free on the loopback right now (for a server a test starts). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s: Server = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}
