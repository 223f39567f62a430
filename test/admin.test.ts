import { createHash, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { expectError, plusMinutes } from './helpers/expect';
import { nextPhone, square, world, type Person } from './helpers/world';

let t: TestApp;
let w: ReturnType<typeof world>;
let zone: { id: string };
let sup: Person;
let lead: Person;
let driver: Person;
let auditor: { id: string; token: string };
let agent: { id: string; token: string };

const admin = ADMIN_TOKEN;
/** A responder with a name of our choosing (world().responder names them after their role). */
async function responder(role: 'supervisor' | 'safety_lead', zoneIds: string[], name: string): Promise<Person> {
  const res = await t.post('/v1/responders', { name, phone: nextPhone(), role, zoneIds }, admin);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const count = async (table: string) => (await t.sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  zone = await w.zone('Bentonville', square(36.37, -94.2));
  sup = await responder('supervisor', [zone.id], 'Sam');
  lead = await responder('safety_lead', [], 'Lee');
  driver = await w.driver('Dana');
  auditor = await w.auditor();
  agent = await w.agent(2);
});

describe('POST /v1/zones', () => {
  it('creates a zone from a GeoJSON polygon in [lng, lat] order and answers 201 with its fields and defaults', async () => {
    // [-94.25, 36.32]…: read as [lat, lng] the first number would be an impossible latitude.
    const boundary = square(36.37, -94.2, 0.05);
    const res = await t.post('/v1/zones', { name: 'Rogers', boundary }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Rogers', fallback: false, boundary,
      checkInSeconds: 300, checkInGraceSeconds: 120, escalationPolicy: null,
    });
    const [row] = await t.sql`SELECT name, is_fallback, boundary, check_in_seconds, check_in_grace_seconds FROM zones WHERE id = ${res.body.id}`;
    expect(row).toEqual({ name: 'Rogers', is_fallback: false, boundary, check_in_seconds: 300, check_in_grace_seconds: 120 });
  });

  it('keeps the check-in settings it is given, down to the 5 s minimum', async () => {
    const res = await t.post('/v1/zones', { name: 'Fast', boundary: square(10, 10), checkInSeconds: 5, checkInGraceSeconds: 0 }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ checkInSeconds: 5, checkInGraceSeconds: 0 });
  });

  it('takes one fallback zone, and answers 409 conflict to a second', async () => {
    const first = await t.post('/v1/zones', { name: 'Everywhere else', fallback: true }, admin);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ id: expect.any(String), name: 'Everywhere else', fallback: true, boundary: null, checkInSeconds: 300, checkInGraceSeconds: 120 });

    const second = await t.post('/v1/zones', { name: 'Also everywhere else', fallback: true }, admin);
    expectError(second, 409, 'conflict');
    const [n] = await t.sql`SELECT count(*)::int AS n FROM zones WHERE is_fallback`;
    expect(n.n).toBe(1);
  });

  it.each([
    ['an unclosed ring', { name: 'Z', boundary: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] } }],
    ['a ring of fewer than 4 positions', { name: 'Z', boundary: { type: 'Polygon', coordinates: [[[0, 0], [1, 1], [0, 0]]] } }],
    ['a latitude out of range', { name: 'Z', boundary: { type: 'Polygon', coordinates: [[[0, 0], [1, 95], [1, 1], [0, 0]]] } }],
    ['a longitude out of range', { name: 'Z', boundary: { type: 'Polygon', coordinates: [[[0, 0], [181, 0], [1, 1], [0, 0]]] } }],
    ['a polygon with no rings', { name: 'Z', boundary: { type: 'Polygon', coordinates: [] } }],
    ['a geometry that is not a Polygon', { name: 'Z', boundary: { type: 'Point', coordinates: [0, 0] } }],
    ['both a boundary and fallback: true', { name: 'Z', boundary: square(1, 1), fallback: true }],
    ['neither a boundary nor fallback', { name: 'Z' }],
    ['no name', { boundary: square(1, 1) }],
    ['a blank name', { name: '   ', boundary: square(1, 1) }],
    ['checkInSeconds under 5', { name: 'Z', boundary: square(1, 1), checkInSeconds: 4 }],
    ['a negative checkInGraceSeconds', { name: 'Z', boundary: square(1, 1), checkInGraceSeconds: -1 }],
  ])('refuses %s with 422 and stores nothing', async (_what, body) => {
    const before = await count('zones');
    const res = await t.post('/v1/zones', body, admin);
    expectError(res, 422, 'validation_failed');
    expect(await count('zones')).toBe(before);
  });
});

describe('POST /v1/responders', () => {
  it('creates a supervisor with its zones and answers 201 with a token that works', async () => {
    const phone = nextPhone();
    const res = await t.post('/v1/responders', { name: 'Ana', phone, role: 'supervisor', zoneIds: [zone.id] }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), name: 'Ana', phone, role: 'supervisor', zoneIds: [zone.id], token: expect.any(String) });
    const zones = await t.sql`SELECT zone_id FROM responder_zones WHERE responder_id = ${res.body.id}`;
    expect(zones.map((r) => r.zone_id)).toEqual([zone.id]);
    expect((await t.get('/v1/incidents', res.body.token)).status).toBe(200);
  });

  it('creates a safety lead', async () => {
    const res = await t.post('/v1/responders', { name: 'Bo', phone: nextPhone(), role: 'safety_lead', zoneIds: [] }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.role).toBe('safety_lead');
    expect((await t.get('/v1/incidents', res.body.token)).status).toBe(200);
  });

  it('keeps only the hash of the token: the token itself appears nowhere in the tokens table', async () => {
    const res = await t.post('/v1/responders', { name: 'Cy', phone: nextPhone(), role: 'supervisor', zoneIds: [] }, admin);
    const token: string = res.body.token;
    const rows = await t.sql`SELECT * FROM tokens`;
    expect(JSON.stringify(rows)).not.toContain(token);
    const sha = createHash('sha256').update(token).digest('hex');
    const [mine] = await t.sql`SELECT user_id FROM tokens WHERE token_hash = ${sha}`;
    expect(mine.user_id).toBe(res.body.id);
  });

  it.each([
    ['no leading +', '15550100123'],
    ['a leading 0 country code', '+05550100123'],
    ['spaces', '+1 555 010 0123'],
    ['too short', '+12345'],
    ['too long', '+1555010012345678'],
    ['letters', '+1555CALLNOW'],
  ])('refuses a phone with %s (not E.164) with 422', async (_what, phone) => {
    const res = await t.post('/v1/responders', { name: 'X', phone, role: 'supervisor', zoneIds: [] }, admin);
    expectError(res, 422, 'validation_failed');
  });

  it('refuses a role that is not supervisor or safety_lead with 422', async () => {
    for (const role of ['driver', 'admin', 'auditor', 'boss']) {
      const res = await t.post('/v1/responders', { name: 'X', phone: nextPhone(), role, zoneIds: [] }, admin);
      expectError(res, 422, 'validation_failed');
    }
  });

  it('refuses an unknown zoneId with 422 and stores no one', async () => {
    const phone = nextPhone();
    const res = await t.post('/v1/responders', { name: 'X', phone, role: 'supervisor', zoneIds: [randomUUID()] }, admin);
    expectError(res, 422, 'validation_failed');
    const rows = await t.sql`SELECT id FROM users WHERE phone = ${phone}`;
    expect(rows).toHaveLength(0);
  });

  it('refuses a phone that already belongs to someone with 409, across responders and drivers', async () => {
    expectError(await t.post('/v1/responders', { name: 'Twin', phone: sup.phone, role: 'safety_lead', zoneIds: [] }, admin), 409, 'conflict');
    expectError(await t.post('/v1/responders', { name: 'Twin', phone: driver.phone, role: 'supervisor', zoneIds: [] }, admin), 409, 'conflict');
    expectError(await t.post('/v1/drivers', { name: 'Twin', phone: sup.phone, cancelPin: '1111', duressPin: '2222' }, admin), 409, 'conflict');
    expectError(await t.post('/v1/drivers', { name: 'Twin', phone: driver.phone, cancelPin: '1111', duressPin: '2222' }, admin), 409, 'conflict');
    const [n] = await t.sql`SELECT count(*)::int AS n FROM users WHERE phone IN (${sup.phone}, ${driver.phone})`;
    expect(n.n).toBe(2);
  });
});

describe('POST /v1/drivers', () => {
  it('creates a driver and answers 201 with a token that works', async () => {
    const phone = nextPhone();
    const res = await t.post('/v1/drivers', { name: 'Dee', phone, cancelPin: '4821', duressPin: '90817263' }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), name: 'Dee', phone, token: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain('4821');
    expect(JSON.stringify(res.body)).not.toContain('90817263');
    expect((await t.get('/v1/incidents', res.body.token)).status).toBe(200);
  });

  it('stores the PINs only as salted PBKDF2 hashes', async () => {
    const res = await t.post('/v1/drivers', { name: 'Eve', phone: nextPhone(), cancelPin: '5172', duressPin: '5173' }, admin);
    expect(res.status).toBe(201);
    const [row] = await t.sql`SELECT cancel_pin_hash, duress_pin_hash FROM users WHERE id = ${res.body.id}`;
    for (const [hash, pin] of [[row.cancel_pin_hash, '5172'], [row.duress_pin_hash, '5173']]) {
      expect(hash.startsWith('pbkdf2-sha256$')).toBe(true);
      expect(hash).not.toContain(pin);
    }
    expect(row.cancel_pin_hash).not.toBe(row.duress_pin_hash);
    // Salted: the same PIN twice gives two different hashes.
    const twin = await t.post('/v1/drivers', { name: 'Eve2', phone: nextPhone(), cancelPin: '5172', duressPin: '5173' }, admin);
    const [row2] = await t.sql`SELECT cancel_pin_hash FROM users WHERE id = ${twin.body.id}`;
    expect(row2.cancel_pin_hash).not.toBe(row.cancel_pin_hash);
  });

  it('keeps only the hash of the token', async () => {
    const res = await t.post('/v1/drivers', { name: 'Fin', phone: nextPhone(), cancelPin: '1357', duressPin: '2468' }, admin);
    const rows = await t.sql`SELECT * FROM tokens`;
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(res.body.token);
  });

  it('takes PINs of 4 and of 8 digits', async () => {
    const res = await t.post('/v1/drivers', { name: 'Gil', phone: nextPhone(), cancelPin: '0000', duressPin: '12345678' }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it.each([
    ['a 3-digit PIN', { cancelPin: '123', duressPin: '9999' }],
    ['a 9-digit PIN', { cancelPin: '1234', duressPin: '123456789' }],
    ['a PIN with a letter', { cancelPin: '12a4', duressPin: '9999' }],
    ['a PIN with a space', { cancelPin: '12 34', duressPin: '9999' }],
    ['a PIN given as a number', { cancelPin: 1234, duressPin: '9999' }],
    ['Arabic-Indic digits', { cancelPin: '١٢٣٤', duressPin: '9999' }],
    ['fullwidth digits', { cancelPin: '1234', duressPin: '１２３４' }],
    ['equal PINs', { cancelPin: '2580', duressPin: '2580' }],
    ['no duress PIN', { cancelPin: '2580' }],
  ])('refuses %s with 422 and stores no one', async (_what, pins) => {
    const phone = nextPhone();
    const res = await t.post('/v1/drivers', { name: 'X', phone, ...pins }, admin);
    expectError(res, 422, 'validation_failed');
    expect(await t.sql`SELECT id FROM users WHERE phone = ${phone}`).toHaveLength(0);
  });

  it('refuses a bad phone with 422', async () => {
    expectError(await t.post('/v1/drivers', { name: 'X', phone: '555-0100', cancelPin: '1234', duressPin: '9999' }, admin), 422, 'validation_failed');
  });
});

describe('POST /v1/auditors and POST /v1/agents', () => {
  it('creates an auditor whose token reads incidents', async () => {
    const res = await t.post('/v1/auditors', { name: 'Ida' }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), token: expect.any(String) });
    expect((await t.get('/v1/incidents', res.body.token)).status).toBe(200);
    expect(JSON.stringify(await t.sql`SELECT * FROM tokens`)).not.toContain(res.body.token);
  });

  it('refuses an auditor without a name with 422', async () => {
    expectError(await t.post('/v1/auditors', {}, admin), 422, 'validation_failed');
  });

  it.each([1, 2, 3])('creates a tier %i agent', async (tier) => {
    const res = await t.post('/v1/agents', { name: `Tier ${tier}`, tier }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), token: expect.any(String) });
    const [row] = await t.sql`SELECT role, tier FROM users WHERE id = ${res.body.id}`;
    expect(row).toEqual({ role: 'agent', tier });
    // The token is real (authenticated), it is just not a role that reads incidents.
    expectError(await t.get('/v1/incidents', res.body.token), 403, 'forbidden');
  });

  it.each([[0], [4], ['1'], [1.5], [undefined]])('refuses tier %s with 422', async (tier) => {
    expectError(await t.post('/v1/agents', { name: 'X', tier }, admin), 422, 'validation_failed');
  });
});

describe('PUT /v1/zones/{id}/rotation and POST /v1/zones/{id}/overrides', () => {
  it('sets a rotation: 200 with what is now in force', async () => {
    const startsAt = '2030-01-01T00:00:00.000Z';
    const res = await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [sup.id, lead.id], shiftMinutes: 480, startsAt }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ zoneId: zone.id, responderIds: [sup.id, lead.id], shiftMinutes: 480, startsAt });
    const [row] = await t.sql`SELECT responder_ids, shift_minutes FROM rotations WHERE zone_id = ${zone.id}`;
    expect(row).toEqual({ responder_ids: [sup.id, lead.id], shift_minutes: 480 });
  });

  it('refuses a rotation naming someone who is not a responder with 422', async () => {
    const startsAt = '2030-01-01T00:00:00Z';
    expectError(await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [sup.id, randomUUID()], shiftMinutes: 60, startsAt }, admin), 422, 'validation_failed');
    expectError(await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [driver.id], shiftMinutes: 60, startsAt }, admin), 422, 'validation_failed');
    expectError(await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [], shiftMinutes: 60, startsAt }, admin), 422, 'validation_failed');
    expectError(await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [sup.id], shiftMinutes: 0, startsAt }, admin), 422, 'validation_failed');
  });

  it('answers 404 for a rotation of an unknown zone', async () => {
    const res = await t.put(`/v1/zones/${randomUUID()}/rotation`, { responderIds: [sup.id], shiftMinutes: 60, startsAt: '2030-01-01T00:00:00Z' }, admin);
    expectError(res, 404, 'not_found');
  });

  it('adds an override: 201', async () => {
    const from = '2030-02-01T10:00:00.000Z';
    const to = '2030-02-01T12:00:00.000Z';
    const res = await t.post(`/v1/zones/${zone.id}/overrides`, { responderId: lead.id, from, to }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), zoneId: zone.id, responderId: lead.id, from, to });
  });

  it('refuses an override whose `to` is not after `from` with 422', async () => {
    const at = '2030-02-01T10:00:00.000Z';
    expectError(await t.post(`/v1/zones/${zone.id}/overrides`, { responderId: lead.id, from: at, to: at }, admin), 422, 'validation_failed');
    expectError(await t.post(`/v1/zones/${zone.id}/overrides`, { responderId: lead.id, from: at, to: plusMinutes(at, -1) }, admin), 422, 'validation_failed');
  });

  it('refuses an override for a non-responder with 422 and for an unknown zone with 404', async () => {
    const body = { from: '2030-02-01T10:00:00Z', to: '2030-02-01T11:00:00Z' };
    expectError(await t.post(`/v1/zones/${zone.id}/overrides`, { responderId: driver.id, ...body }, admin), 422, 'validation_failed');
    expectError(await t.post(`/v1/zones/${randomUUID()}/overrides`, { responderId: lead.id, ...body }, admin), 404, 'not_found');
  });
});

describe('GET /v1/zones/{id}/oncall', () => {
  const T = '2031-03-01T08:00:00.000Z';
  let z: { id: string };
  let first: Person, second: Person, third: Person, stand: Person;

  const oncall = async (at: string, token = admin) => {
    const res = await t.get(`/v1/zones/${z.id}/oncall?at=${encodeURIComponent(at)}`, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.responderId as string | null;
  };

  beforeAll(async () => {
    z = await w.zone('Springdale', square(36.19, -94.13));
    first = await responder('supervisor', [z.id], 'First');
    second = await responder('supervisor', [z.id], 'Second');
    third = await responder('safety_lead', [], 'Third');
    stand = await responder('supervisor', [z.id], 'Stand-in');
  });

  it('answers responderId null when the zone has no rotation', async () => {
    const res = await t.get(`/v1/zones/${z.id}/oncall?at=${encodeURIComponent(T)}`, admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ zoneId: z.id, responderId: null });
  });

  it('walks the rotation shift by shift, and backwards before startsAt', async () => {
    const set = await t.put(`/v1/zones/${z.id}/rotation`, { responderIds: [first.id, second.id, third.id], shiftMinutes: 60, startsAt: T }, admin);
    expect(set.status).toBe(200);
    expect(await oncall(T)).toBe(first.id);
    expect(await oncall(plusMinutes(T, 30))).toBe(first.id);
    expect(await oncall(plusMinutes(T, 59))).toBe(first.id);
    expect(await oncall(plusMinutes(T, 59.99))).toBe(first.id);
    expect(await oncall(plusMinutes(T, 60))).toBe(second.id);
    expect(await oncall(plusMinutes(T, 119))).toBe(second.id);
    expect(await oncall(plusMinutes(T, 120))).toBe(third.id);
    expect(await oncall(plusMinutes(T, 180))).toBe(first.id);
    expect(await oncall(plusMinutes(T, 60 * 24 * 3 + 60))).toBe(second.id); // 73 shifts later
    // Before startsAt the shifts run backwards: the shift just before the first is the last responder's.
    expect(await oncall(plusMinutes(T, -1))).toBe(third.id);
    expect(await oncall(plusMinutes(T, -60))).toBe(third.id);
    expect(await oncall(plusMinutes(T, -61))).toBe(second.id);
    expect(await oncall(plusMinutes(T, -180))).toBe(first.id);
  });

  it('reads `at` with its offset', async () => {
    // T+60min written in UTC+02:00.
    expect(await oncall('2031-03-01T11:00:00+02:00')).toBe(second.id);
  });

  it('lets an override beat the rotation inside [from, to), and not at `to`', async () => {
    const from = plusMinutes(T, 10);
    const to = plusMinutes(T, 70);
    const res = await t.post(`/v1/zones/${z.id}/overrides`, { responderId: stand.id, from, to }, admin);
    expect(res.status).toBe(201);
    expect(await oncall(plusMinutes(T, 9))).toBe(first.id);
    expect(await oncall(from)).toBe(stand.id);
    expect(await oncall(plusMinutes(T, 65))).toBe(stand.id);
    expect(await oncall(plusMinutes(T, 69.99))).toBe(stand.id);
    expect(await oncall(to)).toBe(second.id);
  });

  it('answers 404 for an unknown zone', async () => {
    expectError(await t.get(`/v1/zones/${randomUUID()}/oncall?at=${encodeURIComponent(T)}`, admin), 404, 'not_found');
  });

  it('may be read by the admin, supervisors and safety leads; not by drivers, auditors or agents; not without a token', async () => {
    expect(await oncall(T, sup.token)).toBe(first.id);
    expect(await oncall(T, lead.token)).toBe(first.id);
    const path = `/v1/zones/${z.id}/oncall?at=${encodeURIComponent(T)}`;
    expectError(await t.get(path, driver.token), 403, 'forbidden');
    expectError(await t.get(path, auditor.token), 403, 'forbidden');
    expectError(await t.get(path, agent.token), 403, 'forbidden');
    expectError(await t.get(path), 401, 'unauthorized');
    expectError(await t.get(path, 'mdy_sup_not-a-real-token'), 401, 'unauthorized');
  });
});

describe('PUT /v1/zones/{id}/escalation-policy', () => {
  const put = (body: unknown, zoneId = zone.id) => t.put(`/v1/zones/${zoneId}/escalation-policy`, body, admin);
  const steps = [
    { afterSeconds: 0, notify: ['oncall'], channels: ['sms', 'voice'] },
    { afterSeconds: 45, notify: ['zone_supervisors'], channels: ['sms'] },
    { afterSeconds: 90, notify: ['safety_leads'], channels: ['voice'] },
  ];

  it('sets a valid policy: 200 echoes it, with repeatEverySeconds defaulting to 120, and the zone carries it', async () => {
    const res = await put({ steps });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ zoneId: zone.id, steps, repeatEverySeconds: 120 });
    const got = await t.get(`/v1/zones/${zone.id}`, admin);
    expect(got.body.escalationPolicy).toMatchObject({ steps });
  });

  it('keeps an explicit repeatEverySeconds', async () => {
    const res = await put({ steps, repeatEverySeconds: 300 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.repeatEverySeconds).toBe(300);
  });

  it('takes a responder id in notify', async () => {
    const res = await put({ steps: [{ afterSeconds: 0, notify: [sup.id, 'oncall'], channels: ['sms'] }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.steps[0].notify).toEqual([sup.id, 'oncall']);
  });

  it.each([
    ['afterSeconds repeated', [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 0, notify: ['safety_leads'], channels: ['sms'] }]],
    ['afterSeconds going back', [steps[0], steps[2], steps[1]]],
    ['negative afterSeconds', [{ afterSeconds: -1, notify: ['oncall'], channels: ['sms'] }]],
    ['no steps', []],
    ['empty channels', [{ afterSeconds: 0, notify: ['oncall'], channels: [] }]],
    ['a repeated channel', [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms', 'sms'] }]],
    ['an unknown channel', [{ afterSeconds: 0, notify: ['oncall'], channels: ['fax'] }]],
    ['empty notify', [{ afterSeconds: 0, notify: [], channels: ['sms'] }]],
    ['an unknown notify target', [{ afterSeconds: 0, notify: ['everyone'], channels: ['sms'] }]],
  ])('refuses %s with 422 and keeps the policy in force', async (_what, bad) => {
    const before = (await t.get(`/v1/zones/${zone.id}`, admin)).body.escalationPolicy;
    expectError(await put({ steps: bad }), 422, 'validation_failed');
    expect((await t.get(`/v1/zones/${zone.id}`, admin)).body.escalationPolicy).toEqual(before);
  });

  it('refuses a notify uuid that is not a responder (unknown, or a driver) with 422', async () => {
    for (const id of [randomUUID(), driver.id, auditor.id]) {
      const res = await put({ steps: [{ afterSeconds: 0, notify: [id], channels: ['sms'] }] });
      expectError(res, 422, 'validation_failed');
    }
  });

  it('answers 404 for an unknown zone', async () => {
    expectError(await put({ steps }, randomUUID()), 404, 'not_found');
  });
});

describe('every admin endpoint refuses everyone but the admin', () => {
  const endpoints = (): [string, string, () => unknown][] => [
    ['POST', '/v1/zones', () => ({ name: 'Nope', boundary: square(5, 5) })],
    ['POST', '/v1/zones', () => ({ name: 'Nope', fallback: true })],
    ['POST', '/v1/responders', () => ({ name: 'Nope', phone: nextPhone(), role: 'supervisor', zoneIds: [zone.id] })],
    ['POST', '/v1/drivers', () => ({ name: 'Nope', phone: nextPhone(), cancelPin: '1234', duressPin: '9876' })],
    ['POST', '/v1/auditors', () => ({ name: 'Nope' })],
    ['POST', '/v1/agents', () => ({ name: 'Nope', tier: 1 })],
    ['PUT', `/v1/zones/${zone.id}/rotation`, () => ({ responderIds: [lead.id], shiftMinutes: 60, startsAt: '2030-01-01T00:00:00Z' })],
    ['POST', `/v1/zones/${zone.id}/overrides`, () => ({ responderId: lead.id, from: '2030-01-01T00:00:00Z', to: '2030-01-01T01:00:00Z' })],
    ['PUT', `/v1/zones/${zone.id}/escalation-policy`, () => ({ steps: [{ afterSeconds: 0, notify: ['safety_leads'], channels: ['voice'] }] })],
  ];

  it('answers 403 forbidden to every other role, and changes nothing', async () => {
    const tables = ['zones', 'users', 'tokens', 'rotations', 'overrides'];
    const before = await Promise.all(tables.map(count));
    const policy = (await t.get(`/v1/zones/${zone.id}`, admin)).body.escalationPolicy;
    const rotation = await t.sql`SELECT * FROM rotations WHERE zone_id = ${zone.id}`;
    for (const [who, token] of [['driver', driver.token], ['supervisor', sup.token], ['safety_lead', lead.token], ['auditor', auditor.token], ['agent', agent.token]]) {
      for (const [method, path, body] of endpoints()) {
        const res = await t.req(method, path, { token, body: body() });
        expect(res.status, `${who} ${method} ${path}`).toBe(403);
        expectError(res, 403, 'forbidden');
      }
    }
    expect(await Promise.all(tables.map(count))).toEqual(before);
    expect((await t.get(`/v1/zones/${zone.id}`, admin)).body.escalationPolicy).toEqual(policy);
    expect(await t.sql`SELECT * FROM rotations WHERE zone_id = ${zone.id}`).toEqual(rotation);
  });

  it('answers 401 unauthorized without a token or with an unknown one', async () => {
    for (const [method, path, body] of endpoints()) {
      for (const token of [undefined, 'mdy_adm_guessed-token', `${ADMIN_TOKEN}x`]) {
        const res = await t.req(method, path, { token, body: body() });
        expect(res.status, `${method} ${path} with ${token ?? 'no token'}`).toBe(401);
        expectError(res, 401, 'unauthorized');
      }
    }
  });
});

// ─── KNOWN SRC BUGS (uncommitted until fixed; see the report) ────────────────────────────────
describe('KNOWN SRC BUG: the token is checked before the body', () => {
  // The role check runs inside the handlers, after @hono/zod-openapi has parsed and validated
  // the body, so a caller with no token (or the wrong role) learns the schema instead of 401/403.
  it('answers 401, not 422, to a request with no token and an invalid body', async () => {
    expectError(await t.post('/v1/zones', {}), 401, 'unauthorized');
    expectError(await t.post('/v1/drivers', { name: 'X' }), 401, 'unauthorized');
    expectError(await t.put(`/v1/zones/${zone.id}/escalation-policy`, { steps: [] }), 401, 'unauthorized');
  });

  it('answers 401, not 400, to a request with no token and a body that is not JSON', async () => {
    expectError(await t.req('POST', '/v1/zones', { body: '{"name": ' }), 401, 'unauthorized');
  });

  it('answers 403, not 422, to a non-admin with an invalid body', async () => {
    expectError(await t.post('/v1/zones', {}, driver.token), 403, 'forbidden');
    expectError(await t.post('/v1/responders', { phone: 'nope' }, sup.token), 403, 'forbidden');
  });
});

describe('KNOWN SRC BUG: responder ids are UUIDs, and UUIDs are case-insensitive', () => {
  // z.uuid() accepts upper case; unknownResponders() compares the caller's spelling with the
  // lower-case ids PostgreSQL returns, so a real responder is refused as "not a responder".
  it('accepts a responder id written in upper case in a rotation, an override and a policy', async () => {
    const id = sup.id.toUpperCase();
    const rot = await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [id], shiftMinutes: 60, startsAt: '2030-01-01T00:00:00Z' }, admin);
    expect(rot.status, JSON.stringify(rot.body)).toBe(200);
    const ovr = await t.post(`/v1/zones/${zone.id}/overrides`, { responderId: id, from: '2030-01-01T00:00:00Z', to: '2030-01-01T01:00:00Z' }, admin);
    expect(ovr.status, JSON.stringify(ovr.body)).toBe(201);
    const pol = await t.put(`/v1/zones/${zone.id}/escalation-policy`, { steps: [{ afterSeconds: 0, notify: [id], channels: ['sms'] }] }, admin);
    expect(pol.status, JSON.stringify(pol.body)).toBe(200);
  });
});
