/**
 * Emergency dispatch against the Noonlight stand-in over real HTTP (scripts/noonlight-standin.ts):
 * Mayday is served on a loopback port so the stand-in's signed webhooks reach it; pages go to the
 * phone simulator, whose messages the tests read.
 */
import { createHmac } from 'node:crypto';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type Standin } from '../scripts/noonlight-standin';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { signIn, text } from './helpers/console';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';
import { sleep, smsTo, until } from './helpers/wait';

const TOKEN = 'noonlight-test-server-token';
const SECRET = 'noonlight-test-webhook-secret';

let t: TestApp;
let w: ReturnType<typeof world>;
let standin: Standin;
let stopServer: () => void;
let zone: { id: string };
let a: Person; // on call: gets the first page
let c: Person; // a supervisor of the zone, never paged
let other: Person; // a supervisor of another zone
let lead: Person;


beforeAll(async () => {
  let fetch: (req: Request) => Response | Promise<Response> = () => new Response('not yet', { status: 503 });
  const server = serve({ fetch: (req) => fetch(req), port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  stopServer = () => server.close();
  standin = await start({ port: 0, token: TOKEN, secret: SECRET, webhookUrl: `http://127.0.0.1:${port}/webhooks/noonlight`, webhookRetries: 0 });
  t = await testApp({ noonlight: { apiBaseUrl: standin.base, serverToken: TOKEN, webhookSecret: SECRET, retryBudgetMs: 500, backoffMs: [50], attemptTimeoutMs: 1_000 } });
  fetch = (req) => t.app.fetch(req);
  w = world(t);
  zone = await w.zone('Zone', square(36.37, -94.2), { checkInGraceSeconds: 86_400 });
  const z2 = await w.zone('Elsewhere', square(40, -100));
  a = await w.responder('supervisor', [zone.id], 'Ava');
  c = await w.responder('supervisor', [zone.id], 'Cy');
  other = await w.responder('supervisor', [z2.id], 'Otto');
  lead = await w.responder('safety_lead', [], 'Lee');
  await w.rotation(zone.id, [a.id]);
  const policy = { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 3600, notify: ['safety_leads'], channels: ['sms'] }] };
  expect((await t.put(`/v1/zones/${zone.id}/escalation-policy`, policy, ADMIN_TOKEN)).status).toBe(200);
});
afterAll(async () => {
  await standin?.stop();
  stopServer?.();
});

/** A driver of its own presses SOS in the zone; A acknowledges it. */
async function acknowledgedSos(name = 'Dana', location = { lat: 36.37, lng: -94.2, accuracyM: 12 }) {
  const driver = await w.driver(name);
  const res = await w.sos(driver, { location, kind: 'robbery', note: 'two men, a knife' });
  expect(res.status).toBe(201);
  const inc = res.body.incident as { id: string; code: number };
  expect((await t.post(`/v1/incidents/${inc.id}/ack`, {}, a.token)).status).toBe(200);
  return { driver, inc };
}

const dispatchOf = async (incidentId: string) => (await t.get(`/v1/incidents/${incidentId}/dispatch`, ADMIN_TOKEN)).body.dispatch;
const eventTypes = async (incidentId: string) =>
  (await t.sql<{ type: string }[]>`SELECT type FROM incident_events WHERE incident_id = ${incidentId} AND type LIKE 'dispatch.%' ORDER BY seq`).map((r) => r.type);
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');

describe('requesting dispatch', () => {
  it('SOS → ack → dispatch by API: the alarm has the driver, the newest fix, the services and what happened; the driver moves and the alarm follows; 911 contacted texts the supervisor; closed', async () => {
    const { driver, inc } = await acknowledgedSos();
    const res = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police', 'medical'], note: 'driver hurt' }, a.token);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ dispatch: { id: expect.any(String), status: 'active', services: ['medical', 'police'] } });

    const [alarm] = [...standin.alarms.values()].filter((x) => x.name === 'Dana');
    expect(alarm.phone).toBe(driver.phone.replace(/\D/g, ''));
    expect(alarm.locations).toHaveLength(1);
    expect(alarm.locations[0]).toMatchObject({ lat: 36.37, lng: -94.2, accuracy: 12 });
    expect(alarm.services).toMatchObject({ police: true, medical: true, fire: false });
    expect(alarm.instructions).toContain(`#${inc.code}`);
    expect(alarm.instructions).toContain('robbery');
    expect(alarm.instructions).toContain('two men, a knife');
    expect(alarm.instructions).toContain('driver hurt');
    // The alarm's PIN: four digits, kept sealed (never in the database in the clear, never answered).
    expect(alarm.pin).toMatch(/^\d{4}$/);
    const [row] = await t.sql<{ pin_sealed: string }[]>`SELECT pin_sealed FROM dispatches WHERE id = ${res.body.dispatch.id}`;
    expect(row.pin_sealed).toMatch(/^v1\./);
    expect(row.pin_sealed).not.toContain(alarm.pin);
    expect(JSON.stringify(await dispatchOf(inc.id))).not.toContain(alarm.pin!);
    expect(t.logs.lines.join('\n')).not.toContain(`"${alarm.pin}"`);

    // Asked again while it is live: the same dispatch, 200, no second alarm.
    const again = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, c.token);
    expect(again.status).toBe(200);
    expect(again.body.dispatch.id).toBe(res.body.dispatch.id);
    expect([...standin.alarms.values()].filter((x) => x.name === 'Dana')).toHaveLength(1);

    // The driver's app shows it ("Police requested" until 911 is contacted).
    const app = async () => (await t.get(`/v1/app/incidents/${inc.id}`, driver.token)).body.dispatch;
    expect(await app()).toEqual({ status: 'active', services: ['medical', 'police'], requestedAt: expect.any(String), psapContactedAt: null });

    // The driver moves: the alarm gets the new fix.
    const moved = await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.3801, lng: -94.2102, accuracyM: 5 }, driver.token);
    expect(moved.status).toBe(202);
    await until('the new location at the alarm', () => alarm.locations.length === 2);
    expect(alarm.locations[1]).toMatchObject({ lat: 36.3801, lng: -94.2102, accuracy: 5 });

    // The dispatcher calls 911: on the timeline, and A (who acknowledged) gets a text.
    const [psap] = await standin.emit(alarm.id, 'psap_contacted');
    expect(psap.answer).toBe(200);
    expect((await dispatchOf(inc.id)).status).toBe('psap_contacted');
    expect((await dispatchOf(inc.id)).psapContactedAt).toEqual(expect.any(String));
    expect(await app()).toMatchObject({ status: 'psap_contacted', psapContactedAt: (await dispatchOf(inc.id)).psapContactedAt });
    await until('the supervisor texted', async () => (await smsTo(t, a.phone)).some((b) => b.includes(`#${inc.code}: the dispatcher has contacted 911`)));

    await standin.emit(alarm.id, 'closed');
    expect((await dispatchOf(inc.id)).status).toBe('closed');
    expect(await eventTypes(inc.id)).toEqual(['dispatch.requested', 'dispatch.created', 'dispatch.psap_contacted', 'dispatch.closed']);
    expect((await t.get(`/v1/incidents/${inc.id}/timeline/verify`, ADMIN_TOKEN)).body.valid).toBe(true);
  });

  it('by SMS "911 <code>" from the responder paged for it: police requested; from one not paged: nothing', async () => {
    const { inc } = await acknowledgedSos('Dee');
    const notPaged = await t.post(`/v1/simulator/phones/${encodeURIComponent(c.phone)}/sms`, { body: `911 ${inc.code}` }, ADMIN_TOKEN);
    expect(notPaged.body.reply).toBe(`Mayday: you were not paged for #${inc.code}; nothing was requested.`);
    expect(await dispatchOf(inc.id)).toBeNull();

    const res = await t.post(`/v1/simulator/phones/${encodeURIComponent(a.phone)}/sms`, { body: `911 ${inc.code}` }, ADMIN_TOKEN);
    expect(res.body.reply).toContain(`#${inc.code}: police requested`);
    const d = await dispatchOf(inc.id);
    expect(d).toMatchObject({ status: 'active', services: ['police'], requestedBy: `supervisor:${a.id}` });
    const alarm = standin.alarms.get(d.alarmId)!;
    expect(alarm.services).toMatchObject({ police: true, fire: false, medical: false });
    expect(alarm.locations[0]).toMatchObject({ lat: 36.37, lng: -94.2 });
    const again = await t.post(`/v1/simulator/phones/${encodeURIComponent(a.phone)}/sms`, { body: `911 #${inc.code}` }, ADMIN_TOKEN);
    expect(again.body.reply).toContain('already requested');
  });

  it('who may ask: the zone’s supervisors, the safety lead and the admin; not a driver, an auditor or another zone’s supervisor; bad bodies are 422; a resolved incident 409', async () => {
    const { driver, inc } = await acknowledgedSos('Dot');
    expectError(await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, driver.token), 403, 'forbidden');
    const auditor = await w.auditor();
    expectError(await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, auditor.token), 403, 'forbidden');
    expectError(await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, other.token), 404, 'not_found');
    // Paged for it (so it sees the incident) without supervising the zone or acknowledging: not through the API.
    await t.sql`INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, status) VALUES (${inc.id}, ${other.id}, ${other.phone}, 'sms', 'page', 5, 'sent')`;
    expect((await t.get(`/v1/incidents/${inc.id}`, other.token)).status).toBe(200);
    expectError(await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, other.token), 403, 'forbidden');
    expectError(await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: [] }, a.token), 422, 'validation_failed');
    expectError(await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['swat'] }, a.token), 422, 'validation_failed');
    expectError(await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'], extra: 1 }, a.token), 422, 'validation_failed');
    expect(await dispatchOf(inc.id)).toBeNull();
    expect((await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['fire'] }, lead.token)).status).toBe(201);

    const { inc: second } = await acknowledgedSos('Dru');
    expect((await t.post(`/v1/incidents/${second.id}/dispatch`, { services: ['police'] }, c.token)).status).toBe(201);
    const { inc: third } = await acknowledgedSos('Dax');
    expect((await t.post(`/v1/incidents/${third.id}/resolve`, { disposition: 'false_alarm' }, a.token)).status).toBe(200);
    expectError(await t.post(`/v1/incidents/${third.id}/dispatch`, { services: ['police'] }, ADMIN_TOKEN), 409, 'conflict');
  });
});

describe('failure is loud', () => {
  it('a refused dispatch is dispatch.failed and pages the safety leads within 1 s, "call 911 yourself" with the driver’s location', async () => {
    const { inc } = await acknowledgedSos('Fay', { lat: 36.371, lng: -94.201, accuracyM: 9 });
    standin.fault('create', 400);
    const asked = Date.now();
    const res = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    expect(res.status).toBe(201);
    expect(res.body.dispatch.status).toBe('failed');
    const sms = await until('the safety lead paged', async () => (await smsTo(t, lead.phone)).find((b) => b.includes(`#${inc.code}: DISPATCH FAILED`)), 1_000);
    expect(Date.now() - asked).toBeLessThanOrEqual(1_000);
    expect(sms).toContain('CALL 911 YOURSELF');
    expect(sms).toContain('https://maps.google.com/?q=36.37100,-94.20100');
    expect(await eventTypes(inc.id)).toEqual(['dispatch.requested', 'dispatch.failed']);
    const [failed] = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.failed'`;
    expect(failed.data).toMatchObject({ kind: 'refused', status: 400, paged: [lead.id] });
    // A failed dispatch is not live: asking again makes a new one.
    const retry = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    expect(retry.status).toBe(201);
    expect(retry.body.dispatch.status).toBe('active');
  });

  it('a 500 (the alarm may exist) is dispatch.failed too, saying it is ambiguous', async () => {
    const { inc } = await acknowledgedSos('Flo');
    standin.fault('create', 500);
    const res = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    expect(res.body.dispatch.status).toBe('failed');
    const [failed] = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.failed'`;
    expect(failed.data).toMatchObject({ kind: 'unknown', ambiguous: true });
    await until('the safety lead paged', async () => (await smsTo(t, lead.phone)).some((b) => b.includes(`#${inc.code}: DISPATCH FAILED`)), 1_000);
  });
});

describe('cancel and duress', () => {
  it('the cancel PIN cancels the alarm with the alarm’s PIN; the duress PIN leaves it going, and it still follows the driver', async () => {
    const { driver, inc } = await acknowledgedSos('Cal');
    const d = (await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token)).body.dispatch;
    const alarmId = (await dispatchOf(inc.id)).alarmId as string;
    expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '1234' }, driver.token)).status).toBe(200);
    await until('the alarm cancelled', () => standin.alarms.get(alarmId)!.status === 'CANCELED');
    expect(standin.alarms.get(alarmId)!.canceledBy).toBe('api');
    await until('dispatch.canceled', async () => (await dispatchOf(inc.id)).status === 'canceled');
    expect(await eventTypes(inc.id)).toEqual(['dispatch.requested', 'dispatch.created', 'dispatch.canceled']);
    expect(d.status).toBe('active');

    const { driver: held, inc: duress } = await acknowledgedSos('Dur');
    await t.post(`/v1/incidents/${duress.id}/dispatch`, { services: ['police'] }, a.token);
    const duressAlarm = (await dispatchOf(duress.id)).alarmId as string;
    expect((await t.post(`/v1/incidents/${duress.id}/cancel`, { pin: '9999' }, held.token)).status).toBe(200);
    await sleep(300);
    expect(standin.alarms.get(duressAlarm)!.status).toBe('ACTIVE');
    expect((await dispatchOf(duress.id)).status).toBe('active');
    expect(await eventTypes(duress.id)).toEqual(['dispatch.requested', 'dispatch.created']);
    expect(standin.requests.filter((r) => r.route === 'cancel' && r.alarmId === duressAlarm)).toEqual([]);
    // The driver's app shows a cancel either way, with no dispatch, as after the real cancel.
    const appView = async (id: string, token: string) => (await t.get(`/v1/app/incidents/${id}`, token)).body;
    expect(await appView(duress.id, held.token)).toMatchObject({ state: 'cancelled', dispatch: null });
    expect(await appView(inc.id, driver.token)).toMatchObject({ state: 'cancelled', dispatch: null });
    expect((await t.post(`/v1/incidents/${duress.id}/locations`, { lat: 36.36, lng: -94.19, accuracyM: 7 }, held.token)).status).toBe(202);
    await until('the new location at the alarm', () => standin.alarms.get(duressAlarm)!.locations.length === 2);
  });

  it('a cancel PIN while the alarm is still being created cancels it once it exists (the engine); the duress PIN in the same race does not', async () => {
    const { driver, inc } = await acknowledgedSos('Race');
    standin.fault('create', { kind: 'slow', ms: 600 });
    const asked = t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    await until('the creation at the stand-in', () => standin.requests.some((r) => r.route === 'create' && r.outcome === 'slow'));
    expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '1234' }, driver.token)).status).toBe(200);
    expect((await asked).body.dispatch.status).toBe('active');
    const alarmId = (await dispatchOf(inc.id)).alarmId as string;
    expect(standin.alarms.get(alarmId)!.status).toBe('ACTIVE');
    await sleep(2_100);
    await t.engine.tick();
    await until('the alarm cancelled', () => standin.alarms.get(alarmId)!.status === 'CANCELED');
    await until('dispatch.canceled', async () => (await dispatchOf(inc.id)).status === 'canceled');

    const { driver: held, inc: duress } = await acknowledgedSos('Race2');
    standin.fault('create', { kind: 'slow', ms: 600 });
    const asked2 = t.post(`/v1/incidents/${duress.id}/dispatch`, { services: ['police'] }, a.token);
    await until('the creation at the stand-in', () => standin.requests.filter((r) => r.route === 'create' && r.outcome === 'slow').length === 2);
    expect((await t.post(`/v1/incidents/${duress.id}/cancel`, { pin: '9999' }, held.token)).status).toBe(200);
    await asked2;
    await sleep(2_100);
    await t.engine.tick();
    await sleep(200);
    expect(standin.alarms.get((await dispatchOf(duress.id)).alarmId)!.status).toBe('ACTIVE');
    expect((await dispatchOf(duress.id)).status).toBe('active');
  });

  it('the duress PIN after the cancel PIN, while the alarm is still being created: the alarm is never cancelled', async () => {
    const { driver, inc } = await acknowledgedSos('Race3');
    standin.fault('create', { kind: 'slow', ms: 600 });
    const asked = t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    await until('the creation at the stand-in', () => [...standin.alarms.values()].some((x) => x.name === 'Race3'));
    expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '1234' }, driver.token)).status).toBe(200);
    // The duress PIN answers what a second cancel PIN would (409, already cancelled).
    expectError(await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '9999' }, driver.token), 409, 'already_cancelled');
    expect((await asked).body.dispatch.status).toBe('active');
    const alarmId = (await dispatchOf(inc.id)).alarmId as string;
    await sleep(2_100);
    await t.engine.tick();
    await sleep(300);
    expect(standin.alarms.get(alarmId)!.status).toBe('ACTIVE');
    expect((await dispatchOf(inc.id)).status).toBe('active');
    expect(standin.requests.filter((r) => r.route === 'cancel' && r.alarmId === alarmId)).toEqual([]);
  });

  it('the duress PIN after the cancel PIN already cancelled the alarm: the safety leads are told to request police again', async () => {
    const { driver, inc } = await acknowledgedSos('Late');
    await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    const alarmId = (await dispatchOf(inc.id)).alarmId as string;
    expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '1234' }, driver.token)).status).toBe(200);
    await until('dispatch.canceled', async () => (await dispatchOf(inc.id)).status === 'canceled');
    expect(standin.alarms.get(alarmId)!.status).toBe('CANCELED');
    expectError(await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '9999' }, driver.token), 409, 'already_cancelled');
    await until('the safety lead told', async () => (await smsTo(t, lead.phone)).some((b) => b.includes(`#${inc.code}: dispatch for Late was CANCELLED, then the DURESS PIN`)), 1_000);
    const [ev] = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.failed'`;
    expect(ev.data).toMatchObject({ reason: 'canceled_then_duress', alarmId, paged: [lead.id] });
    const con = await signIn(t, lead.token);
    expect(text((await con.get(`/console/incidents/${inc.id}`)).html)).toContain('DISPATCH CANCELLED, THEN THE DURESS PIN');
  });

  it('a location the center did not answer is sent again by the engine; one it refused is not', async () => {
    const { driver, inc } = await acknowledgedSos('Loc');
    await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    const alarm = standin.alarms.get((await dispatchOf(inc.id)).alarmId)!;
    standin.fault('location', 500);
    await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.375, lng: -94.205, accuracyM: 6 }, driver.token);
    await until('the refused forward', () => standin.requests.some((r) => r.route === 'location' && r.alarmId === alarm.id && r.outcome === 'status 500'));
    await sleep(50);
    expect(alarm.locations).toHaveLength(1);
    await t.engine.tick();
    await until('the location sent again', () => alarm.locations.length === 2);
    expect(alarm.locations[1]).toMatchObject({ lat: 36.375, lng: -94.205 });
    // A refusal is not sent again (a closed alarm, a location it will not take): no request per tick for ever.
    standin.fault('location', 400, 2); // nested, then flat
    await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.376, lng: -94.206, accuracyM: 6 }, driver.token);
    await until('the refused forward', () => standin.requests.some((r) => r.route === 'location' && r.alarmId === alarm.id && r.outcome === 'status 400'));
    await sleep(100);
    const asked = standin.requests.filter((r) => r.route === 'location' && r.alarmId === alarm.id).length;
    await t.engine.tick();
    await sleep(100);
    expect(standin.requests.filter((r) => r.route === 'location' && r.alarmId === alarm.id).length).toBe(asked);
    // The refusal is on the timeline, once, and on the console's incident page in words.
    const refused = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.location_failed'`;
    expect(refused.map((r) => r.data)).toEqual([expect.objectContaining({ alarmId: alarm.id, status: 400, locationAt: expect.any(String) })]);
    const con = await signIn(t, a.token);
    expect(text((await con.get(`/console/incidents/${inc.id}`)).html)).toContain('The dispatch center refused the driver’s newer location');
    expect((await t.get(`/v1/incidents/${inc.id}/timeline/verify`, ADMIN_TOKEN)).body.valid).toBe(true);
  });
});

describe('a center that hangs', () => {
  it('never holds the tick: an escalation step due is sent on time while a location forward hangs, and the hung alarm is not asked again at once', async () => {
    const { inc } = await acknowledgedSos('Hang');
    await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    const alarmId = (await dispatchOf(inc.id)).alarmId as string;
    standin.fault('location', 'hang');
    // A newer fix than the alarm has, for the engine's sweep to forward (and hang on).
    await t.sql`UPDATE incidents SET lat = 36.372, lng = -94.202, location_at = now() WHERE id = ${inc.id}`;
    // Another incident, whose next escalation step (the safety leads, after an hour) the tick finds due.
    const res = await w.sos(await w.driver('Esc'), { location: { lat: 36.37, lng: -94.2, accuracyM: 10 } });
    const due = res.body.incident as { id: string; code: number };
    const started = Date.now();
    const r = await t.engine.tick(new Date(Date.now() + 3_601_000));
    expect(Date.now() - started).toBeLessThan(800); // the forward's attempt has 1 s
    expect(r.escalated).toBeGreaterThanOrEqual(1);
    await until('the safety lead paged for the escalation', async () => (await smsTo(t, lead.phone)).some((b) => b.includes(`#${due.code}`)), 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    const forwards = () => standin.requests.filter((x) => x.route === 'location' && x.alarmId === alarmId);
    await until('the forward hung', () => forwards().some((x) => x.outcome === 'hang'));
    // The attempt times out (1 s): that alarm backs off, so the next tick does not ask again at once.
    await sleep(1_200);
    const asked = forwards().length;
    await t.engine.tick();
    await sleep(100);
    expect(forwards().length).toBe(asked);
  });
});

describe('webhooks', () => {
  it('a forged webhook gets 403 and changes nothing; no signature, or a signature with another secret, alike', async () => {
    const { inc } = await acknowledgedSos('Gus');
    await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    const alarmId = (await dispatchOf(inc.id)).alarmId as string;
    const before = { events: await eventTypes(inc.id), kept: (await t.sql`SELECT 1 FROM dispatch_webhook_events`).length };
    const [forged] = await standin.emit(alarmId, 'closed', { forge: true });
    expect(forged.answer).toBe(403);
    const body = JSON.stringify([{ event_id: 'evt_forged', event_type: 'alarm.closed', event_time: new Date().toISOString(), meta: { alarm_id: alarmId } }]);
    for (const headers of [{} as Record<string, string>, { 'x-noonlight-signature': sign(body, 'another-secret') }, { 'x-noonlight-signature': 'not base64 !' }]) {
      const res = await t.req('POST', '/webhooks/noonlight', { body, headers: { 'content-type': 'application/json', ...headers } });
      expectError(res, 403, 'bad_signature');
    }
    expect((await dispatchOf(inc.id)).status).toBe('active');
    expect({ events: await eventTypes(inc.id), kept: (await t.sql`SELECT 1 FROM dispatch_webhook_events`).length }).toEqual(before);
    // Signed right, it is taken.
    const ok = await t.req('POST', '/webhooks/noonlight', { body, headers: { 'content-type': 'application/json', 'x-noonlight-signature': sign(body) } });
    expect(ok.status).toBe(200);
    expect((await dispatchOf(inc.id)).status).toBe('closed');
  });

  it('duplicates are recorded once; out of order, a late psap_contacted never reopens a closed dispatch nor texts anyone', async () => {
    const { inc } = await acknowledgedSos('Hal');
    await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    const alarmId = (await dispatchOf(inc.id)).alarmId as string;
    const deliveries = await standin.emit(alarmId, 'psap_contacted', { duplicate: true });
    expect(deliveries.map((d) => d.answer)).toEqual([200, 200]);
    expect(await eventTypes(inc.id)).toEqual(['dispatch.requested', 'dispatch.created', 'dispatch.psap_contacted']);
    await until('one text to the supervisor', async () => (await smsTo(t, a.phone)).filter((b) => b.includes(`#${inc.code}: the dispatcher has contacted 911`)).length === 1);

    const { inc: late } = await acknowledgedSos('Ike');
    await t.post(`/v1/incidents/${late.id}/dispatch`, { services: ['police'] }, a.token);
    const lateAlarm = (await dispatchOf(late.id)).alarmId as string;
    await standin.emitOutOfOrder(lateAlarm);
    const d = await dispatchOf(late.id);
    expect(d.status).toBe('closed');
    expect(d.psapContactedAt).toEqual(expect.any(String));
    expect(Date.parse(d.psapContactedAt)).toBeLessThan(Date.parse(d.closedAt));
    expect(await eventTypes(late.id)).toEqual(['dispatch.requested', 'dispatch.created', 'dispatch.closed', 'dispatch.psap_contacted']);
    await sleep(200);
    expect((await smsTo(t, a.phone)).filter((b) => b.includes(`#${late.code}: the dispatcher`))).toEqual([]);
  });

  it('garbage that is signed is a 4xx with the one error body; an unknown alarm is taken and ignored', async () => {
    const post = (body: string) => t.req('POST', '/webhooks/noonlight', { body, headers: { 'content-type': 'application/json', 'x-noonlight-signature': sign(body) } });
    expectError(await post('not json'), 400, 'malformed_json');
    expectError(await post('[{"event_id": 1}]'), 422, 'validation_failed');
    const unknown = await post(JSON.stringify([{ event_id: 'evt_x', event_type: 'alarm.closed', event_time: new Date().toISOString(), meta: { alarm_id: 'nobody' } }]));
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ recorded: 0, unknown: 1 });
    expect(await t.sql`SELECT 1 FROM dispatch_webhook_events WHERE event_id = 'evt_x'`).toHaveLength(0);
    expect(t.logs.lines.some((l) => l.includes('"alarmId":"nobody"') && l.includes('an alarm Mayday does not know'))).toBe(true);
  });

  it('an event for an alarm whose creation is not recorded yet is answered 503 and not kept, so the redelivery is taken', async () => {
    const { inc } = await acknowledgedSos('Ely');
    standin.fault('create', { kind: 'slow', ms: 600 });
    const asked = t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    await until('the creation at the stand-in', () => [...standin.alarms.values()].find((x) => x.name === 'Ely'));
    const alarmId = [...standin.alarms.values()].find((x) => x.name === 'Ely')!.id;
    const body = JSON.stringify([{ event_id: `evt_early_${alarmId}`, event_type: 'alarm.psap_contacted', event_time: new Date().toISOString(), meta: { alarm_id: alarmId } }]);
    const post = () => t.req('POST', '/webhooks/noonlight', { body, headers: { 'content-type': 'application/json', 'x-noonlight-signature': sign(body) } });
    expectError(await post(), 503, 'unavailable');
    expect((await asked).body.dispatch.status).toBe('active');
    const again = await post();
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ recorded: 1, duplicates: 0 });
    expect((await dispatchOf(inc.id)).status).toBe('psap_contacted');
  });
});
