/**
 * The scene the paging tests (test/paging-*.test.ts) play in: a zone with a rotation, its
 * supervisors, a safety lead and a driver, on the real app with the Twilio stand-in; and the few
 * things those tests read from the database or make it do.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, expect } from 'vitest';
import { connect } from '../../src/db/client';
import type { OpenSos } from '../../src/incidents/store';
import type { PagingOptions } from '../../src/paging/pager';
import { testApp, type TestApp } from './app';
import { mockTwilio, TWILIO, type MockTwilio, type Sent } from './twilio';
import { square, world, type Person } from './world';

export interface Scene {
  t: TestApp;
  w: ReturnType<typeof world>;
  twilio: MockTwilio;
  zone: { id: string };
  a: Person; // on call now (rotation)
  b: Person; // next in the rotation
  c: Person; // zone supervisor, not in the rotation
  lead: Person; // safety lead (undefined with `leads: false`)
  driver: Person;
}

export interface SceneOptions {
  policy?: unknown;
  /** false: no safety lead at all. */
  leads?: boolean;
  twilioTimeoutMs?: number;
  maxInFlight?: number;
  recordLingerMs?: number;
  /** When a send Twilio has not answered is hedged (default: a minute, so that a test holding Twilio on purpose sees no hedge). */
  hedgeMs?: number;
  /** Other paging options (leases, resends). */
  paging?: Partial<PagingOptions>;
  /** The engine's longest wait once started (default 1 s). */
  sweepMs?: number;
}

/**
 * What every paging test file starts with: the Twilio stand-in, which fails a test that sent
 * anything the test did not take with expectSms / expectCall, and scenes that page through it.
 */
export function pagingTests() {
  const twilio = mockTwilio();
  afterEach(() => twilio.expectNothingElse());
  return { twilio, scene: (opts: SceneOptions = {}) => scene(twilio, opts) };
}

/** A zone with a rotation (A on call now, then B), a third supervisor C, a safety lead and a driver. */
async function scene(twilio: MockTwilio, opts: SceneOptions): Promise<Scene> {
  const t = await testApp({
    twilio: { ...TWILIO, timeoutMs: opts.twilioTimeoutMs ?? TWILIO.timeoutMs },
    paging: {
      // An unknown outcome's next attempt 0.5 to 1 s later: never inside the tick that saw it.
      callRetrySeconds: 30, backoffBaseMs: 50, backoffCapMs: 200, hedgeMs: opts.hedgeMs ?? 60_000, resendBaseMs: 1_000,
      ...(opts.maxInFlight ? { maxInFlight: opts.maxInFlight } : {}), ...(opts.recordLingerMs !== undefined ? { recordLingerMs: opts.recordLingerMs } : {}),
      ...opts.paging,
    },
    sweepMs: opts.sweepMs,
  });
  const w = world(t);
  // Check-ins are tested in test/lifecycle.test.ts: here the driver's check-in texts are not
  // expected one by one, and a missed one never re-escalates within a test's horizon.
  const zone = await w.zone('Zone', square(36.37, -94.2), { checkInGraceSeconds: 86_400 });
  const a = await w.responder('supervisor', [zone.id], 'Ava');
  const b = await w.responder('supervisor', [zone.id], 'Ben');
  const c = await w.responder('supervisor', [zone.id], 'Cy');
  const lead = opts.leads === false ? (undefined as unknown as Person) : await w.responder('safety_lead', [], 'Lee');
  const driver = await w.driver('Dana');
  twilio.ignore(driver.phone);
  await w.rotation(zone.id, [a.id, b.id]);
  if (opts.policy) expect((await t.put(`/v1/zones/${zone.id}/escalation-policy`, opts.policy, w.admin)).status).toBe(200);
  return { t, w, twilio, zone, a, b, c, lead, driver };
}

/** Escalation policies by whom their first step pages and how; a later step lies beyond a test's horizon. */
export const POLICY = {
  oncallSms: { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 600, notify: ['safety_leads'], channels: ['sms'] }] },
  oncallVoice: { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['voice'] }, { afterSeconds: 600, notify: ['safety_leads'], channels: ['sms'] }] },
  supervisorsSms: { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms'] }] },
  supervisorsBoth: { steps: [{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms', 'voice'] }] },
};

/** The scene's driver presses SOS (a robbery inside the zone unless `over` says otherwise). */
export async function sos(s: Scene, over: Record<string, unknown> = {}) {
  const res = await s.w.sos(s.driver, over);
  expect(res.status).toBe(201);
  return res.body.incident as { id: string; code: number; openedAt: string };
}

/** An SOS whose first pages, an SMS and a call to A, have gone out and been taken from the stand-in. */
export async function sosPaged(s: Scene) {
  const inc = await sos(s);
  await s.t.engine.tick();
  s.twilio.expectSms(s.a.phone);
  s.twilio.expectCall(s.a.phone);
  return inc;
}

/**
 * SOS presses by `drivers` that reach the database together: each call is held there (behind a
 * lock on incidents) until all are in flight, their room in the sender reserved, then all go at
 * once. Three at most: they take three of the test pool's five connections, and holding and
 * watching use connections of their own.
 */
export async function sosAtOnce(s: Scene, drivers: Person[]) {
  const held = connect(s.t.url, { max: 1 });
  const watch = connect(s.t.url, { max: 1 });
  let presses: ReturnType<Scene['w']['sos']>[] = [];
  try {
    await held.begin(async (tx) => {
      await tx`LOCK TABLE incidents IN EXCLUSIVE MODE`;
      presses = drivers.map((d) => s.w.sos(d));
      for (let i = 0; ; i++) {
        const [{ n }] = await watch<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%sos_open%'`;
        if (n === drivers.length) break;
        if (i === 300) throw new Error(`only ${n} SOS calls held`);
        await new Promise((r) => setTimeout(r, 10));
      }
    });
  } finally {
    await Promise.all([held.end(), watch.end()]);
  }
  return Promise.all(presses);
}

/** What the SOS route hands the store's openSos() for a robbery inside the scene's zone. */
export const intakeOf = (s: Scene): OpenSos => ({
  driverId: s.driver.id, clientRequestId: randomUUID(), source: 'app', kind: 'robbery', severity: 'critical',
  zoneId: s.zone.id, zoneRule: 'inside', lat: 36.37, lng: -94.2, accuracyM: 12, capturedAt: null, note: null, actor: 'driver:test',
});

/** The instant `seconds` after the incident opened: where a tick looks for what is due. */
export const at = (inc: { openedAt: string }, seconds: number) => new Date(Date.parse(inc.openedAt) + seconds * 1000);

/** The incident's timeline, oldest first; only events of `type` if given. */
export async function events(s: Scene, incidentId: string, type?: string) {
  const rows = await s.t.sql<{ type: string; data: any }[]>`
    SELECT type, data FROM incident_events WHERE incident_id = ${incidentId} ORDER BY seq`;
  return type ? rows.filter((r) => r.type === type) : rows;
}

export async function status(s: Scene, incidentId: string) {
  const [r] = await s.t.sql<{ status: string }[]>`SELECT status FROM incidents WHERE id = ${incidentId}`;
  return r.status;
}

/**
 * Run `act` while the Twilio stand-in answers every send 2 s late, so that the pages it sends
 * stay claimed ('sending', their lease set) meanwhile; then wait for every send to finish.
 */
export async function whileTwilioHolds<T>(s: Scene, act: () => Promise<T>): Promise<T> {
  s.twilio.answerAfter(2_000);
  try {
    return await act();
  } finally {
    s.twilio.answerAfter(0);
    await s.t.deps.pager.idle();
  }
}

/**
 * The escalation pages (purpose 'page') of these incidents, of one step if given, each with its
 * status and whether it was claimed in the transaction that made it: a page is made at its
 * transaction's now() and a claim leases it until its own transaction's now() plus leaseSeconds.
 * A recorded send clears the lease, so read it while Twilio holds the sends (whileTwilioHolds()).
 */
export async function claimsOf(s: Scene, incidentIds: string[], step?: number) {
  const lease = s.t.deps.pager.options.leaseSeconds;
  return s.t.sql<{ status: string; claimedWhereMade: boolean }[]>`
    SELECT status, coalesce(lease_until - created_at = make_interval(secs => ${lease}), false) AS "claimedWhereMade"
    FROM pages WHERE incident_id = ANY(${incidentIds}::uuid[]) AND purpose = 'page' AND (${step ?? null}::int IS NULL OR step = ${step ?? null}::int)`;
}

/**
 * From now on the database refuses to claim a page in the transaction that made it (the same
 * reading of the lease as claimsOf(), as a constraint): the claim inside an SOS call or an
 * escalation fails, and the sender's own claim, a transaction later, goes through.
 */
export async function refuseClaimsWhereMade(s: Scene) {
  const lease = Number(s.t.deps.pager.options.leaseSeconds);
  await s.t.sql.unsafe(`
    ALTER TABLE pages ADD CONSTRAINT test_no_claim_where_made
      CHECK (lease_until - created_at <> make_interval(secs => ${lease})) NOT VALID`);
}

/**
 * The transaction that recorded each event of `type`, by page. The timeline is append-only, so
 * an event's row is never rewritten and its xmin stays the id of the transaction that wrote it.
 */
export async function recordedIn(s: Scene, type: 'page.sent' | 'page.delivered') {
  return s.t.sql<{ pageId: string; txid: string }[]>`
    SELECT data->>'pageId' AS "pageId", xmin::text AS txid FROM incident_events WHERE type = ${type} ORDER BY seq`;
}

/**
 * An SOS whose first SMS to A has an unknown outcome (the fault set up by the caller): nothing
 * is sent again at once, page.unknown names a new attempt, and that attempt goes out after the
 * 10 s retry delay.
 */
export async function unknownThenNewAttempt(s: Scene): Promise<{ unknown: { data: any }; sms: Sent }> {
  const inc = await sos(s);
  await s.t.engine.tick();
  s.twilio.expectNothingElse();
  const [unknown] = await events(s, inc.id, 'page.unknown');
  expect(unknown.data.retryPageId).toEqual(expect.any(String));
  await s.t.engine.tick(new Date(Date.now() + 11_000));
  const sms = s.twilio.expectSms(s.a.phone);
  expect(sms.pageId).toBe(unknown.data.retryPageId);
  return { unknown, sms };
}
