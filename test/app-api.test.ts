import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { mockTwilio, smsFrom, TWILIO } from './helpers/twilio';
import { square, world, type Person } from './helpers/world';

/**
 * The API the driver app uses: the driver's own profile and language, the incident in words the
 * app shows (paging, acknowledged by whom, a check-in awaited), what the driver adds after the
 * SOS, an SOS sent before the phone has a fix, and a cancel that looks the same with either PIN.
 */
const twilio = mockTwilio(); // pages go to msw; what they say is other tests' business

let t: TestApp;
let w: ReturnType<typeof world>;
let zone: { id: string };
let ava: Person;
let lead: Person;

const HERE = { lat: 36.37, lng: -94.2, accuracyM: 8 };

beforeAll(async () => {
  t = await testApp({ twilio: TWILIO });
  w = world(t);
  zone = await w.zone('Downtown', square(36.37, -94.2), { checkInSeconds: 300, checkInGraceSeconds: 120 });
  ava = await w.responder('supervisor', [zone.id], 'Ava Ortiz');
  lead = await w.responder('safety_lead', [], 'Lee Safety');
  await w.rotation(zone.id, [ava.id]);
});

/** `fn` until it says yes, or fail after `ms`. */
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 3_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function sos(driver: Person, over: Record<string, unknown> = {}) {
  const res = await w.sos(driver, { location: HERE, ...over });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await t.engine.tick();
  return res.body.incident as { id: string; code: number; openedAt: string; kind: string; severity: string };
}

const view = (id: string, token: string) => t.get(`/v1/app/incidents/${id}`, token);
const at = (inc: { openedAt: string }, seconds: number) => new Date(Date.parse(inc.openedAt) + seconds * 1000);
const events = async (id: string) =>
  t.sql<{ type: string; actor: string; data: Record<string, unknown> }[]>`SELECT type, actor, data FROM incident_events WHERE incident_id = ${id} ORDER BY seq`;

describe('GET and PATCH /v1/app/me', () => {
  it('the driver, the number to text SOS to, and the incidents under way newest first (not cancelled, with either PIN, nor resolved)', async () => {
    const d = await w.driver('Mia Me', { cancelPin: '1234', duressPin: '9999' });
    const first = await t.get('/v1/app/me', d.token);
    expect(first.status).toBe(200);
    expect(JSON.stringify(first.body)).toBe(JSON.stringify({ driver: { id: d.id, name: 'Mia Me', language: 'en' }, textSosTo: TWILIO.fromNumber, openIncidentIds: [] }));

    const a = await sos(d);
    const b = await sos(d);
    const c = await sos(d);
    const e = await sos(d);
    expect((await t.get('/v1/app/me', d.token)).body.openIncidentIds).toEqual([e.id, c.id, b.id, a.id]);
    expect((await t.post(`/v1/incidents/${a.id}/cancel`, { pin: '1234' }, d.token)).status).toBe(200);
    expect((await t.post(`/v1/incidents/${b.id}/cancel`, { pin: '9999' }, d.token)).status).toBe(200);
    expect((await t.post(`/v1/incidents/${c.id}/resolve`, { disposition: 'false_alarm' }, lead.token)).status).toBe(200);
    expect((await t.get('/v1/app/me', d.token)).body.openIncidentIds).toEqual([e.id]);
  });

  it('PATCH sets the driver’s language (en or es) and answers the same shape; anything else is 422', async () => {
    const d = await w.driver('Lupe');
    const res = await t.req('PATCH', '/v1/app/me', { token: d.token, body: { language: 'es' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ driver: { id: d.id, name: 'Lupe', language: 'es' }, textSosTo: TWILIO.fromNumber, openIncidentIds: [] });
    expect((await t.sql`SELECT language FROM users WHERE id = ${d.id}`)[0].language).toBe('es');
    expect((await t.get('/v1/app/me', d.token)).body.driver.language).toBe('es');
    for (const body of [{ language: 'fr' }, {}, { language: 'en', name: 'x' }, { language: null }]) {
      expectError(await t.req('PATCH', '/v1/app/me', { token: d.token, body }), 422, 'validation_failed');
    }
    expect((await t.req('PATCH', '/v1/app/me', { token: d.token, body: { language: 'en' } })).body.driver.language).toBe('en');
  });

  it('only a driver: a responder or the admin gets 403, no token 401', async () => {
    for (const token of [ava.token, lead.token, ADMIN_TOKEN]) {
      expectError(await t.get('/v1/app/me', token), 403, 'forbidden');
      expectError(await t.req('PATCH', '/v1/app/me', { token, body: { language: 'es' } }), 403, 'forbidden');
    }
    expectError(await t.get('/v1/app/me'), 401, 'unauthorized');
  });

  it('without Twilio there is no number to text: textSosTo is null', async () => {
    const sim = await testApp();
    const d = await world(sim).driver('Sim');
    const me = await sim.get('/v1/app/me', d.token);
    expect(me.status).toBe(200);
    expect(me.body.textSosTo).toBeNull();
  });
});

describe('GET /v1/app/incidents/{id}', () => {
  it('follows the incident in words: paging, acknowledged (by name), a check-in awaited, answered, resolved', async () => {
    const d = await w.driver('Dana Kim');
    const inc = await sos(d, { location: { ...HERE, capturedAt: new Date(Date.now() - 2_000).toISOString() } });
    const paging = await eventually(() => view(inc.id, d.token), (r) => r.body.pagedAt !== null);
    expect(paging.status).toBe(200);
    expect(Object.keys(paging.body)).toEqual(['incident', 'state', 'pagedAt', 'acknowledgedBy', 'acknowledgedAt', 'checkIn', 'dispatch', 'location']);
    expect(paging.body).toEqual({
      incident: { id: inc.id, code: inc.code, status: 'open', kind: 'robbery', openedAt: inc.openedAt },
      state: 'paging',
      pagedAt: expect.any(String),
      acknowledgedBy: null,
      acknowledgedAt: null,
      checkIn: null,
      dispatch: null,
      location: { at: (await t.get(`/v1/incidents/${inc.id}`, d.token)).body.incident.location.capturedAt },
    });
    const [first] = await t.sql`SELECT min(sent_at) AS at FROM pages WHERE incident_id = ${inc.id} AND purpose = 'page'`;
    expect(paging.body.pagedAt).toBe((first.at as Date).toISOString());

    const ack = await t.post(`/v1/incidents/${inc.id}/ack`, undefined, ava.token);
    expect(ack.status).toBe(200);
    const acked = (await view(inc.id, d.token)).body;
    expect(acked).toMatchObject({ incident: { status: 'acknowledged' }, state: 'acknowledged', acknowledgedBy: 'Ava Ortiz', acknowledgedAt: ack.body.incident.acknowledgedAt, checkIn: null });

    await t.engine.tick(at(inc, 30));
    const asked = (await view(inc.id, d.token)).body;
    const dueAt = (await t.get(`/v1/incidents/${inc.id}`, d.token)).body.incident.checkInDueAt;
    expect(dueAt).not.toBeNull();
    expect(asked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'Ava Ortiz', checkIn: { seq: 1, dueAt } });

    expect((await t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'safe' }, d.token)).status).toBe(201);
    const answered = (await view(inc.id, d.token)).body;
    expect(answered).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'Ava Ortiz', checkIn: null });

    expect((await t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, ava.token)).status).toBe(200);
    expect((await view(inc.id, d.token)).body).toMatchObject({ incident: { status: 'resolved' }, state: 'resolved', acknowledgedBy: 'Ava Ortiz', checkIn: null });
    twilio.forget();
  });

  it('a driver reads only their own incident: another driver’s is 404, as is an unknown id; responders use the responders’ API', async () => {
    const d1 = await w.driver('One');
    const d2 = await w.driver('Two');
    const inc = await sos(d2);
    expect((await view(inc.id, d2.token)).status).toBe(200);
    expectError(await view(inc.id, d1.token), 404, 'not_found');
    expectError(await view(randomUUID(), d1.token), 404, 'not_found');
    expectError(await view('not-a-uuid', d1.token), 422, 'validation_failed');
    for (const token of [ava.token, lead.token, ADMIN_TOKEN]) expectError(await view(inc.id, token), 403, 'forbidden');
    twilio.forget();
  });
});

/** An answer with one incident's own values (ids, code, times of its own) replaced, to compare two incidents' answers byte for byte. */
function neutral(body: unknown, inc: { id: string; code: number; openedAt: string }, driver: Person): string {
  return JSON.stringify(body)
    .split(inc.id).join('<incident>')
    .split(driver.id).join('<driver>')
    .split(inc.openedAt).join('<openedAt>')
    .replace(new RegExp(`"code":${inc.code}\\b`, 'g'), '"code":"<code>"');
}

/**
 * The driver's own reads of two incidents, GET /v1/incidents/{id} and the list filtered by what
 * each shows, compared byte for byte (`a` with driver `da`, `b` with `db`).
 */
async function reads(what: string, a: Inc, da: Person, b: Inc, db: Person) {
  const [ga, gb] = [await t.get(`/v1/incidents/${a.id}`, da.token), await t.get(`/v1/incidents/${b.id}`, db.token)];
  expect([ga.status, gb.status], what).toEqual([200, 200]);
  expect(neutral(gb.body, b, db), what).toBe(neutral(ga.body, a, da));
  const status = ga.body.incident.status as string;
  const [la, lb] = [await t.get(`/v1/incidents?status=${status}`, da.token), await t.get(`/v1/incidents?status=${status}`, db.token)];
  expect(la.body.incidents.map((i: { id: string }) => i.id), what).toContain(a.id);
  expect(neutral(lb.body, b, db), `${what}: the list by status ${status}`).toBe(neutral(la.body, a, da));
}
type Inc = { id: string; code: number; openedAt: string };

describe('cancel and duress: the app cannot tell them apart', () => {
  it('after the cancel PIN and after the duress PIN the view is the same, byte for byte, and stays so when responders acknowledge and resolve the duress incident', async () => {
    const pins = { cancelPin: '2468', duressPin: '1357' };
    const carol = await w.driver('Carol', pins); // cancels
    const dora = await w.driver('Dora', pins); // duress
    const capturedAt = new Date(Date.now() - 5_000).toISOString();
    const press = { carol: randomUUID(), dora: randomUUID() };
    const cancelled = await sos(carol, { kind: 'harassment', location: { ...HERE, capturedAt }, clientRequestId: press.carol });
    const duress = await sos(dora, { kind: 'harassment', location: { ...HERE, capturedAt }, clientRequestId: press.dora });
    for (const [inc, d] of [[cancelled, carol], [duress, dora]] as const) await eventually(() => view(inc.id, d.token), (r) => r.body.pagedAt !== null);

    const same = async (what: string) => {
      const [a, b] = [await view(cancelled.id, carol.token), await view(duress.id, dora.token)];
      expect(a.status, what).toBe(200);
      expect(b.status, what).toBe(200);
      expect(neutral(b.body, duress, dora), what).toBe(neutral(a.body, cancelled, carol));
      return a.body;
    };
    // The press sent again (a retry with its clientRequestId) answers 200 with the incident as the
    // driver's reads show it, alike for both; also from a token not yet looked up (judged in the SOS's own call).
    const again = async (what: string) => {
      for (const fresh of [false, true]) {
        const token = async (d: Person) => (fresh ? ((await t.post(`/v1/users/${d.id}/tokens`, undefined, ADMIN_TOKEN)).body.token as string) : d.token);
        const body = { kind: 'harassment', location: { ...HERE, capturedAt } };
        const a = await t.post('/v1/sos', { ...body, clientRequestId: press.carol }, await token(carol));
        const b = await t.post('/v1/sos', { ...body, clientRequestId: press.dora }, await token(dora));
        expect([a.status, b.status], `${what}${fresh ? ', a fresh token' : ''}`).toEqual([200, 200]);
        expect(neutral(b.body, duress, dora), `${what}${fresh ? ', a fresh token' : ''}`).toBe(neutral(a.body, cancelled, carol));
      }
    };
    // Before the cancel, both are paging (each with its own times).
    for (const [inc, d] of [[cancelled, carol], [duress, dora]] as const) expect((await view(inc.id, d.token)).body.state).toBe('paging');

    const r1 = await t.post(`/v1/incidents/${cancelled.id}/cancel`, { pin: '2468' }, carol.token);
    const r2 = await t.post(`/v1/incidents/${duress.id}/cancel`, { pin: '1357' }, dora.token);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect(neutral(r2.body, duress, dora)).toBe(neutral(r1.body, cancelled, carol));
    expect((await events(duress.id)).map((e) => e.type)).toContain('duress.triggered');
    expect((await events(cancelled.id)).map((e) => e.type)).not.toContain('duress.triggered');

    const frozen = await same('after the cancel');
    await again('the SOS again after the cancel');
    expect(frozen).toEqual({
      incident: { id: cancelled.id, code: cancelled.code, status: 'cancel_requested', kind: 'harassment', openedAt: cancelled.openedAt },
      state: 'cancelled', pagedAt: null, acknowledgedBy: null, acknowledgedAt: null, checkIn: null, dispatch: null, location: null,
    });

    // The app goes on streaming the position after either PIN: the driver's own reads show the new fix alike.
    const moved = { lat: 36.3712, lng: -94.2011, accuracyM: 6, capturedAt: new Date(Date.now() - 1_000).toISOString() };
    const f1 = await t.post(`/v1/incidents/${cancelled.id}/locations`, moved, carol.token);
    const f2 = await t.post(`/v1/incidents/${duress.id}/locations`, moved, dora.token);
    expect([f1.status, f2.status]).toEqual([202, 202]);
    expect(f2.body).toEqual(f1.body);
    await reads('after a new fix', cancelled, carol, duress, dora);
    expect((await t.get(`/v1/incidents/${duress.id}`, dora.token)).body.incident.location).toMatchObject({ lat: moved.lat, lng: moved.lng });
    await again('the SOS again after a new fix');
    await same('after a new fix');

    // Responders go on with the duress incident: acknowledged, escalated, asked about; the app shows none of it.
    expect((await t.post(`/v1/incidents/${duress.id}/ack`, undefined, ava.token)).status).toBe(200);
    await reads('after the duress incident was acknowledged', cancelled, carol, duress, dora);
    await same('after the duress incident was acknowledged');
    await again('the SOS again after the duress incident was acknowledged');
    await t.engine.tick(at(duress, 130));
    await same('after escalation ran');

    // What the driver adds after the cancel is recorded, and answered alike.
    const d1 = await t.post(`/v1/incidents/${cancelled.id}/details`, { kind: 'shooting', note: 'he has a gun' }, carol.token);
    const d2 = await t.post(`/v1/incidents/${duress.id}/details`, { kind: 'shooting', note: 'he has a gun' }, dora.token);
    expect([d1.status, d2.status]).toEqual([200, 200]);
    expect(neutral(d2.body, duress, dora)).toBe(neutral(d1.body, cancelled, carol));
    expect(d1.body.incident).toMatchObject({ kind: 'shooting', severity: 'critical', status: 'cancel_requested' });
    for (const id of [cancelled.id, duress.id]) expect((await events(id)).map((e) => e.type)).toContain('incident.details');
    expect((await same('after details')).incident.kind).toBe('shooting');
    await again('the SOS again after details');
    expect((await t.get(`/v1/incidents/${duress.id}`, lead.token)).body.incident).toMatchObject({ kind: 'shooting', status: 'acknowledged' });

    // The real cancel is resolved first (as a responder would, having called the driver back): what
    // the driver adds after the cancel still answers alike, resolved or not, and then once both are.
    const details = async (what: string) => {
      const a = await t.post(`/v1/incidents/${cancelled.id}/details`, { note: `more: ${what}` }, carol.token);
      const b = await t.post(`/v1/incidents/${duress.id}/details`, { note: `more: ${what}` }, dora.token);
      expect([a.status, b.status], what).toEqual([200, 200]);
    };
    expect((await t.post(`/v1/incidents/${cancelled.id}/resolve`, { disposition: 'driver_cancelled' }, lead.token)).status).toBe(200);
    await details('the real cancel resolved, the duress incident not');
    expect((await t.post(`/v1/incidents/${duress.id}/resolve`, { disposition: 'other' }, lead.token)).status).toBe(200);
    await details('both resolved');
    for (const id of [cancelled.id, duress.id]) expect((await events(id)).filter((e) => e.type === 'incident.details')).toHaveLength(3);
    expect((await same('after both were resolved')).state).toBe('cancelled');
    for (const id of [cancelled.id, duress.id]) expect((await t.get(`/v1/incidents/${id}/timeline/verify`, lead.token)).body.valid).toBe(true);
    twilio.forget();
  });
});

describe('cancelling locked after five wrong PINs', () => {
  it('the cancel PIN and the duress PIN both answer "locked", and the incident goes on for the app alike', async () => {
    const pins = { cancelPin: '2468', duressPin: '1357' };
    const [cleo, dina] = [await w.driver('Cleo', pins), await w.driver('Dina', pins)];
    const press = { cleo: randomUUID(), dina: randomUUID() };
    // Harassment: medium, so that asking for help shows (below).
    const [a, b] = [await sos(cleo, { clientRequestId: press.cleo, kind: 'harassment' }), await sos(dina, { clientRequestId: press.dina, kind: 'harassment' })];
    for (const [inc, d] of [[a, cleo], [b, dina]] as const) {
      for (let i = 0; i < 5; i++) expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '0000' }, d.token)).status).toBe(403);
    }
    const r1 = await t.post(`/v1/incidents/${a.id}/cancel`, { pin: '2468' }, cleo.token);
    const r2 = await t.post(`/v1/incidents/${b.id}/cancel`, { pin: '1357' }, dina.token);
    expect(r1.status).toBe(403);
    expect(r1.body.error.code).toBe('cancel_locked');
    expect(r2.body.error).toEqual({ ...r1.body.error, requestId: r2.body.error.requestId });
    expect((await events(b.id)).map((e) => e.type)).toContain('duress.triggered');
    // The driver's own reads too (the incident, the list, the press sent again), also after a new fix.
    await reads('locked, then either PIN', a, cleo, b, dina);
    const moved = { lat: 36.3712, lng: -94.2011, accuracyM: 6, capturedAt: new Date().toISOString() };
    for (const [inc, d] of [[a, cleo], [b, dina]] as const) expect((await t.post(`/v1/incidents/${inc.id}/locations`, moved, d.token)).status).toBe(202);
    await reads('locked, then either PIN, then a new fix', a, cleo, b, dina);
    const [ra, rb] = [await t.post('/v1/sos', { kind: a.kind, location: HERE, clientRequestId: press.cleo }, cleo.token), await t.post('/v1/sos', { kind: b.kind, location: HERE, clientRequestId: press.dina }, dina.token)];
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(neutral(rb.body, b, dina)).toBe(neutral(ra.body, a, cleo));
    expect(ra.body.incident.status).toBe('open');
    const [va, vb] = [(await view(a.id, cleo.token)).body, (await view(b.id, dina.token)).body];
    expect(vb.state).toBe('paging');
    expect(vb).toEqual({ ...va, incident: { ...va.incident, id: b.id, code: b.code, openedAt: b.openedAt }, pagedAt: vb.pagedAt, location: vb.location });
    expect((await t.get('/v1/app/me', dina.token)).body.openIncidentIds).toEqual([b.id]);
    expect((await t.get('/v1/app/me', cleo.token)).body.openIncidentIds).toEqual([a.id]);
    // The check-ins go on for both: a locked cancel stops nothing, so the duress PIN stops nothing the phone would notice.
    const [{ at }] = await t.sql<{ at: Date }[]>`SELECT max(checkin_next_at) AS at FROM incidents WHERE id IN (${a.id}, ${b.id})`;
    expect(at).not.toBeNull();
    await t.engine.tick(new Date(at.getTime() + 1_000));
    for (const id of [a.id, b.id]) expect((await events(id)).filter((e) => e.type === 'checkin.requested'), id).toHaveLength(1);
    // Both answer it from the app: the same answer, and the same view after.
    const [ca, cb] = [await t.post(`/v1/incidents/${a.id}/check-ins`, { status: 'safe' }, cleo.token), await t.post(`/v1/incidents/${b.id}/check-ins`, { status: 'safe' }, dina.token)];
    expect([ca.status, cb.status]).toEqual([201, 201]);
    expect(neutral({ ...cb.body, checkIn: { ...cb.body.checkIn, receivedAt: 'T' } }, b, dina)).toBe(neutral({ ...ca.body, checkIn: { ...ca.body.checkIn, receivedAt: 'T' } }, a, cleo));
    const [wa, wb] = [(await view(a.id, cleo.token)).body, (await view(b.id, dina.token)).body];
    expect(wb).toEqual({ ...wa, incident: { ...wa.incident, id: b.id, code: b.code, openedAt: b.openedAt }, pagedAt: wb.pagedAt, location: wb.location });
    // The responders know which answer not to trust.
    const received = async (id: string) => (await events(id)).filter((e) => e.type === 'checkin.received').map((e) => e.data.underDuress ?? false);
    expect([await received(a.id), await received(b.id)]).toEqual([[false], [true]]);
    // A text answers too, alike, on the same incident (not a new one).
    const [sa, sb] = [await smsFrom(t, cleo.phone, 'SAFE'), await smsFrom(t, dina.phone, 'SAFE')];
    expect(sb.text.replace(`#${b.code}`, '#N')).toBe(sa.text.replace(`#${a.code}`, '#N'));
    expect(sa.text).toContain(`#${a.code}: noted, you are safe`);
    expect([await received(a.id), await received(b.id)]).toEqual([[false, false], [true, true]]);
    expect((await t.get('/v1/app/me', dina.token)).body.openIncidentIds).toEqual([b.id]);
    // Asking for help raises what the phone shows, alike (the duress made the real severity critical).
    const [ha, hb] = [await t.post(`/v1/incidents/${a.id}/check-ins`, { status: 'need_help' }, cleo.token), await t.post(`/v1/incidents/${b.id}/check-ins`, { status: 'need_help' }, dina.token)];
    expect([ha.status, hb.status]).toEqual([201, 201]);
    expect((await t.get(`/v1/incidents/${a.id}`, cleo.token)).body.incident.severity).toBe('high');
    await reads('locked, then either PIN, then asking for help', a, cleo, b, dina);
    // A PIN entered again answers "locked" for both, as before.
    for (const [inc, d, pin] of [[a, cleo, '2468'], [b, dina, '2468'], [b, dina, '1357']] as const) {
      const again = await t.post(`/v1/incidents/${inc.id}/cancel`, { pin }, d.token);
      expect([again.status, again.body.error.code], pin).toEqual([403, 'cancel_locked']);
    }
    twilio.forget();
  });
});

describe('what a cancel refusal says', () => {
  it('each case has its own error code, the HTTP status of the generic one: wrong_pin and cancel_locked 403, already_cancelled and already_resolved 409', async () => {
    const pins = { cancelPin: '2468', duressPin: '1357' };
    const d = await w.driver('Codey', pins);
    const cancel = (id: string, pin: string) => t.post(`/v1/incidents/${id}/cancel`, { pin }, d.token);
    const locked = await sos(d);
    for (let i = 0; i < 4; i++) expectError(await cancel(locked.id, '0000'), 403, 'wrong_pin');
    expectError(await cancel(locked.id, '0000'), 403, 'cancel_locked');
    expectError(await cancel(locked.id, '2468'), 403, 'cancel_locked');
    const done = await sos(d);
    expect((await cancel(done.id, '2468')).status).toBe(200);
    expectError(await cancel(done.id, '2468'), 409, 'already_cancelled');
    expectError(await cancel(done.id, '1357'), 409, 'already_cancelled');
    const resolved = await sos(d);
    expect((await t.post(`/v1/incidents/${resolved.id}/resolve`, { disposition: 'other' }, lead.token)).status).toBe(200);
    expectError(await cancel(resolved.id, '2468'), 409, 'already_resolved');
    expectError(await t.post(`/v1/incidents/${resolved.id}/resolve`, { disposition: 'other' }, lead.token), 409, 'already_resolved');
    expectError(await t.post(`/v1/incidents/${resolved.id}/check-ins`, { status: 'safe' }, d.token), 409, 'already_resolved');
    expectError(await t.post(`/v1/incidents/${resolved.id}/locations`, HERE, d.token), 409, 'already_resolved');
    twilio.forget();
  });
});

describe('POST /v1/incidents/{id}/details', () => {
  it('refines the kind, raising the severity as at intake (never lowering it), and lands on the timeline with the note', async () => {
    const d = await w.driver('Dee Tail');
    const inc = await sos(d, { kind: 'other' });
    expect(inc.severity).toBe('medium');
    const res = await t.post(`/v1/incidents/${inc.id}/details`, { kind: 'robbery', note: 'two men, one knife' }, d.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.incident).toMatchObject({ id: inc.id, kind: 'robbery', severity: 'critical' });
    const mine = (await events(inc.id)).filter((e) => e.type === 'incident.details' || e.type === 'incident.severity_raised');
    expect(mine).toEqual([
      { type: 'incident.details', actor: `driver:${d.id}`, data: { kind: 'robbery', note: 'two men, one knife' } },
      { type: 'incident.severity_raised', actor: `driver:${d.id}`, data: { from: 'medium', to: 'critical', reason: expect.stringContaining('robbery') } },
    ]);
    // A milder kind later: the kind follows the driver, the severity stays.
    const milder = await t.post(`/v1/incidents/${inc.id}/details`, { kind: 'harassment' }, d.token);
    expect(milder.body.incident).toMatchObject({ kind: 'harassment', severity: 'critical' });
    // A note alone leaves the kind.
    const note = await t.post(`/v1/incidents/${inc.id}/details`, { note: 'they ran north' }, d.token);
    expect(note.body.incident.kind).toBe('harassment');
    expect((await events(inc.id)).filter((e) => e.type === 'incident.details').map((e) => e.data)).toEqual([
      { kind: 'robbery', note: 'two men, one knife' }, { kind: 'harassment', note: null }, { kind: null, note: 'they ran north' },
    ]);
    // The board and the responders see the refined kind, and the timeline still verifies against the row.
    expect((await t.get(`/v1/incidents/${inc.id}`, ava.token)).body.incident.kind).toBe('harassment');
    expect((await t.get(`/v1/incidents/${inc.id}/timeline/verify`, lead.token)).body.valid).toBe(true);
    twilio.forget();
  });

  it('the note is cleaned as an SOS’s note is, and says so', async () => {
    const d = await w.driver('Nul');
    const inc = await sos(d);
    const res = await t.post(`/v1/incidents/${inc.id}/details`, { note: 'a\u0000b\uD800c' }, d.token);
    expect(res.status).toBe(200);
    const [e] = (await events(inc.id)).filter((x) => x.type === 'incident.details');
    expect(e.data).toEqual({ kind: null, note: 'a\uFFFDb\uFFFDc', cleaned: ['note'] });
    twilio.forget();
  });

  it('at least one of kind and note, each valid; the driver’s own incident only; nothing more once resolved', async () => {
    const d = await w.driver('Val');
    const other = await w.driver('Other');
    const inc = await sos(d);
    for (const body of [{}, { kind: 'fire' }, { note: 'x'.repeat(2001) }, { note: 5 }, { kind: 'robbery', extra: true }]) {
      expectError(await t.post(`/v1/incidents/${inc.id}/details`, body, d.token), 422, 'validation_failed');
    }
    expectError(await t.post(`/v1/incidents/${inc.id}/details`, { note: 'mine?' }, other.token), 404, 'not_found');
    expectError(await t.post(`/v1/incidents/${randomUUID()}/details`, { note: 'x' }, d.token), 404, 'not_found');
    for (const token of [ava.token, lead.token, ADMIN_TOKEN]) expectError(await t.post(`/v1/incidents/${inc.id}/details`, { note: 'x' }, token), 403, 'forbidden');
    expect((await events(inc.id)).map((e) => e.type)).not.toContain('incident.details');
    expect((await t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, lead.token)).status).toBe(200);
    expectError(await t.post(`/v1/incidents/${inc.id}/details`, { kind: 'crash' }, d.token), 409, 'already_resolved');
    twilio.forget();
  });
});

describe('POST /v1/sos without a location', () => {
  it('opens at the driver’s last known fix, as an SOS by text does (and geo-tags it by that fix)', async () => {
    const d = await w.driver('Last Fix');
    const before = await sos(d, { location: { lat: 36.371, lng: -94.201, accuracyM: 30, capturedAt: new Date(Date.now() - 60_000).toISOString() } });
    const fix = { lat: 36.3801, lng: -94.2102, accuracyM: 7, capturedAt: new Date(Date.now() - 10_000).toISOString() };
    expect((await t.post(`/v1/incidents/${before.id}/locations`, fix, d.token)).status).toBe(202);
    const res = await w.sos(d, { location: undefined, kind: 'other' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const placed = { zoneId: zone.id, zoneRule: 'inside', location: { lat: 36.3801, lng: -94.2102, accuracyM: 7, capturedAt: fix.capturedAt } };
    expect(res.body.incident).toMatchObject(placed);
    // From a token not yet looked up (judged in the SOS's own call otherwise): the same.
    const fresh = (await t.post(`/v1/users/${d.id}/tokens`, undefined, ADMIN_TOKEN)).body.token as string;
    const again = await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'other' }, fresh);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body.incident).toMatchObject({ driverId: d.id, ...placed });
    twilio.forget();
  });

  it('with no fix on record it opens with no location; with a token not yet looked up it does the same', async () => {
    const d = await w.driver('No Fix');
    const fresh = await t.post(`/v1/users/${d.id}/tokens`, undefined, ADMIN_TOKEN); // never used: not in the token cache
    expect(fresh.status).toBe(201);
    const clientRequestId = randomUUID();
    const res = await t.post('/v1/sos', { clientRequestId, kind: 'medical' }, fresh.body.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.incident).toMatchObject({ driverId: d.id, kind: 'medical', location: null, source: 'app' });
    const again = await t.post('/v1/sos', { clientRequestId, kind: 'medical' }, fresh.body.token);
    expect(again.status).toBe(200);
    expect(again.body.incident.id).toBe(res.body.incident.id);
    twilio.forget();
  });

  it('a location that is given is still validated; the token is still judged first', async () => {
    const d = await w.driver('Bad Fix');
    const n = async () => (await t.sql`SELECT count(*)::int AS n FROM incidents WHERE driver_id = ${d.id}`)[0].n;
    for (const location of [{ lat: 91, lng: 0 }, { lat: 'x', lng: 0 }, null, {}]) {
      expectError(await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'other', location }, d.token), 422, 'validation_failed');
    }
    expect(await n()).toBe(0);
    expectError(await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'other' }, `mdy_drv_${'q'.repeat(43)}`), 401, 'unauthorized');
    expectError(await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'other' }, ava.token), 403, 'forbidden');
    const fresh = (await t.post(`/v1/users/${ava.id}/tokens`, undefined, ADMIN_TOKEN)).body.token; // a supervisor's, never looked up
    expectError(await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'other' }, fresh), 403, 'forbidden');
  });
});
