import { createHash } from 'node:crypto';
import QRCode from 'qrcode';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PUBLIC_BASE_URL, testApp, type TestApp } from './helpers/app';
import { consoleClient, ORIGIN, signIn, text } from './helpers/console';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';

/**
 * The console's Drivers view: the administrator and safety leads make an app link for a driver's
 * phone (shown as text and as a QR code, once) and sign phones out, with the console's sessions
 * and CSRF checks, through the same functions (and audit log) as the API.
 */
let t: TestApp;
let w: ReturnType<typeof world>;
let dana: Person;
let ben: Person;
let sup: Person;
let lead: Person;
let auditor: { id: string; token: string };

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  const zone = await w.zone('Downtown', square(36.37, -94.2));
  sup = await w.responder('supervisor', [zone.id], 'Sue Super');
  lead = await w.responder('safety_lead', [], 'Lee Lead');
  dana = await w.driver('Dana Kim');
  ben = await w.driver('Ben Driver');
  auditor = await w.auditor('Alex Auditor');
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const linkOf = (html: string) => /id="applink"[^>]*value="([^"]+)"/.exec(html)?.[1] ?? /value="([^"]+)"[^>]*id="applink"/.exec(html)?.[1];

describe('the Drivers view', () => {
  it('is in the nav for the administrator and safety leads only; others get 403', async () => {
    for (const token of [ADMIN_TOKEN, lead.token]) {
      const c = await signIn(t, token);
      const board = await c.get('/console');
      expect(board.html).toContain('href="/console/drivers"');
      const page = await c.get('/console/drivers');
      expect(page.status).toBe(200);
      expect(page.html).toContain('<a href="/console/drivers" aria-current="page">Drivers</a>');
      const words = text(page.html);
      expect(words).toContain('Dana Kim');
      expect(words).toContain('Ben Driver');
      expect(words).not.toContain('Sue Super'); // drivers only
      expect(page.html).toContain('aria-label="Create app link for Dana Kim"');
    }
    for (const token of [sup.token, auditor.token]) {
      const c = await signIn(t, token);
      expect((await c.get('/console')).html).not.toContain('href="/console/drivers"');
      expect((await c.get('/console/drivers')).status).toBe(403);
      expect((await c.get(`/console/drivers/${dana.id}`)).status).toBe(403);
      const post = await c.post(`/console/drivers/${dana.id}/enrollments`, { csrf: c.csrf! });
      expect(post.status).toBe(403);
    }
    expect((await t.sql`SELECT count(*)::int AS n FROM driver_enrollments`)[0].n).toBe(0);
  });

  it('“Create app link” shows the link once, its QR code (an SVG drawn on the server) and its expiry; the phone trades it for a token', async () => {
    const c = await signIn(t, lead.token);
    await c.get('/console/drivers');
    const res = await c.post(`/console/drivers/${dana.id}/enrollments`, { csrf: c.csrf! });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const url = linkOf(res.html)!;
    expect(url).toMatch(new RegExp(`^${PUBLIC_BASE_URL}/app/enroll#[A-Za-z0-9_-]{32}$`));
    const code = url.split('#')[1];
    // The QR code is of that very link, inline and named for screen readers.
    const qr = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    const path = /<path[^>]*d="([^"]+)"[^>]*\/>\s*<\/svg>/.exec(qr)?.[1];
    expect(path).toBeTruthy();
    expect(res.html).toContain(path!);
    expect(res.html).toMatch(/<svg role="img" aria-label="QR code of the app link"/);
    const words = text(res.html);
    expect(words).toContain('App link for Dana Kim');
    const [row] = await t.sql`SELECT expires_at, created_by FROM driver_enrollments WHERE code_hash = ${sha256(code)}`;
    expect(row.created_by).toBe(`safety_lead:${lead.id}`);
    const expiry = (row.expires_at as Date).toISOString();
    expect(words).toContain(`until ${expiry.slice(0, 10)} ${expiry.slice(11, 19)} UTC`);
    const [audit] = await t.sql`SELECT actor, params FROM audit_log WHERE action = 'enrollment' ORDER BY seq DESC LIMIT 1`;
    expect(audit).toMatchObject({ actor: `safety_lead:${lead.id}`, params: { driverId: dana.id, via: 'console' } });
    expect(t.logs.lines.join('\n')).not.toContain(code);

    const phone = await t.post('/v1/app/enroll', { code });
    expect(phone.status).toBe(201);
    expect(phone.body.driver).toMatchObject({ id: dana.id, name: 'Dana Kim' });
    expect((await t.post('/v1/app/enroll', { code })).status).toBe(401);
  });

  it('a form without the session’s CSRF token, or from another site, makes no link', async () => {
    const c = await signIn(t, ADMIN_TOKEN);
    await c.get('/console/drivers');
    const before = (await t.sql`SELECT count(*)::int AS n FROM driver_enrollments`)[0].n;
    expect((await c.post(`/console/drivers/${ben.id}/enrollments`, {})).status).toBe(403);
    expect((await c.post(`/console/drivers/${ben.id}/enrollments`, { csrf: 'f'.repeat(64) })).status).toBe(403);
    expect((await c.post(`/console/drivers/${ben.id}/enrollments`, { csrf: c.csrf! }, { origin: 'https://evil.example' })).status).toBe(403);
    const anon = consoleClient(t);
    expect((await anon.post(`/console/drivers/${ben.id}/enrollments`, { csrf: c.csrf! }, { origin: ORIGIN })).status).toBe(401);
    expect((await t.sql`SELECT count(*)::int AS n FROM driver_enrollments`)[0].n).toBe(before);
    // Someone who is not a driver, or no one: not found.
    expect((await c.post(`/console/drivers/${sup.id}/enrollments`, { csrf: c.csrf! })).status).toBe(404);
    expect((await c.get('/console/drivers/not-a-uuid')).status).toBe(404);
  });

  it('lists the driver’s phones, each with “Sign out”: signing one out ends that phone’s token and no other', async () => {
    const c = await signIn(t, ADMIN_TOKEN);
    const codes: string[] = [];
    for (let i = 0; i < 2; i++) {
      await c.get(`/console/drivers/${ben.id}`);
      const made = await c.post(`/console/drivers/${ben.id}/enrollments`, { csrf: c.csrf! });
      codes.push(linkOf(made.html)!.split('#')[1]);
    }
    const [a, b] = await Promise.all(codes.map(async (code) => (await t.post('/v1/app/enroll', { code })).body.token as string));
    const page = await c.get(`/console/drivers/${ben.id}`);
    expect(page.status).toBe(200);
    const [devA] = await t.sql`SELECT enrollment_id FROM tokens WHERE token_hash = ${sha256(a)}`;
    const action = `/console/drivers/${ben.id}/devices/${devA.enrollment_id}/sign-out`;
    expect(page.html).toContain(`action="${action}"`);
    expect((page.html.match(/>Sign out<\/button>/g) ?? []).length).toBe(3); // two phones, and the header's own
    expect(text(page.html)).toContain('Phones with the app 2');

    const out = await c.post(action, { csrf: c.csrf! });
    expect(out.status).toBe(303);
    expect(out.location).toBe(`/console/drivers/${ben.id}?n=signed-out`);
    expectError(await t.get('/v1/app/me', a), 401, 'unauthorized');
    expect((await t.get('/v1/app/me', b)).status).toBe(200);
    expect((await t.get('/v1/app/me', ben.token)).status).toBe(200);
    const after = await c.get(out.location!);
    expect(text(after.html)).toContain('The phone is signed out');
    expect(text(after.html)).toContain('Phones with the app 1');
    expect(after.html).not.toContain(`action="${action}"`);
    const [audit] = await t.sql`SELECT actor, params FROM audit_log WHERE action = 'device_revoked' ORDER BY seq DESC LIMIT 1`;
    expect(audit).toMatchObject({ actor: 'admin', params: { driverId: ben.id, enrollmentId: devA.enrollment_id, via: 'console' } });
    // Another driver's page cannot sign this phone out.
    const [devB] = await t.sql`SELECT enrollment_id FROM tokens WHERE token_hash = ${sha256(b)}`;
    expect((await c.post(`/console/drivers/${dana.id}/devices/${devB.enrollment_id}/sign-out`, { csrf: c.csrf! })).status).toBe(404);
    expect((await t.get('/v1/app/me', b)).status).toBe(200);
  });
});
