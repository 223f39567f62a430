import { createHash } from 'node:crypto';
import QRCode from 'qrcode';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { SCRIPT } from '../src/console/assets';
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
const linkOf = (html: string) => /<code id="applink"[^>]*>([^<]+)<\/code>/.exec(html)?.[1];

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

  it('shows the whole link as wrapping text with a Copy button, and names the phones “Phone 1”, “Phone 2”', async () => {
    const cy = await w.driver('Cy Young');
    const c = await signIn(t, ADMIN_TOKEN);
    const enrolled: string[] = [];
    for (let i = 0; i < 2; i++) {
      await c.get(`/console/drivers/${cy.id}`);
      const made = await c.post(`/console/drivers/${cy.id}/enrollments`, { csrf: c.csrf! });
      const url = linkOf(made.html)!;
      expect(url).toMatch(new RegExp(`^${PUBLIC_BASE_URL}/app/enroll#[A-Za-z0-9_-]{32}$`));
      // Text, not a one-line box that cuts the link off; the Copy button waits for the console's script.
      expect(made.html).not.toMatch(/<input[^>]*applink/);
      expect(made.html).toContain('<button type="button" data-copy="applink" hidden="">Copy link</button>');
      expect(made.html).toContain('button[data-copy]');
      const phone = await t.post('/v1/app/enroll', { code: url.split('#')[1] });
      expect(phone.status).toBe(201);
      enrolled.push(phone.body.token);
    }
    const page = await c.get(`/console/drivers/${cy.id}`);
    const words = text(page.html);
    // Newest first: the second phone to sign in is Phone 2.
    expect(words).toMatch(/Phones signed in with an app link, newest first Phone Signed in at .* Phone 2 .* Phone 1 /);
    const [first] = await t.sql`SELECT enrollment_id FROM tokens WHERE token_hash = ${sha256(enrolled[0])}`;
    expect(page.html).toMatch(new RegExp(`aria-label="Sign out Phone 1, signed in [^"]+" data-key="signout-${first.enrollment_id}"`));
    expect(page.html).toMatch(/aria-label="Sign out Phone 2, signed in /);
  });

  it('the console’s script shows a data-copy button and copies the element’s text', async () => {
    const link = { textContent: ' https://mayday.example/app/enroll#abc ' };
    const listeners: Record<string, () => unknown> = {};
    const button = { dataset: { copy: 'applink' }, hidden: true, textContent: 'Copy link', addEventListener: (ev: string, f: () => unknown) => { listeners[ev] = f; } };
    const writeText = vi.fn(async () => {});
    const document = {
      querySelectorAll: (q: string) => (q === 'button[data-copy]' ? [button] : []),
      getElementById: (id: string) => (id === 'applink' ? link : null),
    };
    new Function('document', 'navigator', 'window', 'setInterval', SCRIPT)(document, { clipboard: { writeText } }, {}, () => 0);
    expect(button.hidden).toBe(false);
    await listeners.click();
    expect(writeText).toHaveBeenCalledWith('https://mayday.example/app/enroll#abc');
    expect(button.textContent).toBe('Copied');
  });
});
