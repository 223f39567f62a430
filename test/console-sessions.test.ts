import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/auth/crypto';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { consoleClient, signIn } from './helpers/console';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';

/**
 * Server-side console sessions (issue 18, security finding 5): the cookie is a session id, not
 * the API token; the session ends at sign-out, when idle, at its absolute age; Secure behind a
 * trusted https proxy.
 */
let t: TestApp;
let ava: Person;

beforeAll(async () => {
  t = await testApp();
  const w = world(t);
  const zone = await w.zone('Downtown', square(36.37, -94.2));
  ava = await w.responder('supervisor', [zone.id], 'Ava Ortiz');
});

const cookieOf = (c: { cookies: Map<string, string> }) => c.cookies.get('mayday_console')!;
/** The console as a stranger with a copy of the cookie would use it. */
const withCookie = (cookie: string, path = '/console') => t.app.request(path, { headers: { cookie: `mayday_console=${cookie}` } });

describe('console sessions', () => {
  it('the cookie is a random session id: as a Bearer token on /v1 it is refused (401), and only its hash is stored', async () => {
    for (const token of [ava.token, ADMIN_TOKEN]) {
      const c = await signIn(t, token);
      const id = cookieOf(c);
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(id).not.toBe(token);
      expectError(await t.get('/v1/incidents', id), 401, 'unauthorized');
      expect((await withCookie(id)).status).toBe(200);
      const rows = await t.sql`SELECT id_hash FROM console_sessions WHERE id_hash = ${await sha256Hex(id)}`;
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(await t.sql`SELECT * FROM console_sessions`)).not.toContain(id);
    }
  });

  it('after sign-out the old cookie is refused, wherever it was copied to', async () => {
    const c = await signIn(t, ava.token);
    const copied = cookieOf(c);
    expect((await withCookie(copied)).status).toBe(200);
    expect((await c.post('/console/sign-out', { csrf: c.csrf! })).status).toBe(303);
    const res = await withCookie(copied);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/sign-in');
    expect((await withCookie(copied, '/console/board')).status).toBe(401);
    expect(await t.sql`SELECT 1 FROM console_sessions WHERE id_hash = ${await sha256Hex(copied)}`).toHaveLength(0);
  });

  it('a session unused for the idle time is refused, and so is one past its absolute age however busy', async () => {
    const idle = await signIn(t, ava.token);
    const busy = await signIn(t, ava.token);
    expect((await withCookie(cookieOf(idle))).status).toBe(200);
    // 31 minutes unused (the default idle time is 30).
    await t.sql`UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = ${await sha256Hex(cookieOf(idle))}`;
    expect((await withCookie(cookieOf(idle))).status).toBe(303);
    // Used a second ago, but signed in 12 h and a minute ago (the default absolute age is 12 h).
    await t.sql`UPDATE console_sessions SET created_at = now() - interval '12 hours 1 minute', last_seen_at = now() - interval '1 second'
                WHERE id_hash = ${await sha256Hex(cookieOf(busy))}`;
    expect((await withCookie(cookieOf(busy))).status).toBe(303);
    // Within both, a session lives on, and using it keeps it alive.
    const live = await signIn(t, ava.token);
    await t.sql`UPDATE console_sessions SET last_seen_at = now() - interval '29 minutes' WHERE id_hash = ${await sha256Hex(cookieOf(live))}`;
    expect((await withCookie(cookieOf(live))).status).toBe(200);
    const [seen] = await t.sql`SELECT now() - last_seen_at < interval '1 minute' AS fresh FROM console_sessions WHERE id_hash = ${await sha256Hex(cookieOf(live))}`;
    expect(seen.fresh).toBe(true);
  });

  it('the idle and absolute times are settings (Deps.console, from CONSOLE_SESSION_IDLE_MINUTES and _MAX_HOURS)', async () => {
    const before = t.deps.console;
    try {
      t.deps.console = { ...before, sessionIdleSeconds: 60, sessionMaxSeconds: 3600 };
      const c = await signIn(t, ava.token);
      expect(c.res.setCookies.find((s) => s.startsWith('mayday_console='))).toMatch(/Max-Age=3600/);
      await t.sql`UPDATE console_sessions SET last_seen_at = now() - interval '61 seconds' WHERE id_hash = ${await sha256Hex(cookieOf(c))}`;
      expect((await withCookie(cookieOf(c))).status).toBe(303);
    } finally {
      t.deps.console = before;
    }
  });

  it('the cookie is Secure behind a trusted proxy that says https, and not when that proxy is not trusted', async () => {
    const h = await testApp();
    h.deps.publicBaseUrl = 'http://mayday.internal'; // neither the request nor PUBLIC_BASE_URL says https
    const session = async () => {
      const c = consoleClient(h);
      const headers = { 'x-forwarded-proto': 'https' };
      const form = await c.get('/console/sign-in', headers);
      const nonce = /name="nonce" value="([0-9a-f]+)"/.exec(form.html)![1];
      const res = await c.post('/console/sign-in', { nonce, token: ADMIN_TOKEN }, headers);
      expect(res.status).toBe(303);
      return res.setCookies.find((s) => s.startsWith('mayday_console='))!;
    };
    expect(await session()).not.toMatch(/; Secure/i);
    h.deps.console = { trustProxy: true };
    expect(await session()).toMatch(/; Secure/i);
  });
});
