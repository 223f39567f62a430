import { check as checkGeoJson } from '@placemarkio/check-geojson';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { runRetention, runRetentionIfDue } from '../src/audit/retention';
import { connect } from '../src/db/client';
import { testApp, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';

let t: TestApp;
let w: ReturnType<typeof world>;
let driver: Person;
let sup: Person;
let auditor: { id: string; token: string };

const REPO = fileURLToPath(new URL('..', import.meta.url));
const q = (path: string, params: Record<string, string>) => `${path}?${new URLSearchParams(params)}`;
const wide = () => ({ from: '2000-01-01', to: new Date(Date.now() + 3600_000).toISOString() });

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  const zone = await w.zone('Zone', square(36.37, -94.2));
  driver = await w.driver('Dana', { cancelPin: '1234', duressPin: '9999' });
  sup = await w.responder('supervisor', [zone.id], 'Sam');
  auditor = await w.auditor();
});

/**
 * A resolved incident with a precise trail of three fixes around (lat, lng) (digits no other
 * incident shares), its pages sent (the simulator keeps the SMS text, which quotes the fix),
 * optionally after a duress PIN (the driver's view keeps a copy of the fix).
 */
async function resolvedIncident(lat: number, lng: number, o: { duress?: boolean; resolve?: boolean } = {}) {
  const inc = (await w.sos(driver, { note: 'held at knifepoint', location: { lat, lng, accuracyM: 9 } })).body.incident;
  for (const d of [0.0001111, 0.0002222]) {
    expect((await t.post(`/v1/incidents/${inc.id}/locations`, { lat: lat + d, lng: lng + d, accuracyM: 6 }, driver.token)).status).toBe(202);
  }
  await t.engine.tick();
  if (o.duress) expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '9999' }, driver.token)).status).toBe(200);
  await t.engine.tick();
  if (o.resolve !== false) expect((await t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, sup.token)).status).toBe(200);
  return inc.id as string;
}

/** Every place a precise coordinate of `digits` could hide, as text. */
async function traces(id: string, digits: string) {
  const [r] = await t.sql<{ n: number }[]>`
    SELECT (SELECT count(*) FROM incident_locations l WHERE l.incident_id = ${id} AND (l.lat::text LIKE ${'%' + digits + '%'} OR l.lng::text LIKE ${'%' + digits + '%'}))
         + (SELECT count(*) FROM incidents i WHERE i.id = ${id} AND to_jsonb(i)::text LIKE ${'%' + digits + '%'})
         + (SELECT count(*) FROM incident_events e WHERE e.incident_id = ${id} AND e.data::text LIKE ${'%' + digits + '%'})
         + (SELECT count(*) FROM sim_messages s JOIN pages p ON p.id = s.page_id WHERE p.incident_id = ${id} AND s.body LIKE ${'%' + digits + '%'}) AS n`;
  return Number(r.n);
}

const events = async (id: string) => (await t.get(`/v1/incidents/${id}/timeline`, auditor.token)).body.events as { type: string; data: any }[];

describe('retention', () => {
  let old: string;
  let held: string;
  let recent: string;
  let open: string;
  let AT: Date;

  beforeAll(async () => {
    old = await resolvedIncident(36.3811111, -94.2111111, { duress: true });
    held = await resolvedIncident(36.3622222, -94.1922222);
    // Retention runs as of 90 days after this instant: old and held were resolved before it, recent after.
    // (Rows are not moved back in time: verify would rightly find them disagreeing with their events.)
    const [{ now }] = await t.sql<{ now: Date }[]>`SELECT clock_timestamp() AS now`;
    AT = new Date(now.getTime() + 90 * 86_400_000);
    await new Promise((r) => setTimeout(r, 20));
    recent = await resolvedIncident(36.3533333, -94.1833333);
    open = await resolvedIncident(36.3444444, -94.1744444, { resolve: false });
    expect((await t.post(`/v1/incidents/${held}/legal-hold`, { reason: 'Case 2026-17' }, auditor.token)).status).toBe(200);
  });

  it('coarsens to 0.01° every trace of the old resolved incident: trail, latest fix, duress copy, simulator texts', async () => {
    expect(await traces(old, '36.38111')).toBeGreaterThan(0);
    const [dv] = await t.sql`SELECT driver_view FROM incidents WHERE id = ${old}`;
    expect(dv.driver_view.lat).toBe(36.3811111 + 0.0002222); // the duress copy holds the precise fix
    const [{ n: texts }] = await t.sql`SELECT count(*)::int AS n FROM sim_messages s JOIN pages p ON p.id = s.page_id WHERE p.incident_id = ${old}`;
    expect(texts).toBeGreaterThan(0);

    const r = await runRetention(t.sql, { days: 90, actor: 'test', at: AT });
    expect(r).toMatchObject({ days: 90, incidents: 1, points: 3, incidentIds: [old] });

    expect(await traces(old, '36.38111')).toBe(0);
    expect(await traces(old, '94.21111')).toBe(0);
    const locs = await t.sql`SELECT lat, lng, salt, coarsened_at FROM incident_locations WHERE incident_id = ${old} ORDER BY id`;
    expect(locs.map((l) => [l.lat, l.lng, l.salt])).toEqual([[36.38, -94.21, null], [36.38, -94.21, null], [36.38, -94.21, null]]);
    for (const l of locs) expect(l.coarsened_at).toBeInstanceOf(Date);
    const [row] = await t.sql`SELECT lat, lng, coarsened_at, driver_view FROM incidents WHERE id = ${old}`;
    expect([row.lat, row.lng, row.driver_view.lat, row.driver_view.lng]).toEqual([36.38, -94.21, 36.38, -94.21]);
    expect(row.coarsened_at).toBeInstanceOf(Date);
    const [{ n: left }] = await t.sql`SELECT count(*)::int AS n FROM sim_messages s JOIN pages p ON p.id = s.page_id WHERE p.incident_id = ${old}`;
    expect(left).toBe(0);
  });

  it('records the redaction in the timeline, whose chain still verifies, one by one and in bulk', async () => {
    const ev = await events(old);
    expect(ev[ev.length - 1]).toMatchObject({
      type: 'location.redacted', actor: 'system',
      data: { points: 3, precisionDeg: 0.01, reason: 'retention', days: 90, simulatorMessagesDeleted: expect.any(Number) },
    });
    // The events that carried the digests are untouched.
    expect(ev.filter((e) => e.data.location).map((e) => e.data.location.digest)).toEqual([
      expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/),
    ]);
    expect((await t.get(`/v1/incidents/${old}/timeline/verify`, auditor.token)).body).toMatchObject({ valid: true, eventCount: ev.length });
    const bulk = await t.get(q('/v1/audit/verify', wide()), auditor.token);
    expect(bulk.body).toMatchObject({ valid: true, checked: 4, broken: [], problems: [] });
  });

  it('exports the coarsened trail as such: 0.01°, accuracy of at least 786 m, marked coarsened', async () => {
    const nd = await t.get(q('/v1/audit/export', { ...wide(), format: 'ndjson' }), auditor.token);
    const line = (nd.body as string).trimEnd().split('\n').map((l) => JSON.parse(l)).find((l) => l.incident.id === old);
    expect(line.incident.coarsenedAt).toEqual(expect.any(String));
    expect(line.locations.map((l: any) => [l.lat, l.lng, l.accuracyM, l.coarsened])).toEqual([
      [36.38, -94.21, 786, true], [36.38, -94.21, 786, true], [36.38, -94.21, 786, true],
    ]);
    const geo = await t.get(q('/v1/audit/export', { ...wide(), format: 'geojson' }), auditor.token);
    const fc = checkGeoJson(JSON.stringify(geo.body)) as any;
    const point = fc.features.find((f: any) => f.properties.id === old && f.properties.feature === 'opening');
    expect(point.geometry.coordinates).toEqual([-94.21, 36.38]);
    expect(point.properties.coarsened).toBe(true);
  });

  it('leaves alone the incident on legal hold, the recently resolved one and the open one', async () => {
    expect(await traces(held, '36.36222')).toBeGreaterThan(0);
    expect(await traces(recent, '36.35333')).toBeGreaterThan(0);
    expect(await traces(open, '36.34444')).toBeGreaterThan(0);
    for (const id of [held, recent, open]) {
      expect((await events(id)).map((e) => e.type)).not.toContain('location.redacted');
      const [{ n }] = await t.sql`SELECT count(*)::int AS n FROM incident_locations WHERE incident_id = ${id} AND salt IS NULL`;
      expect(n).toBe(0);
    }
    // Run again: nothing more to do.
    expect(await runRetention(t.sql, { days: 90, actor: 'test', at: AT })).toMatchObject({ incidents: 0, points: 0 });
    expect((await events(old)).filter((e) => e.type === 'location.redacted')).toHaveLength(1);
  });

  it('a hold placed too late says so; a hold released lets the next run coarsen', async () => {
    const late = await t.post(`/v1/incidents/${old}/legal-hold`, {}, w.admin);
    expect(late.status).toBe(200);
    expect(late.body).toMatchObject({ incidentId: old, legalHold: true, by: 'admin', coarsenedAt: expect.any(String) });

    const released = await t.req('DELETE', `/v1/incidents/${held}/legal-hold`, { token: auditor.token });
    expect(released.status).toBe(200);
    expect(released.body).toEqual({ incidentId: held, legalHold: false, since: null, by: null, reason: null, coarsenedAt: null });
    expect(await runRetention(t.sql, { days: 90, actor: 'test', at: AT })).toMatchObject({ incidents: 1, incidentIds: [held] });
    expect(await traces(held, '36.36222')).toBe(0);
    expect((await t.get(`/v1/incidents/${held}/timeline/verify`, auditor.token)).body.valid).toBe(true);
  });

  it('every run is in the audit log', async () => {
    const log = (await t.get(q('/v1/audit/log', wide()), auditor.token)).body;
    const runs = log.entries.filter((e: any) => e.action === 'retention' && e.actor === 'test'); // (not the engine's daily runs)
    expect(runs.map((e: any) => [e.params.days, e.params.incidents, e.params.points])).toEqual([[90, 1, 3], [90, 0, 0], [90, 1, 3]]);
    expect(log.chain.valid).toBe(true);
  });
});

describe('legal holds', () => {
  let id: string;
  beforeAll(async () => {
    id = (await w.sos(driver)).body.incident.id;
  });

  it('only auditors and the admin may place or release one (403 for everyone else, before anything is read)', async () => {
    const lead = await w.responder('safety_lead', [], 'Lee');
    const agent = await w.agent();
    for (const token of [lead.token, sup.token, driver.token, agent.token]) {
      expectError(await t.post(`/v1/incidents/${id}/legal-hold`, {}, token), 403, 'forbidden');
      expectError(await t.req('DELETE', `/v1/incidents/${id}/legal-hold`, { token }), 403, 'forbidden');
    }
    expectError(await t.post(`/v1/incidents/${id}/legal-hold`, {}), 401, 'unauthorized');
    const [{ legal_hold }] = await t.sql`SELECT legal_hold FROM incidents WHERE id = ${id}`;
    expect(legal_hold).toBe(false);
  });

  it('placing twice keeps the first hold; unknown incidents are 404; the body is optional but checked', async () => {
    const first = await t.req('POST', `/v1/incidents/${id}/legal-hold`, { token: auditor.token }); // no body at all
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ incidentId: id, legalHold: true, by: `auditor:${auditor.id}`, reason: null, coarsenedAt: null });
    const again = await t.post(`/v1/incidents/${id}/legal-hold`, { reason: 'another case' }, w.admin);
    expect(again.body).toEqual(first.body);
    expectError(await t.post('/v1/incidents/00000000-0000-4000-8000-000000000000/legal-hold', {}, auditor.token), 404, 'not_found');
    expectError(await t.post(`/v1/incidents/${id}/legal-hold`, { reason: 'x'.repeat(501) }, auditor.token), 422);
    expectError(await t.post(`/v1/incidents/${id}/legal-hold`, { hold: false }, auditor.token), 422);
    const log = (await t.get(q('/v1/audit/log', wide()), auditor.token)).body.entries.filter((e: any) => e.params.incidentId === id);
    expect(log.map((e: any) => [e.actor, e.action, e.params.changed])).toEqual([
      [`auditor:${auditor.id}`, 'legal_hold', true], ['admin', 'legal_hold', false],
    ]);
  });
});

describe('daily runs', () => {
  it('the engine hook runs retention once per UTC day, whichever instance asks first, without making the tick wait', async () => {
    const resolvedLongAgo = await resolvedIncident(36.3355555, -94.1655555);
    await t.sql`UPDATE incidents SET resolved_at = now() - interval '91 days' WHERE id = ${resolvedLongAgo}`;
    const day = new Date('2031-05-05T10:00:00Z'); // far ahead: a day nobody claimed
    const first = await runRetentionIfDue(t.sql, t.deps.log, { days: 90, now: day });
    expect(first.started).toBe(true);
    const r = await first.done;
    // As of 2031, everything resolved in this file is older than 90 days.
    expect(r?.incidentIds).toContain(resolvedLongAgo);
    expect(await runRetentionIfDue(t.sql, t.deps.log, { days: 90, now: new Date('2031-05-05T23:59:00Z') })).toEqual({ started: false });
    // Another instance (its own pool, its own memory) asking the same day finds it claimed in the database.
    const other = connect(t.url, { max: 1 });
    try {
      expect(await runRetentionIfDue(other, t.deps.log, { days: 90, now: new Date('2031-05-05T12:00:00Z') })).toEqual({ started: false });
    } finally {
      await other.end();
    }
    const next = await runRetentionIfDue(t.sql, t.deps.log, { days: 90, now: new Date('2031-05-06T00:00:01Z') });
    expect(next.started).toBe(true);
    expect(await next.done).toMatchObject({ incidents: 0 });
    const runs = await t.sql`SELECT day::text, days, incidents, finished_at, error FROM retention_runs WHERE day >= '2031-01-01' ORDER BY day`;
    expect(runs.map((x) => [x.day, x.days, x.error])).toEqual([['2031-05-05', 90, null], ['2031-05-06', 90, null]]);
    for (const x of runs) expect(x.finished_at).toBeInstanceOf(Date);
    const log = (await t.get(q('/v1/audit/log', wide()), auditor.token)).body.entries.filter((e: any) => e.action === 'retention' && e.params.asOf?.startsWith('2031-'));
    expect(log.map((e: any) => [e.actor, e.params.asOf])).toEqual([['system', '2031-05-05T10:00:00.000Z'], ['system', '2031-05-06T00:00:01.000Z']]);
  });
});

describe('npm run retention', () => {
  const run = (env: Record<string, string>) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/retention.ts'], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 60_000,
    });

  it('coarsens what is due now and prints what it did', async () => {
    const id = await resolvedIncident(36.3266666, -94.1566666);
    const { stdout } = await run({ DATABASE_URL: t.url, RETENTION_DAYS: '0' });
    expect(stdout).toMatch(/coarsened 1 incident\(s\), 3 trail point\(s\), to 0\.01°; 0 kept precise by a legal hold/);
    expect(stdout).toContain(id);
    expect(await traces(id, '36.32666')).toBe(0);
    const [last] = (await t.get(q('/v1/audit/log', wide()), auditor.token)).body.entries.slice(-1);
    expect(last).toMatchObject({ actor: 'script', action: 'retention', params: { days: 0, incidents: 1, points: 3 } });
  });

  it('refuses a RETENTION_DAYS that is not a whole number of days', async () => {
    const err = await run({ DATABASE_URL: t.url, RETENTION_DAYS: 'ninety' }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/RETENTION_DAYS: /);
  });
});
