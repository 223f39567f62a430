import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../src/auth/principal';
import { ADMIN_TOKEN, testApp, type Res, type TestApp } from './helpers/app';
import { ACCESS_TABLE, ALL_ROLES, fill, isPublic, queryFor, type AccessRow } from './helpers/access-table';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';

/**
 * Every endpoint × every role (and no token, an unknown token, a revoked token): allowed or
 * refused exactly as the contract says. The table lives in test/helpers/access-table.ts; the
 * first test here fails when /openapi.json has an endpoint the table has no row for.
 */

type Caller = Role | 'none' | 'wrong' | 'revoked';
const CALLERS: readonly Caller[] = [...ALL_ROLES, 'none', 'wrong', 'revoked'];

let t: TestApp;
let w: ReturnType<typeof world>;
let doc: { paths: Record<string, Record<string, unknown>> };
const tokens = {} as Record<Role | 'revoked', string>;
let z1: { id: string };
let z2: { id: string };
let d1: Person; // the driver whose token is "driver" in the table
let d2: Person; // another driver
let s1: Person; // supervisor of z1 (the "supervisor" of the table)
let s2: Person; // supervisor of z2 only
let lead: Person;
let inc1: { id: string; code: number }; // d1's incident, in z1
let inc2: { id: string; code: number }; // d2's incident, in z2
let support1: { id: string }; // d1's support request

/** The served endpoints, as `METHOD /path` (Twilio's webhooks take no token: test/fuzz.test.ts covers them). */
const served = () =>
  Object.entries(doc.paths).filter(([path]) => !path.startsWith('/webhooks/')).flatMap(([path, methods]) =>
    Object.keys(methods).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map((m) => `${m.toUpperCase()} ${path}`),
  );
const key = (r: AccessRow) => `${r.method} ${r.path}`;

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  doc = (await t.get('/openapi.json')).body;
  z1 = await w.zone('Z1', square(36.37, -94.2));
  z2 = await w.zone('Z2', square(40.0, -100.0));
  s1 = await w.responder('supervisor', [z1.id], 'Sue');
  s2 = await w.responder('supervisor', [z2.id], 'Stan');
  lead = await w.responder('safety_lead', [], 'Lee');
  d1 = await w.driver('Dana');
  d2 = await w.driver('Dave');
  const auditor = await w.auditor();
  const agent = await w.agent(1);
  const gone = await w.driver('Gone');
  Object.assign(tokens, { admin: ADMIN_TOKEN, driver: d1.token, supervisor: s1.token, safety_lead: lead.token, auditor: auditor.token, agent: agent.token, revoked: gone.token });
  // The revoked token worked a moment ago (and sits in the authenticator's cache).
  expect((await t.get('/v1/incidents', gone.token)).status).toBe(200);
  const rev = await t.req('DELETE', `/v1/users/${gone.id}/tokens`, { token: ADMIN_TOKEN });
  expect(rev.status, JSON.stringify(rev.body)).toBe(200);
  expect(rev.body).toEqual({ userId: gone.id, revoked: 1 });

  const r1 = await w.sos(d1);
  expect(r1.status).toBe(201);
  inc1 = r1.body.incident;
  const r2 = await w.sos(d2, { location: { lat: 40.0, lng: -100.0, accuracyM: 5 } });
  expect(r2.status).toBe(201);
  inc2 = r2.body.incident;
  expect(inc2).toMatchObject({ zoneId: z2.id });
  const sr = await t.post('/v1/support-requests', { category: 'payment', text: 'my payout is late' }, d1.token);
  expect(sr.status, JSON.stringify(sr.body)).toBe(201);
  support1 = sr.body.supportRequest;
});

function tokenOf(c: Caller): string | undefined {
  if (c === 'none') return undefined;
  if (c === 'wrong') return `mdy_drv_${randomUUID().replace(/-/g, '')}`;
  return tokens[c];
}

/**
 * The concrete request of one cell. Reads name a real resource the caller's role may see (so
 * an allowed read answers 200); writes name a random id (so an allowed write answers 404 or
 * 422 and the world stays as it is for the other cells).
 */
function requestOf(row: AccessRow) {
  const read = row.method === 'GET';
  let id: string | undefined;
  if (read && row.path.startsWith('/v1/incidents/{id}')) id = inc1.id;
  else if (read && row.path.startsWith('/v1/zones/{id}')) id = z1.id;
  else if (read && row.path.startsWith('/v1/support-requests/{id}')) id = support1.id;
  else if (row.path === '/v1/users/{id}/tokens' && row.method === 'POST') id = d2.id;
  return { path: fill(row.path, { id, phone: s1.phone }) + queryFor(row.path), body: row.body?.() };
}

async function call(row: AccessRow, caller: Caller, override?: { path?: string; body?: unknown }): Promise<Res> {
  const r = requestOf(row);
  const body = override && 'body' in override ? override.body : r.body;
  const needsBody = row.method === 'POST' || row.method === 'PUT' || row.method === 'PATCH';
  return t.req(row.method, override?.path ?? r.path, { token: tokenOf(caller), body: needsBody ? (body ?? {}) : undefined });
}

/** What a cell must answer: 'allowed' (anything but 401/403 and 5xx), 401 or 403. */
function expected(row: AccessRow, caller: Caller): 'allowed' | 401 | 403 {
  if (isPublic(row)) return 'allowed';
  if (caller === 'none' || caller === 'wrong' || caller === 'revoked') return 401;
  return row.roles.includes(caller) ? 'allowed' : 403;
}

describe('the access table', () => {
  it('has a row for every path × method of /openapi.json, and serves every row the contract requires', () => {
    const rows = new Set(ACCESS_TABLE.map(key));
    expect(rows.size, 'one row per endpoint').toBe(ACCESS_TABLE.length);
    const missing = served().filter((e) => !rows.has(e));
    expect(missing, 'endpoints in /openapi.json without a row in test/helpers/access-table.ts').toEqual([]);
    const docSet = new Set(served());
    const unserved = ACCESS_TABLE.filter((r) => !r.optional && !docSet.has(key(r))).map(key);
    expect(unserved, 'rows for endpoints /openapi.json does not describe').toEqual([]);
    for (const r of ACCESS_TABLE) for (const role of r.roles) expect(ALL_ROLES).toContain(role);
  });

  it.for(ACCESS_TABLE.map((r) => [key(r), r] as const))('%s: every role, no token, an unknown token and a revoked token', async ([, row], ctx) => {
    if (row.optional && !served().includes(key(row))) ctx.skip(); // in the contract, not served yet
    const wrong: string[] = [];
    for (const caller of CALLERS) {
      const res = await call(row, caller);
      const want = expected(row, caller);
      const ok = want === 'allowed' ? res.status < 500 && res.status !== 401 && res.status !== 403 : res.status === want;
      if (!ok) wrong.push(`${caller}: ${res.status} (want ${want}) ${JSON.stringify(res.body).slice(0, 200)}`);
      else if (want !== 'allowed') expectError(res, want, want === 401 ? 'unauthorized' : 'forbidden');
    }
    expect(wrong, `${key(row)}: cells that answered otherwise`).toEqual([]);
  });

  it.for(ACCESS_TABLE.filter((r) => !isPublic(r)).map((r) => [key(r), r] as const))(
    '%s: the role is checked before the input, so a refused caller learns nothing from validation',
    async ([, row], ctx) => {
      if (row.optional && !served().includes(key(row))) ctx.skip();
      // Invalid path parameters and an invalid body: refused callers still get 401 / 403, never 404 or 422.
      const path = row.path.replace('{id}', 'not-a-uuid').replace('{phone}', 'not-a-phone').replace('{sid}', 'not-a-sid') + '?limit=oops&at=never';
      const wrong: string[] = [];
      for (const caller of CALLERS) {
        const want = expected(row, caller);
        if (want === 'allowed') continue;
        const res = await call(row, caller, { path, body: { bogus: [1, { deeper: true }] } });
        if (res.status !== want) wrong.push(`${caller}: ${res.status} (want ${want}) ${JSON.stringify(res.body).slice(0, 200)}`);
      }
      expect(wrong).toEqual([]);
    },
  );
});

describe('a driver never sees another driver’s incident', () => {
  it('not by id, not in a list, not by acting on it, not even with the other driver’s PIN', async () => {
    const other = inc2.id;
    for (const id of [other, other.toUpperCase()]) {
      expectError(await t.get(`/v1/incidents/${id}`, d1.token), 404, 'not_found');
      expectError(await t.post(`/v1/incidents/${id}/locations`, { lat: 40.001, lng: -100.001 }, d1.token), 404, 'not_found');
      expectError(await t.post(`/v1/incidents/${id}/check-ins`, { status: 'need_help' }, d1.token), 404, 'not_found');
      // d2's real cancel PIN (the world's default), from d1's token: still not found, nothing cancelled.
      expectError(await t.post(`/v1/incidents/${id}/cancel`, { pin: '1234' }, d1.token), 404, 'not_found');
      expectError(await t.post(`/v1/incidents/${id}/cancel`, { pin: '9999' }, d1.token), 404, 'not_found');
    }
    const list = await t.get('/v1/incidents', d1.token);
    expect(list.status).toBe(200);
    const ids = list.body.incidents.map((i: { id: string }) => i.id);
    expect(ids).toContain(inc1.id);
    expect(ids).not.toContain(other);
    for (const q of ['?status=active', '?status=open', '?limit=500', '?status=resolved']) {
      const r = await t.get(`/v1/incidents${q}`, d1.token);
      expect(r.status).toBe(200);
      expect(r.body.incidents.every((i: { driverId: string }) => i.driverId === d1.id), q).toBe(true);
    }
    // Nothing happened to d2's incident: no location, check-in or cancel from d1 reached it.
    const [row] = await t.sql<{ status: string; severity: string }[]>`SELECT status, severity FROM incidents WHERE id = ${other}`;
    expect(row.status).toBe('open');
    const types = (await t.sql<{ type: string; actor: string }[]>`SELECT type, actor FROM incident_events WHERE incident_id = ${other}`);
    expect(types.filter((e) => e.actor.includes(d1.id))).toEqual([]);
    expect(types.map((e) => e.type)).not.toContain('cancel.requested');
    expect(types.map((e) => e.type)).not.toContain('checkin.received');
  });

  it('guessing ids finds nothing: random, neighbouring and malformed ids are 404 or 422, never another’s incident', async () => {
    const guesses = [
      randomUUID(),
      inc2.id.slice(0, -1) + (inc2.id.endsWith('0') ? '1' : '0'),
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ];
    for (const id of guesses) expectError(await t.get(`/v1/incidents/${id}`, d1.token), 404, 'not_found');
    for (const id of [String(inc2.code), `${inc2.id}x`, `{${inc2.id}}`, '*', '%25', inc2.id.replace(/-/g, '')]) {
      const res = await t.get(`/v1/incidents/${encodeURIComponent(id)}`, d1.token);
      expect([404, 422], `${id}: ${JSON.stringify(res.body)}`).toContain(res.status);
      expect(JSON.stringify(res.body)).not.toContain(inc2.id);
    }
  });

  it('another driver’s support request is not found either', async () => {
    expect((await t.get(`/v1/support-requests/${support1.id}`, d1.token)).status).toBe(200);
    expectError(await t.get(`/v1/support-requests/${support1.id}`, d2.token), 404, 'not_found');
  });

  it('a supervisor sees its zones’ incidents only; a safety lead and an auditor see every zone’s', async () => {
    expectError(await t.get(`/v1/incidents/${inc2.id}`, s1.token), 404, 'not_found');
    expectError(await t.get(`/v1/incidents/${inc2.id}/timeline`, s1.token), 404, 'not_found');
    expectError(await t.req('POST', `/v1/incidents/${inc2.id}/ack`, { token: s1.token }), 404, 'not_found');
    expect((await t.get(`/v1/incidents/${inc2.id}`, s2.token)).status).toBe(200);
    const list = await t.get('/v1/incidents?status=active', s1.token);
    expect(list.body.incidents.map((i: { id: string }) => i.id)).not.toContain(inc2.id);
    for (const token of [lead.token, tokens.auditor, ADMIN_TOKEN]) {
      expect((await t.get(`/v1/incidents/${inc2.id}`, token)).status).toBe(200);
      expect((await t.get(`/v1/incidents/${inc2.id}/timeline`, token)).status).toBe(200);
    }
  });
});

describe('revocation', () => {
  it('a revoked token stops at once on every endpoint, a new token works, and only the admin revokes', async () => {
    const d = await w.driver('Rita');
    const sos = await w.sos(d);
    expect(sos.status).toBe(201);
    const id = sos.body.incident.id;
    expect((await t.get(`/v1/incidents/${id}`, d.token)).status).toBe(200); // cached now

    // Nobody else may revoke (or issue) tokens.
    for (const role of ALL_ROLES.filter((r) => r !== 'admin')) {
      expectError(await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: tokens[role] }), 403, 'forbidden');
      expectError(await t.req('POST', `/v1/users/${d.id}/tokens`, { token: tokens[role] }), 403, 'forbidden');
    }
    expect((await t.get(`/v1/incidents/${id}`, d.token)).status).toBe(200);

    const rev = await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: ADMIN_TOKEN });
    expect(rev.body).toEqual({ userId: d.id, revoked: 1 });
    expectError(await t.get(`/v1/incidents/${id}`, d.token), 401, 'unauthorized');
    expectError(await t.post(`/v1/incidents/${id}/check-ins`, { status: 'safe' }, d.token), 401, 'unauthorized');
    expectError(await w.sos(d), 401, 'unauthorized');

    const issued = await t.req('POST', `/v1/users/${d.id}/tokens`, { token: ADMIN_TOKEN });
    expect(issued.status).toBe(201);
    expect(issued.body.token).not.toBe(d.token);
    expect((await t.get(`/v1/incidents/${id}`, issued.body.token)).status).toBe(200);
    expectError(await t.get(`/v1/incidents/${id}`, d.token), 401, 'unauthorized');

    // Revoking again revokes the new one; revoking an unknown user is 404.
    expect((await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: ADMIN_TOKEN })).body.revoked).toBe(1);
    expectError(await t.get(`/v1/incidents/${id}`, issued.body.token), 401, 'unauthorized');
    expectError(await t.req('DELETE', `/v1/users/${randomUUID()}/tokens`, { token: ADMIN_TOKEN }), 404, 'not_found');
  });

  it('revoking a responder stops its acknowledgements through the API at once', async () => {
    const s = await w.responder('supervisor', [z1.id], 'Sid');
    const sos = await w.sos(d1);
    const id = sos.body.incident.id;
    expect((await t.get(`/v1/incidents/${id}`, s.token)).status).toBe(200);
    await t.req('DELETE', `/v1/users/${s.id}/tokens`, { token: ADMIN_TOKEN });
    expectError(await t.req('POST', `/v1/incidents/${id}/ack`, { token: s.token }), 401, 'unauthorized');
    const [row] = await t.sql<{ status: string }[]>`SELECT status FROM incidents WHERE id = ${id}`;
    expect(row.status).toBe('open');
  });
});
