/**
 * Emergency dispatch with no Noonlight credentials: the built-in dispatch-center simulator, played
 * from /v1/simulator/dispatch and from the console's incident page, and the console's dispatch
 * form, state and board column. Pages go to the phone simulator.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/env';
import { STALE_REQUEST_SECONDS } from '../src/dispatch/service';
import { recordRequest } from '../src/dispatch/store';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { signIn, text } from './helpers/console';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';
import { smsTo, until } from './helpers/wait';

let t: TestApp;
let w: ReturnType<typeof world>;
let a: Person;
let lead: Person;

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  const zone = await w.zone('Zone', square(36.37, -94.2), { checkInGraceSeconds: 86_400 });
  a = await w.responder('supervisor', [zone.id], 'Ava');
  lead = await w.responder('safety_lead', [], 'Lee');
  await w.rotation(zone.id, [a.id]);
});

const dispatchOf = async (id: string) => (await t.get(`/v1/incidents/${id}/dispatch`, ADMIN_TOKEN)).body.dispatch;
const play = (id: string, action: string) => t.post(`/v1/simulator/dispatch/incidents/${id}`, { action }, ADMIN_TOKEN);

async function acknowledgedSos(name: string) {
  const driver = await w.driver(name);
  const res = await w.sos(driver, { location: { lat: 36.37, lng: -94.2, accuracyM: 15 } });
  const inc = res.body.incident as { id: string; code: number };
  expect((await t.post(`/v1/incidents/${inc.id}/ack`, {}, a.token)).status).toBe(200);
  return { driver, inc };
}

describe('the dispatch-center simulator', () => {
  it('takes the alarm, follows the driver, and plays 911 contacted (the supervisor is texted), closed; the timeline verifies', async () => {
    const { driver, inc } = await acknowledgedSos('Sim');
    const res = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police', 'fire'] }, a.token);
    expect(res.status).toBe(201);
    expect(res.body.dispatch).toMatchObject({ status: 'active', services: ['fire', 'police'] });
    const d = await dispatchOf(inc.id);
    expect(d).toMatchObject({ center: 'simulator', alarmId: expect.stringMatching(/^sim_/) });
    const sim = t.deps.dispatch!.simulator!;
    expect(sim.alarm(d.alarmId)).toMatchObject({ status: 'ACTIVE', locations: [{ lat: 36.37, lng: -94.2, accuracy: 15 }] });
    expect(JSON.stringify(sim.alarm(d.alarmId))).not.toMatch(/"pin"/);

    expect((await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.372, lng: -94.202, accuracyM: 4 }, driver.token)).status).toBe(202);
    await until('the location at the simulated alarm', async () => sim.alarm(d.alarmId)!.locations.length === 2);

    expect((await play(inc.id, 'psap_contacted')).status).toBe(200);
    expect((await dispatchOf(inc.id)).status).toBe('psap_contacted');
    await until('the supervisor texted', async () => (await smsTo(t, a.phone)).some((b) => b.includes(`#${inc.code}: the dispatcher has contacted 911`)));
    expect((await play(inc.id, 'closed')).status).toBe(200);
    expect((await dispatchOf(inc.id)).status).toBe('closed');
    expectError(await play(inc.id, 'closed'), 409, 'conflict');
    const events = (await t.get(`/v1/incidents/${inc.id}/timeline`, ADMIN_TOKEN)).body.events.map((e: { type: string }) => e.type).filter((x: string) => x.startsWith('dispatch.'));
    expect(events).toEqual(['dispatch.requested', 'dispatch.created', 'dispatch.psap_contacted', 'dispatch.closed']);
    expect((await t.get(`/v1/incidents/${inc.id}/timeline/verify`, ADMIN_TOKEN)).body.valid).toBe(true);
  });

  it('"canceled by the person" cancels it; "refused" makes the next request fail and pages the safety lead', async () => {
    const { inc } = await acknowledgedSos('Ref');
    await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    expect((await play(inc.id, 'canceled')).status).toBe(200);
    expect((await dispatchOf(inc.id)).status).toBe('canceled');

    expect((await play(inc.id, 'refused')).body).toEqual({ action: 'refused', alarmId: null });
    const res = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['medical'] }, a.token);
    expect(res.body.dispatch.status).toBe('failed');
    await until('the safety lead paged', async () => (await smsTo(t, lead.phone)).some((b) => b.includes(`#${inc.code}: DISPATCH FAILED`)), 1_000);
  });

  it('"refused" applies to the named incident’s next request only: another incident’s request meanwhile is taken', async () => {
    const { inc } = await acknowledgedSos('Rex');
    const { inc: bystander } = await acknowledgedSos('Bys');
    expect((await play(inc.id, 'refused')).status).toBe(200);
    expect((await t.post(`/v1/incidents/${bystander.id}/dispatch`, { services: ['police'] }, a.token)).body.dispatch.status).toBe('active');
    expect((await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token)).body.dispatch.status).toBe('failed');
    // Used once: the incident's next request is taken.
    expect((await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token)).body.dispatch.status).toBe('active');
  });

  it('a request cut short (the process died between its record and the center’s answer) becomes dispatch.failed at the next tick, pages the safety lead and frees the incident', async () => {
    const { inc } = await acknowledgedSos('Cut');
    // What the dead process left: the request recorded, nothing after it.
    const r = await recordRequest(t.sql, { incidentId: inc.id, services: ['police'], note: null, pinSealed: 'v1.x.y', by: `supervisor:${a.id}`, via: 'api', center: 'simulator', asker: { role: 'supervisor', id: a.id }, pagedFor: false });
    expect(r.result).toBe('created');
    await t.engine.tick();
    expect((await dispatchOf(inc.id)).status).toBe('requested'); // not yet: it may still be on its way
    expect((await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token)).status).toBe(200);
    await t.sql`UPDATE dispatches SET requested_at = now() - make_interval(secs => ${STALE_REQUEST_SECONDS + 1}) WHERE incident_id = ${inc.id}`;
    await t.engine.tick();
    expect((await dispatchOf(inc.id)).status).toBe('failed');
    const [failed] = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.failed'`;
    expect(failed.data).toMatchObject({ reason: 'interrupted', ambiguous: true, paged: [lead.id] });
    await until('the safety lead paged', async () => (await smsTo(t, lead.phone)).some((b) => b.includes(`#${inc.code}: DISPATCH FAILED`)), 1_000);
    const again = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    expect(again.status).toBe(201);
    expect(again.body.dispatch.status).toBe('active');
  });

  it('a request cut short is at most 10 s old when failed, and asking again after that fails it and makes a new one (never "already requested")', async () => {
    expect(STALE_REQUEST_SECONDS).toBeLessThanOrEqual(10);
    const { inc } = await acknowledgedSos('Cut2');
    const r = await recordRequest(t.sql, { incidentId: inc.id, services: ['police'], note: null, pinSealed: 'v1.x.y', by: `supervisor:${a.id}`, via: 'api', center: 'simulator', asker: { role: 'supervisor', id: a.id }, pagedFor: false });
    expect(r.result).toBe('created');
    await t.sql`UPDATE dispatches SET requested_at = now() - make_interval(secs => ${STALE_REQUEST_SECONDS + 1}) WHERE incident_id = ${inc.id}`;
    // No tick in between: the request itself finds the stale one.
    const again = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, a.token);
    expect(again.status).toBe(201);
    expect(again.body.dispatch.status).toBe('active');
    const [failed] = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.failed'`;
    expect(failed.data).toMatchObject({ reason: 'interrupted', ambiguous: true, paged: [lead.id] });
    await until('the safety lead paged', async () => (await smsTo(t, lead.phone)).some((b) => b.includes(`#${inc.code}: DISPATCH FAILED`)), 1_000);
  });

  it('is the admin’s: others get 403; unknown actions 422', async () => {
    const { inc } = await acknowledgedSos('Adm');
    expectError(await t.post(`/v1/simulator/dispatch/incidents/${inc.id}`, { action: 'closed' }, a.token), 403, 'forbidden');
    expectError(await play(inc.id, 'explode'), 422, 'validation_failed');
  });
});

describe('the acknowledging supervisor of another zone', () => {
  /** An SOS in the zone that `oz` (a supervisor of another zone, paged for it) acknowledges. */
  async function ackedByOutsider(oz: Person, name: string) {
    const res = await w.sos(await w.driver(name), { location: { lat: 36.37, lng: -94.2, accuracyM: 15 } });
    const inc = res.body.incident as { id: string; code: number };
    await t.sql`INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, status) VALUES (${inc.id}, ${oz.id}, ${oz.phone}, 'sms', 'page', 5, 'sent')`;
    expect((await t.post(`/v1/incidents/${inc.id}/ack`, {}, oz.token)).status).toBe(200);
    return inc;
  }

  it('may request dispatch, by the API and by the console’s form', async () => {
    const z2 = await w.zone('Outside', square(41, -101));
    const oz = await w.responder('supervisor', [z2.id], 'Oz');
    const inc = await ackedByOutsider(oz, 'Out1');
    const res = await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, oz.token);
    expect(res.status).toBe(201);
    expect(await dispatchOf(inc.id)).toMatchObject({ requestedBy: `supervisor:${oz.id}` });

    const second = await ackedByOutsider(oz, 'Out2');
    const con = await signIn(t, oz.token);
    expect(text((await con.get(`/console/incidents/${second.id}`)).html)).toContain('Request police / fire / medical');
    const posted = await con.post(`/console/incidents/${second.id}/dispatch`, { csrf: con.csrf!, police: 'on' });
    expect(posted.location).toBe(`/console/incidents/${second.id}?n=dispatch-requested`);
    expect(await dispatchOf(second.id)).toMatchObject({ status: 'active', requestedBy: `supervisor:${oz.id}` });
  });
});

describe('the console', () => {
  it('a supervisor requests police from the incident page; the state shows there and on the board; the admin plays the dispatcher; a failure shows in red words', async () => {
    const { inc } = await acknowledgedSos('Con');
    const sup = await signIn(t, a.token);
    const before = await sup.get(`/console/incidents/${inc.id}`);
    expect(text(before.html)).toContain('Request police / fire / medical');
    expect(text(before.html)).toContain('Emergency dispatch not requested');
    const posted = await sup.post(`/console/incidents/${inc.id}/dispatch`, { csrf: sup.csrf!, police: 'on', medical: 'on', note: 'blue car' });
    expect(posted.status).toBe(303);
    expect(posted.location).toBe(`/console/incidents/${inc.id}?n=dispatch-requested`);
    const d = await dispatchOf(inc.id);
    expect(d).toMatchObject({ status: 'active', services: ['medical', 'police'], requestedBy: `supervisor:${a.id}` });
    const [ev] = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.requested'`;
    expect(ev.data).toMatchObject({ via: 'console', note: 'blue car' });
    const page = text((await sup.get(`/console/incidents/${inc.id}`)).html);
    expect(page).toContain('Medical, Police requested; the dispatcher is calling the driver');
    expect(page).not.toContain('Request police / fire / medical');
    expect(page).not.toContain('Dispatch-center simulator'); // the admin's
    expect(page).toContain('Emergency services requested by Ava');
    const board = text((await sup.get('/console/board')).html);
    expect(board).toContain('Medical, Police requested');

    const admin = await signIn(t, ADMIN_TOKEN);
    const adminPage = text((await admin.get(`/console/incidents/${inc.id}`)).html);
    expect(adminPage).toContain('911 contacted');
    expect((await admin.post(`/console/incidents/${inc.id}/dispatch/simulator`, { csrf: admin.csrf!, action: 'psap_contacted' })).status).toBe(303);
    expect(text((await sup.get('/console/board')).html)).toContain('911 CONTACTED');
    expect((await admin.post(`/console/incidents/${inc.id}/dispatch/simulator`, { csrf: admin.csrf!, action: 'closed' })).status).toBe(303);

    // A refused one: the page says so in words, in red (the class), and the form is back.
    expect((await admin.post(`/console/incidents/${inc.id}/dispatch/simulator`, { csrf: admin.csrf!, action: 'refused' })).status).toBe(303);
    const failed = await sup.post(`/console/incidents/${inc.id}/dispatch`, { csrf: sup.csrf!, police: 'on' });
    expect(failed.location).toBe(`/console/incidents/${inc.id}?n=dispatch-failed`);
    const html = (await sup.get(`/console/incidents/${inc.id}`)).html;
    expect(html).toMatch(/<strong class="dispatch-failed" role="alert">DISPATCH FAILED — call 911 yourself/);
    expect(text(html)).toContain('Request police / fire / medical');
    expect(text((await sup.get('/console/board')).html)).toContain('DISPATCH FAILED — call 911 yourself');
    // Nothing chosen: refused with the one error page, nothing recorded.
    const none = await sup.post(`/console/incidents/${inc.id}/dispatch`, { csrf: sup.csrf! });
    expect(none.status).toBe(422);
  });

  it('an auditor reads the dispatch but gets no form; the form needs the CSRF token', async () => {
    const { inc } = await acknowledgedSos('Aud');
    const auditor = await w.auditor();
    const c = await signIn(t, auditor.token);
    expect(text((await c.get(`/console/incidents/${inc.id}`)).html)).not.toContain('Request police / fire / medical');
    expect((await c.post(`/console/incidents/${inc.id}/dispatch`, { csrf: c.csrf!, police: 'on' })).status).toBe(403);
    const sup = await signIn(t, a.token);
    expect((await sup.post(`/console/incidents/${inc.id}/dispatch`, { csrf: 'f'.repeat(64), police: 'on' })).status).toBe(403);
    expect(await dispatchOf(inc.id)).toBeNull();
  });
});

describe('configuration', () => {
  it('NOONLIGHT_WEBHOOK_SECRET is required with NOONLIGHT_SERVER_TOKEN; without the token the simulator stands in', () => {
    expect(() => parseConfig({ NOONLIGHT_SERVER_TOKEN: 'sk_live_0123456789' })).toThrow(/NOONLIGHT_WEBHOOK_SECRET: is required when NOONLIGHT_SERVER_TOKEN is set/);
    expect(parseConfig({}).noonlight).toBeUndefined();
    expect(parseConfig({ NOONLIGHT_SERVER_TOKEN: 'sk_live_0123456789', NOONLIGHT_WEBHOOK_SECRET: 'whsec_0123456789', NOONLIGHT_API_BASE_URL: 'https://api-sandbox.noonlight.com/' }).noonlight).toEqual({
      apiBaseUrl: 'https://api-sandbox.noonlight.com', serverToken: 'sk_live_0123456789', webhookSecret: 'whsec_0123456789',
    });
    expect(() => parseConfig({ NOONLIGHT_API_BASE_URL: 'ftp://x' })).toThrow(/NOONLIGHT_API_BASE_URL/);
  });
});
