import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers/app';
import { callStatus, messageStatus, mockTwilio, postSigned, smsFrom, TWILIO } from './helpers/twilio';
import { square, world, type Person } from './helpers/world';

const twilio = mockTwilio();
afterEach(() => twilio.expectNothingElse());

interface Scene {
  t: TestApp;
  w: ReturnType<typeof world>;
  zone: { id: string };
  a: Person; // on call
  b: Person; // zone supervisor
  lead: Person;
  driver: Person;
}

/** A zone (check-in every 300 s, 120 s grace) with A on call, B a zone supervisor, a safety lead and a driver. */
async function scene(): Promise<Scene> {
  const t = await testApp({ twilio: TWILIO });
  const w = world(t);
  const zone = await w.zone('Zone', square(36.37, -94.2), { checkInSeconds: 300, checkInGraceSeconds: 120 });
  const a = await w.responder('supervisor', [zone.id], 'Ava');
  const b = await w.responder('supervisor', [zone.id], 'Ben');
  const lead = await w.responder('safety_lead', [], 'Lee');
  const driver = await w.driver('Dana', { cancelPin: '2468', duressPin: '1357' });
  await w.rotation(zone.id, [a.id]);
  return { t, w, zone, a, b, lead, driver };
}

async function sos(s: Scene, over: Record<string, unknown> = {}, driver = s.driver) {
  const res = await s.w.sos(driver, over);
  expect(res.status).toBe(201);
  await s.t.engine.tick();
  twilio.expectSms(s.a.phone);
  twilio.expectCall(s.a.phone);
  return res.body.incident as { id: string; code: number; openedAt: string; severity: string };
}

const at = (inc: { openedAt: string }, seconds: number) => new Date(Date.parse(inc.openedAt) + seconds * 1000);
const types = async (s: Scene, id: string) =>
  (await s.t.sql<{ type: string }[]>`SELECT type FROM incident_events WHERE incident_id = ${id} ORDER BY seq`).map((r) => r.type);
const row = async (s: Scene, id: string) => (await s.t.sql`SELECT * FROM incidents WHERE id = ${id}`)[0];

describe('check-ins', () => {
  it('the driver is asked soon after the SOS, by SMS and through the app; "safe" is recorded and the next is asked an interval later', async () => {
    const s = await scene();
    const inc = await sos(s);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(200); // no escalation in the way
    await s.t.engine.tick(at(inc, 29));
    twilio.expectNothingElse();
    await s.t.engine.tick(at(inc, 30));
    twilio.expectSms(s.driver.phone, /Reply SAFE or HELP/);
    const seen = (await s.t.get(`/v1/incidents/${inc.id}`, s.driver.token)).body.incident;
    expect(Date.parse(seen.checkInDueAt)).toBe(at(inc, 150).getTime());
    const res = await s.t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'safe' }, s.driver.token);
    expect(res.status).toBe(201);
    expect(res.body.checkIn).toMatchObject({ incidentId: inc.id, status: 'safe' });
    expect((await types(s, inc.id)).filter((x) => x.startsWith('checkin.'))).toEqual(['checkin.requested', 'checkin.received']);
    await s.t.engine.tick(at(inc, 200));
    twilio.expectNothingElse(); // answered: no miss, and the next one is an interval away
    expect((await row(s, inc.id)).checkin_due_at).toBeNull();
  });

  it('no answer within the grace period: checkin.missed at exactly that moment, and the acknowledger and the next step are paged with the last location', async () => {
    const s = await scene();
    const inc = await sos(s);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(200);
    await s.t.engine.tick(at(inc, 30));
    twilio.expectSms(s.driver.phone, /SAFE or HELP/);
    await s.t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.3801, lng: -94.2102, accuracyM: 7 }, s.driver.token);
    await s.t.engine.tick(at(inc, 149));
    twilio.expectNothingElse();
    expect((await types(s, inc.id))).not.toContain('checkin.missed');
    await s.t.engine.tick(at(inc, 150));
    expect((await types(s, inc.id))).toContain('checkin.missed');
    // Step 1 of the default policy is every zone supervisor: A (the acknowledger too) and B.
    twilio.expectSms(s.a.phone, /check-in MISSED.*36\.38010,-94\.21020 \+\/-7m/);
    twilio.expectCall(s.a.phone);
    twilio.expectSms(s.b.phone, /check-in MISSED/);
    twilio.expectCall(s.b.phone);
  });

  it('a check-in due while another transaction holds its incident (recording a page does) is still asked in the same tick', async () => {
    const s = await scene();
    const inc = await sos(s);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(200);
    const dev = await s.w.driver('Dev', { cancelPin: '8642', duressPin: '7531' });
    const other = await sos(s, {}, dev);
    // Dana's incident is held until the other incident's step 2 (at +60 s) is being sent, as the
    // tick's own sends hold the incidents they record: Dana's check-in (due at +30 s) is skipped
    // by the first pass (SKIP LOCKED) and must be asked by the second. Twilio answers late, so
    // that the holder lets go before the sends are recorded and the first pass ends.
    const sending = async () =>
      (await s.t.sql`SELECT 1 FROM pages WHERE incident_id = ${other.id} AND status = 'sending'`).length > 0;
    twilio.answerAfter(150);
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    const holder = s.t.sql.begin(async (tx) => {
      await tx`SELECT 1 FROM incidents WHERE id = ${inc.id} FOR NO KEY UPDATE`;
      held();
      for (const end = Date.now() + 5_000; !(await sending()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
    });
    await holding;
    const r = await s.t.engine.tick(at(other, 60));
    await holder;
    twilio.answerAfter(0);
    expect(r.checkins).toBe(2); // Dana's, and Dev's own (due at +30 s too)
    for (const d of [s.driver, dev]) twilio.expectSms(d.phone, /Reply SAFE or HELP/);
    for (const p of [s.a, s.b]) (twilio.expectSms(p.phone), twilio.expectCall(p.phone));
  });

  it('"need_help" raises severity and pages the current step again at once', async () => {
    const s = await scene();
    const inc = await sos(s, { kind: 'harassment' });
    expect(inc.severity).toBe('medium');
    const res = await s.t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'need_help', note: 'they came back' }, s.driver.token);
    expect(res.status).toBe(201);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone, /asks for HELP/);
    twilio.expectCall(s.a.phone);
    expect((await row(s, inc.id)).severity).toBe('high');
    await s.t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'need_help' }, s.driver.token);
    await s.t.engine.tick();
    twilio.forget();
    expect((await row(s, inc.id)).severity).toBe('critical');
  });

  it('SAFE and HELP by SMS answer the open incident', async () => {
    const s = await scene();
    const inc = await sos(s);
    const safe = await smsFrom(s.t, s.driver.phone, ' safe ');
    expect(safe.text).toContain(`#${inc.code}: noted, you are safe`);
    const help = await smsFrom(s.t, s.driver.phone, 'Help!');
    expect(help.text).toContain('help is on the way');
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone, /HELP/);
    twilio.expectCall(s.a.phone);
    const received = await s.t.sql`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'checkin.received' ORDER BY seq`;
    expect(received.map((r) => [r.data.status, r.data.via])).toEqual([['safe', 'sms'], ['need_help', 'sms']]);
  });

  it('stop when the incident is resolved; a resolved incident accepts no more changes', async () => {
    const s = await scene();
    const inc = await sos(s);
    expect((await s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, s.a.token)).status).toBe(200);
    await s.t.engine.tick(at(inc, 30));
    await s.t.engine.tick(at(inc, 900));
    twilio.expectNothingElse();
    expect((await s.t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'safe' }, s.driver.token)).status).toBe(409);
    expect((await s.t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.37, lng: -94.2 }, s.driver.token)).status).toBe(409);
    expect((await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '2468' }, s.driver.token)).status).toBe(409);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(409);
    expect((await s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'other' }, s.a.token)).status).toBe(409);
    // A new SOS opens a new incident.
    const again = await s.w.sos(s.driver);
    expect(again.status).toBe(201);
    expect(again.body.incident.id).not.toBe(inc.id);
    await s.t.engine.tick();
    twilio.forget();
  });
});

describe('cancel with PIN', () => {
  it('the cancel PIN: cancel_requested, escalation and check-ins stop, whoever was paged is told, a responder resolves it', async () => {
    const s = await scene();
    const inc = await sos(s);
    const res = await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '2468' }, s.driver.token);
    expect(res.status).toBe(200);
    expect(res.body.incident.status).toBe('cancel_requested');
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone, /cancelled with their PIN/);
    for (const sec of [30, 61, 121, 300, 600]) await s.t.engine.tick(at(inc, sec));
    twilio.expectNothingElse();
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(409);
    const done = await s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'driver_cancelled', note: 'called back, fine' }, s.a.token);
    expect(done.status).toBe(200);
    expect(done.body.incident).toMatchObject({ status: 'resolved', disposition: 'driver_cancelled' });
    expect(await types(s, inc.id)).toContain('cancel.requested');
  });

  it('a wrong PIN changes nothing but is recorded; after 5 wrong PINs cancelling is locked, even with the right one', async () => {
    const s = await scene();
    const inc = await sos(s);
    for (let i = 1; i <= 4; i++) {
      const r = await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '0000' }, s.driver.token);
      expect(r.status).toBe(403);
      expect(r.body.error.message).toBe('wrong PIN');
    }
    expect((await row(s, inc.id)).status).toBe('open');
    const fifth = await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '١٢٣٤' }, s.driver.token);
    expect(fifth.status).toBe(403);
    expect(fifth.body.error.message).toMatch(/locked/);
    const right = await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '2468' }, s.driver.token);
    expect(right.status).toBe(403);
    expect(right.body.error.message).toMatch(/locked/);
    expect((await row(s, inc.id)).status).toBe('open');
    const t = await types(s, inc.id);
    expect(t.filter((x) => x === 'cancel.rejected')).toHaveLength(5);
    expect(t.filter((x) => x === 'cancel.locked')).toHaveLength(1);
    await s.t.engine.tick(at(inc, 61)); // escalation goes on
    twilio.forget();
  });
});

describe('duress PIN', () => {
  /** What the driver is shown, with what differs between any two incidents taken out. */
  const shape = (body: unknown) =>
    JSON.stringify(body, (k, v) => (['id', 'code', 'driverId', 'openedAt', 'capturedAt', 'requestId', 'checkInDueAt'].includes(k) ? typeof v : v));

  it('answers byte-for-byte like a real cancel, while the incident is raised, recorded and paged as DURESS', async () => {
    const s = await scene();
    const other = await s.w.driver('Eli', { cancelPin: '2468', duressPin: '1357' });
    twilio.ignore(s.driver.phone);
    twilio.ignore(other.phone);
    const real = await sos(s, {}, other);
    const duress = await sos(s);
    const r1 = await s.t.req('POST', `/v1/incidents/${real.id}/cancel`, { token: other.token, body: { pin: '2468' } });
    const r2 = await s.t.req('POST', `/v1/incidents/${duress.id}/cancel`, { token: s.driver.token, body: { pin: '1357' } });
    expect(r2.status).toBe(r1.status);
    expect(r2.headers.get('content-type')).toBe(r1.headers.get('content-type'));
    expect(shape(r2.body)).toBe(shape(r1.body));
    expect(r2.body.incident.status).toBe('cancel_requested');
    expect(r2.body.incident.severity).toBe('critical'); // robbery was already critical; see the harassment case below

    // Behind the driver's back:
    const inside = await row(s, duress.id);
    expect(inside.status).toBe('open');
    expect(inside.duress_at).not.toBeNull();
    expect(await types(s, duress.id)).toContain('duress.triggered');
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone, /cancelled with their PIN/); // the real cancel's notice
    for (const p of [s.a, s.b, s.lead]) {
      twilio.expectSms(p.phone, /DURESS/);
      twilio.expectCall(p.phone, /duress/);
    }
    // Escalation goes on for the duress incident (step 1 at 60 s), not for the cancelled one.
    await s.t.engine.tick(at(duress, 61));
    twilio.expectSms(s.a.phone, new RegExp(`ACK ${duress.code}`));
    twilio.expectCall(s.a.phone);
    twilio.expectSms(s.b.phone, new RegExp(`ACK ${duress.code}`));
    twilio.expectCall(s.b.phone);
    // Check-in texts to the driver's phone stop, exactly as after a real cancel.
    const toDriver = twilio.to(s.driver.phone).length;
    await s.t.engine.tick(at(duress, 400));
    expect(twilio.to(s.driver.phone)).toHaveLength(toDriver);
    twilio.forget();
  });

  it('the driver’s reads never show a trace: status, severity, acknowledgement stay as a cancel left them', async () => {
    const s = await scene();
    twilio.ignore(s.driver.phone);
    const inc = await sos(s, { kind: 'harassment' });
    const cancelled = await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '1357' }, s.driver.token);
    expect(cancelled.body.incident).toMatchObject({ status: 'cancel_requested', severity: 'medium' });
    await s.t.engine.tick();
    twilio.forget();
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.lead.token)).status).toBe(200);
    const mine = (await s.t.get(`/v1/incidents/${inc.id}`, s.driver.token)).body.incident;
    expect(mine).toEqual(cancelled.body.incident);
    const list = (await s.t.get('/v1/incidents?status=cancel_requested', s.driver.token)).body.incidents;
    expect(list.map((i: { id: string }) => i.id)).toContain(inc.id);
    expect((await s.t.get('/v1/incidents?status=acknowledged', s.driver.token)).body.incidents).toEqual([]);
    // Responders see the truth.
    const theirs = (await s.t.get(`/v1/incidents/${inc.id}`, s.lead.token)).body.incident;
    expect(theirs).toMatchObject({ status: 'acknowledged', severity: 'critical', acknowledgedBy: s.lead.id });
    // Cancelling again answers what a second real cancel would.
    expect((await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '2468' }, s.driver.token)).status).toBe(409);
    // Resolved: the driver sees a cancelled incident resolved.
    await s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'police_dispatched' }, s.lead.token);
    const after = (await s.t.get(`/v1/incidents/${inc.id}`, s.driver.token)).body.incident;
    expect(after).toMatchObject({ status: 'resolved', disposition: 'driver_cancelled', severity: 'medium' });
  });

  it('the duress PIN after a lock-out still raises the alarm, answering like the lock-out', async () => {
    const s = await scene();
    twilio.ignore(s.driver.phone);
    const inc = await sos(s);
    for (let i = 0; i < 5; i++) await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '9999' }, s.driver.token);
    const r = await s.t.post(`/v1/incidents/${inc.id}/cancel`, { pin: '1357' }, s.driver.token);
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/locked/);
    expect(await types(s, inc.id)).toContain('duress.triggered');
    await s.t.engine.tick();
    twilio.expectSms(s.lead.phone, /DURESS/);
    twilio.forget();
  });
});

describe('SOS by SMS', () => {
  it('from a driver’s phone with no open incident: opened through the same intake at the last known fix; a Twilio retry does not open a second', async () => {
    const s = await scene();
    twilio.ignore(s.driver.phone);
    const old = await sos(s);
    await s.t.post(`/v1/incidents/${old.id}/locations`, { lat: 36.3811, lng: -94.2011, accuracyM: 12, capturedAt: new Date().toISOString() }, s.driver.token);
    await s.t.post(`/v1/incidents/${old.id}/resolve`, { disposition: 'resolved_safe' }, s.a.token);
    const params = { From: s.driver.phone, To: TWILIO.fromNumber, Body: 'sos', MessageSid: 'SM' + 'f'.repeat(32), AccountSid: TWILIO.accountSid };
    const first = await postSigned(s.t, '/webhooks/twilio/sms', params);
    const retry = await postSigned(s.t, '/webhooks/twilio/sms', params);
    expect(first.text).toMatch(/help is being reached/);
    expect(retry.text).toBe(first.text);
    const opened = await s.t.sql`SELECT * FROM incidents WHERE driver_id = ${s.driver.id} AND source = 'sms'`;
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ kind: 'other', lat: 36.3811, lng: -94.2011, accuracy_m: 12, zone_id: s.zone.id, status: 'open' });
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone, new RegExp(`ACK ${opened[0].code}`));
    twilio.expectCall(s.a.phone);
    // With one open, SOS counts as HELP.
    expect((await smsFrom(s.t, s.driver.phone, 'SOS')).text).toContain('help is on the way');
    await s.t.engine.tick();
    twilio.forget();
  });

  it('a driver Mayday never had a location for still gets an incident (no location; the safety leads are reached)', async () => {
    const s = await scene();
    const fresh = await s.w.driver('New');
    twilio.ignore(fresh.phone);
    const r = await smsFrom(s.t, fresh.phone, 'SOS');
    expect(r.text).toMatch(/help is being reached/);
    const [inc] = await s.t.sql`SELECT * FROM incidents WHERE driver_id = ${fresh.id}`;
    expect(inc).toMatchObject({ lat: null, zone_id: null, zone_rule: 'none' });
    await s.t.engine.tick();
    twilio.expectSms(s.lead.phone, /Location unknown/);
    twilio.expectCall(s.lead.phone);
    const view = (await s.t.get(`/v1/incidents/${inc.id}`, fresh.token)).body.incident;
    expect(view.location).toBeNull();
  });

  it('from a number that is not a driver’s: a help text only', async () => {
    const s = await scene();
    const r = await smsFrom(s.t, '+15557654321', 'SOS');
    expect(r.text).toMatch(/<Message>Mayday: reply ACK/);
    const [{ n }] = await s.t.sql`SELECT count(*)::int AS n FROM incidents`;
    expect(n).toBe(0);
  });
});

describe('pages carry the latest fix', () => {
  it('a fix older than the newest never replaces it in pages', async () => {
    const s = await scene();
    twilio.ignore(s.driver.phone);
    const inc = await sos(s, { location: { lat: 36.37, lng: -94.2, capturedAt: new Date(Date.now() - 5000).toISOString() } });
    await s.t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.3901, lng: -94.2201, accuracyM: 4 }, s.driver.token);
    await s.t.post(`/v1/incidents/${inc.id}/locations`, { lat: 36.1, lng: -94.1, capturedAt: new Date(Date.now() - 60_000).toISOString() }, s.driver.token);
    await s.t.engine.tick(at(inc, 60));
    twilio.expectSms(s.a.phone, /36\.39010,-94\.22010 \+\/-4m/);
    twilio.expectCall(s.a.phone);
    twilio.expectSms(s.b.phone, /36\.39010,-94\.22010/);
    twilio.expectCall(s.b.phone);
    expect(randomUUID()).toBeTruthy();
  });
});
