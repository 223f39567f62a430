import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { newToken } from '../src/auth/crypto';
import { ZoneDirectory } from '../src/zones/store';
import { testApp, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';

let t: TestApp;
let w: ReturnType<typeof world>;
let zone: { id: string };
let driver: Person;
let other: Person;

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  zone = await w.zone('Bentonville', square(36.37, -94.2));
  driver = await w.driver('Dana');
  other = await w.driver('Eli');
});

describe('POST /v1/sos', () => {
  it('stores the incident, geo-tags it and grades it', async () => {
    const res = await w.sos(driver, { kind: 'shooting', note: 'two men, one armed' });
    expect(res.status).toBe(201);
    const inc = res.body.incident;
    expect(inc).toMatchObject({
      status: 'open', kind: 'shooting', severity: 'critical', driverId: driver.id, zoneId: zone.id, zoneRule: 'inside',
      location: { lat: 36.37, lng: -94.2, accuracyM: 10 }, acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, disposition: null,
    });
    expect(inc.code).toBeGreaterThanOrEqual(1000);
    const [row] = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${inc.id} AND type = 'incident.opened'`;
    expect(row.n).toBe(1);
  });

  it.each([
    ['robbery', 'critical'], ['shooting', 'critical'], ['assault', 'critical'],
    ['crash', 'high'], ['medical', 'high'], ['harassment', 'medium'], ['other', 'medium'],
  ])('grades %s as %s', async (kind, severity) => {
    const res = await w.sos(driver, { kind });
    expect(res.status).toBe(201);
    expect(res.body.incident.severity).toBe(severity);
  });

  it('answers a retry of the same press with 200 and the same incident, and notes it', async () => {
    const clientRequestId = randomUUID();
    const first = await w.sos(driver, { clientRequestId });
    const again = await w.sos(driver, { clientRequestId, kind: 'other' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.incident.id).toBe(first.body.incident.id);
    expect(again.body.incident.kind).toBe('robbery');
    const types = await t.sql`SELECT type FROM incident_events WHERE incident_id = ${first.body.incident.id} AND type LIKE 'incident.%' AND type <> 'incident.linked' ORDER BY seq`;
    expect(types.map((r) => r.type)).toEqual(['incident.opened', 'incident.duplicate_request']);
  });

  it('coalesces 20 concurrent identical presses into exactly one incident', async () => {
    const clientRequestId = randomUUID();
    const results = await Promise.all(Array.from({ length: 20 }, () => w.sos(other, { clientRequestId })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    expect(new Set(results.map((r) => r.body.incident.id)).size).toBe(1);
    const [n] = await t.sql`SELECT count(*)::int AS n FROM incidents WHERE client_request_id = ${clientRequestId}`;
    expect(n.n).toBe(1);
    const [d] = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${results[0].body.incident.id} AND type = 'incident.duplicate_request'`;
    expect(d.n).toBe(19);
  });

  it('the same clientRequestId from another driver is another incident', async () => {
    const clientRequestId = randomUUID();
    const a = await w.sos(driver, { clientRequestId });
    const b = await w.sos(other, { clientRequestId });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.incident.id).not.toBe(b.body.incident.id);
  });

  it('a new press while another is open opens a new incident, and each timeline notes the other', async () => {
    const d = await w.driver('Fay');
    const a = (await w.sos(d)).body.incident;
    const b = (await w.sos(d)).body.incident;
    expect(a.id).not.toBe(b.id);
    const linked = await t.sql`SELECT incident_id, data->>'otherIncidentId' AS other FROM incident_events WHERE type = 'incident.linked' AND incident_id IN (${a.id}, ${b.id})`;
    expect(linked.map((r) => [r.incident_id, r.other]).sort()).toEqual([[a.id, b.id], [b.id, a.id]].sort());
  });

  it('refuses bad input with 422 and the one error body, and stores nothing', async () => {
    const [before] = await t.sql`SELECT count(*)::int AS n FROM incidents`;
    for (const body of [
      { clientRequestId: 'not-a-uuid', kind: 'robbery', location: { lat: 1, lng: 1 } },
      { clientRequestId: randomUUID(), kind: 'bored', location: { lat: 1, lng: 1 } },
      { clientRequestId: randomUUID(), kind: 'robbery', location: { lat: 91, lng: 1 } },
      { clientRequestId: randomUUID(), kind: 'robbery', location: { lat: 1, lng: -181 } },
      { clientRequestId: randomUUID(), kind: 'robbery', location: { lat: 1, lng: 1, accuracyM: -1 } },
      { clientRequestId: randomUUID(), kind: 'robbery', location: null },
      { clientRequestId: randomUUID(), kind: 'robbery', location: { lat: 1, lng: 1 }, extra: true },
    ]) {
      const res = await t.post('/v1/sos', body, driver.token);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.requestId).toEqual(expect.any(String));
    }
    const [after] = await t.sql`SELECT count(*)::int AS n FROM incidents`;
    expect(after.n).toBe(before.n);
  });

  it('a broken device clock never costs an SOS: a fix dated before 2000 or in the future counts as taken on arrival', async () => {
    for (const capturedAt of ['0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59-14:00']) {
      const before = Date.now();
      const res = await w.sos(driver, { location: { lat: 36.37, lng: -94.2, capturedAt } });
      expect(res.status, capturedAt).toBe(201);
      expect(Date.parse(res.body.incident.location.capturedAt)).toBeGreaterThanOrEqual(before - 1000);
    }
  });

  it('only drivers press SOS', async () => {
    const sup = await w.responder('supervisor', [zone.id]);
    expect((await w.sos(sup)).status).toBe(403);
    expect((await w.sos({ token: w.admin })).status).toBe(403);
    expect((await w.sos({ token: 'nope' })).status).toBe(401);
  });
});

describe('zone resolution', () => {
  it('inside a boundary, outside every boundary → fallback, and no fallback → nearest; the timeline says which', async () => {
    const t2 = await testApp();
    const w2 = world(t2);
    const d = await w2.driver();
    // No zones at all: still taken.
    const none = await w2.sos(d, { location: { lat: 10, lng: 10 } });
    expect(none.status).toBe(201);
    expect(none.body.incident).toMatchObject({ zoneId: null, zoneRule: 'none' });

    const north = await w2.zone('North', square(40, -100, 1));
    const south = await w2.zone('South', square(30, -100, 1));
    const inside = (await w2.sos(d, { location: { lat: 30.5, lng: -100.2 } })).body.incident;
    expect(inside).toMatchObject({ zoneId: south.id, zoneRule: 'inside' });
    const near = (await w2.sos(d, { location: { lat: 38.2, lng: -100 } })).body.incident;
    expect(near).toMatchObject({ zoneId: north.id, zoneRule: 'nearest' });

    const fb = await w2.fallbackZone();
    const out = (await w2.sos(d, { location: { lat: 38.2, lng: -100 } })).body.incident;
    expect(out).toMatchObject({ zoneId: fb.id, zoneRule: 'fallback' });
    const stillInside = (await w2.sos(d, { location: { lat: 40.1, lng: -99.5 } })).body.incident;
    expect(stillInside).toMatchObject({ zoneId: north.id, zoneRule: 'inside' });

    const [ev] = await t2.sql`SELECT data FROM incident_events WHERE incident_id = ${out.id} AND type = 'incident.opened'`;
    expect(ev.data).toMatchObject({ zoneRule: 'fallback', zoneId: fb.id });
  });

  it('a hole in a polygon is not inside it', async () => {
    const t3 = await testApp();
    const w3 = world(t3);
    const d = await w3.driver();
    const outer = square(0, 0, 1).coordinates[0];
    const hole = square(0, 0, 0.2).coordinates[0].slice().reverse();
    const donut = await w3.zone('Donut', { type: 'Polygon', coordinates: [outer, hole] });
    const fb = await w3.fallbackZone();
    expect((await w3.sos(d, { location: { lat: 0.5, lng: 0.5 } })).body.incident.zoneId).toBe(donut.id);
    expect((await w3.sos(d, { location: { lat: 0, lng: 0 } })).body.incident.zoneId).toBe(fb.id);
  });
});

describe('the zone directory (the shapes intake resolves against)', () => {
  it('a stale copy is used while it reloads, up to twice its TTL; a write on this instance is seen at once', async () => {
    const t = await testApp();
    const w = world(t);
    const north = await w.zone('North', square(40, -100, 1));
    let now = 1_000_000;
    const dir = new ZoneDirectory(t.sql, 1_000, () => now);
    const ids = async () => (await dir.get()).map((z) => z.id);
    expect(await ids()).toEqual([north.id]);
    const south = await w.zone('South', square(30, -100, 1)); // another instance's write: this directory is not told
    now += 1_000;
    expect(await ids()).toEqual([north.id]); // fresh enough
    now += 1;
    expect(await ids()).toEqual([north.id]); // stale: answered from memory, a reload starts
    for (let i = 0; i < 100 && (await ids()).length === 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await ids()).toEqual([north.id, south.id]); // the reload landed
    await t.sql`DELETE FROM zones WHERE id = ${south.id}`;
    now += 2_001; // older than twice the TTL: waited for
    expect(await ids()).toEqual([north.id]);
    const west = await w.zone('West', square(35, -110, 1));
    dir.invalidate(); // what a write through this instance does
    expect(await ids()).toEqual([north.id, west.id]);
  });
});

describe('the token of an SOS is judged in the SOS’s own call', () => {
  const count = async () => Number((await t.sql`SELECT count(*) AS n FROM incidents`)[0].n);
  const invalid = { clientRequestId: randomUUID(), kind: 'not-a-kind', location: { lat: 36.37, lng: -94.2 } };

  it('a driver’s first press needs no lookup of its own; the token is cached afterwards', async () => {
    const d = await w.driver('Fay');
    const byHash = vi.spyOn(t.deps.auth, 'byHash');
    try {
      expect((await w.sos(d)).status).toBe(201);
      expect(byHash).not.toHaveBeenCalled();
      expect((await t.deps.auth.peek(d.token)).principal).toMatchObject({ id: d.id, role: 'driver' });
      expect((await w.sos(d)).status).toBe(201); // from the cache
      expect(byHash).not.toHaveBeenCalled();
    } finally {
      byHash.mockRestore();
    }
  });

  it('an unknown or revoked token is 401 and a responder’s is 403, nothing stored, before any body error', async () => {
    const d = await w.driver('Gus');
    expect((await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: w.admin })).status).toBe(200);
    const sup = await w.responder('supervisor', [zone.id], 'Hal');
    const before = await count();
    expectError(await w.sos({ token: 'mdy_unknown_token_0123456789' }), 401, 'unauthorized');
    expectError(await w.sos({ token: newToken('drv') }), 401, 'unauthorized');
    expectError(await w.sos(d), 401, 'unauthorized');
    expectError(await w.sos(sup), 403, 'forbidden');
    expect(await count()).toBe(before);
    // The same order as for a token judged up front: 401, then 403, then the body.
    expectError(await t.post('/v1/sos', invalid, 'mdy_unknown_token_0123456789'), 401, 'unauthorized');
    expectError(await t.req('POST', '/v1/sos', { token: 'mdy_unknown_token_0123456789', body: '{"kind":' }), 401, 'unauthorized');
    const sup2 = await w.responder('supervisor', [zone.id], 'Ida');
    expectError(await t.post('/v1/sos', invalid, sup2.token), 403, 'forbidden');
    const d2 = await w.driver('Jo');
    expectError(await t.post('/v1/sos', invalid, d2.token), 422, 'validation_failed');
    expect(await count()).toBe(before);
  });

  it('only a driver-shaped token waits for the SOS’s call; any other is judged up front, before it can take an intake connection', async () => {
    const sup = await w.responder('supervisor', [zone.id], 'Max');
    const byHash = vi.spyOn(t.deps.auth, 'byHash');
    try {
      expectError(await w.sos({ token: newToken('drv') }), 401, 'unauthorized'); // driver-shaped: judged in the call
      expect(byHash).not.toHaveBeenCalled();
      expectError(await w.sos({ token: 'mdy_unknown_token_0123456789' }), 401, 'unauthorized');
      expectError(await w.sos(sup), 403, 'forbidden');
      expect(byHash).toHaveBeenCalledTimes(2);
    } finally {
      byHash.mockRestore();
    }
  });

  it('when the token cannot be looked up after all (a body that fails first), that failure is the answer, not the body’s error', async () => {
    const t2 = await testApp();
    await t2.sql`ALTER TABLE tokens RENAME TO tokens_away`; // every lookup now fails in the database
    try {
      const res = await t2.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'not-a-kind' }, newToken('drv'));
      expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(500);
    } finally {
      await t2.sql`ALTER TABLE tokens_away RENAME TO tokens`;
    }
  });

  it('needs no connection of the shared pool: a first press is answered while every one is taken', async () => {
    const t2 = await testApp({ intakePool: true, zoneCacheMs: 60_000 });
    const w2 = world(t2);
    await w2.zone('Zone', square(36.37, -94.2));
    const [d1, d2] = [await w2.driver('Kim'), await w2.driver('Lou')];
    expect((await w2.sos(d1)).status).toBe(201); // the zone shapes are loaded
    // Every connection of the shared pool (5 in tests) is taken, reserved by this test.
    const reserved = await Promise.all(Array.from({ length: 5 }, () => t2.sql.reserve()));
    let probed = false;
    const probe = t2.sql`SELECT 1`.execute().then(() => (probed = true)); // waits for a free connection
    try {
      const res = await Promise.race([w2.sos(d2), new Promise<'waited'>((r) => setTimeout(() => r('waited'), 5_000))]);
      expect(res, 'the SOS waited for the shared pool').not.toBe('waited');
      expect((res as { status: number }).status).toBe(201);
      expect(probed).toBe(false);
    } finally {
      for (const r of reserved) r.release();
      await probe;
    }
  });
});

describe('reading incidents', () => {
  it('a driver sees only its own incidents; another driver gets 404', async () => {
    const mine = (await w.sos(driver)).body.incident;
    expect((await t.get(`/v1/incidents/${mine.id}`, driver.token)).status).toBe(200);
    expect((await t.get(`/v1/incidents/${mine.id}`, other.token)).status).toBe(404);
    const list = await t.get('/v1/incidents?status=active', other.token);
    expect(list.status).toBe(200);
    expect(list.body.incidents.every((i: { driverId: string }) => i.driverId === other.id)).toBe(true);
    expect(list.body.incidents.some((i: { id: string }) => i.id === mine.id)).toBe(false);
  });

  it('a supervisor sees its zones’ incidents; a safety lead, an auditor and the admin see every zone’s', async () => {
    const elsewhere = await w.zone('Elsewhere', square(10, 10));
    const supHere = await w.responder('supervisor', [zone.id]);
    const supThere = await w.responder('supervisor', [elsewhere.id]);
    const lead = await w.responder('safety_lead', []);
    const aud = await w.auditor();
    const inc = (await w.sos(driver)).body.incident;
    expect((await t.get(`/v1/incidents/${inc.id}`, supHere.token)).status).toBe(200);
    expect((await t.get(`/v1/incidents/${inc.id}`, supThere.token)).status).toBe(404);
    for (const tok of [lead.token, aud.token, w.admin]) expect((await t.get(`/v1/incidents/${inc.id}`, tok)).status).toBe(200);
    const listThere = await t.get('/v1/incidents?status=active', supThere.token);
    expect(listThere.body.incidents).toEqual([]);
    const listHere = await t.get('/v1/incidents?status=active', supHere.token);
    expect(listHere.body.incidents.map((i: { id: string }) => i.id)).toContain(inc.id);
    const agent = await w.agent();
    expect((await t.get(`/v1/incidents/${inc.id}`, agent.token)).status).toBe(403);
  });

  it('filters by status and answers 422 on an unknown status, 404 on an unknown id', async () => {
    expect((await t.get('/v1/incidents?status=sleeping', w.admin)).status).toBe(422);
    expect((await t.get(`/v1/incidents/${randomUUID()}`, w.admin)).status).toBe(404);
    expect((await t.get('/v1/incidents/not-a-uuid', w.admin)).status).toBe(422);
    const open = await t.get('/v1/incidents?status=open', w.admin);
    expect(open.body.incidents.length).toBeGreaterThan(0);
    expect(open.body.incidents.every((i: { status: string }) => i.status === 'open')).toBe(true);
  });
});

describe('POST /v1/incidents/{id}/locations', () => {
  it('adds fixes to the trail; a fix older than the newest is kept but does not replace it', async () => {
    const inc = (await w.sos(driver, { location: { lat: 36.37, lng: -94.2, capturedAt: '2026-01-01T10:00:00Z' } })).body.incident;
    const newer = await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.38, lng: -94.21, accuracyM: 5, capturedAt: '2026-01-01T10:01:00Z' }, driver.token);
    expect(newer.status).toBe(202);
    expect(newer.body).toEqual({ accepted: true, current: true });
    const older = await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.1, lng: -94.1, capturedAt: '2026-01-01T10:00:30Z' }, driver.token);
    expect(older.status).toBe(202);
    expect(older.body.current).toBe(false);
    const now = (await t.get(`/v1/incidents/${inc.id}`, driver.token)).body.incident;
    expect(now.location).toMatchObject({ lat: 36.38, lng: -94.21, accuracyM: 5, capturedAt: '2026-01-01T10:01:00.000Z' });
    const trail = await t.sql`SELECT lat FROM incident_locations WHERE incident_id = ${inc.id} ORDER BY captured_at`;
    expect(trail.map((r) => r.lat)).toEqual([36.37, 36.1, 36.38]);
    const [ev] = await t.sql`SELECT count(*)::int AS n FROM incident_events WHERE incident_id = ${inc.id} AND type = 'location.updated'`;
    expect(ev.n).toBe(2);
  });

  it('another driver cannot add to my incident; bad coordinates are 422', async () => {
    const inc = (await w.sos(driver)).body.incident;
    expect((await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 1, lng: 1 }, other.token)).status).toBe(404);
    expect((await t.post(`/v1/incidents/${inc.id}/locations`, { lat: 'x', lng: 1 }, driver.token)).status).toBe(422);
  });
});

describe('an SOS linking the driver’s other open incidents while a batch holds them', () => {
  it('waits for the batch (incidents locked in id order) instead of deadlocking with it', async () => {
    const t4 = await testApp();
    const w4 = world(t4);
    await w4.zone('Rogers', square(36.37, -94.2));
    // A driver with two open incidents, the older one first in id order: a batch (send records,
    // callbacks) locks them in that order, while an SOS links the newest first.
    let d: Person | undefined;
    let older = '';
    let newer = '';
    for (let i = 0; i < 40 && !d; i++) {
      const who = await w4.driver(`Fay ${i}`);
      const a = (await w4.sos(who)).body.incident.id as string;
      const b = (await w4.sos(who)).body.incident.id as string;
      if (a < b) [d, older, newer] = [who, a, b];
    }
    expect(d).toBeDefined();
    const batch = await t4.sql.reserve();
    try {
      await batch`BEGIN`;
      await batch`SELECT 1 FROM incidents WHERE id IN ${t4.sql([older, newer])} ORDER BY id FOR NO KEY UPDATE`;
      const note = (id: string) => batch`INSERT INTO incident_events (incident_id, type, actor, data) VALUES (${id}, 'incident.linked', 'system', '{}'::jsonb)`;
      await note(older); // the batch holds the older incident's timeline head
      const sos = w4.sos(d!); // links the newer incident, then the older
      // Until the SOS waits on a lock of the batch's.
      for (let i = 0; ; i++) {
        const [{ n }] = await t4.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        if (n > 0) break;
        if (i > 200) throw new Error('the SOS never waited for the batch');
        await new Promise((r) => setTimeout(r, 10));
      }
      await note(newer); // without the SOS's ordered lock: a deadlock, and one of the two cancelled
      await batch`COMMIT`;
      const res = await sos;
      expect(res.status).toBe(201);
      // Linked in its own transaction, not through the fallback that leaves the escalation to the engine.
      const [row] = await t4.sql<{ esc_step: number }[]>`SELECT esc_step FROM incidents WHERE id = ${res.body.incident.id}`;
      expect(row.esc_step).not.toBe(-1);
      const linked = await t4.sql<{ incident_id: string }[]>`
        SELECT incident_id FROM incident_events WHERE type = 'incident.linked' AND data ->> 'otherIncidentId' = ${res.body.incident.id}`;
      expect(linked.map((r) => r.incident_id).sort()).toEqual([older, newer].sort());
    } finally {
      batch.release();
    }
  });
});
