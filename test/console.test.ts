import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../src/demo/seed';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { consoleClient, signIn, text } from './helpers/console';
import { expectError } from './helpers/expect';
import { TWILIO } from './helpers/twilio';
import { square, world, type Person } from './helpers/world';

/**
 * The web console, in process: sessions, CSRF, roles, and that its pages act through the same
 * domain functions as the API. (The browser story itself is in console.e2e.test.ts.)
 */
let t: TestApp;
let w: ReturnType<typeof world>;
let ava: Person;
let driver: Person;
let auditor: { id: string; token: string };
let zone: { id: string };

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  zone = await w.zone('Downtown', square(36.37, -94.2));
  ava = await w.responder('supervisor', [zone.id], 'Ava Ortiz');
  driver = await w.driver('Dana Kim');
  auditor = await w.auditor('Alex Auditor');
  await w.rotation(zone.id, [ava.id], { shiftMinutes: 60, startsAt: new Date().toISOString() });
});

const settle = () => new Promise((r) => setTimeout(r, 60)); // the simulator reports delivery asynchronously

describe('signing in', () => {
  it('the console asks for a token first; the form sets nothing but its own nonce', async () => {
    const c = consoleClient(t);
    const res = await c.get('/console');
    expect(res.status).toBe(303);
    expect(res.location).toBe('/console/sign-in');
    const form = await c.get('/console/sign-in');
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toMatch(/^text\/html/);
    expect(form.html).toMatch(/^<!doctype html>/);
    expect(form.html).toContain('<label for="token">');
    expect(form.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'/);
    expect(form.headers.get('x-frame-options')).toBe('DENY');
  });

  it('a supervisor’s token becomes an HttpOnly, SameSite=Strict cookie for /console (Secure behind an https PUBLIC_BASE_URL)', async () => {
    const c = await signIn(t, ava.token);
    expect(c.res.status).toBe(303);
    expect(c.res.location).toBe('/console');
    const session = c.res.setCookies.find((s) => s.startsWith('mayday_console='))!;
    expect(session).toMatch(/^mayday_console=[A-Za-z0-9_-]{43};/); // a session id, never the token (console-sessions.test.ts)
    expect(session).not.toContain(ava.token);
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\/console/);
    expect(session).toMatch(/; Secure/); // PUBLIC_BASE_URL is https://mayday.test in tests
    const board = await c.get('/console');
    expect(board.status).toBe(200);
    expect(text(board.html)).toContain('Ava Ortiz (supervisor)');
    expect(c.csrf).toMatch(/^[0-9a-f]{64}$/);
  });

  it('auditors and the administrator may sign in too', async () => {
    for (const token of [auditor.token, ADMIN_TOKEN]) {
      const c = await signIn(t, token);
      expect(c.res.status).toBe(303);
      expect((await c.get('/console')).status).toBe(200);
    }
  });

  it('a driver’s token is refused (and so is an agent’s): no session cookie, a page that says why', async () => {
    const c = await signIn(t, driver.token);
    expect(c.res.status).toBe(403);
    expect(c.res.setCookies.some((s) => s.startsWith('mayday_console='))).toBe(false);
    expect(text(c.res.html)).toContain('Drivers cannot sign in to the console');
    expect((await c.get('/console')).status).toBe(303);
    const agent = await w.agent();
    const a = await signIn(t, agent.token);
    expect(a.res.status).toBe(403);
    expect(a.res.setCookies.some((s) => s.startsWith('mayday_console='))).toBe(false);
  });

  it('an unknown token is refused with the form again', async () => {
    const c = await signIn(t, 'mdy_sup_not-a-real-token');
    expect(c.res.status).toBe(401);
    expect(text(c.res.html)).toContain('unknown or has been revoked');
    expect(c.res.html).toContain('name="nonce"');
  });

  it('a driver’s token put in the cookie by hand gets no further than the sign-in page', async () => {
    const c = consoleClient(t);
    c.cookies.set('mayday_console', driver.token);
    const res = await c.get('/console');
    expect(res.status).toBe(303);
    expect(res.location).toBe('/console/sign-in');
    expect((await c.get('/console/board')).status).toBe(401);
    expect((await c.get('/console/events')).status).toBe(401);
  });

  it('the sign-in form must come from the page that set its nonce, and from this origin', async () => {
    const c = consoleClient(t);
    await c.get('/console/sign-in');
    expect((await c.post('/console/sign-in', { nonce: 'f00d', token: ava.token })).status).toBe(403);
    const form = await c.get('/console/sign-in');
    const nonce = /name="nonce" value="([0-9a-f]+)"/.exec(form.html)![1];
    const cross = await c.post('/console/sign-in', { nonce, token: ava.token }, { origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('content-type')).toMatch(/^text\/html/);
    expect(cross.setCookies.some((s) => s.startsWith('mayday_console='))).toBe(false);
  });

  it('signing out clears the cookie (and ends the session: console-sessions.test.ts); revoking the token ends the session at once', async () => {
    const c = await signIn(t, ava.token);
    const out = await c.post('/console/sign-out', { csrf: c.csrf! });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/console/sign-in?n=signed-out');
    expect(out.setCookies.find((s) => s.startsWith('mayday_console='))).toMatch(/Max-Age=0/);
    expect((await c.get('/console')).status).toBe(303);

    const sam = await w.responder('supervisor', [zone.id], 'Sam');
    const s = await signIn(t, sam.token);
    expect((await s.get('/console')).status).toBe(200);
    expect((await t.req('DELETE', `/v1/users/${sam.id}/tokens`, { token: w.admin })).status).toBe(200);
    expect((await s.get('/console')).status).toBe(303);
  });
});

describe('the board and an incident', () => {
  it('shows active incidents with kind, severity in words, zone, driver, status and who acknowledged', async () => {
    const inc = (await w.sos(driver, { kind: 'crash' })).body.incident;
    const c = await signIn(t, ava.token);
    const board = text((await c.get('/console')).html);
    expect(board).toContain(`#${inc.code} Crash`);
    expect(board).toContain('◆ High'); // shape and word, not colour alone
    expect(board).toContain('Downtown');
    expect(board).toContain('Dana Kim');
    expect(board).toContain('Open — not acknowledged');
    // The fragment the live board reloads is the same table, without the page around it.
    const frag = await c.get('/console/board');
    expect(frag.status).toBe(200);
    expect(frag.html).not.toContain('<html');
    expect(text(frag.html)).toContain(`#${inc.code} Crash`);
  });

  it('lists the most severe first, then the newest', async () => {
    const t2 = await testApp();
    const w2 = world(t2);
    const z = await w2.zone('Z', square(36.37, -94.2));
    const lead = await w2.responder('safety_lead', [z.id], 'Lead');
    const d = await w2.driver('D');
    const harassment = (await w2.sos(d, { kind: 'harassment' })).body.incident;
    const robbery = (await w2.sos(d, { kind: 'robbery' })).body.incident;
    const medical = (await w2.sos(d, { kind: 'medical' })).body.incident;
    const shooting = (await w2.sos(d, { kind: 'shooting' })).body.incident;
    const html = (await (await signIn(t2, lead.token)).get('/console/board')).html;
    const order = [shooting, robbery, medical, harassment].map((i) => html.indexOf(`#${i.code} `));
    expect(order.every((x) => x > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('a supervisor of another zone sees neither the incident on the board nor its page', async () => {
    const inc = (await w.sos(driver)).body.incident;
    const far = await w.zone('Far', { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]] });
    const other = await signIn(t, (await w.responder('supervisor', [far.id], 'Other')).token);
    expect((await other.get('/console')).html).not.toContain(`#${inc.code} `);
    const page = await other.get(`/console/incidents/${inc.id}`);
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await other.post(`/console/incidents/${inc.id}/ack`, { csrf: other.csrf! })).status).toBe(404);
  });

  it('the incident page: timeline relative to the SOS and in UTC, trail plot with the zone, pages and their delivery state', async () => {
    const inc = (await w.sos(driver, { location: { lat: 36.37, lng: -94.2, accuracyM: 15 } })).body.incident;
    await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.371, lng: -94.199, accuracyM: 9 }, driver.token);
    await t.engine.tick();
    await settle();
    const c = await signIn(t, ava.token);
    const res = await c.get(`/console/incidents/${inc.id}`);
    expect(res.status).toBe(200);
    const s = text(res.html);
    expect(s).toContain('SOS received: Robbery, critical');
    expect(s).toMatch(/\+0:0\d \d\d:\d\d:\d\d UTC/);
    expect(s).toContain('SMS to Ava Ortiz sent');
    expect(s).toContain('✓ Chain valid');
    expect(res.html).toContain('<svg class="plot"');
    expect(res.html).toContain('<polygon'); // the zone boundary
    expect(res.html).toContain('<polyline'); // the trail between two fixes
    expect(s).toContain('2 positions');
    expect(s).toMatch(/Ava Ortiz SMS page .* Delivered/);
    expect(res.html).toContain('Acknowledge: I have it');
    expect(res.html).toContain('<select id="disposition" name="disposition" required="">');
  });

  it('acknowledge and resolve from the console act like the API (one acknowledgement; 409 after)', async () => {
    const inc = (await w.sos(driver)).body.incident;
    const c = await signIn(t, ava.token);
    await c.get(`/console/incidents/${inc.id}`);
    const ack = await c.post(`/console/incidents/${inc.id}/ack`, { csrf: c.csrf! });
    expect(ack.status).toBe(303);
    expect(ack.location).toBe(`/console/incidents/${inc.id}?n=acknowledged`);
    const api = (await t.get(`/v1/incidents/${inc.id}`, ava.token)).body.incident;
    expect(api).toMatchObject({ status: 'acknowledged', acknowledgedBy: ava.id });
    const [ev] = await t.sql`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'incident.acknowledged'`;
    expect(ev.data).toMatchObject({ by: ava.id, via: 'api' });
    const again = await c.post(`/console/incidents/${inc.id}/ack`, { csrf: c.csrf! });
    expect(again.status).toBe(409);
    expect(text(again.html)).toContain('not open');
    expect(text((await c.get(`/console/incidents/${inc.id}`)).html)).toContain('Acknowledged by Ava Ortiz');

    const bad = await c.post(`/console/incidents/${inc.id}/resolve`, { csrf: c.csrf!, disposition: 'vanished' });
    expect(bad.status).toBe(422);
    expect(text(bad.html)).toContain('choose a disposition');
    const done = await c.post(`/console/incidents/${inc.id}/resolve`, { csrf: c.csrf!, disposition: 'police_dispatched', note: 'Unit 12 on scene' });
    expect(done.status).toBe(303);
    const resolved = (await t.get(`/v1/incidents/${inc.id}`, ava.token)).body.incident;
    expect(resolved).toMatchObject({ status: 'resolved', disposition: 'police_dispatched' });
    const page = text((await c.get(`/console/incidents/${inc.id}`)).html);
    expect(page).toContain('Police dispatched by Ava Ortiz');
    expect(page).toContain('“Unit 12 on scene”');
    expect((await c.post(`/console/incidents/${inc.id}/resolve`, { csrf: c.csrf!, disposition: 'other' })).status).toBe(409);
    expect(text((await c.get('/console')).html)).not.toContain(`#${inc.code} `); // off the active board
  });

  it('every POST needs the session’s CSRF token and a same-origin request; a cross-site form changes nothing', async () => {
    const inc = (await w.sos(driver)).body.incident;
    const c = await signIn(t, ava.token);
    expect((await c.post(`/console/incidents/${inc.id}/ack`, {})).status).toBe(403);
    expect((await c.post(`/console/incidents/${inc.id}/ack`, { csrf: '0'.repeat(64) })).status).toBe(403);
    const other = await signIn(t, (await w.responder('supervisor', [zone.id], 'Other')).token);
    expect(other.csrf).not.toBe(c.csrf); // per session
    expect((await c.post(`/console/incidents/${inc.id}/ack`, { csrf: other.csrf! })).status).toBe(403);
    const cross = await c.post(`/console/incidents/${inc.id}/ack`, { csrf: c.csrf! }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(cross.status).toBe(403);
    expect(text(cross.html)).toContain('sent from another site');
    expect((await t.get(`/v1/incidents/${inc.id}`, ava.token)).body.incident.status).toBe('open');
  });

  it('an auditor reads everything but has no buttons, and a forged acknowledgement is refused', async () => {
    const inc = (await w.sos(driver)).body.incident;
    const c = await signIn(t, auditor.token);
    expect(text((await c.get('/console')).html)).toContain(`#${inc.code} Robbery`);
    const page = await c.get(`/console/incidents/${inc.id}`);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('Acknowledge: I have it');
    expect(page.html).not.toContain('name="disposition"');
    expect(text(page.html)).toContain('supervisors and safety leads acknowledge and resolve');
    const ack = await c.post(`/console/incidents/${inc.id}/ack`, { csrf: c.csrf! });
    expect(ack.status).toBe(403);
    expect(ack.headers.get('content-type')).toMatch(/^text\/html/);
    const res = await c.post(`/console/incidents/${inc.id}/resolve`, { csrf: c.csrf!, disposition: 'false_alarm' });
    expect(res.status).toBe(403);
    expect((await t.get(`/v1/incidents/${inc.id}`, ava.token)).body.incident.status).toBe('open');
  });

  it('duress is shown prominently to responders (while the driver still sees a plain cancel)', async () => {
    const inc = (await w.sos(driver)).body.incident;
    expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '9999' }, driver.token)).status).toBe(200);
    expect((await t.get(`/v1/incidents/${inc.id}`, driver.token)).body.incident.status).toBe('cancel_requested');
    const c = await signIn(t, ava.token);
    const boardRow = text((await c.get('/console/board')).html);
    expect(boardRow).toMatch(new RegExp(`#${inc.code} Robbery ⚠ DURESS`));
    const page = await c.get(`/console/incidents/${inc.id}`);
    expect(page.html).toContain('class="duress-banner" role="alert"');
    expect(text(page.html)).toContain('DURESS: the driver entered the duress PIN');
  });

  it('the API’s JSON errors are unchanged next to the console', async () => {
    expectError(await t.get('/v1/incidents'), 401, 'unauthorized');
    expectError(await t.get('/v1/nothing-here'), 404, 'not_found');
    const c = await signIn(t, ava.token);
    // The console's cookie is no bearer token for the API.
    const res = await t.app.request('/v1/incidents', { headers: { cookie: `mayday_console=${c.cookies.get('mayday_console')}` } });
    expect(res.status).toBe(401);
  });

  it('unknown console paths answer a page, not JSON', async () => {
    const c = await signIn(t, ava.token);
    const res = await c.get('/console/nowhere');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await c.get('/console/incidents/not-a-uuid')).status).toBe(404);
    const slash = await c.get('/console/?n=x');
    expect(slash.status).toBe(308);
    expect(slash.location).toBe('/console?n=x');
  });
});

describe('live updates', () => {
  it('the event stream says "changed" within a second of an SOS, and carries no incident ids', async () => {
    const c = await signIn(t, ava.token);
    const cookie = `mayday_console=${c.cookies.get('mayday_console')}`;
    const ac = new AbortController();
    const res = await t.app.request('/console/events', { headers: { cookie }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let seen = '';
    const until = async (re: RegExp, ms: number) => {
      const deadline = Date.now() + ms;
      while (!re.test(seen)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${re} in ${JSON.stringify(seen)}`);
        const chunk = await Promise.race([reader.read(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`timeout waiting for ${re}: ${JSON.stringify(seen)}`)), left))]);
        if (chunk.done) throw new Error('stream ended');
        seen += dec.decode(chunk.value);
      }
    };
    await until(/event: ready/, 2000);
    await new Promise((r) => setTimeout(r, 100)); // the LISTEN is up once "ready" is written
    const started = Date.now();
    const inc = (await w.sos(driver)).body.incident;
    await until(/event: changed/, 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(seen).not.toContain(inc.id);
    ac.abort();
    await reader.cancel().catch(() => {});
  });

  it('open event streams end when the process starts shutting down, so they never hold up a graceful stop', async () => {
    const c = await signIn(t, ava.token);
    const res = await t.app.request('/console/events', { headers: { cookie: `mayday_console=${c.cookies.get('mayday_console')}` } });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('event: ready');
    const before = t.deps.draining;
    t.deps.draining = () => true;
    try {
      const started = Date.now();
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
      }
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      t.deps.draining = before;
    }
  });
});

describe('the phone simulator and the demo', () => {
  it('shows each phone’s texts and calls; a quick reply ACK from the page acknowledges through the SMS path', async () => {
    const inc = (await w.sos(driver)).body.incident;
    await t.engine.tick();
    await settle();
    const c = await signIn(t, ava.token);
    const list = await c.get('/console/phones');
    expect(list.status).toBe(200);
    expect(text(list.html)).toContain(`Ava Ortiz ${ava.phone}`);
    expect(text(list.html)).not.toContain(driver.phone); // a supervisor plays only her own phone (simulator-actors.test.ts)
    // The administrator plays every part: known people, even before anything reached them.
    expect(text((await (await signIn(t, ADMIN_TOKEN)).get('/console/phones')).html)).toContain(`Dana Kim ${driver.phone}`);
    const phone = `/console/phones/${encodeURIComponent(ava.phone)}`;
    const thread = await c.get(phone);
    expect(thread.status).toBe(200);
    expect(text(thread.html)).toContain(`ACK ${inc.code}`);
    expect(thread.html).toContain('Press 1 (acknowledge)');
    expect(thread.html).toMatch(new RegExp(`<button type="submit" name="body" value="ACK ${inc.code}"`));
    const sent = await c.post(`${phone}/sms`, { csrf: c.csrf!, body: `ACK ${inc.code}` });
    expect(sent.status).toBe(303);
    expect(sent.location).toBe(phone);
    const after = text((await c.get(phone)).html);
    expect(after).toContain(`#${inc.code} acknowledged`);
    const [ev] = await t.sql`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'incident.acknowledged'`;
    expect(ev.data).toMatchObject({ by: ava.id, via: 'sms' });
  });

  it('pressing 1 on a live call acknowledges; hanging up does not', async () => {
    const first = (await w.sos(driver)).body.incident;
    await t.engine.tick();
    await settle();
    const c = await signIn(t, ava.token);
    const phone = `/console/phones/${encodeURIComponent(ava.phone)}`;
    const calls = (await t.simulator!.list(ava.phone)).filter((m) => m.kind === 'call' && m.status === 'in-progress');
    // Hang up every live call but the newest one, then press 1 on it.
    const newest = calls[calls.length - 1];
    for (const call of calls.slice(0, -1)) {
      const hung = await c.post(`/console/calls/${call.sid}/hangup`, { csrf: c.csrf! });
      expect(hung.status).toBe(303);
      expect(hung.location).toBe(`${phone}?n=hung-up`);
    }
    const pressed = await c.post(`/console/calls/${newest.sid}/digits`, { csrf: c.csrf!, digits: '1' });
    expect(pressed.status).toBe(303);
    expect(pressed.location).toBe(`${phone}?n=acknowledged`);
    expect(text((await c.get(pressed.location!)).html)).toContain('You pressed 1: the incident is acknowledged');
    expect((await t.get(`/v1/incidents/${first.id}`, ava.token)).body.incident.status).toBe('acknowledged');
    const ended = await c.post(`/console/calls/${newest.sid}/digits`, { csrf: c.csrf!, digits: '1' });
    expect(ended.status).toBe(409);
  });

  it('is for the people who work incidents, not auditors; and not there at all with Twilio', async () => {
    const a = await signIn(t, auditor.token);
    expect((await a.get('/console/phones')).status).toBe(403);
    expect((await a.get('/console')).html).not.toContain('Phone simulator');
    const real = await testApp({ twilio: TWILIO });
    const sup = await world(real).responder('supervisor', [], 'Real');
    const c = await signIn(real, sup.token);
    expect((await c.get('/console')).html).not.toContain('Phone simulator');
    const res = await c.get('/console/phones');
    expect(res.status).toBe(404);
    expect(text(res.html)).toContain('The phone simulator is off');
  });

  it('the demo button appears only with the demo data, and sends a real SOS from the demo driver', async () => {
    const c0 = await signIn(t, ADMIN_TOKEN);
    expect((await c0.get('/console')).html).not.toContain('Simulate an SOS');

    const d = await testApp();
    const demo = (await seedDemo(d.sql))!;
    const c = await signIn(d, ADMIN_TOKEN); // the demo SOS is sent as the driver: the administrator's (simulator-actors.test.ts)
    const board = await c.get('/console');
    expect(text(board.html)).toContain('Simulate an SOS from Dana Kim');
    const res = await c.post('/console/demo/sos', { csrf: c.csrf! });
    expect(res.status).toBe(303);
    expect(res.location).toBe('/console?n=demo');
    const dana = demo.tokens.find((x) => x.role === 'driver')!;
    const [inc] = (await d.get('/v1/incidents?status=active', dana.token)).body.incidents;
    expect(inc).toMatchObject({ kind: 'robbery', status: 'open', zoneId: demo.zoneId, zoneRule: 'inside' });
    const pages = await d.sql`SELECT count(*)::int AS n FROM pages WHERE incident_id = ${inc.id}`;
    expect(pages[0].n).toBeGreaterThan(0);
    expect(text((await c.get('/console')).html)).toContain(`#${inc.code} Robbery`);
    // An auditor has no demo button, and cannot post one.
    const aud = await d.post('/v1/auditors', { name: 'Aud' }, ADMIN_TOKEN);
    const ca = await signIn(d, aud.body.token);
    expect((await ca.get('/console')).html).not.toContain('Simulate an SOS');
    expect((await ca.post('/console/demo/sos', { csrf: ca.csrf! })).status).toBe(403);
  });
});

describe('the safety team', () => {
  it('report with a table and a chart, export links for each format, verification valid then broken', async () => {
    const inc = (await w.sos(driver)).body.incident;
    await t.engine.tick();
    await settle();
    await t.post(`/v1/incidents/${inc.id}/ack`, {}, ava.token);
    const c = await signIn(t, auditor.token);
    const res = await c.get('/console/safety');
    expect(res.status).toBe(200);
    const s = text(res.html);
    expect(s).toMatch(/Response times \(\d+ incidents opened\)/);
    expect(s).toContain('Acknowledged');
    expect(res.html).toContain('aria-labelledby="ack-title ack-desc"');
    for (const f of ['ndjson', 'csv', 'geojson', 'eido']) expect(res.html).toMatch(new RegExp(`href="/console/export\\?from=\\d{4}-\\d\\d-\\d\\d&amp;to=\\d{4}-\\d\\d-\\d\\d&amp;format=${f}"`));
    const [logged] = await t.sql`SELECT actor, params FROM audit_log WHERE action = 'report' ORDER BY seq DESC LIMIT 1`;
    expect(logged.actor).toBe(`auditor:${auditor.id}`);

    const today = new Date().toISOString().slice(0, 10);
    const csv = await c.get(`/console/export?from=${today}&to=${today}&format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="mayday-audit-.*\.csv"$/);
    expect(csv.html).toContain(inc.id);

    const ok = await c.get(`/console/safety/verify?from=${today}&to=${today}`);
    expect(ok.status).toBe(200);
    expect(text(ok.html)).toMatch(/✓ VALID — all \d+ timelines verified/);
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE incident_events SET actor = 'someone-else' WHERE incident_id = ${inc.id} AND seq = 1`;
    });
    const broken = await c.get(`/console/safety/verify?from=${today}&to=${today}`);
    expect(text(broken.html)).toMatch(/✗ BROKEN — 1 of \d+ timelines do not verify/);
    expect(broken.html).toContain(`href="/console/incidents/${inc.id}">#${inc.code}</a>`);
    expect(text((await c.get(`/console/incidents/${inc.id}`)).html)).toContain('✗ Chain BROKEN');
  });

  it('is not for supervisors', async () => {
    const c = await signIn(t, ava.token);
    expect((await c.get('/console/safety')).status).toBe(403);
    expect((await c.get('/console/export?format=csv')).status).toBe(403);
    expect((await c.get('/console')).html).not.toContain('Safety team');
  });

  it('a bad range is a page that says what is wrong', async () => {
    const c = await signIn(t, auditor.token);
    const res = await c.get('/console/safety?from=2026-13-01&to=2026-11-01');
    expect(res.status).toBe(422);
    expect(text(res.html)).toContain('Dates must look like');
  });
});
