import { beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers/app';
import { world, type Person } from './helpers/world';

let t: TestApp;
let w: ReturnType<typeof world>;
let driver: Person;
let incidentId: string;
let auditor: { token: string };

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  await w.zone();
  driver = await w.driver();
  auditor = await w.auditor();
  const res = await w.sos(driver);
  incidentId = res.body.incident.id;
  await w.sos(driver, { clientRequestId: res.body.incident && (await t.sql`SELECT client_request_id FROM incidents WHERE id = ${incidentId}`)[0].client_request_id });
  await t.post(`/v1/incidents/${incidentId}/locations`, { lat: 36.371, lng: -94.201 }, driver.token);
});

describe('timeline', () => {
  it('is a hash chain: seq 1..n, each prevHash the hash before it, oldest first', async () => {
    const res = await t.get(`/v1/incidents/${incidentId}/timeline`, auditor.token);
    expect(res.status).toBe(200);
    const { events } = res.body;
    expect(res.body.incidentId).toBe(incidentId);
    const driverEvents = ['incident.opened', 'incident.duplicate_request', 'location.updated'];
    expect(events.map((e: { type: string }) => e.type).filter((t: string) => driverEvents.includes(t))).toEqual(driverEvents);
    expect(events.map((e: { seq: number }) => e.seq)).toEqual(events.map((_: unknown, i: number) => i + 1));
    expect(events[0].prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < events.length; i++) expect(events[i].prevHash).toBe(events[i - 1].hash);
    for (const e of events) expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(events[0].actor).toBe(`driver:${driver.id}`);
  });

  it('keeps precise coordinates out of events: they carry a location id and a salted digest', async () => {
    const { events } = (await t.get(`/v1/incidents/${incidentId}/timeline`, auditor.token)).body;
    expect(JSON.stringify(events)).not.toContain('36.37');
    expect(events[0].data.location).toEqual({ id: expect.any(Number), digest: expect.stringMatching(/^[0-9a-f]{64}$/), accuracyM: 10 });
  });

  it('verifies', async () => {
    const res = await t.get(`/v1/incidents/${incidentId}/timeline/verify`, auditor.token);
    expect(res.status).toBe(200);
    const { events } = (await t.get(`/v1/incidents/${incidentId}/timeline`, auditor.token)).body;
    expect(res.body).toMatchObject({ valid: true, eventCount: events.length, headHash: events[events.length - 1].hash, chainValid: true, rowDisagreements: [] });
  });

  it('refuses UPDATE, DELETE and TRUNCATE in the database itself', async () => {
    await expect(t.sql`UPDATE incident_events SET data = '{}' WHERE incident_id = ${incidentId}`).rejects.toThrow(/append-only/);
    await expect(t.sql`DELETE FROM incident_events WHERE incident_id = ${incidentId}`).rejects.toThrow(/append-only/);
    await expect(t.sql`TRUNCATE incident_events CASCADE`).rejects.toThrow(/append-only/);
    const [n] = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${incidentId} AND type = 'incident.opened'`;
    expect(n.n).toBe(1);
  });

  it('a row altered behind the service’s back (triggers disabled by a superuser) makes verify say valid: false', async () => {
    const victim = (await w.sos(driver, { note: 'original note' })).body.incident.id;
    expect((await t.get(`/v1/incidents/${victim}/timeline/verify`, auditor.token)).body.valid).toBe(true);
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE incident_events SET data = jsonb_set(data, '{note}', '"nothing happened"') WHERE incident_id = ${victim} AND seq = 1`;
    });
    const res = await t.get(`/v1/incidents/${victim}/timeline/verify`, auditor.token);
    expect(res.body.valid).toBe(false);
    // The untouched incident still verifies.
    expect((await t.get(`/v1/incidents/${incidentId}/timeline/verify`, auditor.token)).body.valid).toBe(true);
  });

  it('a deleted event (triggers disabled) breaks the chain too', async () => {
    const victim = (await w.sos(driver)).body.incident.id;
    await t.post(`/v1/incidents/${victim}/locations`, { lat: 36.371, lng: -94.201 }, driver.token);
    await t.post(`/v1/incidents/${victim}/locations`, { lat: 36.372, lng: -94.202 }, driver.token);
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`DELETE FROM incident_events WHERE incident_id = ${victim} AND seq = 2`;
    });
    expect((await t.get(`/v1/incidents/${victim}/timeline/verify`, auditor.token)).body.valid).toBe(false);
  });

  it('is not for drivers, agents or supervisors of other zones', async () => {
    expect((await t.get(`/v1/incidents/${incidentId}/timeline`, driver.token)).status).toBe(403);
    expect((await t.get(`/v1/incidents/${incidentId}/timeline`, (await w.agent()).token)).status).toBe(403);
    const far = await w.zone('Far', { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]] });
    const sup = await w.responder('supervisor', [far.id]);
    expect((await t.get(`/v1/incidents/${incidentId}/timeline`, sup.token)).status).toBe(404);
    const lead = await w.responder('safety_lead', []);
    expect((await t.get(`/v1/incidents/${incidentId}/timeline`, lead.token)).status).toBe(200);
    expect((await t.get(`/v1/incidents/${incidentId}/timeline`, w.admin)).status).toBe(200);
  });

  it('appends from many writers at once without forking the chain', async () => {
    const solo = await w.driver('Solo');
    const inc = (await w.sos(solo)).body.incident.id;
    await Promise.all(Array.from({ length: 30 }, (_, i) =>
      t.post(`/v1/incidents/${inc}/locations`, { lat: 36.37 + i / 1e4, lng: -94.2 }, solo.token)));
    const v = (await t.get(`/v1/incidents/${inc}/timeline/verify`, auditor.token)).body;
    const [n] = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${inc} AND type = 'location.updated'`;
    expect(n.n).toBe(30);
    expect(v).toMatchObject({ valid: true });
  });
});
