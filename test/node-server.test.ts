/**
 * The Node HTTP server's stop (src/entry/node-server.ts): requests under way are answered, each
 * response closing its connection; what is still open after the limit (a stream) is cut. No
 * database: the handlers here stand in for the app's.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createServer, SERVER_TIMEOUTS } from '../src/entry/node-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A GET on a kept-alive agent-less connection: the status, the Connection header and when the socket closed. */
function get(port: number, path: string) {
  return new Promise<{ status: number; connection: string | undefined; body: string; socketClosed: Promise<void> }>((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path, headers: { connection: 'keep-alive' } }, (res) => {
      let body = '';
      const socketClosed = new Promise<void>((r) => res.socket.once('close', () => r()));
      res.on('data', (b) => (body += b));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body, socketClosed }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('shutdown()', () => {
  it('answers a request under way, with Connection: close, and resolves once its connection is gone', async () => {
    const server = createServer(async (req) => {
      if (new URL(req.url).pathname === '/slow') await sleep(500);
      return new Response('ok');
    }, SERVER_TIMEOUTS);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const before = await get(port, '/fast');
    expect(before.connection).toBe('keep-alive');
    const slow = get(port, '/slow');
    await sleep(100);
    const started = Date.now();
    await server.shutdown(5_000);
    const answer = await slow;
    expect([answer.status, answer.body, answer.connection]).toEqual([200, 'ok', 'close']);
    await answer.socketClosed;
    expect(Date.now() - started).toBeLessThan(2_000); // not the 65 s keep-alive
  });

  it('cuts what is still open after the limit: a handler that never returns, a stream that never ends', async () => {
    const server = createServer((req) => {
      if (new URL(req.url).pathname === '/stuck') return new Promise<Response>(() => undefined);
      return new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('data: 1\n\n')) }), { headers: { 'content-type': 'text/event-stream' } });
    }, SERVER_TIMEOUTS);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const stream = new Promise<string>((resolve) => {
      request({ port, host: '127.0.0.1', path: '/events' }, (res) => {
        res.once('data', () => undefined);
        res.on('close', () => resolve('closed'));
      }).end();
    });
    const stuck = new Promise<string>((resolve) => {
      const req = request({ port, host: '127.0.0.1', path: '/stuck' }, () => resolve('answered'));
      req.on('error', () => resolve('cut'));
      req.end();
    });
    await sleep(100);
    const started = Date.now();
    await server.shutdown(300); // the stuck handler is waited for 300 ms, not for ever
    expect(await stream).toBe('closed');
    expect(await stuck).toBe('cut');
    expect(Date.now() - started).toBeLessThan(2_500);
  });
});
