import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from '../src/db/client';
import { openIncident, type OpenIncident } from '../src/incidents/store';
import { loadMigrations } from '../src/db/migrations-fs';
import { claimPages } from '../src/paging/store';
import { testApp, type TestApp } from './helpers/app';
import { amd, callStatus, messageStatus, mockTwilio, press, smsFrom, postSigned, TWILIO, type Sent } from './helpers/twilio';
import { square, world, type Person } from './helpers/world';

const twilio = mockTwilio();
afterEach(() => twilio.expectNothingElse());

interface Scene {
  t: TestApp;
  w: ReturnType<typeof world>;
  zone: { id: string };
  a: Person; // on call now (rotation)
  b: Person; // next in the rotation
  c: Person; // zone supervisor, not in the rotation
  lead: Person; // safety lead
  driver: Person;
}

/** A zone with a rotation (A on call now, then B), a third supervisor C, a safety lead and a driver. */
async function scene(opts: { policy?: unknown; leads?: boolean; twilioTimeoutMs?: number; maxInFlight?: number; recordLingerMs?: number } = {}): Promise<Scene> {
  const t = await testApp({
    twilio: { ...TWILIO, timeoutMs: opts.twilioTimeoutMs ?? TWILIO.timeoutMs },
    paging: {
      callRetrySeconds: 30, unknownRetrySeconds: 10, backoffBaseMs: 50, backoffCapMs: 200,
      ...(opts.maxInFlight ? { maxInFlight: opts.maxInFlight } : {}), ...(opts.recordLingerMs !== undefined ? { recordLingerMs: opts.recordLingerMs } : {}),
    },
  });
  const w = world(t);
  // Check-ins are tested in test/checkins.test.ts: here the driver's check-in texts are not
  // expected one by one, and a missed one never re-escalates within a test's horizon.
  const zone = await w.zone('Zone', square(36.37, -94.2), { checkInGraceSeconds: 86_400 });
  const a = await w.responder('supervisor', [zone.id], 'Ava');
  const b = await w.responder('supervisor', [zone.id], 'Ben');
  const c = await w.responder('supervisor', [zone.id], 'Cy');
  const lead = opts.leads === false ? (undefined as unknown as Person) : await w.responder('safety_lead', [], 'Lee');
  const driver = await w.driver('Dana');
  twilio.ignore(driver.phone);
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  expect((await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [a.id, b.id], shiftMinutes: 600, startsAt }, w.admin)).status).toBe(200);
  if (opts.policy) expect((await t.put(`/v1/zones/${zone.id}/escalation-policy`, opts.policy, w.admin)).status).toBe(200);
  return { t, w, zone, a, b, c, lead, driver };
}

async function sos(s: Scene, over: Record<string, unknown> = {}) {
  const res = await s.w.sos(s.driver, over);
  expect(res.status).toBe(201);
  return res.body.incident as { id: string; code: number; openedAt: string };
}

/** What the SOS route hands openIncident() for a robbery inside the scene's zone. */
const intakeOf = (s: Scene): OpenIncident => ({
  driverId: s.driver.id, clientRequestId: randomUUID(), source: 'app', kind: 'robbery', severity: 'critical',
  zoneId: s.zone.id, zoneRule: 'inside', lat: 36.37, lng: -94.2, accuracyM: 12, capturedAt: null, note: null, actor: 'driver:test',
});

const at = (inc: { openedAt: string }, seconds: number) => new Date(Date.parse(inc.openedAt) + seconds * 1000);

async function events(s: Scene, incidentId: string, type?: string) {
  const rows = await s.t.sql<{ type: string; data: any }[]>`
    SELECT type, data FROM incident_events WHERE incident_id = ${incidentId} ORDER BY seq`;
  return type ? rows.filter((r) => r.type === type) : rows;
}

async function status(s: Scene, incidentId: string) {
  const [r] = await s.t.sql<{ status: string }[]>`SELECT status FROM incidents WHERE id = ${incidentId}`;
  return r.status;
}

/** Every claim of a page (queued → sending) recorded in test_claims with its transaction's now(). */
async function recordClaims(s: Scene) {
  await s.t.sql.unsafe(`
    CREATE TABLE test_claims (page_id uuid, at timestamptz);
    CREATE FUNCTION test_record_claim() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN INSERT INTO test_claims VALUES (NEW.id, now()); RETURN NEW; END $f$;
    CREATE TRIGGER test_record_claim BEFORE UPDATE ON pages FOR EACH ROW
      WHEN (OLD.status = 'queued' AND NEW.status = 'sending') EXECUTE FUNCTION test_record_claim();`);
}

/** The first claim of a page is refused; test_claim_tries counts the tries (a sequence is not rolled back with the claim). */
async function refuseFirstClaim(s: Scene) {
  await s.t.sql.unsafe(`
    CREATE SEQUENCE test_claim_tries;
    CREATE FUNCTION test_refuse_first_claim() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
      IF NEW.status = 'sending' AND nextval('test_claim_tries') = 1 THEN RAISE EXCEPTION 'test: claim refused'; END IF;
      RETURN NEW;
    END $f$;
    CREATE TRIGGER test_refuse_first_claim BEFORE UPDATE ON pages FOR EACH ROW EXECUTE FUNCTION test_refuse_first_claim();`);
}

describe('an SOS reaches the on-call supervisor at once', () => {
  it('SMS and call to the on-call within one tick; the SMS quotes ACK <code>; the call gathers a digit', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    const sms = twilio.expectSms(s.a.phone, new RegExp(`ACK ${inc.code}\\b`));
    expect(sms.body).toContain('ROBBERY');
    expect(sms.params.From).toBe(TWILIO.fromNumber);
    expect(sms.params.StatusCallback).toBe(`https://mayday.test/webhooks/twilio/status?page=${sms.pageId}`);
    const call = twilio.expectCall(s.a.phone, /<Gather[^>]*numDigits="1"[^>]*action="https:\/\/mayday\.test\/webhooks\/twilio\/voice\/gather\?page=/);
    expect(call.body).toMatch(/Press 1/);
    expect(call.params.MachineDetection).toBe('Enable');
    expect(call.params.StatusCallback).toMatch(/^https:\/\/mayday\.test\/webhooks\/twilio\/voice\/status\?page=/);
    const types = (await events(s, inc.id)).map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['incident.opened', 'escalation.step', 'page.queued', 'page.queued']);
    expect(types.filter((x) => x === 'page.sent')).toHaveLength(2);
    const sent = await events(s, inc.id, 'page.sent');
    expect(sent.map((e) => e.data.sid).sort()).toEqual([sms.sid, call.sid].sort());
  });

  it('the first pages are queued in the same transaction that stores the SOS', async () => {
    const s = await scene();
    const inc = await sos(s);
    // No tick yet: the outbox already holds them.
    const pages = await s.t.sql`SELECT recipient_id, channel, step FROM pages WHERE incident_id = ${inc.id} ORDER BY channel`;
    expect(pages.map((p) => [p.recipient_id, p.channel, p.step])).toEqual([[s.a.id, 'sms', 0], [s.a.id, 'voice', 0]]);
    await s.t.engine.tick();
    twilio.forget();
  });

  it('the first pages are claimed in the same round trip as the SOS and sent at once, with no claim by the sender', async () => {
    const s = await scene();
    const pager = s.t.deps.pager;
    const wake = vi.spyOn(pager, 'wake');
    const drain = vi.spyOn(pager, 'drain');
    const inc = await sos(s);
    await pager.idle(); // no tick
    twilio.expectSms(s.a.phone, new RegExp(`ACK ${inc.code}\\b`));
    twilio.expectCall(s.a.phone, /<Gather/);
    expect(wake).not.toHaveBeenCalled();
    expect(drain).not.toHaveBeenCalled();
    const pages = await s.t.sql`SELECT status, tries FROM pages WHERE incident_id = ${inc.id}`;
    expect(pages.map((p) => [p.status, p.tries])).toEqual([['sent', 1], ['sent', 1]]);
    const types = (await events(s, inc.id)).map((e) => e.type);
    expect(types).toEqual(['incident.opened', 'escalation.step', 'page.queued', 'page.queued', 'page.sent', 'page.sent']);
  });

  it('SOS calls running at once each claim their own first pages: one does not take the sender\'s room from the others', async () => {
    const s = await scene({ maxInFlight: 30 });
    const drivers = [s.driver, await s.w.driver('Eli'), await s.w.driver('Fay')];
    for (const d of drivers.slice(1)) twilio.ignore(d.phone);
    await recordClaims(s); // the pages' created_at when the SOS's own call claimed them
    // Hold every SOS call inside the database until all three are in flight, their room reserved
    // (three: they take three of the test pool's five connections; holding and watching use
    // connections of their own).
    const held = connect(s.t.url, { max: 1 });
    const watch = connect(s.t.url, { max: 1 });
    let presses: ReturnType<typeof s.w.sos>[] = [];
    try {
      await held.begin(async (tx) => {
        await tx`LOCK TABLE incidents IN EXCLUSIVE MODE`;
        presses = drivers.map((d) => s.w.sos(d));
        for (let i = 0; ; i++) {
          const [{ n }] = await watch<{ n: number }[]>`
            SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%sos_open%'`;
          if (n === 3) break;
          if (i === 300) throw new Error(`only ${n} SOS calls held`);
          await new Promise((r) => setTimeout(r, 10));
        }
      });
    } finally {
      await Promise.all([held.end(), watch.end()]);
    }
    for (const res of await Promise.all(presses)) expect(res.status).toBe(201);
    await s.t.deps.pager.idle();
    for (let i = 0; i < 3; i++) {
      twilio.expectSms(s.a.phone, /ACK/);
      twilio.expectCall(s.a.phone);
    }
    const claims = await s.t.sql<{ same: boolean }[]>`
      SELECT c.at = p.created_at AS same FROM pages p JOIN test_claims c ON c.page_id = p.id WHERE p.purpose = 'page'`;
    expect(claims).toHaveLength(6);
    expect(claims.filter((c) => !c.same)).toHaveLength(0);
  });

  it('other instances are told (NOTIFY) of pages left queued, and not of an SOS whose pages this instance claimed itself', async () => {
    const s = await scene();
    const heard: number[] = [];
    const listener = await s.t.sql.listen('mayday_pages', () => heard.push(Date.now()));
    try {
      const inc = await sos(s);
      await s.t.deps.pager.idle();
      twilio.expectSms(s.a.phone);
      twilio.expectCall(s.a.phone);
      await new Promise((r) => setTimeout(r, 200)); // the NOTIFY would go 25 ms after the commit
      expect(heard).toEqual([]);
      // "need_help" queues pages again, for the sender to claim: the others hear of it.
      expect((await s.t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'need_help' }, s.driver.token)).status).toBe(201);
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(heard.length).toBe(1);
      await s.t.deps.pager.idle();
      twilio.expectSms(s.a.phone, /HELP/);
      twilio.expectCall(s.a.phone);
    } finally {
      await listener.unlisten();
    }
  });

  it('the SOS call claims its first pages exactly as the sender\'s own claim would, in the SOS\'s own transaction, and no more than it may', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms', 'voice'] }] } });
    const o = intakeOf(s);
    const r = await openIncident(s.t.sql, o, { leaseSeconds: 20, max: 4 });
    expect(r.claimed).toHaveLength(4); // of six: three supervisors by SMS and voice
    const [{ queued }] = await s.t.sql`SELECT count(*)::int AS queued FROM pages WHERE incident_id = ${r.incident.id} AND status = 'queued' AND tries = 0`;
    expect(queued).toBe(2);
    // Claimed in the SOS's transaction, so with the same now() the pages were made at: one commit
    // (one wait for the WAL to reach the disk) before the 201, not two (sql/011).
    const [{ same }] = await s.t.sql`
      SELECT bool_and(lease_until - interval '20 seconds' = created_at) AS same FROM pages WHERE incident_id = ${r.incident.id} AND status = 'sending'`;
    expect(same).toBe(true);
    // Put them back and let the sender's claim take all six: the four are the same, field by field.
    await s.t.sql`UPDATE pages SET status = 'queued', tries = 0, lease_until = NULL WHERE incident_id = ${r.incident.id}`;
    const again = await claimPages(s.t.sql, null, 10, 20);
    expect(again).toHaveLength(6);
    const byId = new Map(again.map((p) => [p.id, p]));
    for (const p of r.claimed) expect(p).toEqual(byId.get(p.id));
    expect(r.claimed[0].driver_name).toBe(s.driver.name);
    expect(r.claimed[0].zone_name).toBe('Zone');
    expect(r.claimed[0].location_at).toBeInstanceOf(Date);
    await s.t.sql`UPDATE pages SET status = 'canceled' WHERE incident_id = ${r.incident.id}`; // nothing to send
  });

  it('when the claim in the SOS call fails, the SOS is still stored and answered and its pages go out through the sender at once', async () => {
    const s = await scene();
    await refuseFirstClaim(s);
    const wake = vi.spyOn(s.t.deps.pager, 'wake');
    const inc = await sos(s);
    expect(wake).toHaveBeenCalled();
    await s.t.deps.pager.idle(); // no tick
    twilio.expectSms(s.a.phone, new RegExp(`ACK ${inc.code}\\b`));
    twilio.expectCall(s.a.phone);
    const pages = await s.t.sql`SELECT status, tries FROM pages WHERE incident_id = ${inc.id}`;
    expect(pages.map((p) => [p.status, p.tries])).toEqual([['sent', 1], ['sent', 1]]);
    const [{ n }] = await s.t.sql`SELECT last_value AS n FROM test_claim_tries`;
    expect(Number(n)).toBeGreaterThan(1);
  });

  it('a page claimed by an SOS whose instance died before sending it is settled when its lease runs out: unknown, then a new attempt', async () => {
    const s = await scene();
    const o = intakeOf(s);
    // Claimed with the SOS, lease already over, and never sent: the instance is gone.
    const r = await openIncident(s.t.sql, o, { leaseSeconds: 0, max: 10 });
    expect(r.claimed).toHaveLength(2);
    await s.t.engine.tick();
    expect((await events(s, r.incident.id, 'page.unknown')).map((e) => e.data.pageId).sort()).toEqual(r.claimed.map((p) => p.id).sort());
    await s.t.engine.tick(new Date(Date.now() + 11_000)); // unknownRetrySeconds later: the new attempts
    twilio.expectSms(s.a.phone, new RegExp(`ACK ${r.incident.code}\\b`));
    twilio.expectCall(s.a.phone, /<Gather/);
  });

  it('an override beats the rotation', async () => {
    const s = await scene();
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    expect((await s.t.post(`/v1/zones/${s.zone.id}/overrides`, { responderId: s.c.id, from, to }, s.w.admin)).status).toBe(201);
    await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.c.phone);
    twilio.expectCall(s.c.phone);
  });
});

describe('acknowledgement stops escalation', () => {
  it('an "ack" reply from the paged phone acknowledges; no further message at any later deadline', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectCall(s.a.phone);
    const reply = await smsFrom(s.t, s.a.phone, '  ack  ');
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(new RegExp(`<Message>[^<]*#${inc.code} acknowledged`));
    expect(await status(s, inc.id)).toBe('acknowledged');
    for (const sec of [61, 121, 241, 600]) await s.t.engine.tick(at(inc, sec));
    twilio.expectNothingElse();
    const [ack] = await events(s, inc.id, 'incident.acknowledged');
    expect(ack.data).toMatchObject({ by: s.a.id, via: 'sms' });
    const view = (await s.t.get(`/v1/incidents/${inc.id}`, s.a.token)).body.incident;
    expect(view).toMatchObject({ status: 'acknowledged', acknowledgedBy: s.a.id });
  });

  it('"ACK <code>" names the incident; "1" takes the newest; case and spacing do not matter', async () => {
    const s = await scene();
    const first = await sos(s);
    const second = await sos(s);
    await s.t.engine.tick();
    twilio.forget();
    expect((await smsFrom(s.t, s.a.phone, `Ack   ${first.code}`)).text).toContain(`#${first.code} acknowledged`);
    expect(await status(s, first.id)).toBe('acknowledged');
    expect(await status(s, second.id)).toBe('open');
    expect((await smsFrom(s.t, s.a.phone, '1')).text).toContain(`#${second.code} acknowledged`);
    expect(await status(s, second.id)).toBe('acknowledged');
    expect((await smsFrom(s.t, s.a.phone, `ACK ${first.code}`)).text).toContain('already acknowledged by Ava');
  });

  it('a reply from someone who was not paged does not acknowledge; an unknown text gets a short help text, a few times an hour at most', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.forget();
    expect((await smsFrom(s.t, s.c.phone, `ACK ${inc.code}`)).text).toContain('not paged');
    expect((await smsFrom(s.t, s.c.phone, 'ACK')).text).toContain('no incident was paged to you');
    expect(await status(s, inc.id)).toBe('open');
    const stranger = '+15557770001';
    expect((await smsFrom(s.t, stranger, `ACK ${inc.code}`)).text).toMatch(/<Message>Mayday: reply ACK/);
    expect(await status(s, inc.id)).toBe('open');
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push((await smsFrom(s.t, s.a.phone, 'what is this?')).text);
    expect(replies.filter((r) => r.includes('<Message>'))).toHaveLength(3); // at most 3 an hour to one number
  });

  it('a keypress of 1 on the page call acknowledges (via voice); another digit does not', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    const call = twilio.expectCall(s.a.phone);
    const two = await press(s.t, call, '2');
    expect(two.text).toContain('not acknowledged');
    expect(await status(s, inc.id)).toBe('open');
    const one = await press(s.t, call, '1');
    expect(one.status).toBe(200);
    expect(one.text).toMatch(/<Say>Acknowledged/);
    expect(await status(s, inc.id)).toBe('acknowledged');
    const [ack] = await events(s, inc.id, 'incident.acknowledged');
    expect(ack.data).toMatchObject({ by: s.a.id, via: 'voice', pageId: call.pageId });
    await callStatus(s.t, call, 'completed', { AnsweredBy: 'human' });
    expect(await events(s, inc.id, 'page.voicemail')).toEqual([]);
    await s.t.engine.tick(at(inc, 700));
  });

  it('acknowledging through the API; acknowledging again is 409; a supervisor of another zone cannot see it', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.forget();
    const res = await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.b.token);
    expect(res.status).toBe(200);
    expect(res.body.incident).toMatchObject({ status: 'acknowledged', acknowledgedBy: s.b.id });
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(409);
    const other = await s.w.zone('Other', square(10, 10));
    const stranger = await s.w.responder('supervisor', [other.id], 'Stranger');
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, stranger.token)).status).toBe(404);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.driver.token)).status).toBe(403);
    await s.t.engine.tick(at(inc, 300));
  });
});

describe('escalation when nobody acknowledges', () => {
  it('step 2 at 60 s (every zone supervisor), step 3 at 120 s (safety leads), exhaustion at 240 s, then every 120 s', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectCall(s.a.phone);

    await s.t.engine.tick(at(inc, 59));
    twilio.expectNothingElse();

    await s.t.engine.tick(at(inc, 60));
    for (const p of [s.a, s.b, s.c]) {
      twilio.expectSms(p.phone, /ACK/);
      twilio.expectCall(p.phone);
    }
    twilio.expectNothingElse();

    await s.t.engine.tick(at(inc, 120));
    twilio.expectSms(s.lead.phone);
    twilio.expectCall(s.lead.phone);
    twilio.expectNothingElse();

    await s.t.engine.tick(at(inc, 239));
    twilio.expectNothingElse();
    await s.t.engine.tick(at(inc, 240));
    twilio.expectSms(s.lead.phone, /reminder 1/);
    twilio.expectCall(s.lead.phone);
    twilio.expectNothingElse();
    expect(await events(s, inc.id, 'escalation.exhausted')).toHaveLength(1);

    await s.t.engine.tick(at(inc, 360));
    twilio.expectSms(s.lead.phone, /reminder 2/);
    twilio.expectCall(s.lead.phone);
    expect(await events(s, inc.id, 'escalation.exhausted')).toHaveLength(1);
    const steps = (await events(s, inc.id, 'escalation.step')).map((e) => [e.data.step, e.data.round]);
    expect(steps).toEqual([[0, 0], [1, 0], [2, 0], [2, 1], [2, 2]]);
  });

  it('a step\'s pages are claimed in the escalation\'s own transaction and sent at once, with no claim by the sender (sql/012)', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectCall(s.a.phone);
    await recordClaims(s); // the pages' created_at only when the escalation that queued them claimed them too
    const wake = vi.spyOn(s.t.deps.pager, 'wake');
    await s.t.engine.tick(at(inc, 60));
    for (const p of [s.a, s.b, s.c]) {
      twilio.expectSms(p.phone, /ACK/);
      twilio.expectCall(p.phone);
    }
    expect(wake).not.toHaveBeenCalled();
    const claims = await s.t.sql<{ same: boolean; status: string }[]>`
      SELECT c.at = p.created_at AS same, p.status, p.purpose, p.channel, p.tries FROM pages p JOIN test_claims c ON c.page_id = p.id
      WHERE p.incident_id = ${inc.id} AND p.purpose = 'page' AND p.step = 1`;
    expect(claims, JSON.stringify(claims)).toHaveLength(6);
    expect(claims.every((c) => c.same && c.status === 'sent')).toBe(true);
  });

  it('a step whose claim fails keeps its escalation, and its pages go out through the sender', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectCall(s.a.phone);
    await refuseFirstClaim(s); // the escalation's
    const wake = vi.spyOn(s.t.deps.pager, 'wake');
    await s.t.engine.tick(at(inc, 60));
    expect(wake).toHaveBeenCalled();
    for (const p of [s.a, s.b, s.c]) {
      twilio.expectSms(p.phone, /ACK/);
      twilio.expectCall(p.phone);
    }
    expect((await events(s, inc.id, 'escalation.step')).map((e) => e.data.step)).toEqual([0, 1]);
  });

  it('on a database without sql/012 (a Worker deployed before the migration) a step still pages, through the sender\'s claim; once migrated, the claim is back within a minute', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectCall(s.a.phone);
    await s.t.sql`DROP FUNCTION escalate_due_and_claim`;
    const wake = vi.spyOn(s.t.deps.pager, 'wake');
    await s.t.engine.tick(at(inc, 60));
    for (const p of [s.a, s.b, s.c]) {
      twilio.expectSms(p.phone, /ACK/);
      twilio.expectCall(p.phone);
    }
    twilio.expectNothingElse();
    expect(wake).toHaveBeenCalled(); // the sender claimed them
    expect(s.t.logs.lines.filter((l) => l.includes('escalate_due_and_claim() is missing'))).toHaveLength(1);
    // Migrated meanwhile; a minute later the engine claims with the escalation again.
    await s.t.sql.unsafe(loadMigrations().find((m) => m.id === 12)!.sql);
    wake.mockClear();
    const now = Date.now();
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now + 61_000);
    try {
      await s.t.engine.tick(at(inc, 120));
    } finally {
      clock.mockRestore();
    }
    twilio.expectSms(s.lead.phone, /ACK/);
    twilio.expectCall(s.lead.phone);
    expect(wake).not.toHaveBeenCalled();
    expect(s.t.logs.lines.filter((l) => l.includes('escalate_due_and_claim() is missing'))).toHaveLength(1);
  });

  it('a step that reaches nobody does not wait: the next starts at once; if none reaches anyone, every safety lead is paged', async () => {
    const s = await scene();
    // A zone nobody covers: an SOS there still reaches the safety lead immediately.
    const empty = await s.w.zone('Empty', square(40, -100));
    const policy = { steps: [
      { afterSeconds: 0, notify: ['oncall'], channels: ['sms'] },
      { afterSeconds: 300, notify: ['zone_supervisors'], channels: ['sms'] },
    ] };
    expect((await s.t.put(`/v1/zones/${empty.id}/escalation-policy`, policy, s.w.admin)).status).toBe(200);
    const inc = await sos(s, { location: { lat: 40, lng: -100 } });
    await s.t.engine.tick();
    twilio.expectSms(s.lead.phone);
    twilio.expectCall(s.lead.phone);
    const steps = await events(s, inc.id, 'escalation.step');
    expect(steps.map((e) => e.data.skipped)).toEqual([true, true, false]);
    expect(steps[2].data.reason).toBe('no step reached anyone');
    expect(empty.id).toBeDefined();
  });

  it('with nobody reachable at all, exhaustion is still recorded (never a silent end)', async () => {
    const s = await scene({ leads: false });
    const inc = await sos(s, { location: { lat: 40, lng: -100 } }); // nearest zone: the only one; on call A
    await s.t.engine.tick();
    twilio.forget();
    const lonely = await testApp({ twilio: TWILIO });
    const lw = world(lonely);
    await lw.zone('Nobody here');
    const d = await lw.driver();
    twilio.ignore(d.phone);
    const lonelyInc = (await lw.sos(d)).body.incident;
    await lonely.engine.tick();
    await lonely.engine.tick(at(lonelyInc, 121));
    const ex = (await lonely.sql`SELECT data FROM incident_events WHERE incident_id = ${lonelyInc.id} AND type = 'escalation.exhausted'`);
    expect(ex).toHaveLength(1);
    expect(ex[0].data.nobodyReachable).toBe(true);
    expect(inc.id).toBeDefined();
  });
});

describe('a start', () => {
  it('Engine.firstRun resolves once the first tick has taken what was already overdue', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 60, notify: ['safety_leads'], channels: ['sms'] }] } });
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    // Step 1 became due while no engine ran (as across a restart).
    await s.t.sql`UPDATE incidents SET opened_at = opened_at - interval '120 seconds', esc_next_at = now() - interval '1 second' WHERE id = ${inc.id}`;
    await s.t.engine.start();
    try {
      await s.t.engine.firstRun;
      expect((await events(s, inc.id, 'escalation.step')).map((e) => e.data.step)).toEqual([0, 1]);
      await s.t.deps.pager.idle();
      twilio.expectSms(s.lead.phone);
    } finally {
      await s.t.engine.stop();
    }
  });
});

describe('voicemail is not an acknowledgement', () => {
  it('AnsweredBy=machine_* records page.voicemail and the call is tried again after a short delay', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['voice'] }, { afterSeconds: 600, notify: ['safety_leads'], channels: ['sms'] }] } });
    const inc = await sos(s);
    await s.t.engine.tick();
    const call = twilio.expectCall(s.a.phone);
    await callStatus(s.t, call, 'in-progress');
    expect((await amd(s.t, call, 'machine_end_beep')).status).toBe(204);
    await callStatus(s.t, call, 'completed');
    expect(await status(s, inc.id)).toBe('open');
    const vm = await events(s, inc.id, 'page.voicemail');
    expect(vm).toHaveLength(1);
    expect(vm[0].data.answeredBy).toBe('machine_end_beep');
    await s.t.engine.tick(at(inc, 20));
    twilio.expectNothingElse();
    await s.t.engine.tick(at(inc, 45));
    const again = twilio.expectCall(s.a.phone);
    expect(again.pageId).not.toBe(call.pageId);
    const [p] = await s.t.sql`SELECT purpose, attempt FROM pages WHERE id = ${again.pageId}`;
    expect(p).toMatchObject({ purpose: 'retry', attempt: 2 });
  });

  it('a completed call without a keypress counts as voicemail too', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['voice'] }, { afterSeconds: 600, notify: ['safety_leads'], channels: ['sms'] }] } });
    const inc = await sos(s);
    await s.t.engine.tick();
    const call = twilio.expectCall(s.a.phone);
    await callStatus(s.t, call, 'in-progress', { AnsweredBy: 'human' });
    await callStatus(s.t, call, 'completed');
    expect(await events(s, inc.id, 'page.voicemail')).toHaveLength(1);
    expect(await status(s, inc.id)).toBe('open');
    await s.t.engine.tick(at(inc, 45));
    twilio.expectCall(s.a.phone);
  });
});

/**
 * An SOS whose first SMS to A has an unknown outcome (the fault set up by the caller): nothing
 * is sent again at once, page.unknown names a new attempt, and that attempt goes out after the
 * 10 s retry delay.
 */
async function unknownThenNewAttempt(s: Scene) {
  const inc = await sos(s);
  await s.t.engine.tick();
  twilio.expectNothingElse();
  const [unknown] = await events(s, inc.id, 'page.unknown');
  expect(unknown.data.retryPageId).toEqual(expect.any(String));
  await s.t.engine.tick(new Date(Date.now() + 11_000));
  const sms = twilio.expectSms(s.a.phone);
  expect(sms.pageId).toBe(unknown.data.retryPageId);
  return { unknown, sms };
}

describe('failures', () => {
  const smsOnly = { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 600, notify: ['safety_leads'], channels: ['sms'] }] };

  it('an undelivered SMS makes an immediate call to the same person', async () => {
    const s = await scene({ policy: smsOnly });
    const inc = await sos(s);
    await s.t.engine.tick();
    const sms = twilio.expectSms(s.a.phone);
    twilio.expectNothingElse();
    expect((await messageStatus(s.t, sms, 'undelivered', { ErrorCode: '30003' })).status).toBe(204);
    await s.t.engine.tick(); // what the wake-up started
    twilio.expectCall(s.a.phone);
    const [failed] = await events(s, inc.id, 'page.failed');
    expect(failed.data).toMatchObject({ pageId: sms.pageId, errorCode: '30003', failoverPageId: expect.any(String) });
  });

  it('an invalid number (21211) fails the page and tries the other channel at once; other recipients are unaffected', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms'] }] } });
    twilio.fail('sms', { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." }, s.b.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectSms(s.c.phone);
    twilio.expectCall(s.b.phone);
    const [failed] = await events(s, inc.id, 'page.failed');
    expect(failed.data).toMatchObject({ recipientId: s.b.id, errorCode: '21211' });
  });

  it('a number refused on both channels fails over once, not back and forth (found by chaos:twilio)', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms'] }] } });
    const invalid = { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." };
    twilio.fail('any', invalid, s.b.phone);
    twilio.fail('any', invalid, s.b.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectSms(s.c.phone);
    // The SMS page, its failover call, and nothing more: before, a failover of the failover followed at once, and so on.
    expect(twilio.requests.filter((r) => r.to === s.b.phone).map((r) => r.kind)).toEqual(['sms', 'call']);
    const failed = await events(s, inc.id, 'page.failed');
    expect(failed.map((e) => [e.data.channel, e.data.errorCode, e.data.failoverPageId === undefined])).toEqual([['sms', '21211', false], ['voice', '21211', true]]);
  });

  it('429 then success: exactly one message, after a backoff', async () => {
    const s = await scene({ policy: smsOnly });
    twilio.fail('sms', { status: 429, code: 20429, message: 'Too Many Requests' }, s.a.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    // The retry goes after a jittered backoff: by the sender's own timer, or this later tick.
    await s.t.engine.tick(new Date(Date.now() + 5_000));
    twilio.expectSms(s.a.phone);
    expect(twilio.requests.filter((r) => r.to === s.a.phone)).toHaveLength(2);
    expect(await events(s, inc.id, 'page.sent')).toHaveLength(1);
    expect(await events(s, inc.id, 'page.failed')).toHaveLength(0);
  });

  it('a 503 is retried the same way', async () => {
    const s = await scene({ policy: smsOnly });
    twilio.fail('sms', { status: 503, message: 'Service Unavailable' }, s.a.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    await s.t.engine.tick(new Date(Date.now() + 5_000));
    twilio.expectSms(s.a.phone);
    expect(await events(s, inc.id, 'page.sent')).toHaveLength(1);
  });

  it('a 500 may have been taken after all: an unknown outcome and a new attempt, never the same attempt twice', async () => {
    const s = await scene({ policy: smsOnly });
    twilio.fail('sms', { status: 500, code: 20500, message: 'Internal Server Error' }, s.a.phone);
    const { unknown } = await unknownThenNewAttempt(s);
    expect(twilio.requests.filter((r) => r.pageId === unknown.data.pageId)).toHaveLength(1);
  });

  it('a timeout is recorded as an unknown outcome, not re-sent as the same attempt; a new attempt follows', async () => {
    const s = await scene({ policy: smsOnly, twilioTimeoutMs: 300 });
    twilio.fail('sms', 'hang', s.a.phone);
    const { unknown, sms } = await unknownThenNewAttempt(s);
    expect(sms.pageId).not.toBe(unknown.data.pageId);
  });

  it('a keypress on a call whose send was never recorded records it (its CallSid) and acknowledges; another call\'s sid does not', async () => {
    const voiceOnly = { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['voice'] }, { afterSeconds: 600, notify: ['safety_leads'], channels: ['sms'] }] };
    const s = await scene({ policy: voiceOnly, twilioTimeoutMs: 300 });
    twilio.fail('call', 'hang', s.a.phone); // Twilio took the call; its answer never came
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectNothingElse();
    const [unknown] = await events(s, inc.id, 'page.unknown');
    const pageId = unknown.data.pageId as string;
    const sid = 'CA' + 'f'.repeat(32);
    const pressed = await postSigned(s.t, `/webhooks/twilio/voice/gather?page=${pageId}`, { CallSid: sid, Digits: '1', AccountSid: TWILIO.accountSid });
    expect(pressed.status).toBe(200);
    expect(await status(s, inc.id)).toBe('acknowledged');
    const [p] = await s.t.sql`SELECT sid, status FROM pages WHERE id = ${pageId}`;
    expect(p).toEqual({ sid, status: 'delivered' });
    expect((await events(s, inc.id, 'page.sent')).map((e) => e.data.sid)).toEqual([sid]);
    // The new attempt the unknown outcome queued is not needed after all.
    const [retry] = await s.t.sql`SELECT status FROM pages WHERE id = ${unknown.data.retryPageId}`;
    expect(retry.status).toBe('canceled');

    // A keypress naming another call than the one recorded is not this page's.
    const s2 = await scene({ policy: voiceOnly });
    const inc2 = await sos(s2);
    await s2.t.engine.tick();
    const call = twilio.expectCall(s2.a.phone);
    await postSigned(s2.t, `/webhooks/twilio/voice/gather?page=${call.pageId}`, { CallSid: 'CA' + 'e'.repeat(32), Digits: '1', AccountSid: TWILIO.accountSid });
    expect(await status(s2, inc2.id)).toBe('open');
    expect((await press(s2.t, call, '1')).status).toBe(200);
    expect(await status(s2, inc2.id)).toBe('acknowledged');
    twilio.expectNothingElse();
  });

  it('status callbacks late, twice or out of order: the stored status only moves forward', async () => {
    const s = await scene({ policy: smsOnly });
    const inc = await sos(s);
    await s.t.engine.tick();
    const sms = twilio.expectSms(s.a.phone);
    await messageStatus(s.t, sms, 'delivered');
    await messageStatus(s.t, sms, 'sent');
    await messageStatus(s.t, sms, 'delivered');
    await messageStatus(s.t, sms, 'queued');
    const [p] = await s.t.sql`SELECT status, twilio_status FROM pages WHERE id = ${sms.pageId}`;
    expect(p).toEqual({ status: 'delivered', twilio_status: 'delivered' });
    expect(await events(s, inc.id, 'page.delivered')).toHaveLength(1);
    // A late "undelivered" after "delivered" cannot fail it either.
    await messageStatus(s.t, sms, 'undelivered');
    expect(await events(s, inc.id, 'page.failed')).toHaveLength(0);
    twilio.expectNothingElse();
  });
});

describe('the sender holds at most maxInFlight pages claimed', () => {
  it('claims no more than that at once; the rest stay queued and go out as sends finish', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms', 'voice'] }] }, maxInFlight: 2 });
    twilio.answerAfter(100, [s.a.phone, s.b.phone, s.c.phone]);
    try {
      const inc = await sos(s);
      await s.t.engine.tick();
      const pages = await s.t.sql<{ status: string }[]>`SELECT status FROM pages WHERE incident_id = ${inc.id}`;
      expect(pages.map((p) => p.status)).toEqual(Array(6).fill('sent'));
      expect(twilio.peakOpen()).toBe(2);
      for (const who of [s.a, s.b, s.c]) (twilio.expectSms(who.phone), twilio.expectCall(who.phone));
    } finally {
      twilio.answerAfter(0);
    }
  });
});

describe('callbacks that arrive together', () => {
  it('are recorded together with the same effect as one by one: each page delivered once, a failure fails over at once', async () => {
    const s = await scene({ policy: { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms'] }], repeatEverySeconds: 120 } });
    const inc = await sos(s);
    await s.t.engine.tick();
    const [ma, mb, mc] = [twilio.expectSms(s.a.phone), twilio.expectSms(s.b.phone), twilio.expectSms(s.c.phone)];
    // All at once (one transaction for the burst): late and repeated ones included.
    const answers = await Promise.all([
      messageStatus(s.t, ma, 'sent'), messageStatus(s.t, mb, 'sent'), messageStatus(s.t, mc, 'sent'),
      messageStatus(s.t, ma, 'delivered'), messageStatus(s.t, mb, 'delivered'), messageStatus(s.t, mc, 'undelivered'),
      messageStatus(s.t, ma, 'delivered'), messageStatus(s.t, mb, 'sent'),
    ]);
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(204));
    const delivered = await events(s, inc.id, 'page.delivered');
    expect(delivered.map((e) => e.data.pageId).sort()).toEqual([ma.pageId, mb.pageId].sort());
    const failed = await events(s, inc.id, 'page.failed');
    expect(failed.map((e) => e.data.pageId)).toEqual([mc.pageId]);
    const rows = await s.t.sql`SELECT id, status, twilio_status FROM pages WHERE id IN ${s.t.sql([ma.pageId, mb.pageId, mc.pageId])} ORDER BY id`;
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.twilio_status]]))).toEqual({
      [ma.pageId]: ['delivered', 'delivered'], [mb.pageId]: ['delivered', 'delivered'], [mc.pageId]: ['failed', 'undelivered'],
    });
    // The failover: the same person by voice, at once.
    await s.t.engine.tick();
    twilio.expectCall(s.c.phone);
    expect((await s.t.get(`/v1/incidents/${inc.id}/timeline/verify`, s.w.admin)).body.valid).toBe(true);
  });
});

describe('callbacks that arrive apart, within recordLingerMs', () => {
  /** The transaction of each page's 'delivered' record, by page. */
  async function deliveredTxids(s: Scene, ma: Sent, mb: Sent) {
    await s.t.sql.unsafe(`
      CREATE TABLE test_txids (page_id uuid, txid bigint);
      CREATE FUNCTION test_record_txid() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN INSERT INTO test_txids VALUES (NEW.id, txid_current()); RETURN NEW; END $f$;
      CREATE TRIGGER test_record_txid AFTER UPDATE ON pages FOR EACH ROW
        WHEN (NEW.twilio_status = 'delivered' AND OLD.twilio_status IS DISTINCT FROM 'delivered') EXECUTE FUNCTION test_record_txid();`);
    const first = messageStatus(s.t, ma, 'delivered');
    await new Promise((r) => setTimeout(r, 20));
    const second = messageStatus(s.t, mb, 'delivered');
    expect((await Promise.all([first, second])).map((r) => r.status)).toEqual([204, 204]);
    const rows = await s.t.sql<{ page_id: string; txid: string }[]>`SELECT page_id, txid FROM test_txids`;
    expect(rows.map((r) => r.page_id).sort()).toEqual([ma.pageId, mb.pageId].sort());
    return new Set(rows.map((r) => r.txid));
  }
  const policy = { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms'] }] };

  it.each([
    { recordLingerMs: 500, transactions: 1, what: 'a callback 20 ms after another waits for it: both are recorded in one transaction' },
    { recordLingerMs: 0, transactions: 2, what: 'with recordLingerMs 0 the same two are two transactions' },
  ])('$what', async ({ recordLingerMs, transactions }) => {
    const s = await scene({ policy, recordLingerMs });
    await sos(s);
    await s.t.engine.tick();
    const [ma, mb] = [twilio.expectSms(s.a.phone), twilio.expectSms(s.b.phone), twilio.expectSms(s.c.phone)];
    expect((await deliveredTxids(s, ma, mb)).size).toBe(transactions);
  });
});

describe('send records that come apart, within recordLingerMs', () => {
  it.each([
    { recordLingerMs: 500, what: 'the records of two SOS sent 20 ms apart share one transaction', one: true },
    { recordLingerMs: 0, what: 'with recordLingerMs 0 they do not', one: false },
  ])('$what', async ({ recordLingerMs, one }) => {
    const s = await scene({ recordLingerMs });
    await s.t.sql.unsafe(`
      CREATE TABLE test_txids (page_id uuid, txid bigint);
      CREATE FUNCTION test_record_txid() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN INSERT INTO test_txids VALUES (NEW.id, txid_current()); RETURN NEW; END $f$;
      CREATE TRIGGER test_record_txid AFTER UPDATE ON pages FOR EACH ROW
        WHEN (NEW.status = 'sent' AND OLD.status <> 'sent') EXECUTE FUNCTION test_record_txid();`);
    const other = await s.w.driver('Eve');
    twilio.ignore(other.phone);
    await sos(s);
    await new Promise((r) => setTimeout(r, 20));
    expect((await s.w.sos(other)).status).toBe(201);
    await s.t.engine.tick(); // and the sends' records
    for (let i = 0; i < 2; i++) (twilio.expectSms(s.a.phone), twilio.expectCall(s.a.phone));
    const rows = await s.t.sql<{ txid: string }[]>`SELECT txid FROM test_txids`;
    expect(rows).toHaveLength(4);
    const transactions = new Set(rows.map((r) => r.txid)).size;
    if (one) expect(transactions).toBe(1);
    else expect(transactions).toBeGreaterThan(1);
  });
});

describe('webhook signatures', () => {
  it('a forged or missing signature gets 403 and changes nothing; the secondary token is accepted', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.forget();
    const forged = await postSigned(s.t, '/webhooks/twilio/sms', { From: s.a.phone, Body: 'ACK' }, 'not-the-token');
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.text).error.code).toBe('bad_signature');
    const unsigned = await s.t.app.request('/webhooks/twilio/sms', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `From=${encodeURIComponent(s.a.phone)}&Body=ACK`,
    });
    expect(unsigned.status).toBe(403);
    const [page] = await s.t.sql`SELECT id FROM pages WHERE incident_id = ${inc.id} AND channel = 'voice'`;
    const fakeGather = await postSigned(s.t, `/webhooks/twilio/voice/gather?page=${page.id}`, { Digits: '1' }, 'wrong');
    expect(fakeGather.status).toBe(403);
    expect(await status(s, inc.id)).toBe('open');
    const rotated = await postSigned(s.t, '/webhooks/twilio/sms', { From: s.a.phone, Body: 'ACK' }, TWILIO.secondaryAuthToken);
    expect(rotated.status).toBe(200);
    expect(await status(s, inc.id)).toBe('acknowledged');
  });
});

describe('several engines on one database', () => {
  it('two engines ticking at once send each page exactly once', async () => {
    const s = await scene();
    const { wireNode } = await import('../src/entry/wire');
    const { connect } = await import('../src/db/client');
    const { createLogger } = await import('../src/log');
    const sql2 = connect(s.t.url, { max: 5 });
    const second = wireNode({ sql: sql2, log: createLogger({ level: 'silent' }), publicBaseUrl: 'https://mayday.test', twilio: TWILIO, schemaVersion: 1 });
    const incidents = [];
    for (let i = 0; i < 20; i++) incidents.push(await sos(s, { clientRequestId: randomUUID() }));
    const when = at(incidents[incidents.length - 1], 61);
    await Promise.all([s.t.engine.tick(when), second.engine.tick(when), s.t.engine.tick(when), second.engine.tick(when)]);
    await second.engine.stop();
    await sql2.end();
    const pageIds = new Set((await s.t.sql`SELECT id FROM pages WHERE incident_id = ANY(${incidents.map((i) => i.id)}::uuid[])`).map((r) => r.id));
    const perPage = new Map<string, number>();
    for (const m of twilio.accepted) if (pageIds.has(m.pageId)) perPage.set(m.pageId, (perPage.get(m.pageId) ?? 0) + 1);
    const n = pageIds.size;
    const ours = [...perPage.entries()];
    const [{ escalation }] = await s.t.sql`
      SELECT count(*)::int AS escalation FROM pages WHERE incident_id = ANY(${incidents.map((i) => i.id)}::uuid[]) AND purpose = 'page'`;
    expect(escalation).toBe(20 * 2 + 20 * 3 * 2); // step 0: A × 2 channels; step 1: A, B, C × 2 channels
    expect(ours).toHaveLength(n);
    expect(ours.filter(([, count]) => count !== 1)).toEqual([]);
    twilio.forget();
  });
});

describe('resolution', () => {
  it('two responders resolving at once: one wins, the other gets 409; nothing is paged afterwards', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.forget();
    const [r1, r2] = await Promise.all([
      s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'police_dispatched', note: 'unit 12' }, s.a.token),
      s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, s.lead.token),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([200, 409]);
    const winner = r1.status === 200 ? r1 : r2;
    expect(winner.body.incident.status).toBe('resolved');
    expect(await events(s, inc.id, 'incident.resolved')).toHaveLength(1);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(409);
    await s.t.engine.tick(at(inc, 600));
    twilio.expectNothingElse();
    expect((await s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'nope' }, s.a.token)).status).toBe(422);
  });
});
