/**
 * Dispatch in the audit: every export format carries the dispatch events (EIDO as a dispatch
 * component), and the response-time report measures the time to dispatch requested and to the
 * 911 centre contacted, by zone and kind. The dispatch-center simulator stands in.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { square, world } from './helpers/world';

let t: TestApp;
let from: string;
let to: string;
let dispatched: { id: string; code: number };
let failed: { id: string; code: number };
let plain: { id: string; code: number };
let zoneId: string;
let auditor: { token: string };
const q = (path: string, params: Record<string, string>) => `${path}?${new URLSearchParams(params)}`;
const exportOf = (format: string) => t.get(q('/v1/audit/export', { from, to, format }), auditor.token);

beforeAll(async () => {
  t = await testApp();
  const w = world(t);
  from = new Date(Date.now() - 60_000).toISOString();
  const zone = await w.zone('Zone', square(36.37, -94.2));
  zoneId = zone.id;
  const sup = await w.responder('supervisor', [zone.id], 'Ava');
  await w.responder('safety_lead', [], 'Lee');
  await w.rotation(zone.id, [sup.id]);
  auditor = await w.auditor();
  const sos = async (name: string, kind: string) => {
    const res = await w.sos(await w.driver(name), { kind });
    const inc = res.body.incident as { id: string; code: number };
    expect((await t.post(`/v1/incidents/${inc.id}/ack`, {}, sup.token)).status).toBe(200);
    return inc;
  };
  dispatched = await sos('Dee', 'robbery');
  expect((await t.post(`/v1/incidents/${dispatched.id}/dispatch`, { services: ['police', 'medical'], note: 'two <men>' }, sup.token)).status).toBe(201);
  expect((await t.post(`/v1/simulator/dispatch/incidents/${dispatched.id}`, { action: 'psap_contacted' }, ADMIN_TOKEN)).status).toBe(200);
  expect((await t.post(`/v1/simulator/dispatch/incidents/${dispatched.id}`, { action: 'closed' }, ADMIN_TOKEN)).status).toBe(200);
  failed = await sos('Fay', 'robbery');
  await t.post(`/v1/simulator/dispatch/incidents/${failed.id}`, { action: 'refused' }, ADMIN_TOKEN);
  expect((await t.post(`/v1/incidents/${failed.id}/dispatch`, { services: ['fire'] }, sup.token)).body.dispatch.status).toBe('failed');
  plain = await sos('Pat', 'crash');
  to = new Date(Date.now() + 60_000).toISOString();
});

const TYPES = ['dispatch.requested', 'dispatch.created', 'dispatch.psap_contacted', 'dispatch.closed'];

describe('exports', () => {
  it('NDJSON and CSV carry every dispatch event, each CSV row with a sentence', async () => {
    const lines = ((await exportOf('ndjson')).body as string).trim().split('\n').map((l) => JSON.parse(l));
    const inc = lines.find((l) => l.incident?.id === dispatched.id);
    expect(inc.events.map((e: { type: string }) => e.type).filter((x: string) => x.startsWith('dispatch.'))).toEqual(TYPES);
    const csv = (await exportOf('csv')).body as string;
    const rows = csv.split('\r\n').filter((r) => r.startsWith(dispatched.id) && r.includes(',dispatch.'));
    expect(rows.map((r) => /,(dispatch\.[a-z_]+),/.exec(r)![1])).toEqual(TYPES);
    expect(rows[0]).toContain('emergency dispatch requested: medical, police by supervisor:');
    expect(rows[2]).toContain('dispatcher contacted the 911 centre');
    const failedRow = csv.split('\r\n').find((r) => r.startsWith(failed.id) && r.includes(',dispatch.failed,'));
    expect(failedRow).toContain('DISPATCH FAILED (creation): refused 400');
    expect((await t.get(q('/v1/audit/verify', { from, to }), auditor.token)).body).toMatchObject({ valid: true });
  });

  it('EIDO: each dispatch is a dispatch component (services, times, the alarm, or its failure), referenced by the incident', async () => {
    const all = (await exportOf('eido')).body as any[];
    const d = all.find((x) => x.incidentComponent.internalIncidentId === dispatched.id);
    expect(d.dispatchComponent).toHaveLength(1);
    const c = d.dispatchComponent[0];
    expect(c).toMatchObject({
      dispatchStatusInternalText: 'closed',
      emergencyServiceTypeRegistryText: ['EMS', 'Law Enforcement'],
      dispatchRequestedTimeStamp: expect.any(String),
      dispatchExternalIdentification: expect.stringMatching(/^sim_/),
      psapContactedTimeStamp: expect.any(String),
      dispatchClosedTimeStamp: expect.any(String),
      notesActionComments: 'two &lt;men&gt;',
    });
    expect(d.incidentComponent.dispatchReference).toEqual([{ $ref: c.$id }]);
    const f = all.find((x) => x.incidentComponent.internalIncidentId === failed.id).dispatchComponent[0];
    expect(f).toMatchObject({ dispatchStatusInternalText: 'failed', emergencyServiceTypeRegistryText: ['Fire'], dispatchFailureText: expect.stringContaining('refused 400') });
    expect(f.dispatchExternalIdentification).toBeUndefined();
    expect(all.find((x) => x.incidentComponent.internalIncidentId === plain.id).dispatchComponent).toEqual([]);
  });
});

describe('the response-time report', () => {
  it('measures the time to dispatch requested and to 911 contacted, by zone and kind; incidents without a dispatch are not counted', async () => {
    const r = (await t.get(q('/v1/reports/response-times', { from, to }), auditor.token)).body;
    expect(r.overall.dispatchRequested.count).toBe(2);
    expect(r.overall.psapContacted.count).toBe(1);
    const robbery = r.groups.find((g: any) => g.zoneId === zoneId && g.kind === 'robbery');
    expect(robbery.dispatchRequested.count).toBe(2);
    expect(robbery.psapContacted).toMatchObject({ count: 1, p50: expect.any(Number) });
    const crash = r.groups.find((g: any) => g.zoneId === zoneId && g.kind === 'crash');
    expect(crash.dispatchRequested).toEqual({ count: 0, p50: null, p90: null, p99: null });
  });
});

describe('an interrupted dispatch', () => {
  it('EIDO shows a request cut short (dispatch.failed, reason interrupted) as failed, not requested', async () => {
    const w = world(t);
    const res = await w.sos(await w.driver('Ira'), { kind: 'robbery' });
    const inc = res.body.incident as { id: string };
    await t.sql`SELECT dispatch_request(${inc.id}, ARRAY['police'], NULL, 'v1.x', 'admin', 'api', 'simulator', 'admin', NULL, false)`;
    await t.sql`UPDATE dispatches SET requested_at = now() - interval '5 minutes' WHERE incident_id = ${inc.id}`;
    await t.engine.tick();
    const [ev] = await t.sql<{ data: any }[]>`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'dispatch.failed'`;
    expect(ev.data.reason).toBe('interrupted');
    const all = (await t.get(q('/v1/audit/export', { from, to: new Date(Date.now() + 60_000).toISOString(), format: 'eido' }), auditor.token)).body as any[];
    const c = all.find((x) => x.incidentComponent.internalIncidentId === inc.id).dispatchComponent[0];
    expect(c).toMatchObject({ dispatchStatusInternalText: 'failed', dispatchFailureText: expect.stringContaining('unknown') });
  });
});
