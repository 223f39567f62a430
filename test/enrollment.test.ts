import { createHash, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PUBLIC_BASE_URL, testApp, type Res, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';

/**
 * Enrolling a phone in the driver app: a single-use code that an admin or a safety lead makes
 * for a driver, traded once for a device token of the driver's own, which can be signed out
 * alone (by the driver's app, or by an admin or safety lead).
 */
let t: TestApp;
let w: ReturnType<typeof world>;
let dana: Person;
let lead: Person;
let sup: Person;
let auditor: { id: string; token: string };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  const zone = await w.zone('Zone', square(36.37, -94.2));
  sup = await w.responder('supervisor', [zone.id], 'Sue');
  lead = await w.responder('safety_lead', [], 'Lee');
  dana = await w.driver('Dana Kim');
  auditor = await w.auditor();
});

async function newCode(driverId = dana.id, token = ADMIN_TOKEN): Promise<{ code: string; url: string; expiresAt: string }> {
  const res = await t.post(`/v1/drivers/${driverId}/enrollments`, undefined, token);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const exchange = (code: unknown, headers: Record<string, string> = {}) => t.req('POST', '/v1/app/enroll', { body: { code }, headers });

/** A 401 body as a client sees it, less the request id (which every answer has its own of). */
const shape401 = (res: Res) => {
  const e = expectError(res, 401, 'unauthorized');
  return JSON.stringify({ ...res.body, error: { ...e, requestId: '<id>' } });
};

describe('POST /v1/drivers/{id}/enrollments', () => {
  it('gives a single-use code (≥ 128 bits, URL-safe), its link and its expiry 15 minutes on; only the code’s hash is stored', async () => {
    const before = Date.now();
    const e = await newCode();
    expect(Object.keys(e)).toEqual(['code', 'url', 'expiresAt']);
    expect(e.code).toMatch(/^[A-Za-z0-9_-]{32}$/); // 24 random bytes: 192 bits
    expect(e.url).toBe(`${PUBLIC_BASE_URL}/app/enroll#${e.code}`);
    const expires = Date.parse(e.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 15 * 60_000 - 2_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 2_000);
    const rows = await t.sql`SELECT * FROM driver_enrollments WHERE driver_id = ${dana.id}`;
    const mine = rows.find((r) => r.code_hash === sha256(e.code));
    expect(mine).toMatchObject({ created_by: 'admin', used_at: null });
    expect(JSON.stringify(rows)).not.toContain(e.code);
    // Every code is new.
    expect((await newCode()).code).not.toBe(e.code);
  });

  it('is recorded in the audit log (who, for which driver; never the code)', async () => {
    const e = await newCode(dana.id, lead.token);
    const [entry] = await t.sql<{ actor: string; action: string; params: Record<string, unknown> }[]>`
      SELECT actor, action, params FROM audit_log WHERE action = 'enrollment' ORDER BY seq DESC LIMIT 1`;
    expect(entry).toMatchObject({ actor: `safety_lead:${lead.id}`, action: 'enrollment', params: { driverId: dana.id, expiresAt: e.expiresAt } });
    expect(JSON.stringify(entry)).not.toContain(e.code);
    const log = await t.get(`/v1/audit/log?from=${new Date(Date.now() - 60_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`, auditor.token);
    expect(log.status).toBe(200);
    expect(log.body.entries.map((x: { action: string }) => x.action)).toContain('enrollment');
    expect(log.body.chain.valid).toBe(true);
  });

  it('only an admin or a safety lead makes codes: a supervisor, a driver, an auditor or an agent gets 403, no token 401', async () => {
    const agent = await w.agent();
    for (const token of [sup.token, dana.token, auditor.token, agent.token]) {
      expectError(await t.post(`/v1/drivers/${dana.id}/enrollments`, undefined, token), 403, 'forbidden');
    }
    expectError(await t.post(`/v1/drivers/${dana.id}/enrollments`, undefined), 401, 'unauthorized');
    expect((await t.sql`SELECT 1 FROM audit_log WHERE action = 'enrollment' AND actor LIKE ${`%${sup.id}`}`).length).toBe(0);
  });

  it('an unknown id, or someone who is not a driver: 404', async () => {
    expectError(await t.post(`/v1/drivers/${randomUUID()}/enrollments`, undefined, ADMIN_TOKEN), 404, 'not_found');
    expectError(await t.post(`/v1/drivers/${sup.id}/enrollments`, undefined, ADMIN_TOKEN), 404, 'not_found');
    expectError(await t.post('/v1/drivers/not-a-uuid/enrollments', undefined, ADMIN_TOKEN), 422, 'validation_failed');
  });
});

describe('POST /v1/app/enroll', () => {
  it('trades the code for a device token with the driver role, stored as a hash with its enrollment', async () => {
    const e = await newCode();
    const res = await exchange(e.code);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({ token: expect.stringMatching(/^mdy_drv_[A-Za-z0-9_-]{43}$/), driver: { id: dana.id, name: 'Dana Kim', language: 'en' } });
    const [tok] = await t.sql`SELECT t.*, d.used_at FROM tokens t JOIN driver_enrollments d ON d.id = t.enrollment_id WHERE t.token_hash = ${sha256(res.body.token)}`;
    expect(tok).toMatchObject({ user_id: dana.id, revoked_at: null });
    expect(tok.used_at).not.toBeNull();
    const me = await t.get('/v1/app/me', res.body.token);
    expect(me.status).toBe(200);
    expect(me.body.driver.id).toBe(dana.id);
    // A driver's token like any other, on the SOS path too (judged in the SOS's own call).
    const sos = await w.sos({ token: res.body.token });
    expect(sos.status, JSON.stringify(sos.body)).toBe(201);
    expect(sos.body.incident.driverId).toBe(dana.id);
    // Neither the code nor the token is logged.
    const logs = t.logs.lines.join('\n');
    expect(logs).not.toContain(e.code);
    expect(logs).not.toContain(res.body.token);
  });

  it('a code works once: the second exchange answers 401', async () => {
    const e = await newCode();
    expect((await exchange(e.code)).status).toBe(201);
    expectError(await exchange(e.code), 401, 'unauthorized');
    expect((await t.sql`SELECT count(*)::int AS n FROM tokens t JOIN driver_enrollments d ON d.id = t.enrollment_id WHERE d.code_hash = ${sha256(e.code)}`)[0].n).toBe(1);
  });

  it('a code lives 15 minutes (the database’s clock): at 14 min 50 s it works, past 15 min it is refused', async () => {
    const fresh = await newCode();
    await t.sql`UPDATE driver_enrollments SET created_at = created_at - interval '14 minutes 50 seconds', expires_at = expires_at - interval '14 minutes 50 seconds' WHERE code_hash = ${sha256(fresh.code)}`;
    expect((await exchange(fresh.code)).status).toBe(201);
    const old = await newCode();
    await t.sql`UPDATE driver_enrollments SET created_at = created_at - interval '15 minutes 1 second', expires_at = expires_at - interval '15 minutes 1 second' WHERE code_hash = ${sha256(old.code)}`;
    expectError(await exchange(old.code), 401, 'unauthorized');
    const [row] = await t.sql`SELECT used_at FROM driver_enrollments WHERE code_hash = ${sha256(old.code)}`;
    expect(row.used_at).toBeNull();
  });

  it('unknown, used and expired codes get the same 401 body: it never says which, nor whether a driver exists', async () => {
    const used = await newCode();
    expect((await exchange(used.code)).status).toBe(201);
    const expired = await newCode();
    await t.sql`UPDATE driver_enrollments SET created_at = created_at - interval '1 hour', expires_at = expires_at - interval '1 hour' WHERE code_hash = ${sha256(expired.code)}`;
    const answers = [
      await exchange(used.code),
      await exchange(expired.code),
      await exchange('A'.repeat(32)), // shaped like a code, never made
      await exchange('nope'),
    ];
    const shapes = answers.map(shape401);
    expect(new Set(shapes).size, shapes.join('\n')).toBe(1);
    expect(answers.map((a) => [...a.headers.keys()].sort().join())).toEqual(Array(4).fill([...answers[0].headers.keys()].sort().join()));
  });

  it('two exchanges of one code at once: exactly one gets a token', async () => {
    for (let round = 0; round < 3; round++) {
      const e = await newCode();
      const all = await Promise.all(Array.from({ length: 8 }, () => exchange(e.code)));
      expect(all.map((a) => a.status).sort()).toEqual([201, 401, 401, 401, 401, 401, 401, 401]);
      for (const a of all.filter((x) => x.status === 401)) expectError(a, 401, 'unauthorized');
      const [n] = await t.sql`SELECT count(*)::int AS n FROM tokens t JOIN driver_enrollments d ON d.id = t.enrollment_id WHERE d.code_hash = ${sha256(e.code)}`;
      expect(n.n).toBe(1);
    }
  });

  it('a malformed body is 400 or 422 as elsewhere, and a token sent along (an old one, or a revoked one) is not judged', async () => {
    expectError(await t.req('POST', '/v1/app/enroll', { body: '{"code": ' }), 400, 'malformed_json');
    expectError(await t.req('POST', '/v1/app/enroll', { body: {} }), 422, 'validation_failed');
    expectError(await exchange(42), 422, 'validation_failed');
    expectError(await exchange(''), 422, 'validation_failed');
    expectError(await t.req('POST', '/v1/app/enroll', { body: { code: 'x', extra: 1 } }), 422, 'validation_failed');
    expectError(await t.req('POST', '/v1/app/enroll', { body: 'code=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    const e = await newCode();
    const res = await exchange(e.code, { authorization: `Bearer mdy_drv_${'x'.repeat(43)}` });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});

describe('devices: listing and signing out', () => {
  it('the driver’s devices, newest first; signing one out makes its next request 401 (the usual body) and leaves the driver’s other tokens working', async () => {
    const driver = await w.driver('Dev Ice');
    const phoneA = (await exchange((await newCode(driver.id)).code)).body.token as string;
    const phoneB = (await exchange((await newCode(driver.id, lead.token)).code)).body.token as string;
    // Both work, and sit in the token cache now.
    for (const token of [phoneA, phoneB, driver.token]) expect((await t.get('/v1/app/me', token)).status).toBe(200);

    const list = await t.get(`/v1/drivers/${driver.id}/devices`, lead.token);
    expect(list.status).toBe(200);
    expect(list.body.devices).toHaveLength(2);
    for (const d of list.body.devices) {
      expect(Object.keys(d)).toEqual(['id', 'createdAt', 'enrolledAt', 'revokedAt']);
      expect(d.revokedAt).toBeNull();
    }
    const [newest, older] = list.body.devices;
    expect(Date.parse(newest.enrolledAt)).toBeGreaterThanOrEqual(Date.parse(older.enrolledAt));
    const [a] = await t.sql`SELECT enrollment_id FROM tokens WHERE token_hash = ${sha256(phoneA)}`;
    expect(older.id).toBe(a.enrollment_id);

    const del = await t.req('DELETE', `/v1/drivers/${driver.id}/devices/${a.enrollment_id}`, { token: ADMIN_TOKEN });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body.device).toMatchObject({ id: a.enrollment_id, revokedAt: expect.any(String) });

    const gone = await t.get('/v1/app/me', phoneA);
    expectError(gone, 401, 'unauthorized');
    expect(gone.body.error.message).toBe('unknown or revoked token'); // as for any revoked token
    expectError(await w.sos({ token: phoneA }), 401, 'unauthorized');
    for (const token of [phoneB, driver.token]) expect((await t.get('/v1/app/me', token)).status).toBe(200);

    const after = (await t.get(`/v1/drivers/${driver.id}/devices`, ADMIN_TOKEN)).body.devices;
    expect(after.find((d: { id: string }) => d.id === a.enrollment_id).revokedAt).toBe(del.body.device.revokedAt);
    // Again: nothing changes, 200 with the same device.
    const again = await t.req('DELETE', `/v1/drivers/${driver.id}/devices/${a.enrollment_id}`, { token: ADMIN_TOKEN });
    expect(again.status).toBe(200);
    expect(again.body.device.revokedAt).toBe(del.body.device.revokedAt);
    const audits = await t.sql<{ actor: string; params: Record<string, unknown> }[]>`SELECT actor, params FROM audit_log WHERE action = 'device_revoked' AND params ->> 'enrollmentId' = ${a.enrollment_id}`;
    expect(audits).toEqual([{ actor: 'admin', params: { driverId: driver.id, enrollmentId: a.enrollment_id } }]);
  });

  it('a device of another driver, an unknown device or driver: 404; only admins and safety leads list and sign out', async () => {
    const other = await w.driver('Other');
    const phone = (await exchange((await newCode(other.id)).code)).body.token as string;
    const [row] = await t.sql`SELECT enrollment_id FROM tokens WHERE token_hash = ${sha256(phone)}`;
    expectError(await t.req('DELETE', `/v1/drivers/${dana.id}/devices/${row.enrollment_id}`, { token: ADMIN_TOKEN }), 404, 'not_found');
    expectError(await t.req('DELETE', `/v1/drivers/${other.id}/devices/${randomUUID()}`, { token: ADMIN_TOKEN }), 404, 'not_found');
    expectError(await t.get(`/v1/drivers/${randomUUID()}/devices`, ADMIN_TOKEN), 404, 'not_found');
    expectError(await t.get(`/v1/drivers/${sup.id}/devices`, ADMIN_TOKEN), 404, 'not_found');
    for (const token of [sup.token, other.token, auditor.token]) {
      expectError(await t.get(`/v1/drivers/${other.id}/devices`, token), 403, 'forbidden');
      expectError(await t.req('DELETE', `/v1/drivers/${other.id}/devices/${row.enrollment_id}`, { token }), 403, 'forbidden');
    }
    expect((await t.get('/v1/app/me', phone)).status).toBe(200);
  });

  it('POST /v1/app/sign-out: the app signs its own device out (204, then 401), and only a device token can', async () => {
    const driver = await w.driver('Sign Out');
    const phoneA = (await exchange((await newCode(driver.id)).code)).body.token as string;
    const phoneB = (await exchange((await newCode(driver.id)).code)).body.token as string;
    const out = await t.req('POST', '/v1/app/sign-out', { token: phoneA });
    expect(out.status, JSON.stringify(out.body)).toBe(204);
    expect(out.body).toBeUndefined();
    expectError(await t.get('/v1/app/me', phoneA), 401, 'unauthorized');
    expectError(await t.req('POST', '/v1/app/sign-out', { token: phoneA }), 401, 'unauthorized');
    expect((await t.get('/v1/app/me', phoneB)).status).toBe(200);
    const devices = (await t.get(`/v1/drivers/${driver.id}/devices`, ADMIN_TOKEN)).body.devices;
    expect(devices.filter((d: { revokedAt: string | null }) => d.revokedAt !== null)).toHaveLength(1);
    // The token the administrator issued is not the app's to revoke.
    expectError(await t.req('POST', '/v1/app/sign-out', { token: driver.token }), 409, 'conflict');
    expect((await t.sql`SELECT revoked_at FROM tokens WHERE token_hash = ${sha256(driver.token)}`)[0].revoked_at).toBeNull();
    expect((await t.get('/v1/app/me', driver.token)).status).toBe(200);
    for (const token of [sup.token, lead.token, ADMIN_TOKEN]) expectError(await t.req('POST', '/v1/app/sign-out', { token }), 403, 'forbidden');
  });
});
