import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../src/demo/seed';
import { maskPhone } from '../src/log';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { signIn, text } from './helpers/console';
import { square, world, type Person } from './helpers/world';

/**
 * Who may play which simulated phone (issue 18, security finding 1): a supervisor or safety lead
 * only their own, the administrator every one; and every simulated action names, on the
 * incident's timeline, whoever was signed in.
 */
let t: TestApp;
let w: ReturnType<typeof world>;
let ava: Person; // zone A
let bea: Person; // zone B
let dee: Person; // a driver, in zone B
const settle = () => new Promise((r) => setTimeout(r, 60)); // the simulator reports delivery asynchronously
const B = { lat: 40.0, lng: -100.0 };

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  const zoneA = await w.zone('Zone A', square(36.37, -94.2));
  const zoneB = await w.zone('Zone B', square(B.lat, B.lng));
  ava = await w.responder('supervisor', [zoneA.id], 'Ava A');
  bea = await w.responder('supervisor', [zoneB.id], 'Bea B');
  dee = await w.driver('Dee B');
  await w.rotation(zoneA.id, [ava.id]);
  await w.rotation(zoneB.id, [bea.id]);
});

/** An SOS in zone B, paged (SMS and call) to Bea. */
async function incidentInB() {
  const inc = (await w.sos(dee, { location: { lat: B.lat, lng: B.lng, accuracyM: 10 } })).body.incident;
  await t.engine.tick();
  await settle();
  const call = (await t.simulator!.list(bea.phone)).filter((m) => m.kind === 'call' && m.pageId && m.status === 'in-progress').pop()!;
  return { inc, call };
}

const actions = (incidentId: string) =>
  t.sql<{ actor: string; data: Record<string, string> }[]>`
    SELECT actor, data FROM incident_events WHERE incident_id = ${incidentId} AND type = 'simulator.action' ORDER BY seq`;
const status = async (id: string) => (await t.get(`/v1/incidents/${id}`, ADMIN_TOKEN)).body.incident.status;
const path = (phone: string) => `/console/phones/${encodeURIComponent(phone)}`;

describe('the console’s phone simulator, signed in as a zone-A supervisor', () => {
  it('lists and reads only her own phone', async () => {
    await incidentInB();
    const c = await signIn(t, ava.token);
    const list = text((await c.get('/console/phones')).html);
    expect(list).toContain(ava.phone);
    expect(list).not.toContain(bea.phone);
    expect(list).not.toContain(dee.phone);
    expect(list).toContain('You play only your own phone');
    expect(text((await c.get('/console/phones/list')).html)).not.toContain(bea.phone);
    for (const phone of [bea.phone, dee.phone]) {
      const page = await c.get(path(phone));
      expect(page.status).toBe(403);
      expect(text(page.html)).toContain('only your own phone');
      expect(page.html).not.toContain('Reply ACK');
      expect((await c.get(`${path(phone)}/thread`)).status).toBe(403);
    }
    expect((await c.get(path(ava.phone))).status).toBe(200);
  });

  it('cannot text ACK from a zone-B supervisor’s phone, SAFE from a zone-B driver’s, or press or hang up on their call', async () => {
    const { inc, call } = await incidentInB();
    await t.engine.tick(new Date(Date.now() + 31_000)); // Dee is asked to check in
    const c = await signIn(t, ava.token);
    expect((await c.post(`${path(bea.phone)}/sms`, { csrf: c.csrf!, body: `ACK ${inc.code}` })).status).toBe(403);
    expect((await c.post(`${path(dee.phone)}/sms`, { csrf: c.csrf!, body: 'SAFE' })).status).toBe(403);
    expect((await c.post(`/console/calls/${call.sid}/digits`, { csrf: c.csrf!, digits: '1' })).status).toBe(403);
    expect((await c.post(`/console/calls/${call.sid}/hangup`, { csrf: c.csrf! })).status).toBe(403);
    expect(await status(inc.id)).toBe('open');
    const checkins = await t.sql`SELECT 1 FROM incident_events WHERE incident_id = ${inc.id} AND type = 'checkin.received'`;
    expect(checkins).toHaveLength(0);
    expect((await t.simulator!.list(bea.phone)).find((m) => m.sid === call.sid)!.status).toBe('in-progress');
    expect(await actions(inc.id)).toEqual([]);
  });

  it('her own phone works, and an action that concerns no incident is logged with who did it (no timeline to put it on)', async () => {
    const c = await signIn(t, ava.token);
    const before = t.logs.lines.length;
    const res = await c.post(`${path(ava.phone)}/sms`, { csrf: c.csrf!, body: 'ACK' });
    expect(res.status).toBe(303);
    const line = t.logs.lines.slice(before).map((l) => JSON.parse(l)).find((l) => l.msg === 'simulator action concerning no incident');
    expect(line.simulator).toMatchObject({ actor: `supervisor:${ava.id}`, phone: maskPhone(ava.phone), action: 'sms', kind: 'ack' });
    expect(t.logs.lines.slice(before).join('\n')).not.toContain(ava.phone);
  });
});

describe('acting as others is the administrator’s, and the timeline names who really did it', () => {
  it('in the console: the admin texts ACK from Bea’s phone and SAFE from Dee’s; each is simulator.action by the admin', async () => {
    const { inc } = await incidentInB();
    await t.engine.tick(new Date(Date.now() + 31_000));
    const c = await signIn(t, ADMIN_TOKEN);
    expect(text((await c.get('/console/phones')).html)).toContain(dee.phone);
    expect((await c.get(path(bea.phone))).status).toBe(200);
    expect((await c.post(`${path(bea.phone)}/sms`, { csrf: c.csrf!, body: `ACK ${inc.code}` })).status).toBe(303);
    expect((await c.post(`${path(dee.phone)}/sms`, { csrf: c.csrf!, body: 'SAFE' })).status).toBe(303);
    expect(await status(inc.id)).toBe('acknowledged');
    const acts = await actions(inc.id);
    expect(acts).toEqual([
      { actor: 'admin', data: { actor: 'admin', actorName: 'Administrator', phone: maskPhone(bea.phone), action: 'sms', kind: 'ack' } },
      { actor: 'admin', data: { actor: 'admin', actorName: 'Administrator', phone: maskPhone(dee.phone), action: 'sms', kind: 'safe' } },
    ]);
    const page = text((await c.get(`/console/incidents/${inc.id}`)).html);
    expect(page).toContain(`Phone simulator: administrator texted ACK as the phone ${maskPhone(bea.phone)}`);
    expect(page).toContain('✓'); // the chain still verifies with the new events
    expect((await t.get(`/v1/incidents/${inc.id}/timeline/verify`, ADMIN_TOKEN)).body.valid).toBe(true);
  });

  it('in the console: a supervisor on her own phone is named as herself; a keypress and a hang-up are recorded too', async () => {
    const { inc, call } = await incidentInB();
    const c = await signIn(t, bea.token);
    const calls = (await t.simulator!.list(bea.phone)).filter((m) => m.kind === 'call' && m.status === 'in-progress' && m.sid !== call.sid);
    for (const other of calls) expect((await c.post(`/console/calls/${other.sid}/hangup`, { csrf: c.csrf! })).status).toBe(303);
    expect((await c.post(`/console/calls/${call.sid}/digits`, { csrf: c.csrf!, digits: '1' })).status).toBe(303);
    expect(await status(inc.id)).toBe('acknowledged');
    const [press] = (await actions(inc.id)).filter((a) => a.data.action === 'keypress');
    expect(press).toEqual({ actor: `supervisor:${bea.id}`, data: { actor: `supervisor:${bea.id}`, actorName: 'Bea B', phone: maskPhone(bea.phone), action: 'keypress', digits: '1' } });
  });

  it('through /v1/simulator (the admin’s alone): texts, keypresses and hang-ups are simulator.action by the admin', async () => {
    const { inc, call } = await incidentInB();
    expect((await t.get('/v1/simulator/phones', bea.token)).status).toBe(403);
    expect((await t.get(`/v1/simulator/phones/${encodeURIComponent(bea.phone)}/messages`, bea.token)).status).toBe(403);
    expect((await t.post(`/v1/simulator/calls/${call.sid}/digits`, { digits: '1' }, ava.token)).status).toBe(403);
    expect((await t.post(`/v1/simulator/phones/${encodeURIComponent(bea.phone)}/sms`, { body: `ACK ${inc.code}` }, ava.token)).status).toBe(403);
    expect(await status(inc.id)).toBe('open');

    expect((await t.post(`/v1/simulator/calls/${call.sid}/hangup`, undefined, ADMIN_TOKEN)).status).toBe(200);
    const acked = await t.post(`/v1/simulator/phones/${encodeURIComponent(bea.phone)}/sms`, { body: `ack ${inc.code}` }, ADMIN_TOKEN);
    expect(acked.body.reply).toContain('acknowledged');
    const acts = (await actions(inc.id)).map((a) => [a.actor, a.data.action, a.data.kind ?? null, a.data.phone]);
    expect(acts).toEqual([
      ['admin', 'hangup', null, maskPhone(bea.phone)],
      ['admin', 'sms', 'ack', maskPhone(bea.phone)],
    ]);
  });
});

describe('the demo SOS is sent as the demo driver', () => {
  it('so it is the administrator’s, and recorded as such', async () => {
    const d = await testApp();
    const demo = (await seedDemo(d.sql))!;
    const sup = await signIn(d, demo.tokens.find((x) => x.role === 'supervisor')!.token);
    expect((await sup.get('/console')).html).not.toContain('Simulate an SOS');
    expect((await sup.post('/console/demo/sos', { csrf: sup.csrf! })).status).toBe(403);
    const adm = await signIn(d, ADMIN_TOKEN);
    expect(text((await adm.get('/console')).html)).toContain('Simulate an SOS from Dana Kim');
    expect((await adm.post('/console/demo/sos', { csrf: adm.csrf! })).status).toBe(303);
    const [ev] = await d.sql`SELECT actor, data FROM incident_events WHERE type = 'simulator.action'`;
    expect(ev.actor).toBe('admin');
    expect(ev.data).toMatchObject({ action: 'demo_sos', actor: 'admin' });
  });
});
