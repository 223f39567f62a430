import { describe, expect, it } from 'vitest';
import { testApp } from './helpers/app';
import { TWILIO } from './helpers/twilio';
import { square, world } from './helpers/world';

/** A zone with Ava on call and a driver, Dana, paging through the simulator (no Twilio credentials). */
async function onCall(opts: Parameters<typeof testApp>[0] = {}) {
  const t = await testApp(opts);
  const w = world(t);
  const zone = await w.zone('Zone', square(36.37, -94.2));
  const a = await w.responder('supervisor', [zone.id], 'Ava');
  const driver = await w.driver('Dana');
  await w.rotation(zone.id, [a.id]);
  return { t, w, a, driver };
}

/** The built-in phone simulator: the whole story with no Twilio credentials. */
describe('phone simulator', () => {
  it('an SOS shows up on the on-call phone; pressing 1 on the call acknowledges through the same code as Twilio', async () => {
    const { t, w, a, driver } = await onCall();
    const inc = (await w.sos(driver)).body.incident;
    await t.engine.tick();
    await new Promise((r) => setTimeout(r, 50)); // the simulator reports delivery asynchronously, like Twilio
    const phone = encodeURIComponent(a.phone);
    const list = await t.get(`/v1/simulator/phones/${phone}/messages`, w.admin);
    expect(list.status).toBe(200);
    const [sms, call] = [list.body.messages.find((m: any) => m.kind === 'sms'), list.body.messages.find((m: any) => m.kind === 'call')];
    expect(sms.body).toContain(`ACK ${inc.code}`);
    expect(call).toMatchObject({ status: 'in-progress', direction: 'to_phone' });
    expect(call.body).toMatch(/Press 1/);
    const phones = await t.get('/v1/simulator/phones', w.admin);
    expect(phones.body.phones.map((p: any) => p.phone)).toContain(a.phone);

    const pressed = await t.post(`/v1/simulator/calls/${call.sid}/digits`, { digits: '1' }, w.admin);
    expect(pressed.status).toBe(200);
    expect(pressed.body.result).toBe('acknowledged');
    const seen = (await t.get(`/v1/incidents/${inc.id}`, a.token)).body.incident;
    expect(seen).toMatchObject({ status: 'acknowledged', acknowledgedBy: a.id });
    const [ack] = await t.sql`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'incident.acknowledged'`;
    expect(ack.data.via).toBe('voice');
    const delivered = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${inc.id} AND type = 'page.delivered'`;
    expect(delivered[0].n).toBe(2);
    expect((await t.post(`/v1/simulator/calls/${call.sid}/digits`, { digits: '1' }, w.admin)).status).toBe(409); // the call has ended
  });

  it('a reply "ACK <code>" from the simulated phone acknowledges; hanging up is not an acknowledgement and the call comes again', async () => {
    const { t, w, a, driver } = await onCall({ paging: { callRetrySeconds: 30 } });
    const first = (await w.sos(driver)).body.incident;
    await t.engine.tick();
    await new Promise((r) => setTimeout(r, 50));
    const phone = encodeURIComponent(a.phone);
    const call = (await t.get(`/v1/simulator/phones/${phone}/messages`, w.admin)).body.messages.find((m: any) => m.kind === 'call');
    expect((await t.post(`/v1/simulator/calls/${call.sid}/hangup`, undefined, w.admin)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const vm = await t.sql`SELECT data FROM incident_events WHERE incident_id = ${first.id} AND type = 'page.voicemail'`;
    expect(vm).toHaveLength(1);
    await t.engine.tick(new Date(Date.parse(first.openedAt) + 40_000));
    const calls = (await t.get(`/v1/simulator/phones/${phone}/messages`, w.admin)).body.messages.filter((m: any) => m.kind === 'call');
    expect(calls).toHaveLength(2);

    const reply = await t.post(`/v1/simulator/phones/${phone}/sms`, { body: `ack ${first.code}` }, w.admin);
    expect(reply.body.reply).toContain(`#${first.code} acknowledged`);
    const thread = (await t.get(`/v1/simulator/phones/${phone}/messages`, w.admin)).body.messages;
    expect(thread.slice(-2).map((m: any) => [m.direction, m.body])).toEqual([
      ['from_phone', `ack ${first.code}`],
      ['to_phone', reply.body.reply],
    ]);
    expect((await t.get(`/v1/incidents/${first.id}`, w.admin)).body.incident.status).toBe('acknowledged');
  });

  it('a simulated call nobody answers ends by itself and counts as voicemail', async () => {
    const { t, w, a, driver } = await onCall();
    const inc = (await w.sos(driver)).body.incident;
    await t.engine.tick();
    await new Promise((r) => setTimeout(r, 50));
    await t.engine.tick(new Date(Date.now() + 46_000));
    const [vm] = await t.sql`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'page.voicemail'`;
    expect(vm.data.answeredBy).toBe('human');
  });

  it('is for the admin only, and is off when Twilio credentials are configured', async () => {
    const t = await testApp();
    const w = world(t);
    const d = await w.driver();
    expect((await t.get('/v1/simulator/phones', d.token)).status).toBe(403);
    expect((await t.get('/v1/simulator/phones')).status).toBe(401);
    const real = await testApp({ twilio: TWILIO });
    const off = await real.get('/v1/simulator/phones', w.admin);
    expect(off.status).toBe(404);
    expect(off.body.error.message).toMatch(/simulator is off/);
  });
});
