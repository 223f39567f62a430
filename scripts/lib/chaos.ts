/**
 * What the chaos scripts (scripts/chaos-*.ts) share: their arguments, the world (one zone with a
 * short escalation policy, responders through the admin API, drivers in SQL), SOS flows that retry
 * as the app does, and an acknowledger playing the humans who answer pages. The end of a run and
 * the checks are in checks.ts.
 *
 * Everything runs on loopback: Mayday children, the Twilio stand-in (in this process) and the
 * database (DATABASE_URL's server with a scratch database, else an embedded PostgreSQL).
 * Every script: --short (bounded and quick, what CI runs), --seed N (choices replayable; random
 * when not given, and printed), --log-level L (Mayday's LOG_LEVEL, default silent; or
 * CHAOS_LOG_LEVEL). CHAOS_DUMP=<file>: chaos:kill and chaos:db write their raw records there.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import twilio from 'twilio';
import type { Sql } from '../../src/db/client';
import type { Standin, StandinRequest } from '../twilio-standin';
import { api, call, CENTER, sosBody, square } from './api';
import { insertDrivers } from './db';
import { prng, type Rand } from './random';
import { sayWithClock, sleep } from './run';
import type { Creds } from './twilio';

// --- arguments ------------------------------------------------------------------------------------

/**
 * --short, --seed N, --log-level L, plus the script's own options (read as `opts[name]`); the
 * run's seeded PRNG and its title (`name`, the flags set, the seed). Starts the clock of say().
 */
export function args(name: string, extra: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = {}) {
  sayWithClock();
  const { values } = parseArgs({
    options: { short: { type: 'boolean', default: false }, seed: { type: 'string' }, 'log-level': { type: 'string' }, ...extra },
    allowPositionals: false,
  });
  const v = values as Record<string, string | boolean | undefined>;
  const seed = v.seed === undefined ? Math.floor(Math.random() * 1e9) : Number(v.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer (got ${String(v.seed)})`);
  const flags = ['short', ...Object.keys(extra)].filter((k) => v[k] === true).map((k) => ` --${k}`).join('');
  return {
    opts: v,
    short: Boolean(v.short),
    seed,
    rand: prng(seed),
    title: `${name}${flags} (seed ${seed})`,
    /** Mayday's LOG_LEVEL (default silent; CHAOS_LOG_LEVEL works too). */
    logLevel: (v['log-level'] as string | undefined) ?? process.env.CHAOS_LOG_LEVEL ?? 'silent',
  };
}

// --- the world ---------------------------------------------------------------------------------------

/** Steps at 0 s, 3 s and 6 s; exhaustion 10 s after the last, then every 10 s: reachable in a short run. */
export const CHAOS_POLICY = {
  steps: [
    { afterSeconds: 0, notify: ['oncall'], channels: ['sms', 'voice'] },
    { afterSeconds: 3, notify: ['zone_supervisors'], channels: ['sms'] },
    { afterSeconds: 6, notify: ['safety_leads'], channels: ['sms', 'voice'] },
  ],
  repeatEverySeconds: 10,
};

export interface Person { id: string; phone: string; token: string }
export const PHONES = { S1: '+15552000001', S2: '+15552000002', S3: '+15552000003', L1: '+15552000009' };
/** Phone → who, for reports. */
export const NAMES: Record<string, string> = Object.fromEntries(Object.entries(PHONES).map(([k, v]) => [v, k]));
export interface World {
  zoneId: string;
  /** S1 is on call; S2 and S3 are the zone's other supervisors; L1 the safety lead. */
  S1: Person; S2: Person; S3: Person; L1: Person;
  drivers: { id: string; token: string }[];
}

/**
 * One zone with CHAOS_POLICY (check-ins an hour apart, so the run is about escalation), four
 * responders through the admin API, `nDrivers` drivers straight in SQL sharing one precomputed
 * PIN hash pair, each with its own token (their check-in texts, 30 s after an SOS, are pages too).
 */
export async function buildWorld(base: string, adminToken: string, sql: Sql, nDrivers: number): Promise<World> {
  const zone = await api<{ id: string }>(base, 'POST', '/v1/zones', adminToken, { name: 'Chaos', boundary: square(CENTER), checkInSeconds: 3600, checkInGraceSeconds: 3600 }, 201);
  const responder = async (name: string, phone: string, role: 'supervisor' | 'safety_lead') => {
    const r = await api<{ id: string; token: string }>(base, 'POST', '/v1/responders', adminToken, { name, phone, role, zoneIds: role === 'supervisor' ? [zone.id] : [] }, 201);
    return { id: r.id, phone, token: r.token };
  };
  const S1 = await responder('S1 on call', PHONES.S1, 'supervisor');
  const S2 = await responder('S2 supervisor', PHONES.S2, 'supervisor');
  const S3 = await responder('S3 supervisor', PHONES.S3, 'supervisor');
  const L1 = await responder('L1 safety lead', PHONES.L1, 'safety_lead');
  await api(base, 'PUT', `/v1/zones/${zone.id}/rotation`, adminToken, { responderIds: [S1.id], shiftMinutes: 1440, startsAt: new Date(Date.now() - 3_600_000).toISOString() }, 200);
  await api(base, 'PUT', `/v1/zones/${zone.id}/escalation-policy`, adminToken, CHAOS_POLICY, 200);
  const drivers = await insertDrivers(sql, { count: nDrivers, name: 'Chaos driver', phonePrefix: '+1557' });
  return { zoneId: zone.id, S1, S2, S3, L1, drivers };
}

// --- SOS flows ---------------------------------------------------------------------------------------

/** Who answers an incident's pages: the on-call (step 0), S2 (step 1), the safety lead (step 2), or nobody. */
export type AckPlan = 'S1' | 'S2' | 'L1' | 'never';

export interface Flow {
  i: number;
  driver: { id: string; token: string };
  clientRequestId: string;
  body: string;
  plan: AckPlan;
  startedAt?: number;
  /** The incident of the first 201/200. */
  incidentId?: string;
  code?: number;
  okAt?: number;
  /** Every incident id a 201/200 named (more than one would be a broken coalescing). */
  ids: Set<string>;
  gaveUp?: boolean;
}
export interface Answer { flow: number; attempt: number; target: string; sentAt: number; ms: number; status: number | null; error?: string; incidentId?: string }

/**
 * SOS flows, one per driver, as the app sends them: one clientRequestId per emergency, retried
 * with it (every 250–750 ms) until an answer 201/200 or `giveUpMs`. Every answer is recorded.
 */
export class SosLoad {
  flows: Flow[] = [];
  answers: Answer[] = [];

  private rr = 0;
  private running = new Set<Promise<void>>();

  constructor(
    world: World,
    n: number,
    private rand: Rand,
    /** The Mayday base URLs to spread over (round-robin); retries go to the next. */
    private targets: () => string[],
    mix: [AckPlan, number][] = [['S1', 0.3], ['S2', 0.25], ['L1', 0.15], ['never', 0.3]],
    private giveUpMs = 120_000,
  ) {
    if (n > world.drivers.length) throw new Error(`${n} flows need ${n} drivers`);
    for (let i = 0; i < n; i++) {
      let x = rand();
      let plan: AckPlan = 'never';
      for (const [p, w] of mix) if ((x -= w) < 0) { plan = p; break; }
      const body = sosBody({ n: i, random: rand, uuid: rand.uuid });
      this.flows.push({ i, driver: world.drivers[i], clientRequestId: JSON.parse(body).clientRequestId, body, plan, ids: new Set() });
    }
  }

  byRequestId = () => new Map(this.flows.map((f) => [f.clientRequestId, f]));

  /** Start the flows evenly over `seconds`; resolves when every flow has an answer or gave up. */
  async run(seconds: number): Promise<void> {
    const t0 = Date.now();
    for (const f of this.flows) {
      const at = t0 + (f.i * seconds * 1000) / this.flows.length;
      if (at > Date.now()) await sleep(at - Date.now());
      const p = this.flow(f);
      this.running.add(p);
      void p.finally(() => this.running.delete(p));
    }
    await Promise.all([...this.running]);
  }

  private async flow(f: Flow) {
    f.startedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      const targets = this.targets();
      const target = targets.length ? targets[this.rr++ % targets.length] : undefined;
      const sentAt = Date.now();
      const a: Answer = { flow: f.i, attempt, target: target ?? '-', sentAt, ms: 0, status: null };
      if (target) {
        try {
          const res = await call(target, 'POST', '/v1/sos', f.driver.token, f.body, 10_000);
          a.status = res.status;
          const text = res.text;
          if (res.status === 201 || res.status === 200) {
            const inc = (JSON.parse(text) as { incident: { id: string; code: number } }).incident;
            a.incidentId = inc.id;
            f.ids.add(inc.id);
            f.incidentId ??= inc.id;
            f.code ??= inc.code;
          } else a.error = text.slice(0, 200);
        } catch (e) {
          a.error = ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
        }
      } else a.error = 'no instance up';
      a.ms = Date.now() - sentAt;
      this.answers.push(a);
      if (a.incidentId) {
        f.okAt = Date.now();
        return;
      }
      if (Date.now() - f.startedAt > this.giveUpMs) {
        f.gaveUp = true;
        return;
      }
      await sleep(this.rand.between(250, 750));
    }
  }
}

// --- the humans who answer pages ---------------------------------------------------------------------

/**
 * Plays the responders: for every page the stand-in accepted, if the incident's plan says this
 * recipient answers, after 200–1500 ms it replies "ACK <code>" to an SMS page (POST to the SMS
 * webhook) or presses 1 on a page call (POST to the <Gather> action), signed as Twilio signs.
 * One try per page, as a person would; a webhook that fails (Mayday down) is just counted.
 */
export class Acker {
  private cursor = 0;
  private pending: StandinRequest[] = [];
  private timer?: ReturnType<typeof setInterval>;
  private busy = false;
  private inflight = new Set<Promise<void>>();
  stats = { considered: 0, sms: 0, voice: 0, ok: 0, failed: 0, why: {} as Record<string, number> };
  /** Every webhook sent: when, how long it took, what came of it. */
  log: { at: number; ms: number; kind: 'sms' | 'call'; outcome: string }[] = [];

  constructor(
    private o: {
      standin: Standin;
      sql: Sql;
      creds: Creds;
      load: SosLoad;
      world: World;
      rand: Rand;
      /** Where SMS replies go (Twilio's inbound webhook URL); default: the page's StatusCallback origin. */
      smsBase?: () => string | undefined;
    },
  ) {}

  start() {
    this.timer = setInterval(() => void this.poll(), 150);
  }
  async stop() {
    clearInterval(this.timer);
    await Promise.allSettled([...this.inflight]);
  }

  private async poll() {
    if (this.busy) return;
    this.busy = true;
    try {
      const fresh = this.o.standin.requests(this.cursor);
      this.cursor += fresh.length;
      this.pending.push(...fresh.filter((r) => (r.outcome === 'accepted' || r.outcome === 'hang') && r.pageId));
      if (!this.pending.length) return;
      const ids = [...new Set(this.pending.map((r) => r.pageId!))];
      const rows = await this.o.sql<{ id: string; purpose: string; code: number; client_request_id: string }[]>`
        SELECT p.id, p.purpose, i.code, i.client_request_id FROM pages p JOIN incidents i ON i.id = p.incident_id WHERE p.id = ANY(${ids}::uuid[])`;
      const byId = new Map(rows.map((r) => [r.id, r]));
      const flows = this.o.load.byRequestId();
      const phoneOf: Record<AckPlan, string | undefined> = { S1: this.o.world.S1.phone, S2: this.o.world.S2.phone, L1: this.o.world.L1.phone, never: undefined };
      const keep: StandinRequest[] = [];
      for (const r of this.pending) {
        const row = byId.get(r.pageId!);
        if (!row) {
          // Not committed yet, or the database is down: look again (a page row always exists before its send).
          if (Date.now() - r.at < 30_000) keep.push(r);
          continue;
        }
        this.stats.considered++;
        const flow = flows.get(row.client_request_id);
        if (!flow || !['page', 'failover', 'retry', 'repage'].includes(row.purpose) || phoneOf[flow.plan] !== r.to) continue;
        const p = (async () => {
          await sleep(this.o.rand.between(200, 1500));
          await this.answer(r, row.code);
        })();
        this.inflight.add(p);
        void p.finally(() => this.inflight.delete(p));
      }
      this.pending = keep;
    } catch {
      /* the database is being restarted: the pending pages wait for the next poll */
    } finally {
      this.busy = false;
    }
  }

  private async answer(r: StandinRequest, code: number) {
    const { creds } = this.o;
    const base = { AccountSid: creds.sid, ApiVersion: '2010-04-01' };
    let url: string;
    let params: Record<string, string>;
    if (r.kind === 'sms') {
      const origin = this.o.smsBase?.() ?? new URL(r.statusCallback!).origin;
      url = `${origin}/webhooks/twilio/sms`;
      const sid = 'SM' + randomBytes(16).toString('hex');
      params = { ...base, MessageSid: sid, SmsSid: sid, From: r.to, To: r.from, Body: `ACK ${code}`, NumMedia: '0' };
      this.stats.sms++;
    } else {
      url = r.statusCallback!.replace('/webhooks/twilio/voice/status', '/webhooks/twilio/voice/gather');
      params = { ...base, CallSid: r.sid ?? '', CallStatus: 'in-progress', Direction: 'outbound-api', From: r.from, To: r.to, Digits: '1' };
      this.stats.voice++;
    }
    const at = Date.now();
    const done = (outcome: string) => this.log.push({ at, ms: Date.now() - at, kind: r.kind, outcome });
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(creds.token, url, params) },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(10_000),
      });
      await res.text();
      done(String(res.status));
      if (res.ok) this.stats.ok++;
      else this.fail(String(res.status));
    } catch (e) {
      const why = ((e as Error).cause as { code?: string } | undefined)?.code ?? (e as Error).name;
      done(why);
      this.fail(why);
    }
  }
  private fail(why: string) {
    this.stats.failed++;
    this.stats.why[why] = (this.stats.why[why] ?? 0) + 1;
  }
}

/**
 * A run's scenario, begun: the world with `n` drivers (made through `base`), their SOS flows (to
 * `targets`, default `base`; see SosLoad), and the acker, started. The flows start with load.run().
 */
export async function startScenario(o: {
  base: string; adminToken: string; sql: Sql; standin: Standin; creds: Creds; rand: Rand; n: number;
  targets?: () => string[]; giveUpMs?: number; smsBase?: () => string | undefined;
}) {
  const world = await buildWorld(o.base, o.adminToken, o.sql, o.n);
  const load = new SosLoad(world, o.n, o.rand, o.targets ?? (() => [o.base]), undefined, o.giveUpMs);
  const acker = new Acker({ standin: o.standin, sql: o.sql, creds: o.creds, load, world, rand: o.rand, smsBase: o.smsBase });
  acker.start();
  return { world, load, acker };
}
