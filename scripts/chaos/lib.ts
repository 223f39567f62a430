/**
 * Pieces shared by the chaos scripts (scripts/chaos-*.ts): arguments, a seeded PRNG, the world
 * (one zone with a short escalation policy, responders through the admin API, drivers in SQL),
 * SOS flows that retry as the app does, an acknowledger playing the humans who answer pages, the
 * drain at the end, the checks every script makes against the stand-in and the database, and
 * the PASS/FAIL summary.
 *
 * Everything runs on loopback: Mayday children, the Twilio stand-in (in this process) and the
 * database (DATABASE_URL's server with a scratch database, else an embedded PostgreSQL).
 * Every script: --short (bounded and quick, what CI runs), --seed N (choices replayable; random
 * when not given, and printed), --log-level L (Mayday's LOG_LEVEL, default silent; or
 * CHAOS_LOG_LEVEL). CHAOS_DUMP=<file>: chaos:kill and chaos:db write their raw records there.
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import twilio from 'twilio';
import { hashPin, newToken } from '../../src/auth/crypto';
import type { Sql } from '../../src/db/client';
import type { Standin, StandinRequest } from '../twilio-standin';
import { cleanup, pct, sleep } from '../bench/harness';

const T0 = Date.now();
export const say = (msg: string) => process.stderr.write(`chaos ${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s: ${msg}\n`);
export { sleep, pct };

// --- arguments ------------------------------------------------------------------------------------

/** --short, --seed N, --log-level L, plus the script's own options (read as `opts[name]`). */
export function args(extra: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = {}) {
  const { values } = parseArgs({
    options: { short: { type: 'boolean', default: false }, seed: { type: 'string' }, 'log-level': { type: 'string' }, ...extra },
    allowPositionals: false,
  });
  const v = values as Record<string, string | boolean | undefined>;
  const seed = v.seed === undefined ? Math.floor(Math.random() * 1e9) : Number(v.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer (got ${String(v.seed)})`);
  return {
    opts: v,
    short: Boolean(v.short),
    seed,
    /** Mayday's LOG_LEVEL (default silent; CHAOS_LOG_LEVEL works too). */
    logLevel: (v['log-level'] as string | undefined) ?? process.env.CHAOS_LOG_LEVEL ?? 'silent',
  };
}

/** mulberry32: seeded, so a run's choices (kinds, who answers, when to kill) can be replayed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, {
    between: (lo: number, hi: number) => lo + next() * (hi - lo),
    int: (lo: number, hi: number) => Math.floor(lo + next() * (hi - lo + 1)),
    pick: <X>(xs: readonly X[]) => xs[Math.floor(next() * xs.length)],
    uuid: () => {
      const h = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    },
  });
}
export type Rand = ReturnType<typeof prng>;

// --- Twilio credentials and the environment of a Mayday child ---------------------------------------

export function twilioCreds() {
  return { sid: 'AC' + randomBytes(16).toString('hex'), token: randomBytes(20).toString('hex'), from: '+15550100000' };
}
export type Creds = ReturnType<typeof twilioCreds>;

export function maydayEnv(o: { port: number; databaseUrl?: string; dataDir: string; adminToken: string; creds: Creds; standinUrl: string; logLevel: string }) {
  return {
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
    DATA_DIR: o.dataDir,
    ADMIN_TOKEN: o.adminToken,
    LOG_LEVEL: o.logLevel,
    LOG_FORMAT: 'json',
    DEMO: 'false',
    PUBLIC_BASE_URL: `http://127.0.0.1:${o.port}`,
    TWILIO_ACCOUNT_SID: o.creds.sid,
    TWILIO_AUTH_TOKEN: o.creds.token,
    TWILIO_FROM_NUMBER: o.creds.from,
    TWILIO_API_BASE_URL: o.standinUrl,
  };
}

/** Until GET /readyz answers 200 (polled every 25 ms); answers Date.now() at that moment. */
export async function readyAt(base: string, exited: () => string | undefined, timeoutMs = 120_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const gone = exited();
    if (gone) throw new Error(`Mayday exited before it was ready (${gone})`);
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1_000) });
      const at = Date.now();
      await res.text();
      if (res.status === 200) return at;
      last = String(res.status);
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(25);
  }
  throw new Error(`Mayday at ${base} not ready after ${timeoutMs / 1000} s (last: ${last})`);
}

// --- HTTP ------------------------------------------------------------------------------------------

export async function api<T>(base: string, method: string, path: string, token: string, body: unknown, want: number): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== want) throw new Error(`${method} ${path} answered ${res.status} (expected ${want}): ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** A query that may meet a database being restarted: tried again for up to `ms`. */
export async function retrying<T>(what: string, fn: () => Promise<T>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw new Error(`${what}: ${(e as Error).message}`);
      await sleep(250);
    }
  }
}

// --- the world ---------------------------------------------------------------------------------------

export const CENTER = { lat: 36.37, lng: -94.2 };
const HALF = 0.05;
const KINDS = ['robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other'] as const;

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
  const square = {
    type: 'Polygon' as const,
    coordinates: [[[CENTER.lng - HALF, CENTER.lat - HALF], [CENTER.lng + HALF, CENTER.lat - HALF], [CENTER.lng + HALF, CENTER.lat + HALF],
      [CENTER.lng - HALF, CENTER.lat + HALF], [CENTER.lng - HALF, CENTER.lat - HALF]]],
  };
  const zone = await api<{ id: string }>(base, 'POST', '/v1/zones', adminToken, { name: 'Chaos', boundary: square, checkInSeconds: 3600, checkInGraceSeconds: 3600 }, 201);
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
  const [cancelHash, duressHash] = await Promise.all([hashPin('1234'), hashPin('9999')]);
  const rows = await sql<{ id: string }[]>`
    INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash)
    SELECT 'driver', 'Chaos driver ' || g, '+1557' || lpad(g::text, 7, '0'), ${cancelHash}, ${duressHash} FROM generate_series(1, ${nDrivers}::int) g
    RETURNING id`;
  const tokens = rows.map(() => newToken('drv'));
  await sql`INSERT INTO tokens (token_hash, user_id)
    SELECT * FROM unnest(${tokens.map((t) => createHash('sha256').update(t).digest('hex'))}::text[], ${rows.map((d) => d.id)}::uuid[])`;
  return { zoneId: zone.id, S1, S2, S3, L1, drivers: rows.map((r, i) => ({ id: r.id, token: tokens[i] })) };
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
      const body = JSON.stringify({
        clientRequestId: rand.uuid(),
        kind: KINDS[i % KINDS.length],
        location: { lat: Math.round((CENTER.lat + rand.between(-0.5, 0.5) * HALF) * 1e6) / 1e6, lng: Math.round((CENTER.lng + rand.between(-0.5, 0.5) * HALF) * 1e6) / 1e6, accuracyM: 5 + (i % 40) },
      });
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
          const res = await fetch(`${target}/v1/sos`, {
            method: 'POST', headers: { authorization: `Bearer ${f.driver.token}`, 'content-type': 'application/json' }, body: f.body,
            signal: AbortSignal.timeout(10_000),
          });
          a.status = res.status;
          const text = await res.text();
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

// --- the end of a run ---------------------------------------------------------------------------------

/**
 * Until every incident has an incident.acknowledged or escalation.exhausted event (or `ms` passes).
 * Answers the incidents that got neither.
 */
export async function waitAckOrExhaustion(sql: Sql, ms: number, alive: () => void = () => {}): Promise<{ open: string[]; waitedMs: number }> {
  const t0 = Date.now();
  for (;;) {
    alive();
    const rows = await retrying('ack/exhaustion', () => sql<{ id: string }[]>`
      SELECT i.id FROM incidents i
      WHERE NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND e.type IN ('incident.acknowledged', 'escalation.exhausted'))`);
    if (!rows.length || Date.now() - t0 > ms) return { open: rows.map((r) => r.id), waitedMs: Date.now() - t0 };
    await sleep(250);
  }
}

/**
 * The end of a run: first the pages stuck right now (queued and due for over 5 s, or sending
 * with a lease run out over 2 s ago: the sweep acts every second), then every incident not
 * resolved yet is resolved through the API as the safety lead, so that paging and check-ins stop
 * and the run can drain. Answers how many were resolved (and how many of them were still open).
 */
export async function closeAll(sql: Sql, base: () => string, lead: Person): Promise<{ resolved: number; open: number; stuck: string[] }> {
  const stuck = await retrying('stuck pages', () => sql<{ id: string; status: string; purpose: string; channel: string; attempt: number }[]>`
    SELECT id, status, purpose, channel, attempt FROM pages
    WHERE (status = 'queued' AND not_before < now() - interval '5 seconds') OR (status = 'sending' AND lease_until < now() - interval '2 seconds')`);
  const rows = await sql<{ id: string; status: string }[]>`SELECT id, status FROM incidents WHERE status <> 'resolved'`;
  let resolved = 0;
  for (const { id } of rows) {
    await retrying(`resolve ${id}`, async () => {
      const res = await fetch(`${base()}/v1/incidents/${id}/resolve`, {
        method: 'POST', headers: { authorization: `Bearer ${lead.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ disposition: 'resolved_safe', note: 'chaos run over' }), signal: AbortSignal.timeout(10_000),
      });
      await res.text();
      if (res.status !== 200 && res.status !== 409) throw new Error(`answered ${res.status}`);
      if (res.status === 200) resolved++;
    }, 30_000);
  }
  return {
    resolved,
    open: rows.filter((r) => r.status === 'open').length,
    stuck: stuck.map((r) => `page ${r.id} (${r.purpose} ${r.channel} attempt ${r.attempt}) ${r.status} past its time before the end`),
  };
}

/**
 * Until nothing is queued (due) or sending, the stand-in has no request in its handler and no
 * callback still to send, and none of that has changed for `quietMs` — or `ms` passes.
 */
export async function drain(sql: Sql, standin: Standin, ms: number, quietMs = 1_500, alive: () => void = () => {}) {
  const t0 = Date.now();
  let last = '';
  let since = Date.now();
  for (;;) {
    alive();
    const [row] = await retrying('drain', () => sql<{ queued: number; sending: number }[]>`
      SELECT count(*) FILTER (WHERE status = 'queued' AND not_before <= now())::int AS queued, count(*) FILTER (WHERE status = 'sending')::int AS sending FROM pages`);
    const s = standin.stats();
    const key = `${row.queued}/${row.sending}/${s.received}/${s.callbacks.sent + s.callbacks.failed}/${s.inflight}/${s.pendingCallbacks}`;
    if (key !== last) (last = key), (since = Date.now());
    const idle = row.queued === 0 && row.sending === 0 && s.inflight === 0 && s.pendingCallbacks === 0;
    if ((idle && Date.now() - since >= quietMs) || Date.now() - t0 > ms) return { ...row, inflight: s.inflight, waitedMs: Date.now() - t0, idle };
    await sleep(200);
  }
}

// --- checks -------------------------------------------------------------------------------------------

export interface Check { name: string; ok: boolean; figures: string; details?: string[] }
export const check = (name: string, ok: boolean, figures: string, details?: string[]): Check => ({ name, ok, figures, details: ok ? undefined : details?.slice(0, 12) });

/** Every flow answered 201/200, every answer's incident stored, one incident per flow and nothing else. */
export async function checkStored(sql: Sql, load: SosLoad): Promise<Check> {
  const named = new Set(load.answers.filter((a) => a.incidentId).map((a) => a.incidentId!));
  const stored = await sql<{ id: string; driver_id: string; client_request_id: string }[]>`SELECT id, driver_id, client_request_id FROM incidents`;
  const have = new Set(stored.map((r) => r.id));
  const missing = [...named].filter((id) => !have.has(id));
  const split = load.flows.filter((f) => f.ids.size > 1);
  const unanswered = load.flows.filter((f) => !f.incidentId);
  const flowOf = load.byRequestId();
  const extra = stored.filter((r) => !flowOf.has(r.client_request_id));
  const perFlow = new Map<string, number>();
  for (const r of stored) perFlow.set(r.client_request_id, (perFlow.get(r.client_request_id) ?? 0) + 1);
  const doubled = [...perFlow].filter(([, n]) => n > 1);
  const n201 = load.answers.filter((a) => a.status === 201).length;
  const n200 = load.answers.filter((a) => a.status === 200).length;
  const ok = !missing.length && !split.length && !unanswered.length && !extra.length && !doubled.length;
  return check('every SOS answered 201/200 is stored (one incident per SOS)', ok,
    `${load.flows.length} SOS, ${n201} × 201 + ${n200} × 200 answers naming ${named.size} incidents; ${stored.length} stored; missing ${missing.length}, ` +
    `never answered ${unanswered.length}, one SOS → two incidents ${split.length + doubled.length}, unexpected ${extra.length}`,
    [...missing.map((id) => `answered but not stored: ${id}`), ...unanswered.map((f) => `SOS ${f.i} never answered 201/200`),
      ...split.map((f) => `SOS ${f.i} answered with ${[...f.ids].join(', ')}`), ...doubled.map(([c, n]) => `clientRequestId ${c}: ${n} incidents`)]);
}

export function checkAckOrExhaustion(total: number, open: string[], waitedMs: number): Check {
  return check('every incident reached an acknowledgement or exhaustion', open.length === 0,
    `${total - open.length}/${total} (waited ${(waitedMs / 1000).toFixed(1)} s after the load)`, open.map((id) => `incident ${id}: neither incident.acknowledged nor escalation.exhausted`));
}

export function checkExactlyOnce(standin: Standin): Check {
  const s = standin.stats();
  const counts = Object.values(s.pages ?? {});
  return check('no page accepted twice by Twilio (per page id ≤ 1)', s.duplicates.length === 0,
    `${counts.length} page ids accepted, max per page ${Math.max(0, ...counts)}, ${s.duplicates.length} accepted more than once`,
    s.duplicates.map((d) => `page ${d.pageId} accepted ${d.accepted} times`));
}

export async function checkTimelines(sql: Sql): Promise<Check> {
  const rows = await sql<{ id: string; valid: boolean; n: number }[]>`SELECT i.id, v.valid, v.event_count AS n FROM incidents i CROSS JOIN LATERAL timeline_verify(i.id) v`;
  const bad = rows.filter((r) => !r.valid);
  return check('every timeline verifies (timeline_verify)', bad.length === 0 && rows.length > 0,
    `${rows.length - bad.length}/${rows.length} valid, ${rows.reduce((a, r) => a + r.n, 0)} events`, bad.map((r) => `incident ${r.id}: timeline_verify says invalid`));
}

interface PageRow {
  id: string; incident_id: string; status: string; purpose: string; channel: string; attempt: number; sid: string | null; not_before: Date;
  failed_ev: boolean; unknown_ev: boolean; has_next: boolean; acked_before_unknown: boolean; incident_status: string;
}

/**
 * The pages table against the stand-in's record, after the drain:
 *  - nothing queued (due) or sending, nor stuck before the end (`stuckBefore`, from closeAll);
 *  - sent/delivered/voicemail: accepted exactly once, with the SID Mayday stored;
 *  - failed: a page.failed event; canceled: never accepted;
 *  - unknown: a page.unknown event and a next attempt (unless it was the last attempt or the
 *    incident no longer needed paging);
 *  - every page the stand-in accepted has a row in a state that says so;
 *  - every incident had at least one page accepted.
 */
export async function checkPages(sql: Sql, standin: Standin, stuckBefore: string[] = [], maxAttempts = 3): Promise<{ checks: Check[]; byStatus: Record<string, number>; unknownByLease: number }> {
  const rows = await sql<PageRow[]>`
    SELECT p.id, p.incident_id, p.status, p.purpose, p.channel, p.attempt, p.sid, p.not_before, i.status AS incident_status,
      EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = p.incident_id AND e.type = 'page.failed' AND e.data ->> 'pageId' = p.id::text) AS failed_ev,
      EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = p.incident_id AND e.type = 'page.unknown' AND e.data ->> 'pageId' = p.id::text) AS unknown_ev,
      EXISTS (SELECT 1 FROM pages r WHERE r.incident_id = p.incident_id AND r.recipient_id = p.recipient_id AND r.channel = p.channel
              AND r.step = p.step AND r.round = p.round AND r.attempt = p.attempt + 1) AS has_next,
      EXISTS (SELECT 1 FROM incident_events a JOIN incident_events u ON u.incident_id = a.incident_id
              WHERE a.incident_id = p.incident_id AND a.type IN ('incident.acknowledged', 'incident.resolved', 'cancel.requested')
                AND u.type = 'page.unknown' AND u.data ->> 'pageId' = p.id::text AND a.seq < u.seq) AS acked_before_unknown
    FROM pages p JOIN incidents i ON i.id = p.incident_id`;
  const byLease = await sql<{ page_id: string }[]>`
    SELECT data ->> 'pageId' AS page_id FROM incident_events WHERE type = 'page.unknown' AND data ->> 'error' = 'sender stopped while sending'`;
  const by_lease = byLease.length;
  const s = standin.stats();
  const accepted = s.pages ?? {};
  const leaseAccepted = byLease.filter((r) => accepted[r.page_id]).length;
  const sidOf = new Map<string, string>();
  for (const r of standin.requests()) if (r.pageId && r.sid) sidOf.set(r.pageId, r.sid);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const now = Date.now();
  const stuck = rows.filter((r) => r.status === 'sending' || (r.status === 'queued' && r.not_before.getTime() < now - 2_000));
  const badSent = rows.filter((r) => ['sent', 'delivered', 'voicemail'].includes(r.status) && (accepted[r.id] !== 1 || sidOf.get(r.id) !== r.sid));
  const failedNoEvent = rows.filter((r) => r.status === 'failed' && !r.failed_ev);
  const canceledSent = rows.filter((r) => r.status === 'canceled' && accepted[r.id]);
  const unknown = rows.filter((r) => r.status === 'unknown');
  const unknownBad = unknown.filter((r) => !r.unknown_ev || (!r.has_next && r.attempt < maxAttempts && !r.acked_before_unknown
    && !(['page', 'failover', 'retry'].includes(r.purpose) && r.incident_status !== 'open')));
  const rowById = new Map(rows.map((r) => [r.id, r]));
  const orphanAccepts = Object.keys(accepted).filter((id) => !rowById.has(id) || ['queued', 'canceled'].includes(rowById.get(id)!.status));
  const pagedIncidents = new Set(Object.keys(accepted).map((id) => rowById.get(id)?.incident_id).filter(Boolean));
  const incidents = await sql<{ id: string }[]>`SELECT id FROM incidents`;
  const neverPaged = incidents.filter((i) => !pagedIncidents.has(i.id));
  const fmtStatus = Object.entries(byStatus).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  return {
    byStatus,
    unknownByLease: by_lease,
    checks: [
      check('nothing stuck in queued/sending (before the end, and after the drain)', stuck.length === 0 && stuckBefore.length === 0,
        `${rows.length} pages: ${fmtStatus}; stuck before the end ${stuckBefore.length}, after the drain ${stuck.length}`,
        [...stuckBefore, ...stuck.map((r) => `page ${r.id} (${r.purpose} ${r.channel} attempt ${r.attempt}) still ${r.status} after the drain`)]),
      check('every sent/delivered page was accepted exactly once, with the SID stored', badSent.length === 0 && orphanAccepts.length === 0,
        `${rows.filter((r) => ['sent', 'delivered', 'voicemail'].includes(r.status)).length} sent/delivered/voicemail; ${badSent.length} not matching the stand-in; ` +
        `${orphanAccepts.length} accepted pages with no row or a queued/canceled row`,
        [...badSent.map((r) => `page ${r.id} ${r.status} sid ${r.sid}: stand-in accepted it ${accepted[r.id] ?? 0}× (sid ${sidOf.get(r.id)})`),
          ...orphanAccepts.map((id) => `page ${id} accepted by the stand-in but ${rowById.get(id)?.status ?? 'has no row'}`)]),
      check('no page dropped: every failed page has page.failed, no canceled page went out', failedNoEvent.length === 0 && canceledSent.length === 0,
        `${byStatus.failed ?? 0} failed (${failedNoEvent.length} without page.failed), ${byStatus.canceled ?? 0} canceled (${canceledSent.length} of them accepted)`,
        [...failedNoEvent.map((r) => `page ${r.id} failed without a page.failed event`), ...canceledSent.map((r) => `page ${r.id} canceled but accepted`)]),
      check('every unknown outcome has page.unknown and a next attempt', unknownBad.length === 0,
        `${unknown.length} unknown (${by_lease} by lease expiry, ${leaseAccepted} of which Twilio had taken), ${unknown.filter((r) => r.has_next).length} with a next attempt, ${unknownBad.length} wrong`,
        unknownBad.map((r) => `page ${r.id} unknown: event ${r.unknown_ev}, next attempt ${r.has_next}, attempt ${r.attempt}, incident ${r.incident_status}`)),
      check('every incident was paged (a page accepted by Twilio)', neverPaged.length === 0,
        `${incidents.length - neverPaged.length}/${incidents.length}`, neverPaged.map((i) => `incident ${i.id} never reached the stand-in`)),
    ],
  };
}

// --- report ---------------------------------------------------------------------------------------------

export function report(title: string, facts: string[], checks: Check[], warnings: string[] = []): boolean {
  const ok = checks.every((c) => c.ok);
  const L: string[] = ['', `${title}: ${ok ? 'PASS' : 'FAIL'}`];
  for (const f of facts) L.push(`  ${f}`);
  L.push('');
  for (const c of checks) {
    L.push(`  [${c.ok ? 'PASS' : 'FAIL'}] ${c.name}: ${c.figures}`);
    for (const d of c.details ?? []) L.push(`           ${d}`);
  }
  for (const w of warnings) L.push(`  warning: ${w}`);
  L.push('', `${title}: ${ok ? 'PASS' : `FAIL (${checks.filter((c) => !c.ok).length} of ${checks.length} properties violated)`}`, '');
  process.stdout.write(L.join('\n'));
  return ok;
}

export const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : '-');
export const tally = (xs: (string | number | null | undefined)[]) => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(String(x), (m.get(String(x)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ');
};

/**
 * Run a chaos script: a crash prints a FAIL line (a run that did not complete never reads as a
 * pass), and the children and scratch databases are cleaned up whatever happened.
 */
export function runChaos(name: string, title: string, main: () => Promise<void>) {
  main()
    .catch((e) => {
      process.stderr.write(`${name}: failed: ${(e as Error).stack ?? e}\n`);
      process.stdout.write(`\n${title}: FAIL (the run did not complete: ${(e as Error).message.split('\n')[0]})\n`);
      process.exitCode = 1;
    })
    .finally(async () => {
      await cleanup();
      process.exit();
    });
}
