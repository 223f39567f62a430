import { connect as tcp } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/entry/node-server';
import { slotsOf } from '../src/console/live';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { signIn } from './helpers/console';
import { square, world, type Person } from './helpers/world';

/**
 * Console event streams are capped per session and per process (issue 18, security finding 7),
 * and Node's server cuts a request whose body trickles in, without cutting the streams.
 */
let t: TestApp;
let ava: Person;

beforeAll(async () => {
  t = await testApp();
  const w = world(t);
  const zone = await w.zone('Downtown', square(36.37, -94.2));
  ava = await w.responder('supervisor', [zone.id], 'Ava Ortiz');
});

interface Open { status: number; body: string; close(): Promise<void> }

/** An event stream as a browser opens it: the first chunk read ("event: ready"), or the refusal. */
async function open(cookie: string): Promise<Open> {
  const ac = new AbortController();
  const res = await t.app.request('/console/events', { headers: { cookie: `mayday_console=${cookie}` }, signal: ac.signal });
  if (res.status !== 200) return { status: res.status, body: await res.text(), close: async () => {} };
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  return {
    status: 200,
    body: first,
    close: async () => {
      ac.abort();
      await reader.cancel().catch(() => {});
    },
  };
}

const until = async (ok: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('console event streams are capped', () => {
  it('per session: the (cap + 1)th stream gets 429 with the one error body; a stream closed frees its slot', async () => {
    t.deps.console = { streamsPerSession: 3, streamsPerProcess: 100 };
    const c = await signIn(t, ava.token);
    const cookie = c.cookies.get('mayday_console')!;
    const streams = [await open(cookie), await open(cookie), await open(cookie)];
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    expect(streams[0].body).toContain('event: ready');
    const refused = await open(cookie);
    expect(refused.status).toBe(429);
    const body = JSON.parse(refused.body);
    expect(body).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/Too many live-update streams/), requestId: expect.any(String) } });
    // Another session is not held back by this one.
    const other = await open((await signIn(t, ava.token)).cookies.get('mayday_console')!);
    expect(other.status).toBe(200);

    await streams[0].close();
    await until(() => slotsOf(t.deps).total === 3);
    const again = await open(cookie);
    expect(again.status).toBe(200);
    for (const s of [...streams.slice(1), other, again]) await s.close();
    await until(() => slotsOf(t.deps).total === 0);
  });

  it('per process: beyond the cap every session gets 429, until a stream ends', async () => {
    t.deps.console = { streamsPerSession: 10, streamsPerProcess: 2 };
    const cookies = await Promise.all([1, 2, 3].map(async () => (await signIn(t, ava.token)).cookies.get('mayday_console')!));
    const a = await open(cookies[0]);
    const b = await open(cookies[1]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const refused = await open(cookies[2]);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).error.code).toBe('rate_limited');
    await a.close();
    await until(() => slotsOf(t.deps).total === 1);
    const c = await open(cookies[2]);
    expect(c.status).toBe(200);
    await b.close();
    await c.close();
    await until(() => slotsOf(t.deps).total === 0);
  });

  afterAll(() => {
    t.deps.console = undefined;
  });
});

describe('the Node server’s timeouts (src/entry/node-server.ts)', () => {
  let port: number;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    // The same server as production, with the timeouts scaled down so the test takes seconds.
    const server = createServer(t.app.fetch, { headersTimeout: 800, requestTimeout: 1_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 100 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    stop = () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
  });
  afterAll(async () => stop?.());

  /** Sends `head`, then one byte of body every `everyMs`; resolves with what came back and when the socket closed. */
  const trickle = (head: string, everyMs: number, bytes: number) =>
    new Promise<{ answer: string; closedAfterMs: number; sent: number }>((resolve) => {
      const started = Date.now();
      const sock = tcp(port, '127.0.0.1');
      let answer = '';
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < bytes && !sock.destroyed) {
          sock.write('x');
          sent++;
        }
      }, everyMs);
      sock.on('data', (d) => (answer += d.toString()));
      sock.on('error', () => {});
      sock.on('close', () => {
        clearInterval(timer);
        resolve({ answer, closedAfterMs: Date.now() - started, sent });
      });
      sock.write(head);
    });

  it('a request whose body trickles in is cut (408) after the request timeout, long before it would finish', async () => {
    // Authorised, so the handler waits for the body rather than answering 401 at once.
    const head = `POST /v1/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
    const r = await trickle(head, 100, 200); // 20 s to send it all
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeLessThan(2_500);
    expect(r.sent).toBeLessThan(200);
  });

  it('headers that trickle in are cut too', async () => {
    const r = await trickle('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 100, 200);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeLessThan(2_500);
  });

  it('an event stream lives on well past the request timeout (it counts until the request is received)', async () => {
    t.deps.console = undefined;
    const cookie = (await signIn(t, ava.token)).cookies.get('mayday_console')!;
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/console/events`, { headers: { cookie: `mayday_console=${cookie}` }, signal: ac.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: ready');
    // 2.5 request timeouts later, an SOS still reaches the open stream.
    await new Promise((r) => setTimeout(r, 2_500));
    await world(t).sos(await world(t).driver('Dana'));
    const next = await Promise.race([reader.read(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no event')), 3_000))]);
    expect(next.done).toBe(false);
    expect(new TextDecoder().decode(next.value)).toContain('event: changed');
    ac.abort();
    await reader.cancel().catch(() => {});
  });
});
