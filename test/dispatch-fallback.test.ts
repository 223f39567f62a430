/**
 * A failed dispatch is never silence: with no safety lead at all, the acknowledging responder,
 * the requester, the zone's supervisors and its on-call are paged instead; with nobody to page,
 * an error is logged. The dispatch-center simulator stands in (refusing per incident).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { square, world, type Person } from './helpers/world';
import { smsTo, until } from './helpers/wait';

let t: TestApp;
let w: ReturnType<typeof world>;
let a: Person; // on call, acknowledges
let b: Person; // a supervisor of the zone
let other: Person; // a supervisor of another zone
let zone: { id: string };
let empty: { id: string };

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  zone = await w.zone('Zone', square(36.37, -94.2), { checkInGraceSeconds: 86_400 });
  const z2 = await w.zone('Elsewhere', square(40, -100));
  empty = await w.zone('Nobody', square(30, -90), { checkInGraceSeconds: 86_400 });
  a = await w.responder('supervisor', [zone.id], 'Ava');
  b = await w.responder('supervisor', [zone.id], 'Bo');
  other = await w.responder('supervisor', [z2.id], 'Otto');
  await w.rotation(zone.id, [a.id]);
});

const failedData = async (id: string) =>
  (await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${id} AND type = 'dispatch.failed'`).map((r) => r.data);

describe('a failed dispatch with no safety lead', () => {
  it('pages the acknowledging responder, the zone’s supervisors and its on-call instead (not another zone’s)', async () => {
    const res = await w.sos(await w.driver('Nia'), { location: { lat: 36.37, lng: -94.2, accuracyM: 10 } });
    const inc = res.body.incident as { id: string; code: number };
    expect((await t.post(`/v1/incidents/${inc.id}/ack`, {}, a.token)).status).toBe(200);
    expect((await t.post(`/v1/simulator/dispatch/incidents/${inc.id}`, { action: 'refused' }, ADMIN_TOKEN)).status).toBe(200);
    expect((await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, ADMIN_TOKEN)).body.dispatch.status).toBe('failed');
    const [data] = await failedData(inc.id);
    expect(data).toMatchObject({ reason: 'creation', fallback: true });
    expect([...data.paged].sort()).toEqual([a.id, b.id].sort());
    for (const p of [a, b]) await until(`${p.name} paged`, async () => (await smsTo(t, p.phone)).some((m) => m.includes(`#${inc.code}: DISPATCH FAILED`)), 1_000);
    expect((await smsTo(t, other.phone)).filter((m) => m.includes(`#${inc.code}`))).toEqual([]);
  });

  it('with nobody at all to page, the failure is logged at error level', async () => {
    const res = await w.sos(await w.driver('Ola'), { location: { lat: 30, lng: -90, accuracyM: 10 } });
    const inc = res.body.incident as { id: string };
    expect(empty.id).toBeTruthy();
    await t.post(`/v1/simulator/dispatch/incidents/${inc.id}`, { action: 'refused' }, ADMIN_TOKEN);
    expect((await t.post(`/v1/incidents/${inc.id}/dispatch`, { services: ['police'] }, ADMIN_TOKEN)).body.dispatch.status).toBe('failed');
    expect((await failedData(inc.id))[0]).toMatchObject({ paged: [], fallback: true });
    const line = t.logs.lines.map((l) => JSON.parse(l)).find((l) => l.incidentId === inc.id && /NOBODY could be paged/.test(l.msg));
    expect(line).toMatchObject({ level: 50 });
  });
});
