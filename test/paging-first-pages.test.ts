// The first pages of an SOS: who gets them, what they say, and how they leave with the SOS's own
// call (claimed in its transaction, sent without a claim by the sender).
import { describe, expect, it, vi } from 'vitest';
import { openSos } from '../src/incidents/store';
import { claimPages } from '../src/paging/store';
import { claimsOf, events, intakeOf, pagingTests, POLICY, refuseClaimsWhereMade, sos, sosAtOnce, whileTwilioHolds } from './helpers/paging';
import { TWILIO } from './helpers/twilio';
import { until } from './helpers/wait';

const { twilio, scene } = pagingTests();

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

  it('the pages an SOS claims are born claimed: written once, never queued and then updated', async () => {
    const s = await scene();
    // A row written and then rewritten in one transaction leaves a dead version behind; a page
    // born claimed has none. Any UPDATE of pages during the SOS call is recorded here.
    await s.t.sql.unsafe(`
      CREATE TABLE test_page_updates (id uuid, status text);
      CREATE FUNCTION test_page_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO test_page_updates VALUES (OLD.id, OLD.status); RETURN NEW; END $$;
      CREATE TRIGGER test_page_update BEFORE UPDATE ON pages FOR EACH ROW EXECUTE FUNCTION test_page_update();`);
    const r = await openSos(s.t.sql, intakeOf(s), { leaseSeconds: 30, max: 10 });
    expect(r.claimed.map((p) => p.channel).sort()).toEqual(['sms', 'voice']);
    expect(await s.t.sql`SELECT * FROM test_page_updates`).toEqual([]);
    const pages = await s.t.sql`SELECT status, tries, lease_until > now() AS leased FROM pages WHERE incident_id = ${r.incident.id}`;
    expect(pages.map((p) => [p.status, p.tries, p.leased])).toEqual([['sending', 1, true], ['sending', 1, true]]);
    // Their page.queued events are written all the same, before any send.
    expect((await events(s, r.incident.id)).map((e) => e.type)).toEqual(['incident.opened', 'escalation.step', 'page.queued', 'page.queued']);
    await s.t.sql.unsafe('DROP TRIGGER test_page_update ON pages');
    s.t.deps.pager.sendClaimed(r.claimed);
    await s.t.deps.pager.idle();
    twilio.forget();
  });

  it('when answering the pages it claimed fails, the SOS is stored and its pages go back to the queue for the sender', async () => {
    const s = await scene();
    await s.t.sql.unsafe(`CREATE OR REPLACE FUNCTION claimed_pages(p_incident uuid, p_ids uuid[]) RETURNS jsonb
      LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test: no answer'; END $$`);
    const r = await openSos(s.t.sql, intakeOf(s), { leaseSeconds: 30, max: 10 });
    expect(r.created).toBe(true);
    expect(r.claimed).toEqual([]);
    const pages = await s.t.sql`SELECT status, tries, lease_until FROM pages WHERE incident_id = ${r.incident.id}`;
    expect(pages.map((p) => [p.status, p.tries, p.lease_until])).toEqual([['queued', 0, null], ['queued', 0, null]]);
  });

  it('a sender id that is not a uuid does not refuse an SOS: its pages are stored queued', async () => {
    const s = await scene();
    const o = intakeOf(s);
    const [row] = await s.t.sql.begin(async (tx) => {
      await tx`SELECT set_config('mayday.sender', 'not-a-uuid', true)`;
      return tx`SELECT created, pages FROM sos_open(${o.driverId}, gen_random_uuid(), 'app', 'robbery', 'critical', ${o.zoneId}, ${o.zoneRule},
                ${o.lat}, ${o.lng}, ${o.accuracyM}, now(), NULL, ${o.actor}, NULL, 30, 10)`;
    });
    expect(row.created).toBe(true);
    expect(row.pages).toEqual([]);
    const pages = await s.t.sql`SELECT p.status FROM pages p JOIN incidents i ON i.id = p.incident_id WHERE i.driver_id = ${o.driverId}`;
    expect(pages.map((p) => p.status)).toEqual(['queued', 'queued']);
  });

  it('pages Twilio took, whose records still wait, leave their room to the next SOS', async () => {
    const s = await scene({ maxInFlight: 2 });
    const pager = s.t.deps.pager;
    const other = pager.reserveRoom(0, { sos: true }); // an SOS call under way: records of sends wait
    await sos(s);
    await new Promise((r) => setTimeout(r, 50)); // its SMS and call went out; their records wait
    twilio.expectSms(s.a.phone);
    twilio.expectCall(s.a.phone);
    const room = vi.spyOn(pager, 'reserveRoom');
    const eli = await s.w.driver('Eli');
    expect((await s.w.sos(eli)).status).toBe(201);
    expect(room.mock.results[0].value).toBe(2); // the room is not taken by pages already sent
    pager.releaseRoom(other, { sos: true });
    await pager.idle();
    twilio.forget();
  });

  const QUEUED = "coalesce(p.status, '') = 'queued'";
  it("an incident's claim reads its own pages by key, not the queue's index, however long the queue", async () => {
    const s = await scene();
    const [{ plan }] = await s.t.sql<{ plan: string }[]>`
      SELECT string_agg(line, E'\n') AS plan FROM (SELECT * FROM pg_get_functiondef('claim_incident_pages(uuid,integer,integer)'::regprocedure) f(line)) x`;
    expect(plan).toContain(QUEUED);
    // As the function plans it (without sequential scans), with 2,000 other pages due in the queue.
    const other = await openSos(s.t.sql, intakeOf(s));
    await s.t.sql`
      INSERT INTO pages (incident_id, recipient_id, phone, channel, step, round, attempt, purpose)
      SELECT ${other.incident.id}, ${s.a.id}, '+15550009999', 'sms', 0, n, 1, 'page' FROM generate_series(1, 2000) n`;
    await s.t.sql`ANALYZE pages`;
    const explained = await s.t.sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      return tx.unsafe(`
        EXPLAIN (FORMAT JSON) SELECT p.id FROM pages p
        WHERE p.incident_id = gen_random_uuid() AND ${QUEUED} AND p.not_before <= now()
        ORDER BY p.not_before, p.step, p.recipient_id, p.channel LIMIT 10 FOR UPDATE SKIP LOCKED`);
    });
    expect(JSON.stringify(explained)).not.toContain('pages_due_idx');
  });

  it('SOS calls running at once each claim their own first pages: one does not take the sender\'s room from the others', async () => {
    // Room for three SOS calls' reservations of ten (SOS calls together hold at most half).
    const s = await scene({ maxInFlight: 60 });
    const drivers = [s.driver, await s.w.driver('Eli'), await s.w.driver('Fay')];
    for (const d of drivers.slice(1)) twilio.ignore(d.phone);
    const claims = await whileTwilioHolds(s, async () => {
      const presses = await sosAtOnce(s, drivers);
      for (const res of presses) expect(res.status).toBe(201);
      return claimsOf(s, presses.map((res) => res.body.incident.id));
    });
    for (let i = 0; i < 3; i++) {
      twilio.expectSms(s.a.phone, /ACK/);
      twilio.expectCall(s.a.phone);
    }
    expect(claims).toHaveLength(6);
    expect(claims.filter((c) => !(c.claimedWhereMade && c.status === 'sending'))).toHaveLength(0);
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

  it('a stopped sender (shutting down) tells the others at once of pages an SOS left queued, and of those it was about to announce', async () => {
    const s = await scene();
    const heard: number[] = [];
    const listener = await s.t.sql.listen('mayday_pages', () => heard.push(Date.now()));
    try {
      const pager = s.t.deps.pager;
      pager.queued(); // an announcement due in 25 ms...
      pager.stop(); // ...is sent now, not dropped
      await until('the first notice', () => heard.length >= 1, 2_000);
      pager.queued(); // an SOS that committed after the stop: its pages are for the others
      await until('the second notice', () => heard.length >= 2, 2_000);
    } finally {
      await listener.unlisten();
    }
  });

  it('the SOS call claims its first pages exactly as the sender\'s own claim would, in the SOS\'s own transaction, and no more than it may', async () => {
    const s = await scene({ policy: POLICY.supervisorsBoth });
    const o = intakeOf(s);
    const r = await openSos(s.t.sql, o, { leaseSeconds: 20, max: 4 });
    expect(r.claimed).toHaveLength(4); // of six: three supervisors by SMS and voice
    const [{ queued }] = await s.t.sql`SELECT count(*)::int AS queued FROM pages WHERE incident_id = ${r.incident.id} AND status = 'queued' AND tries = 0`;
    expect(queued).toBe(2);
    // Claimed in the SOS's transaction, so with the same now() the pages were made at: one commit
    // (one wait for the WAL to reach the disk) before the 201, not two.
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
    await refuseClaimsWhereMade(s);
    const room = vi.spyOn(s.t.deps.pager, 'reserveRoom');
    const wake = vi.spyOn(s.t.deps.pager, 'wake');
    const inc = await sos(s);
    expect(room.mock.results[0].value).toBeGreaterThan(0); // the call had room to claim, and its claim was refused
    expect(wake).toHaveBeenCalled();
    await s.t.deps.pager.idle(); // no tick
    twilio.expectSms(s.a.phone, new RegExp(`ACK ${inc.code}\\b`));
    twilio.expectCall(s.a.phone);
    // One try each: the refused claim's was rolled back with it.
    const pages = await s.t.sql`SELECT status, tries FROM pages WHERE incident_id = ${inc.id}`;
    expect(pages.map((p) => [p.status, p.tries])).toEqual([['sent', 1], ['sent', 1]]);
  });

  it('a page claimed by an SOS whose instance died before sending it is settled when its lease runs out: unknown, then a new attempt', async () => {
    const s = await scene();
    const o = intakeOf(s);
    // Claimed with the SOS, lease already over, and never sent: the instance is gone.
    const r = await openSos(s.t.sql, o, { leaseSeconds: 0, max: 10 });
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
    twilio.expectSms(s.c.phone, /Reply OK \d+$/); // the override's on-call readiness check (test/readiness.test.ts)
  });
});
