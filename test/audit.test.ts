import { check as checkGeoJson } from '@placemarkio/check-geojson';
import { parse as parseCsv } from 'csv-parse/sync';
import { createAdaptorServer } from '@hono/node-server';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSettings } from '../src/audit/export';
import { CSV_COLUMNS, writerFor } from '../src/audit/formats';
import type { ExportIncident } from '../src/audit/store';
import { verifyRange } from '../src/audit/store';
import { testApp, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';
import { until } from './helpers/wait';

/** What drivers and responders really type: separators, quotes, line breaks, markup, emoji, other scripts, a formula. */
const AWKWARD = 'He took the bag, "all of it", and ran\r\nnorth; then:\n=HYPERLINK("x") <b>&amp;</b> — 🚨 Straße 東京 ﷺ';
const RESOLUTION = 'Police on scene, "suspect" gone,\nall safe';

let t: TestApp;
let w: ReturnType<typeof world>;
let zone: { id: string; name: string };
let driver: Person;
let sup: Person;
let lead: Person;
let auditor: { id: string; token: string };
let agent: { token: string };
let from: string;
let to: string;
/** Incidents opened inside [from, to): the one with the awkward note, a quiet one, one without a location. */
let noisy: { id: string; code: number };
let quiet: { id: string; code: number };
let outside: { id: string };

const q = (path: string, params: Record<string, string>) => `${path}?${new URLSearchParams(params)}`;
const exportOf = (format: string, token = auditor.token, range = { from, to }) => t.get(q('/v1/audit/export', { ...range, format }), token);

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  zone = await w.zone('North, "Old" Town', square(36.37, -94.2));
  driver = await w.driver();
  sup = await w.responder('supervisor', [zone.id], 'Sam');
  lead = await w.responder('safety_lead', [], 'Lee');
  auditor = await w.auditor();
  agent = await w.agent();
  from = new Date(Date.now() - 60_000).toISOString();

  // Outside the range: opened "last year".
  outside = (await w.sos(driver, { note: 'old one' })).body.incident;
  await t.sql`UPDATE incidents SET opened_at = now() - interval '400 days' WHERE id = ${outside.id}`;

  noisy = (await w.sos(driver, { kind: 'robbery', note: AWKWARD, location: { lat: 36.3712345678, lng: -94.2012345678, accuracyM: 12 } })).body.incident;
  for (const [lat, lng] of [[36.372, -94.202], [36.373, -94.2035], [36.3741, -94.2049]]) {
    expect((await t.post(`/v1/incidents/${noisy.id}/locations`, { lat, lng, accuracyM: 8 }, driver.token)).status).toBe(202);
  }
  await t.engine.tick();
  expect((await t.post(`/v1/incidents/${noisy.id}/ack`, undefined, sup.token)).status).toBe(200);
  expect((await t.post(`/v1/incidents/${noisy.id}/resolve`, { disposition: 'police_dispatched', note: RESOLUTION }, sup.token)).status).toBe(200);
  await t.post(`/v1/incidents/${noisy.id}/check-ins`, { status: 'safe', note: 'fine, "really"' }, driver.token); // resolved: 409, no event
  quiet = (await w.sos(driver, { kind: 'medical' })).body.incident;
  to = new Date(Date.now() + 60_000).toISOString();
  await settle();
});

/**
 * Incidents inserted straight into the past (one incident.opened event each, stamped now by the
 * chain trigger): their event is moved to their opening time and rehashed, as if written then, so
 * their rows agree with their events.
 */
async function backdateOpening(from: string, to: string) {
  await t.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`
      UPDATE incident_events e SET at = i.opened_at, hash = timeline_hash(e.prev_hash, e.incident_id, e.seq, e.type, i.opened_at, e.actor, e.data)
      FROM incidents i WHERE i.id = e.incident_id AND e.seq = 1 AND i.opened_at >= ${from} AND i.opened_at < ${to}`;
    await tx`
      UPDATE timeline_heads h SET hash = e.hash FROM incident_events e, incidents i
      WHERE e.incident_id = h.incident_id AND e.seq = h.seq AND i.id = h.incident_id AND i.opened_at >= ${from} AND i.opened_at < ${to}`;
  });
}

/** Let the pager send what is queued and the phone simulator report every delivery, so timelines stop growing. */
async function settle() {
  await t.engine.tick();
  for (let i = 0; i < 200; i++) {
    const [{ n }] = await t.sql`SELECT count(*)::int AS n FROM pages WHERE status IN ('queued', 'sending', 'sent')`;
    if (n === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The timeline as the per-incident endpoint gives it: the export must carry exactly this. */
const timeline = async (id: string) => (await t.get(`/v1/incidents/${id}/timeline`, auditor.token)).body.events as { seq: number; type: string; hash: string; prevHash: string; at: string; data: any }[];

describe('who may use the audit endpoints', () => {
  const paths = () => [
    q('/v1/audit/export', { from, to, format: 'ndjson' }),
    q('/v1/audit/verify', { from, to }),
    q('/v1/reports/response-times', { from, to }),
    q('/v1/audit/log', { from, to }),
  ];

  it('auditors, safety leads and the admin read', async () => {
    for (const token of [auditor.token, lead.token, w.admin]) {
      for (const path of paths()) expect((await t.get(path, token)).status, path).toBe(200);
    }
  });

  it('drivers, supervisors and agents may not (403), nobody without a token (401)', async () => {
    for (const token of [driver.token, sup.token, agent.token]) {
      for (const path of paths()) expectError(await t.get(path, token), 403, 'forbidden');
    }
    for (const path of paths()) expectError(await t.get(path), 401, 'unauthorized');
  });

  it('a range must be two instants, `to` after `from` (422); so must the format be one of the four', async () => {
    expectError(await t.get(q('/v1/audit/export', { from: to, to: from }), auditor.token), 422, 'validation_failed');
    expectError(await t.get(q('/v1/audit/verify', { from, to: from }), auditor.token), 422);
    expectError(await t.get(q('/v1/reports/response-times', { from: 'yesterday', to }), auditor.token), 422);
    expectError(await t.get(q('/v1/audit/verify', { to }), auditor.token), 422);
    expectError(await t.get(q('/v1/audit/export', { from, to, format: 'xlsx' }), auditor.token), 422);
    expectError(await t.get(q('/v1/reports/response-times', { from, to, targetSeconds: '0' }), auditor.token), 422);
    // A bare date is midnight UTC.
    expect((await t.get(q('/v1/audit/verify', { from: '2000-01-01', to: '2000-01-02' }), auditor.token)).body).toMatchObject({ valid: true, checked: 0, broken: [], problems: [] });
  });
});

describe('export: ndjson', () => {
  it('one line per incident opened in the range, oldest first, each with its whole timeline and hash chain', async () => {
    const res = await exportOf('ndjson');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="mayday-audit-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.ndjson"$/);
    const text = res.body as string;
    expect(text.endsWith('\n')).toBe(true);
    const all = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    const lines = all.filter((l) => l.incident); // then the signed checkpoints and the keys (test/checkpoints.test.ts)
    expect(all.slice(0, 2)).toEqual(lines);
    expect(lines.map((l) => l.incident.id)).toEqual([noisy.id, quiet.id]); // not the one from last year
    const [n] = lines;
    expect(n.incident).toMatchObject({
      id: noisy.id, code: noisy.code, kind: 'robbery', status: 'resolved', zoneId: zone.id, zoneName: 'North, "Old" Town',
      note: AWKWARD, disposition: 'police_dispatched', resolutionNote: RESOLUTION, acknowledgedBy: sup.id, legalHold: false, coarsenedAt: null,
    });
    expect(n.events).toEqual(await timeline(noisy.id));
    expect(n.headHash).toBe(n.events[n.events.length - 1].hash);
    expect(n.locations.map((l: any) => [l.lat, l.lng, l.accuracyM, l.coarsened])).toEqual([
      [36.3712345678, -94.2012345678, 12, false], [36.372, -94.202, 8, false], [36.373, -94.2035, 8, false], [36.3741, -94.2049, 8, false],
    ]);
    // The trail's ids are the ones the events' digests refer to.
    const referenced = n.events.filter((e: any) => e.data.location).map((e: any) => e.data.location.id);
    expect(n.locations.map((l: any) => l.id)).toEqual(referenced);
  });

  it('an empty range exports nothing, and says so with an empty body', async () => {
    const res = await exportOf('ndjson', auditor.token, { from: '2001-01-01T00:00:00Z', to: '2001-01-02T00:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
  });
});

describe('export: resources', () => {
  const idleInTransaction = async () =>
    (await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`)[0].n;

  it('at most two run at once (429 for a third, not recorded); a client that goes away ends its transaction', async () => {
    // More incidents than one batch (250), in a window of their own, so an export does not finish at its first read.
    await t.sql`
      INSERT INTO incidents (driver_id, kind, severity, zone_rule, status, opened_at, esc_next_at, checkin_next_at)
      SELECT ${driver.id}, 'other', 'medium', 'none', 'open', '2019-06-01T00:00:00Z'::timestamptz + g * interval '1 minute', NULL, NULL
      FROM generate_series(1, 600) g`;
    await t.sql`
      INSERT INTO incident_events (incident_id, type, actor, data)
      SELECT id, 'incident.opened', 'system', jsonb_build_object('kind', 'other', 'severity', 'medium', 'source', 'app', 'zoneRule', 'none')
      FROM incidents WHERE opened_at >= '2019-06-01' AND opened_at < '2019-07-01' ORDER BY opened_at`;
    await backdateOpening('2019-06-01', '2019-07-01');
    const url = q('/v1/audit/export', { from: '2019-06-01', to: '2019-07-01', format: 'ndjson' });
    const open = [
      await t.app.request(url, { headers: { authorization: `Bearer ${auditor.token}` } }),
      await t.app.request(url, { headers: { authorization: `Bearer ${auditor.token}` } }),
    ];
    for (const r of open) expect(r.status).toBe(200);
    const logged = async () => (await t.sql`SELECT count(*)::int AS n FROM audit_log WHERE action = 'export'`)[0].n;
    try {
      const before = await logged();
      expectError(await exportOf('csv'), 429, 'rate_limited');
      expect(await logged()).toBe(before);
      // Each holds its snapshot while its client is away (its first batch may take a while on a busy machine).
      await until('two exports idle in their transactions', async () => (await idleInTransaction()) === 2, 15_000);
    } finally {
      // Even when an assertion above fails: a held slot would refuse every later export in this file.
      for (const r of open) await r.body!.cancel();
    }
    await until('both transactions ended', async () => (await idleInTransaction()) === 0, 15_000);
    const whole = await exportOf('ndjson', auditor.token, { from: '2019-06-01', to: '2019-07-01' });
    expect((whole.body as string).trimEnd().split('\n').filter((l) => l.startsWith('{"incident"'))).toHaveLength(600);
  });
});

describe('export: csv', () => {
  it('one row per event; a note with commas, quotes, line breaks and unicode survives a real CSV parser', async () => {
    const res = await exportOf('csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/\.csv"$/);
    const rows: Record<string, string>[] = parseCsv(res.body as string, { columns: true, relax_column_count: false });
    expect(Object.keys(rows[0])).toEqual(['incident_id', 'code', 'zone', 'kind', 'seq', 'type', 'at', 'actor', 'summary', 'hash', 'prev_hash', 'data']);
    const noisyEvents = await timeline(noisy.id);
    const quietEvents = await timeline(quiet.id);
    // After the events: the signed checkpoints that cover them, and the keys (test/checkpoints.test.ts).
    const eventRows = rows.filter((r) => r.incident_id !== '');
    expect(rows.slice(eventRows.length).every((r) => r.type === 'timeline.checkpoint' || r.type === 'audit.keys')).toBe(true);
    expect(eventRows.length).toBe(noisyEvents.length + quietEvents.length);
    const mine = rows.filter((r) => r.incident_id === noisy.id);
    expect(mine.map((r) => [Number(r.seq), r.type, r.at, r.hash, r.prev_hash])).toEqual(noisyEvents.map((e) => [e.seq, e.type, e.at, e.hash, e.prevHash]));
    for (const r of mine) expect(r).toMatchObject({ code: String(noisy.code), zone: 'North, "Old" Town', kind: 'robbery' });
    const opened = mine.find((r) => r.type === 'incident.opened')!;
    expect(opened.summary).toMatch(/^opened: robbery, critical, from app/);
    expect(opened.summary.endsWith(`note: ${AWKWARD}`)).toBe(true);
    expect(JSON.parse(opened.data).note).toBe(AWKWARD);
    const resolved = mine.find((r) => r.type === 'incident.resolved')!;
    expect(resolved.summary).toBe(`resolved: police_dispatched by ${sup.id}; note: ${RESOLUTION}`);
    // Every row's data is the event's data, exactly.
    for (const [i, e] of noisyEvents.entries()) expect(JSON.parse(mine[i].data)).toEqual(e.data);
    // No summary starts with what someone typed (a spreadsheet would take "=..." for a formula).
    for (const r of rows) expect(r.summary).toMatch(/^[a-zA-Z#]/);
  });
});

describe('export: csv formula injection', () => {
  const DANGEROUS = ['=HYPERLINK("http://evil.example","click")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'];

  it('a zone named "=HYPERLINK(...)" comes out as text, not a formula', async () => {
    const evil = await w.zone('=HYPERLINK("http://evil.example","Open")', square(10.0, 10.0));
    const d = await w.driver();
    const since = new Date(Date.now() - 1).toISOString();
    const id = (await t.post('/v1/sos', { clientRequestId: crypto.randomUUID(), kind: 'other', location: { lat: 10.001, lng: 10.001, accuracyM: 5 } }, d.token)).body.incident.id;
    const res = await exportOf('csv', auditor.token, { from: since, to: new Date(Date.now() + 1000).toISOString() });
    // Out of the way of the other tests' range.
    await t.sql`UPDATE incidents SET opened_at = '2017-01-01T00:00:00Z' WHERE id = ${id}`;
    const rows: Record<string, string>[] = parseCsv(res.body as string, { columns: true });
    const mine = rows.filter((r) => r.incident_id === id);
    expect(mine.length).toBeGreaterThan(0);
    for (const r of mine) expect(r.zone).toBe(`'${evil.name}`);
    for (const r of rows) for (const v of Object.values(r)) expect(v).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('every text column is neutralised when it starts with =, +, -, @, tab or CR', () => {
    for (const bad of DANGEROUS) {
      const x = {
        incident: { id: bad, code: 1, zoneName: bad, kind: bad },
        events: [{ seq: 1, type: bad, at: bad, actor: bad, data: { note: bad }, prevHash: bad, hash: bad }],
      } as unknown as ExportIncident;
      const text = writerFor('csv', { domain: 'x' }).incident(x);
      const [row]: string[][] = parseCsv(text, { relax_quotes: true });
      expect(row).toHaveLength(CSV_COLUMNS.length);
      for (const [i, cell] of row.entries()) {
        if (CSV_COLUMNS[i] === 'code' || CSV_COLUMNS[i] === 'seq') continue; // numbers
        expect(cell, `${CSV_COLUMNS[i]} for ${JSON.stringify(bad)}`).not.toMatch(/^[=+\-@\t\r]/);
      }
      // The value itself is kept, behind one apostrophe.
      expect(row[CSV_COLUMNS.indexOf('zone')]).toBe(`'${bad}`);
    }
  });
});

describe('export: a client that stops reading', () => {
  let server: ReturnType<typeof createAdaptorServer>;
  let base: string;
  const saved = exportSettings.idleMs;
  const idleInTransaction = async () =>
    (await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`)[0].n;

  beforeAll(async () => {
    // An export far larger than the sockets' buffers (~30 MB), in a window of its own, so a client that stops reading really stalls it.
    await t.sql`
      INSERT INTO incidents (driver_id, kind, severity, zone_rule, status, opened_at, esc_next_at, checkin_next_at)
      SELECT ${driver.id}, 'other', 'medium', 'none', 'open', '2018-02-01T00:00:00Z'::timestamptz + g * interval '1 minute', NULL, NULL
      FROM generate_series(1, 3000) g`;
    await t.sql`
      INSERT INTO incident_events (incident_id, type, actor, data)
      SELECT id, 'incident.opened', 'system', jsonb_build_object('kind', 'other', 'severity', 'medium', 'source', 'app', 'zoneRule', 'none', 'pad', repeat('x', 10000))
      FROM incidents WHERE opened_at >= '2018-02-01' AND opened_at < '2018-03-01' ORDER BY opened_at`;
    server = createAdaptorServer({ fetch: t.app.fetch });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    exportSettings.idleMs = saved;
    await new Promise((r) => server.close(r));
  });

  /** Start an export over real HTTP, take the headers and a first chunk, then stop reading. */
  const stalled = () =>
    new Promise<{ res: IncomingMessage; ended: Promise<string> }>((resolve, reject) => {
      const req = httpRequest(`${base}${q('/v1/audit/export', { from: '2018-02-01', to: '2018-03-01', format: 'ndjson' })}`, { headers: { authorization: `Bearer ${auditor.token}` } }, (res) => {
        const ended = new Promise<string>((r) => {
          res.on('end', () => r('end'));
          res.on('aborted', () => r('aborted'));
          res.on('error', () => r('error'));
          res.on('close', () => r('close'));
        });
        res.once('data', () => {
          res.pause();
          resolve({ res, ended });
        });
      });
      req.on('error', reject);
      req.end();
    });

  it('is cut after the idle timeout: both export slots and their connections are free again', async () => {
    exportSettings.idleMs = 3_000;
    const started = Date.now();
    const a = await stalled();
    const b = await stalled();
    expect([a.res.statusCode, b.res.statusCode]).toEqual([200, 200]);
    // Both exports' transactions began before this moment (in the database's clock).
    const [{ at }] = await t.sql<{ at: Date }[]>`SELECT clock_timestamp() AS at`;
    const openSinceThen = async () =>
      (await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity
                                    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND xact_start <= ${at}`)[0].n;
    // Both slots are held: a third export is refused for now.
    expectError(await exportOf('ndjson', auditor.token, { from: '2018-02-01', to: '2018-02-02' }), 429, 'rate_limited');
    // Each holds its snapshot while its client does not read; the response's read-ahead may
    // still finish one of these small exports meanwhile, so at least one is left holding it.
    await until('an export idle in its transaction', async () => (await idleInTransaction()) >= 1, 2_500);
    // After the timeout both are cut and everything they held is given back: within 8 s on a quiet
    // machine; a fresh-clone CI on a slow day once took longer, so the bound is 20 s. Counted by
    // the transactions still open since both began, not by those idle: two exports still
    // streaming can both be mid-fetch at one instant, neither idle.
    for (let i = 0; i < 750 && (await openSinceThen()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await openSinceThen()).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    const next = await exportOf('ndjson', auditor.token, { from: '2018-02-01', to: '2018-02-01T01:00:00Z' });
    expect(next.status).toBe(200);
    expect(t.logs.lines.some((l) => l.includes('the client stopped reading'))).toBe(true);
    // A client that reads again gets what was buffered and then an incomplete transfer, never a complete-looking file.
    a.res.resume();
    b.res.resume();
    expect(await a.ended).not.toBe('end');
    expect(await b.ended).not.toBe('end');
  }, 20_000);

  it('waits 30 s by default', () => {
    expect(saved).toBe(30_000);
  });
});

describe('export: geojson', () => {
  it('a valid RFC 7946 FeatureCollection: a Point at each opening location, a LineString of each trail, [lng, lat] with at most 7 decimals', async () => {
    const res = await exportOf('geojson');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/geo+json');
    const text = JSON.stringify(res.body);
    const fc = checkGeoJson(text) as any; // throws on anything RFC 7946 forbids
    expect(fc.type).toBe('FeatureCollection');
    for (const f of fc.features) {
      const positions: number[][] = f.geometry.type === 'Point' ? [f.geometry.coordinates] : f.geometry.coordinates;
      if (f.geometry.type === 'LineString') expect(positions.length).toBeGreaterThanOrEqual(2);
      for (const [lng, lat] of positions) {
        expect(lng).toBeGreaterThanOrEqual(-180);
        expect(lng).toBeLessThanOrEqual(180);
        expect(lat).toBeGreaterThanOrEqual(-90);
        expect(lat).toBeLessThanOrEqual(90);
        for (const x of [lng, lat]) expect((String(x).split('.')[1] ?? '').length).toBeLessThanOrEqual(7);
      }
    }
    const of = (id: string) => fc.features.filter((f: any) => f.properties.id === id);
    const [point, line] = of(noisy.id);
    expect(point.geometry).toEqual({ type: 'Point', coordinates: [-94.2012346, 36.3712346] }); // rounded to 7 decimals, lng first
    expect(point.properties).toMatchObject({
      id: noisy.id, kind: 'robbery', severity: 'critical', status: 'resolved', disposition: 'police_dispatched', feature: 'opening',
      openedAt: expect.any(String), acknowledgedAt: expect.any(String), resolvedAt: expect.any(String),
    });
    expect(line.geometry).toEqual({ type: 'LineString', coordinates: [[-94.2012346, 36.3712346], [-94.202, 36.372], [-94.2035, 36.373], [-94.2049, 36.3741]] });
    expect(line.properties).toMatchObject({ id: noisy.id, feature: 'trail', points: 4 });
    // One fix: a Point and no LineString.
    expect(of(quiet.id).map((f: any) => f.geometry.type)).toEqual(['Point']);
  });
});

describe('export: eido', () => {
  it('a JSON array of NENA EIDO-style objects a CAD can take: tracking URN, type, priority, status, location by value, notes, disposition, times', async () => {
    const res = await exportOf('eido');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-disposition')).toMatch(/\.eido\.json"$/);
    const docs = JSON.parse(JSON.stringify(res.body)) as any[];
    expect(docs.map((d) => d.incidentComponent.internalIncidentId)).toEqual([noisy.id, quiet.id]);
    const d = docs[0];
    const events = await timeline(noisy.id);
    expect(d).toMatchObject({ eidoVersion: '1.0', issuingElementIdentification: 'mayday.test', lastUpdateTimeStamp: events[events.length - 1].at });
    expect(d.$id).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const inc = d.incidentComponent;
    expect(inc.incidentTrackingIdentifier).toBe(`urn:emergency:uid:incidentid:${noisy.id.replace(/-/g, '')}:mayday.test`);
    expect(inc.$id).toBe(inc.incidentTrackingIdentifier);
    expect(inc).toMatchObject({
      incidentTypeCommonRegistryText: 'Robbery', incidentTypeInternalCode: 'robbery',
      incidentStatusCommonRegistryText: ['Closed'], incidentStatusInternalText: ['resolved'],
      incidentCommonPriorityNumber: 9, incidentPriorityInternalText: 'critical', beatOrDispatchGroupText: 'North, "Old" Town',
      documentIdentification: String(noisy.code),
    });
    expect(inc.dispositionComponent).toEqual([expect.objectContaining({
      dispositionCommonRegistryCode: 'Police Dispatched', dispositionCategoryText: 'police_dispatched', dispositionPrimaryIndicator: true, dispositionDescriptionText: RESOLUTION,
    })]);
    // Location by value: PIDF-LO, "lat lon", a circle of the accuracy, the time of the fix.
    const [initial, current] = d.locationComponent;
    expect(initial.locationTypeDescriptionRegistryText).toBe('Initial');
    expect(initial.locationByValue).toContain('<gml:pos>36.3712346 -94.2012346</gml:pos>');
    expect(initial.locationByValue).toContain('<gs:radius uom="urn:ogc:def:uom:EPSG::9001">12</gs:radius>');
    expect(initial.locationByValue).toMatch(/<dm:timestamp>\d{4}-\d\d-\d\dT[\d:.]+Z<\/dm:timestamp>/);
    expect(current.locationTypeDescriptionRegistryText).toBe('CurrentIncident');
    expect(current.locationByValue).toContain('<gml:pos>36.3741 -94.2049</gml:pos>');
    expect(inc.locationReference).toEqual(d.locationComponent.map((l: any) => ({ $ref: l.$id })));
    // Notes: the driver's note, then every timeline event at its own time; HTML-escaped.
    const driverNote = d.notesComponent[0];
    expect(driverNote.notesActionComments).toContain('He took the bag, &quot;all of it&quot;, and ran<br>north; then:<br>=HYPERLINK(&quot;x&quot;) &lt;b&gt;&amp;amp;&lt;/b&gt; — 🚨 Straße 東京');
    expect(d.notesComponent.slice(1).map((n: any) => n.lastUpdateTimeStamp)).toEqual(events.map((e) => e.at));
    expect(d.notesComponent.slice(1).map((n: any) => n.notesActionComments.split(':')[0])).toEqual(events.map((e) => `#${e.seq} ${e.type}`));
    // Open, no disposition; the same state exports to the same message id.
    expect(docs[1].incidentComponent).toMatchObject({ incidentStatusCommonRegistryText: ['Active'], incidentCommonPriorityNumber: 7, dispositionComponent: [] });
    expect(JSON.parse(JSON.stringify((await exportOf('eido')).body))[0].$id).toBe(d.$id);
  });
});

describe('the audit of the audit', () => {
  it('every export, verification and report is recorded: who, which range, which format; the log is append-only and chained', async () => {
    const wide = { from: '2000-01-01', to: new Date(Date.now() + 3600_000).toISOString(), limit: '10000' };
    const before = (await t.get(q('/v1/audit/log', wide), auditor.token)).body.entries.length;
    await exportOf('csv', lead.token);
    await t.get(q('/v1/audit/verify', { from, to }), w.admin);
    await t.get(q('/v1/reports/response-times', { from, to, targetSeconds: '30' }), auditor.token);
    const res = await t.get(q('/v1/audit/log', wide), auditor.token);
    expect(res.status).toBe(200);
    // Reading the log is not recorded; the three calls are, in order.
    res.body.entries = res.body.entries.slice(before);
    expect(res.body.entries.map((e: any) => [e.actor, e.action])).toEqual([
      [`safety_lead:${lead.id}`, 'export'], ['admin', 'verify'], [`auditor:${auditor.id}`, 'report'],
    ]);
    expect(res.body.entries[0].params).toEqual({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), format: 'csv', requestId: expect.any(String) });
    expect(res.body.entries[1].params).toMatchObject({ checked: 2, broken: 0 });
    expect(res.body.entries[2].params).toMatchObject({ report: 'response-times', targetSeconds: 30 });
    expect(res.body.chain).toMatchObject({ valid: true });
    const [e] = res.body.entries;
    await expect(t.sql`UPDATE audit_log SET actor = 'nobody' WHERE seq = ${e.seq}`).rejects.toThrow(/append-only/);
    await expect(t.sql`DELETE FROM audit_log WHERE seq = ${e.seq}`).rejects.toThrow(/append-only/);
    // Behind the service's back (triggers off), the chain shows it.
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE audit_log SET params = params || '{"format": "ndjson"}' WHERE seq = ${e.seq}`;
    });
    expect((await t.get(q('/v1/audit/log', { from, to }), auditor.token)).body.chain.valid).toBe(false);
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE audit_log SET params = params || '{"format": "csv"}' WHERE seq = ${e.seq}`;
    });
    expect((await t.get(q('/v1/audit/log', { from, to }), auditor.token)).body.chain.valid).toBe(true);
  });
});

describe('verify in bulk', () => {
  it('checks every timeline in the range and lists the broken ones', async () => {
    // Three incidents of their own, in a window of their own (the time it took to open them).
    const start = new Date(Date.now() - 1).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = (await w.sos(driver, { note: `victim ${i}` })).body.incident.id;
      await t.post(`/v1/incidents/${id}/locations`, { lat: 36.375, lng: -94.205 }, driver.token);
      ids.push(id);
    }
    const win = { from: start, to: new Date(Date.now() + 1).toISOString() };
    const ok = await t.get(q('/v1/audit/verify', win), auditor.token);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ valid: true, checked: 3, broken: [], problems: [] });

    // An event's data altered, and a trail point moved, behind the service's back.
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE incident_events SET data = jsonb_set(data, '{note}', '"nothing happened"') WHERE incident_id = ${ids[0]} AND seq = 1`;
    });
    await t.sql`UPDATE incident_locations SET lat = 36.0 WHERE incident_id = ${ids[2]} AND id = (SELECT max(id) FROM incident_locations WHERE incident_id = ${ids[2]})`;
    const bad = await t.get(q('/v1/audit/verify', win), auditor.token);
    expect(bad.body).toMatchObject({ valid: false, checked: 3, broken: [ids[0], ids[2]] });
    expect(bad.body.problems).toEqual([
      { incidentId: ids[0], problem: 'chain' },
      { incidentId: ids[0], problem: 'row', columns: ['note'] }, // the row still has the note the event no longer says
      { incidentId: ids[2], problem: 'location', locationId: expect.any(Number) },
    ]);
    // The per-incident verify agrees on the chain.
    expect((await t.get(`/v1/incidents/${ids[0]}/timeline/verify`, auditor.token)).body.valid).toBe(false);
    expect((await t.get(`/v1/incidents/${ids[1]}/timeline/verify`, auditor.token)).body.valid).toBe(true);
  });

  it('goes through a large range batch by batch, missing none', async () => {
    // The 600 incidents of June 2019 (see 'export: resources'), in batches of 7.
    const june = { from: new Date('2019-06-01T00:00:00Z'), to: new Date('2019-07-01T00:00:00Z') };
    expect(await verifyRange(t.sql, june, 7)).toEqual({ valid: true, checked: 600, broken: [], problems: [] });
    const [victim] = await t.sql`SELECT id FROM incidents WHERE opened_at = '2019-06-01T05:00:00Z'`;
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE incident_events SET actor = 'nobody' WHERE incident_id = ${victim.id}`;
    });
    expect(await verifyRange(t.sql, june, 7)).toMatchObject({ valid: false, checked: 600, broken: [victim.id] });
    expect((await t.get(q('/v1/audit/verify', { from: '2019-06-01', to: '2019-07-01' }), auditor.token)).body).toMatchObject({ checked: 600, broken: [victim.id] });
  });
});

describe('response-time report', () => {
  /**
   * A data set computed by hand. In a zone of its own: each incident opens for real (its pages
   * queue), the engine sends them, then its opened_at is moved N seconds into the past and it is
   * acknowledged (and resolved) at once. Every duration is then N seconds plus the milliseconds
   * the requests take, hence the tolerance of 1 s.
   *   robbery: N = 10, 20, 30, 40, 100, acknowledged and resolved
   *     p50 = 30; p90 = 40 + 0.6 * 60 = 76; p99 = 40 + 0.96 * 60 = 97.6 (linear interpolation)
   *   medical: N = 5 acknowledged; N = 30 resolved without acknowledgement; N = 90 still open
   * Target 60 s: robbery 100 breaches; medical 90 breaches (never acknowledged).
   * Target 35 s: robbery 40 and 100; medical 90 (30 was resolved in time, without acknowledgement).
   */
  let rzone: { id: string };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    rzone = await w.zone('Report zone', square(40, -100));
    const rsup = await w.responder('supervisor', [rzone.id], 'Rae');
    const plan: [string, 'robbery' | 'medical', number, 'ack+resolve' | 'ack' | 'resolve' | 'open'][] = [
      ['r10', 'robbery', 10, 'ack+resolve'], ['r20', 'robbery', 20, 'ack+resolve'], ['r30', 'robbery', 30, 'ack+resolve'],
      ['r40', 'robbery', 40, 'ack+resolve'], ['r100', 'robbery', 100, 'ack+resolve'],
      ['m5', 'medical', 5, 'ack'], ['m30', 'medical', 30, 'resolve'], ['m90', 'medical', 90, 'open'],
    ];
    for (const [name, kind, n, what] of plan) {
      const inc = (await w.sos(driver, { kind, location: { lat: 40, lng: -100, accuracyM: 5 } })).body.incident;
      expect(inc.zoneId).toBe(rzone.id);
      await t.engine.tick(); // the pages go out
      await t.sql`UPDATE incidents SET opened_at = now() - make_interval(secs => ${n}) WHERE id = ${inc.id}`;
      if (what.startsWith('ack')) expect((await t.post(`/v1/incidents/${inc.id}/ack`, undefined, rsup.token)).status).toBe(200);
      if (what.endsWith('resolve')) expect((await t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, rsup.token)).status).toBe(200);
      ids[name] = inc.id;
    }
    // The simulator reports deliveries a moment after the sends.
    for (let i = 0; i < 100; i++) {
      const [{ n }] = await t.sql`SELECT count(DISTINCT incident_id)::int AS n FROM incident_events WHERE type = 'page.delivered' AND incident_id = ANY(${t.sql.array(Object.values(ids))}::uuid[])`;
      if (n === Object.keys(ids).length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  const report = async (targetSeconds?: number) => {
    const params: Record<string, string> = { from: new Date(Date.now() - 3600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
    if (targetSeconds) params.targetSeconds = String(targetSeconds);
    const res = await t.get(q('/v1/reports/response-times', params), auditor.token);
    expect(res.status).toBe(200);
    return res.body;
  };
  const near = (got: number | null, want: number) => {
    expect(got).not.toBeNull();
    expect(Math.abs(got! - want), `${got} vs ${want}`).toBeLessThan(1);
  };

  it('count and p50/p90/p99 by zone and kind, as computed by hand', async () => {
    const r = await report();
    expect(r.targetSeconds).toBe(60);
    const mine = r.groups.filter((g: any) => g.zoneId === rzone.id);
    expect(mine.map((g: any) => [g.zoneName, g.kind, g.incidents])).toEqual([['Report zone', 'medical', 3], ['Report zone', 'robbery', 5]]);
    const [med, rob] = mine;
    for (const m of ['firstPageSent', 'firstDelivery', 'acknowledgement', 'resolution']) {
      expect(rob[m].count, m).toBe(5);
      near(rob[m].p50, 30);
      near(rob[m].p90, 76);
      near(rob[m].p99, 97.6);
    }
    expect(med.acknowledgement.count).toBe(1);
    near(med.acknowledgement.p50, 5);
    near(med.acknowledgement.p99, 5);
    expect(med.resolution.count).toBe(1);
    near(med.resolution.p50, 30);
    expect(med.firstPageSent.count).toBe(3);
    // sorted 5, 30, 90: p50 = 30, p90 = 30 + 0.8 * 60 = 78
    near(med.firstPageSent.p50, 30);
    near(med.firstPageSent.p90, 78);
    expect(r.overall.incidents).toBeGreaterThanOrEqual(8);
  });

  it('lists the incidents acknowledged later than the target, or never acknowledged, slowest first', async () => {
    const r = await report();
    const [med, rob] = r.groups.filter((g: any) => g.zoneId === rzone.id);
    expect(rob.breachCount).toBe(1);
    expect(rob.breaches).toEqual([{ incidentId: ids.r100, code: expect.any(Number), ackSeconds: expect.any(Number) }]);
    near(rob.breaches[0].ackSeconds, 100);
    expect(med.breaches).toEqual([{ incidentId: ids.m90, code: expect.any(Number), ackSeconds: null }]);

    const strict = await report(35);
    const [med35, rob35] = strict.groups.filter((g: any) => g.zoneId === rzone.id);
    expect(rob35.breaches.map((b: any) => b.incidentId)).toEqual([ids.r100, ids.r40]);
    expect(med35.breaches.map((b: any) => b.incidentId)).toEqual([ids.m90]);
    expect(strict.targetSeconds).toBe(35);
  });

  it('an empty range has no groups and null percentiles', async () => {
    const res = await t.get(q('/v1/reports/response-times', { from: '2001-01-01', to: '2001-01-02' }), auditor.token);
    expect(res.body.groups).toEqual([]);
    expect(res.body.overall).toMatchObject({ incidents: 0, acknowledgement: { count: 0, p50: null, p90: null, p99: null }, breachCount: 0 });
  });
});

describe('OpenAPI', () => {
  it('documents the export per content type, the verification, the report and legal holds', async () => {
    const doc = (await t.get('/openapi.json')).body;
    const exp = doc.paths['/v1/audit/export'].get;
    expect(Object.keys(exp.responses['200'].content).sort()).toEqual(['application/geo+json', 'application/json', 'application/x-ndjson', 'text/csv']);
    expect(exp.parameters.map((p: any) => p.name).sort()).toEqual(['format', 'from', 'to']);
    expect(doc.paths['/v1/audit/verify'].get.responses['200']).toBeDefined();
    expect(doc.paths['/v1/reports/response-times'].get.parameters.map((p: any) => p.name)).toContain('targetSeconds');
    expect(Object.keys(doc.paths['/v1/incidents/{id}/legal-hold']).sort()).toEqual(['delete', 'post']);
  });
});
