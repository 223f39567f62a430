/**
 * `npm run bench:paging`: how close paging comes to the physical floor of this machine, as
 * ratios measured side by side in one run (absolute times on a shared machine are context only).
 *
 * Processes: Mayday (src/entry/node.ts) with Twilio credentials and TWILIO_API_BASE_URL pointing
 * at the Twilio stand-in (scripts/twilio-standin.ts, its own child process: it signs and sends
 * status callbacks back to Mayday as Twilio would), the bare server of bench:intake
 * (scripts/bench/bare-server.ts), and this process (load, measurement, a sink for the callbacks
 * of requests it sends the stand-in itself). One scratch database (DATABASE_URL's server, else
 * the embedded PostgreSQL). Times are epoch milliseconds from each process's
 * performance.timeOrigin + now() (the stand-in records when each request arrived); the offset
 * between this process's clock and the stand-in's is measured and printed.
 *
 * World: zone A (rotation: one on-call supervisor; policy: at 0 s the on-call by SMS and voice),
 * zone B (at 0 s the on-call by SMS, at 60 s a second supervisor by SMS), zone C (at 0 s every zone
 * supervisor by SMS; BENCH_FANOUT supervisors). Responders through the admin API; drivers and zone
 * C's supervisors straight in SQL (the API hashes two PINs per driver, ~100 ms), all drivers
 * sharing one precomputed PIN hash pair, each with a token of its own (sha256 hex stored).
 *
 * Floor: measured alone and sequentially (BENCH_FLOOR_SAMPLES each, interleaved, after a
 * warm-up): (a) POST /bare of the bare server (one INSERT … RETURNING), (b) POST Messages.json to
 * the stand-in. floor = p99(a) + p99(b) (the p99 of the per-sample sums a_i + b_i is printed too).
 * 1,000 samples each by default, as many as metric 1 has SOS: with 200, a p99 was the second
 * highest of 200 and the floor swung 14–23 ms between runs on a quiet machine.
 *
 * 1. SOS sent → first Twilio request: BENCH_SOS_RATE SOS/s, open loop, for BENCH_SOS_SECONDS
 *    (after BENCH_SOS_WARMUP s not counted), each from a distinct driver with a new
 *    clientRequestId. Per incident: the first stand-in arrival of any of its pages (page id from
 *    the StatusCallback's `page`, mapped to incidents through the pages table) minus the moment
 *    the SOS request was sent. p99 ÷ floor, goal ≤ 3. The incidents are then resolved through
 *    the API (before their first check-in). The first BENCH_SOS_WARMUP seconds are a warm-up,
 *    printed apart and not counted: until the pools have opened their connections, V8 has
 *    optimized the hot code and every database process has planned its statements, answers ran
 *    up to ~1.4 s for about 3 s after a start with pools of 16 + 12 (0.09–0.13 s at p99 with 6 + 3).
 * 2. Escalation lateness: BENCH_ARMED incidents of zone B inserted in SQL at step 0 (a delivered
 *    step-0 page each, check-ins off), then armed in one UPDATE: step-1 deadlines (esc_next_at)
 *    spread evenly over BENCH_ESC_WINDOW s, the first 3 s later. Lateness = first stand-in arrival
 *    of the incident's step-1 page minus its deadline; split at the escalation batch's start
 *    (the step-1 page's created_at). p99 ÷ metric 1's p99, goal ≤ 2. The window defaults to
 *    BENCH_ARMED ÷ BENCH_SOS_RATE (100 s): the escalations come due at metric 1's rate, so the
 *    ratio compares like with like and asks what 10,000 armed incidents and the timer path add.
 *    (BENCH_ESC_WINDOW=10, 1,000 escalations a second, measures a load ten times metric 1's
 *    instead: on two cores it shows how far behind the engine falls, not its timing.)
 * 3. Fan-out: one SOS in zone C → BENCH_FANOUT pages. Pages/s = (n − 1) ÷ (last − first arrival
 *    at the stand-in). Then autocannon in this process sends the stand-in as many POSTs with as
 *    many connections as Mayday used to it (distinct TCP connections: Node's keep-alive agent
 *    opens one only when all are busy, so that is Mayday's peak of requests in flight), the same
 *    shape (StatusCallback to a sink here, so the stand-in also does the same callback work), and
 *    its accept rate is measured the same way. Ratio, goal ≥ 0.5.
 * Between phases the run waits until Mayday has nothing queued or sending and the stand-in's
 * callbacks have stopped. During each phase pg_stat_activity is sampled (every 100 ms) for
 * Mayday's connections, and CPU use is read from /proc: each process, the database backends of
 * our connections, the host's steal (time the hypervisor ran another tenant on this virtual
 * machine's cores: quick runs of the same code that met metric 1 at 1.6 saw almost none, and one
 * at 3.2 up to 14 % of the machine) and the rest of the machine ("others": a shared machine's
 * other work; the run warns when steal exceeds a fifth of a core or others half a core). CPU per SOS and per
 * escalation are printed: they say how many cores the rate asked for needs.
 *
 * Env: BENCH_SOS_RATE (100), BENCH_SOS_SECONDS (10), BENCH_SOS_WARMUP (5 s: see metric 1), BENCH_FLOOR_SAMPLES (1000),
 * BENCH_ARMED (10000), BENCH_ESC_WINDOW (BENCH_ARMED ÷ BENCH_SOS_RATE s, 100), BENCH_FANOUT (1000), BENCH_CALLBACK_DELAY_MS (250:
 * the stand-in's delay before each status callback), BENCH_CALLBACKS (on|off), BENCH_LOG_LEVEL
 * (Mayday's LOG_LEVEL, default silent), BENCH_DUMP (a path prefix: raw data of metric 1 written to <prefix>.m1.json, of metric 3 to <prefix>.m3.json),
 * BENCH_PROFILE (a directory: Mayday runs with --cpu-prof and writes its CPU profile there when it stops),
 * BENCH_DISK_PROBE (on|off: scripts/bench/disk-probe.ts, a flush of the disk 10 ms after the last, in
 * BENCH_DISK_PROBE_DIR, default the temporary directory: it should be on the database's disk; the run
 * prints how many flushes took 50 ms or more in each phase, and which SOS of metric 1 waited
 * through one: a quick run's SOS stall of 242 ms began within 10 ms of a 221 ms flush of the probe).
 * Exits 0 whether the goals are met or not; non-zero on errors: a page accepted twice by the
 * stand-in, an SOS not answered 201, an incident never paged, a page that failed, a callback
 * Mayday refused with a 4xx (a timeout or 5xx under overload is a warning), a process that died.
 */
import autocannon from 'autocannon';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { hashPin, newToken } from '../src/auth/crypto';
import { parseConfig } from '../src/config/env';
import { connect, type Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';
import { startDiskProbe, type DiskProbe } from './bench/disk-probe';
import type { StandinRequest } from './twilio-standin';
import {
  children, cleanup, codeVersion, cpuDelta, cpuSample, cpuSeconds, fmt, freePort, intEnv, now, onCleanup, pad, pct, say, scratchDatabase, sleep, startChild,
  waitReady, type Child, type CpuSample,
} from './bench/harness';

const RATE = intEnv('BENCH_SOS_RATE', 100);
const ARMED = intEnv('BENCH_ARMED', 10_000);
const cfg = {
  rate: RATE,
  seconds: intEnv('BENCH_SOS_SECONDS', 10),
  warmup: intEnv('BENCH_SOS_WARMUP', 5, 0),
  floorSamples: intEnv('BENCH_FLOOR_SAMPLES', 1000),
  armed: ARMED,
  window: intEnv('BENCH_ESC_WINDOW', Math.max(1, Math.ceil(ARMED / RATE))), // metric 1's rate
  fanout: intEnv('BENCH_FANOUT', 1000),
  callbackDelayMs: intEnv('BENCH_CALLBACK_DELAY_MS', 250, 0),
  callbacks: (process.env.BENCH_CALLBACKS || 'on') !== 'off',
  maydayLogLevel: process.env.BENCH_LOG_LEVEL || 'silent',
};
const STEP1_AFTER_S = 60; // zone B's second step
const DISK_STALL_MS = 50; // a flush this slow is the disk's, not the load's (p99 of the probe alone: under 1 ms)
const LEAD_S = 3; // first metric-2 deadline, after the incidents are armed

const twilioCreds = { sid: 'AC' + randomBytes(16).toString('hex'), token: randomBytes(20).toString('hex'), from: '+15550100000' };
const failures: string[] = [];
const warnings: string[] = [];

// --- geography ----------------------------------------------------------------------------------

const CENTERS = { A: { lat: 36.37, lng: -94.2 }, B: { lat: 36.57, lng: -94.2 }, C: { lat: 36.77, lng: -94.2 } };
const HALF = 0.05;
const square = ({ lat, lng }: { lat: number; lng: number }) => ({
  type: 'Polygon' as const,
  coordinates: [[[lng - HALF, lat - HALF], [lng + HALF, lat - HALF], [lng + HALF, lat + HALF], [lng - HALF, lat + HALF], [lng - HALF, lat - HALF]]],
});
const KINDS = ['robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other'] as const;
let seq = 0;
function sosBody(c: { lat: number; lng: number }) {
  const n = seq++;
  return JSON.stringify({
    clientRequestId: randomUUID(),
    kind: KINDS[n % KINDS.length],
    location: { lat: Math.round((c.lat + (Math.random() - 0.5) * HALF) * 1e6) / 1e6, lng: Math.round((c.lng + (Math.random() - 0.5) * HALF) * 1e6) / 1e6, accuracyM: 5 + (n % 40) },
  });
}

// --- HTTP helpers -------------------------------------------------------------------------------

/**
 * The client of the measured requests (the SOS at rate, both halves of the floor, the /healthz
 * probe): node:http over one keep-alive pool. It shares the two cores with Mayday, so it should
 * cost as little as it can: undici's fetch took about 0.2 of a core at 100 SOS/s, node:http
 * about half of that. The floor and the load go through the same client, so the ratio still
 * compares like with like. Rejects on a network error or after `timeoutMs`.
 */
const benchAgent = new Agent({ keepAlive: true, maxSockets: 512 });
function send(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...o.headers, ...(o.body !== undefined ? { 'content-length': String(Buffer.byteLength(o.body)) } : {}) };
    const req = httpRequest(url, { method: o.method ?? 'GET', agent: benchAgent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error(`no answer within ${o.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

async function api<T>(base: string, method: string, path: string, token: string, body: unknown, want: number): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== want) throw new Error(`${method} ${path} answered ${res.status} (expected ${want}): ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * Mayday's event-loop delay since the previous scrape, in ms: prom-client's default metrics
 * (monitorEventLoopDelay, 10 ms resolution) are reset at every scrape of /metrics, so a scrape
 * before a phase and one after it give the phase's own figures. Undefined if /metrics fails.
 */
async function loopDelay(base: string, adminToken: string): Promise<{ p50: number; p99: number; max: number } | undefined> {
  try {
    const r = await send(`${base}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (r.status !== 200) return undefined;
    const ms = (name: string) => Number(new RegExp(`^mayday_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(r.text)?.[1]) * 1000;
    return { p50: ms('p50'), p99: ms('p99'), max: ms('max') };
  } catch {
    return undefined;
  }
}

/** Run `n` jobs with at most `width` at once. */
async function pool(n: number, width: number, job: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await job(next++);
  }));
}

/** A place for the status callbacks of requests this process sends the stand-in: 204 to all. */
async function callbackSink(): Promise<{ url: string; count: () => number; server: Server }> {
  let count = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup('close the callback sink', () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, count: () => count, server };
}

// --- the stand-in, seen from here ------------------------------------------------------------------

type StandinStats = { received: number; accepted: number; unauthorized: number; invalid: number; faults: Record<string, number>; callbacks: { sent: number; failed: number; why: Record<string, number>; lastError: string };
  inflight: number; maxInflight: number; openConnections: number; connections: number; pages: Record<string, number>; duplicates: { pageId: string; accepted: number }[]; now: number };

class StandinView {
  all: StandinRequest[] = [];
  private cursor = 0;
  constructor(readonly child: Child) {}
  get url() {
    return this.child.base;
  }
  async stats(pages = true): Promise<StandinStats> {
    return (await (await fetch(`${this.url}/_standin/stats${pages ? '' : '?pages=false'}`, { signal: AbortSignal.timeout(30_000) })).json()) as StandinStats;
  }
  /** Until it has accepted `target` requests in all (polling its counters only: nothing here loads the database). */
  async waitAccepted(target: number, timeoutMs: number, alive: () => void): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      alive();
      if ((await this.stats(false)).accepted >= target) return;
      await sleep(100);
    }
  }
  /** Fetch the requests it received since the last pull. */
  async pull(): Promise<StandinRequest[]> {
    const r = (await (await fetch(`${this.url}/_standin/requests?since=${this.cursor}`, { signal: AbortSignal.timeout(30_000) })).json()) as { requests: StandinRequest[]; next: number };
    this.all.push(...r.requests);
    this.cursor = r.next;
    return r.requests;
  }
  /** Its clock minus ours, from the quickest of a few round trips (ms). */
  async clockOffset(): Promise<{ offset: number; rtt: number }> {
    let best = { offset: 0, rtt: Infinity };
    for (let i = 0; i < 15; i++) {
      const t0 = now();
      const s = await this.stats(false);
      const t1 = now();
      if (t1 - t0 < best.rtt) best = { offset: s.now - (t0 + t1) / 2, rtt: t1 - t0 };
    }
    return best;
  }
}

const basicAuth = 'Basic ' + Buffer.from(`${twilioCreds.sid}:${twilioCreds.token}`).toString('base64');
const PAGE_BODY = 'Mayday #12345 ROBBERY (critical) - Bench driver 17 needs help at 36.370012,-94.200031 (±12 m, 2 s ago) in Bench zone. Map: https://maps.google.com/?q=36.370012,-94.200031 Reply ACK 12345 to take it.';
function standinPost(url: string, to: string, callback: string) {
  return send(`${url}/2010-04-01/Accounts/${twilioCreds.sid}/Messages.json`, {
    method: 'POST',
    headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ To: to, From: twilioCreds.from, Body: PAGE_BODY, StatusCallback: callback }).toString(),
  });
}

// --- database sampling --------------------------------------------------------------------------------

/** Mayday's two pool sizes, as it reads them from this environment (it inherits DATABASE_POOL_SIZE and DATABASE_INTAKE_POOL_SIZE). */
const MAYDAY_POOLS = parseConfig({ DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE, DATABASE_INTAKE_POOL_SIZE: process.env.DATABASE_INTAKE_POOL_SIZE }).pool;

/** pg_stat_activity of Mayday's connections every 100 ms while a phase runs. */
class ActivitySampler {
  private timer?: ReturnType<typeof setInterval>;
  private busy = false;
  samples = 0;
  waits = new Map<string, number>();
  queries = new Map<string, number>();
  active = 0;
  constructor(private sql: Sql) {}
  start() {
    this.timer = setInterval(() => void this.sample(), 100);
  }
  stop() {
    clearInterval(this.timer);
  }
  private async sample() {
    if (this.busy) return;
    this.busy = true;
    try {
      const rows = await this.sql<{ wait: string | null; q: string }[]>`
        SELECT CASE WHEN wait_event IS NULL THEN 'on CPU' ELSE wait_event_type || ':' || wait_event END AS wait,
               regexp_replace(left(query, 200), '\\s+', ' ', 'g') AS q
        FROM pg_stat_activity WHERE application_name IN ('mayday', 'mayday-intake') AND state = 'active' AND pid <> pg_backend_pid()`;
      this.samples++;
      this.active += rows.length;
      for (const r of rows) {
        this.waits.set(r.wait ?? '?', (this.waits.get(r.wait ?? '?') ?? 0) + 1);
        const q = r.q.replace(/^\s*(SELECT|WITH)\s+/i, (m) => m.toUpperCase()).slice(0, 70);
        this.queries.set(q, (this.queries.get(q) ?? 0) + 1);
      }
    } catch {
      /* a sample lost is no matter */
    } finally {
      this.busy = false;
    }
  }
  summary(): string[] {
    if (!this.samples) return ['  (no samples)'];
    const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / this.samples).toFixed(2)} ${k}`);
    return [
      `  busy Mayday connections, mean: ${(this.active / this.samples).toFixed(2)} of ${MAYDAY_POOLS.main} + ${MAYDAY_POOLS.intake} (${this.samples} samples)`,
      `  by wait:  ${top(this.waits, 5).join(' | ') || '-'}`,
      ...top(this.queries, 4).map((q, i) => `  ${i ? '          ' : 'by query: '}${q}`),
    ];
  }
}

interface Phase {
  name: string;
  cpu?: ReturnType<typeof cpuDelta>;
  /** % of one core used by the database backends serving Mayday and the bare server (not other clients of the server). */
  pgOurs?: number;
  secs?: number;
  activity: ActivitySampler;
  startCpu?: CpuSample;
  startBackends?: Map<number, number>;
  /** Epoch ms: when the phase began and ended (for the disk probe). */
  from?: number;
  to?: number;
}

// --- main ---------------------------------------------------------------------------------------------

async function main() {
  const t0 = performance.now();
  const db = await scratchDatabase();
  const diskDir = process.env.BENCH_DISK_PROBE_DIR || os.tmpdir();
  const disk: DiskProbe | undefined = process.env.BENCH_DISK_PROBE === 'off' ? undefined : startDiskProbe(diskDir);
  if (disk) onCleanup('stop the disk probe', () => disk.stop());
  const sql: Sql = connect(db.url, { max: 4, applicationName: 'mayday-bench' });
  onCleanup('close the scratch pool', () => sql.end({ timeout: 2 }));
  await migrate(sql, loadMigrations());
  await sql`CREATE TABLE bench_bare (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;
  const [{ server_version: pgVersion }] = await sql<{ server_version: string }[]>`SHOW server_version`;

  // Processes.
  const sink = await callbackSink();
  const standinPort = await freePort();
  const standinChild = startChild('twilio-standin', 'scripts/twilio-standin.ts', standinPort,
    { TWILIO_ACCOUNT_SID: twilioCreds.sid, TWILIO_AUTH_TOKEN: twilioCreds.token },
    ['--port', String(standinPort), '--callback-delay-ms', String(cfg.callbackDelayMs), '--stdin-lifeline', ...(cfg.callbacks ? [] : ['--no-callbacks'])]);
  const adminToken = randomBytes(24).toString('base64url');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'mayday-bench-data-'));
  onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  const maydayPort = await freePort();
  const mayday = startChild('mayday', 'src/entry/node.ts', maydayPort, {
    DATABASE_URL: db.url, ADMIN_TOKEN: adminToken, LOG_LEVEL: cfg.maydayLogLevel, LOG_FORMAT: 'json', DEMO: 'false', DATA_DIR: dataDir,
    PUBLIC_BASE_URL: `http://127.0.0.1:${maydayPort}`, TWILIO_ACCOUNT_SID: twilioCreds.sid, TWILIO_AUTH_TOKEN: twilioCreds.token,
    TWILIO_FROM_NUMBER: twilioCreds.from, TWILIO_API_BASE_URL: `http://127.0.0.1:${standinPort}`,
  }, [], process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);
  const bare = startChild('bare-server', 'scripts/bench/bare-server.ts', await freePort(), { DATABASE_URL: db.url });
  await Promise.all([waitReady(mayday, '/readyz'), waitReady(bare, '/healthz'), waitReady(standinChild, '/_standin/stats')]);
  const standin = new StandinView(standinChild);
  const clock = await standin.clockOffset();
  say(`mayday ${mayday.base} (pid ${mayday.proc.pid}), stand-in ${standin.url} (pid ${standinChild.proc.pid}), bare ${bare.base}; stand-in clock offset ${clock.offset.toFixed(2)} ms (rtt ${clock.rtt.toFixed(2)} ms)`);
  const alive = () => {
    for (const c of children) if (c.exited) throw new Error(`${c.name} exited (${c.exitInfo}); its output ends:\n${c.tail()}`);
  };
  const M = mayday.base;

  // --- world ---
  const zone = (name: string, c: { lat: number; lng: number }) => api<{ id: string }>(M, 'POST', '/v1/zones', adminToken, { name, boundary: square(c) }, 201);
  const [zA, zB, zC] = [await zone('Bench A', CENTERS.A), await zone('Bench B', CENTERS.B), await zone('Bench C', CENTERS.C)];
  const responder = (name: string, phone: string, zoneId: string) =>
    api<{ id: string; token: string; phone: string }>(M, 'POST', '/v1/responders', adminToken, { name, phone, role: 'supervisor', zoneIds: [zoneId] }, 201);
  const supA = await responder('A on call', '+15551000001', zA.id);
  const supB1 = await responder('B on call', '+15551000002', zB.id);
  const supB2 = await responder('B second', '+15551000003', zB.id);
  const startsAt = new Date(Date.now() - 3_600_000).toISOString();
  await api(M, 'PUT', `/v1/zones/${zA.id}/rotation`, adminToken, { responderIds: [supA.id], shiftMinutes: 1440, startsAt }, 200);
  await api(M, 'PUT', `/v1/zones/${zB.id}/rotation`, adminToken, { responderIds: [supB1.id], shiftMinutes: 1440, startsAt }, 200);
  const policy = (steps: unknown[]) => ({ steps, repeatEverySeconds: 86_400 });
  await api(M, 'PUT', `/v1/zones/${zA.id}/escalation-policy`, adminToken, policy([{ afterSeconds: 0, notify: ['oncall'], channels: ['sms', 'voice'] }]), 200);
  await api(M, 'PUT', `/v1/zones/${zB.id}/escalation-policy`, adminToken, policy([
    { afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: STEP1_AFTER_S, notify: [supB2.id], channels: ['sms'] }]), 200);
  await api(M, 'PUT', `/v1/zones/${zC.id}/escalation-policy`, adminToken, policy([{ afterSeconds: 0, notify: ['zone_supervisors'], channels: ['sms'] }]), 200);

  // Drivers and zone C's supervisors in SQL.
  const nDrivers = cfg.rate * (cfg.seconds + cfg.warmup) + 10;
  const [cancelHash, duressHash] = await Promise.all([hashPin('1234'), hashPin('9999')]);
  const drivers = await sql<{ id: string }[]>`
    INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash)
    SELECT 'driver', 'Bench driver ' || g, '+1557' || lpad(g::text, 7, '0'), ${cancelHash}, ${duressHash} FROM generate_series(1, ${nDrivers}::int) g
    RETURNING id`;
  const tokens = drivers.map(() => newToken('drv'));
  await sql`INSERT INTO tokens (token_hash, user_id)
    SELECT * FROM unnest(${tokens.map((t) => createHash('sha256').update(t).digest('hex'))}::text[], ${drivers.map((d) => d.id)}::uuid[])`;
  await sql`
    WITH u AS (INSERT INTO users (role, name, phone) SELECT 'supervisor', 'C supervisor ' || g, '+1558' || lpad(g::text, 7, '0') FROM generate_series(1, ${cfg.fanout}::int) g RETURNING id)
    INSERT INTO responder_zones (responder_id, zone_id) SELECT id, ${zC.id} FROM u`;
  let nextDriver = 0;
  const driver = () => {
    if (nextDriver >= drivers.length) throw new Error('out of drivers');
    return { id: drivers[nextDriver].id, token: tokens[nextDriver++] };
  };
  say(`world: 3 zones, 3 responders (API), ${drivers.length} drivers and ${cfg.fanout} zone-C supervisors (SQL)`);

  const pagesOf = async (incidentIds: string[]) =>
    sql<{ id: string; incident_id: string; step: number; status: string }[]>`SELECT id, incident_id, step, status FROM pages WHERE incident_id = ANY(${incidentIds}::uuid[])`;
  /** Until no page of these incidents is queued or sending and `done` holds. */
  async function settle(what: string, incidentIds: string[], done: () => Promise<boolean>, timeoutMs: number) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      alive();
      const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE incident_id = ANY(${incidentIds}::uuid[]) AND status IN ('queued', 'sending')`;
      if (n === 0 && (await done())) return;
      if (Date.now() > until) throw new Error(`${what}: not settled after ${timeoutMs / 1000} s (${n} pages still queued or sending)`);
      await sleep(200);
    }
  }
  /** Until Mayday sends nothing and the stand-in's callbacks have stopped (quiet for `quietMs`). */
  async function quiesce(quietMs: number) {
    let last = '';
    let since = Date.now();
    const until = Date.now() + 120_000;
    for (;;) {
      alive();
      const s = await standin.stats(false);
      const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE status IN ('queued', 'sending') AND not_before <= now()`;
      const key = `${s.received}/${s.callbacks.sent}/${s.callbacks.failed}/${n}/${s.inflight}`;
      if (key !== last) (last = key), (since = Date.now());
      if (n === 0 && s.inflight === 0 && Date.now() - since >= quietMs) return;
      if (Date.now() > until) throw new Error(`not quiet after 120 s (stand-in ${key})`);
      await sleep(200);
    }
  }

  const phases: Phase[] = [];
  const backends = async () => {
    const rows = await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('mayday', 'mayday-intake', 'mayday-bench-bare')`;
    return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]).filter((e): e is [number, number] => e[1] !== undefined));
  };
  const begin = async (name: string): Promise<Phase> => {
    const p: Phase = { name, activity: new ActivitySampler(sql), startBackends: await backends(), startCpu: cpuSample([mayday.proc.pid, standinChild.proc.pid, bare.proc.pid]), from: now() };
    p.activity.start();
    phases.push(p);
    return p;
  };
  const end = async (p: Phase) => {
    p.to = now();
    p.activity.stop();
    p.cpu = cpuDelta(p.startCpu!, cpuSample([mayday.proc.pid, standinChild.proc.pid, bare.proc.pid]));
    const secs = (p.secs = (performance.now() - p.startCpu!.at) / 1000);
    let used = 0;
    for (const [pid, t] of await backends()) used += t - (p.startBackends!.get(pid) ?? 0);
    p.pgOurs = (used / secs) * 100;
  };

  // --- smoke: one SOS end to end, callbacks accepted ---
  let smokeId = '';
  {
    const d = driver();
    const res = await api<{ incident: { id: string; zoneId: string } }>(M, 'POST', '/v1/sos', d.token, JSON.parse(sosBody(CENTERS.A)), 201);
    if (res.incident.zoneId !== zA.id) throw new Error(`the zone A location did not land in zone A: ${JSON.stringify(res.incident)}`);
    await settle('smoke SOS', [res.incident.id], async () => true, 15_000);
    await quiesce(cfg.callbacks ? cfg.callbackDelayMs * 3 + 300 : 300);
    const s = await standin.stats();
    const pages = await pagesOf([res.incident.id]);
    if (s.unauthorized) throw new Error(`the stand-in refused Mayday's credentials (${s.unauthorized}×401)`);
    if (pages.length !== 2 || pages.some((p) => s.pages[p.id] !== 1)) throw new Error(`smoke SOS: pages ${JSON.stringify(pages)}, stand-in saw ${JSON.stringify(s.pages)}`);
    if (cfg.callbacks && (s.callbacks.failed || pages.some((p) => p.status !== 'delivered')))
      throw new Error(`smoke SOS: callbacks not taken (${s.callbacks.failed} refused, last: ${s.callbacks.lastError}); pages ${JSON.stringify(pages)}`);
    await standin.pull();
    smokeId = res.incident.id;
    say(`smoke SOS paged the on-call by SMS and voice; ${s.callbacks.sent} signed callbacks accepted`);
  }

  // --- floor ---
  const floorA: number[] = [];
  const floorB: number[] = [];
  {
    const p = await begin('floor');
    const bareBody = sosBody(CENTERS.A);
    for (let i = -20; i < cfg.floorSamples; i++) {
      let t = now();
      const ra = await send(`${bare.base}/bare`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bareBody });
      const a = now() - t;
      t = now();
      const rb = await standinPost(standin.url, '+15559990000', `${sink.url}/status?page=floor-${i}`);
      const b = now() - t;
      if (ra.status !== 201 || rb.status !== 201) throw new Error(`floor: bare answered ${ra.status}, stand-in ${rb.status}`);
      if (i >= 0) floorA.push(a), floorB.push(b);
    }
    await end(p);
    await standin.pull();
  }
  const floorP99 = pct(floorA, 99) + pct(floorB, 99);
  const floorSumP99 = pct(floorA.map((a, i) => a + floorB[i]), 99);
  say(`floor: bare p99 ${fmt(pct(floorA, 99), 2)} ms + stand-in p99 ${fmt(pct(floorB, 99), 2)} ms = ${fmt(floorP99, 2)} ms`);

  // --- metric 1: SOS → first Twilio request ---
  interface Sos { i: number; sentAt: number; answeredAt?: number; status?: number; incidentId?: string; retried?: number; error?: string }
  const soses: Sos[] = [];
  const healthz: number[] = [];
  let m1Loop: Awaited<ReturnType<typeof loopDelay>>;
  const total = cfg.rate * (cfg.warmup + cfg.seconds);
  const warmN = cfg.rate * cfg.warmup;
  const acceptedBefore1 = (await standin.stats(false)).accepted;
  const p1 = await begin('1. SOS at rate');
  {
    const interval = 1000 / cfg.rate;
    const inflight: Promise<void>[] = [];
    const fire = async (s: Sos, d: { token: string }, body: string) => {
      // As the app does: on a network error, the same request again (same clientRequestId: it coalesces), up to 3 tries.
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await send(`${M}/v1/sos`, { method: 'POST', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' }, body });
          const text = res.text;
          s.answeredAt = now();
          s.status = res.status;
          // 201, or 200 for a retry whose first try had been taken after all
          if (res.status === 201 || (res.status === 200 && attempt > 1)) s.incidentId = (JSON.parse(text) as { incident: { id: string } }).incident.id;
          else s.error = text.slice(0, 300);
          return;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          s.error = `${(e as Error).message}${code ? ` (${code})` : ''}`;
          s.retried = attempt;
          if (attempt >= 3) return;
        }
      }
    };
    say(`metric 1: ${total} SOS at ${cfg.rate}/s (${warmN} warm-up)`);
    await loopDelay(M, adminToken); // resets the event-loop delay histogram: what follows is this phase's
    // Mayday's event loop, seen from outside: GET /healthz (no database) every 100 ms meanwhile.
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t = now();
        try {
          await send(`${M}/healthz`);
          healthz.push(now() - t);
        } catch {
          healthz.push(NaN);
        }
        await sleep(100);
      }
    })();
    const start = now() + 20;
    for (let i = 0; i < total; i++) {
      const wait = start + i * interval - now();
      if (wait > 0.5) await sleep(wait);
      const d = driver();
      const s: Sos = { i, sentAt: now() };
      soses.push(s);
      inflight.push(fire(s, d, sosBody(CENTERS.A)));
    }
    await Promise.all(inflight);
    probing = false;
    await prober;
    m1Loop = await loopDelay(M, adminToken);
    await standin.waitAccepted(acceptedBefore1 + 2 * soses.filter((s) => s.incidentId).length, 60_000, alive);
    await end(p1);
    const ids = soses.filter((s) => s.incidentId).map((s) => s.incidentId!);
    await settle('metric 1', ids, async () => {
      const [{ n }] = await sql<{ n: number }[]>`SELECT count(DISTINCT incident_id)::int AS n FROM pages WHERE incident_id = ANY(${ids}::uuid[])`;
      return n === ids.length;
    }, 60_000);
  }
  await standin.pull();
  const m1Ids = soses.filter((s) => s.incidentId).map((s) => s.incidentId!);
  for (const s of soses) if (!s.incidentId) failures.push(`metric 1: SOS #${s.i} answered ${s.status ?? 'nothing'} after ${s.retried ?? 0} network errors: ${s.error}`);
  const retriedSos = soses.filter((s) => s.retried && s.incidentId).length;
  if (retriedSos) warnings.push(`metric 1: ${retriedSos} SOS went through only after a network error and a retry (last error: ${soses.find((s) => s.retried && s.incidentId)?.error})`);
  const firstArrival = new Map<string, number>(); // page id -> first arrival (our clock)
  for (const r of standin.all) if (r.pageId && r.outcome === 'accepted' && !firstArrival.has(r.pageId)) firstArrival.set(r.pageId, r.at - clock.offset);
  const m1Pages = await pagesOf(m1Ids);
  const firstByIncident = new Map<string, number>();
  for (const p of m1Pages) {
    const at = firstArrival.get(p.id);
    if (at !== undefined && at < (firstByIncident.get(p.incident_id) ?? Infinity)) firstByIncident.set(p.incident_id, at);
  }
  const m1 = soses.slice(warmN).filter((s) => s.incidentId);
  const m1Lat: number[] = [];
  for (const s of m1) {
    const at = firstByIncident.get(s.incidentId!);
    if (at === undefined) failures.push(`metric 1: incident ${s.incidentId} never reached the stand-in`);
    else m1Lat.push(at - s.sentAt);
  }
  const m1Answer = m1.map((s) => s.answeredAt! - s.sentAt);
  // The warm-up, printed but not counted: a cold start (new server processes, code not yet optimized).
  const m1Warm = soses.slice(0, warmN).filter((s) => s.incidentId && firstByIncident.has(s.incidentId)).map((s) => firstByIncident.get(s.incidentId!)! - s.sentAt);
  const m1AfterAnswer = m1.filter((s) => firstByIncident.has(s.incidentId!)).map((s) => firstByIncident.get(s.incidentId!)! - s.answeredAt!);
  const m1Span = (m1[m1.length - 1]?.sentAt - m1[0]?.sentAt) / 1000;
  const m1P99 = pct(m1Lat, 99);
  if (process.env.BENCH_DUMP) {
    const rows = await sql`SELECT p.id, p.incident_id, p.channel, p.status, p.tries, p.created_at, p.sent_at, i.opened_at
      FROM pages p JOIN incidents i ON i.id = p.incident_id WHERE p.incident_id = ANY(${m1Ids}::uuid[])`;
    const f = `${process.env.BENCH_DUMP}.m1.json`;
    writeFileSync(f, JSON.stringify({ soses, pages: rows.map((r) => ({ ...r, arrival: firstArrival.get(r.id) })) }));
    say(`metric 1 raw data in ${f}`);
  }
  say(`metric 1: p99 ${fmt(m1P99)} ms; resolving its ${m1Ids.length} incidents before their check-ins start`);
  // Resolve them (the on-call's token), so later phases see no check-ins or repeats of theirs.
  const toResolve = [smokeId, ...m1Ids];
  await pool(toResolve.length, 16, (i) => api(M, 'POST', `/v1/incidents/${toResolve[i]}/resolve`, supA.token, { disposition: 'false_alarm', note: 'benchmark' }, 200));
  await quiesce(Math.max(1000, cfg.callbackDelayMs * 4));

  // --- metric 2: escalation lateness with BENCH_ARMED incidents due within the window ---
  const cols = new Set((await sql<{ c: string }[]>`SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'incidents' AND table_schema = current_schema()`).map((r) => r.c));
  // Insert them unarmed (no deadline), then arm them all in one quick UPDATE: deadlines start LEAD_S after it.
  const m2Ids = await sql.begin(async (tx) => {
    const rows = await tx<{ id: string }[]>`
      INSERT INTO incidents (driver_id, kind, severity, zone_id, zone_rule, lat, lng, accuracy_m, location_at, esc_step, esc_next_at)
      SELECT (${drivers.map((d) => d.id)}::uuid[])[1 + g % ${drivers.length}::int], 'robbery', 'critical', ${zB.id}, 'inside',
             ${CENTERS.B.lat}, ${CENTERS.B.lng}, 10, now(), 0, NULL
      FROM generate_series(0, ${cfg.armed - 1}::int) g
      RETURNING id`;
    const ids = rows.map((r) => r.id);
    // Check-ins (lifecycle work) are not what this measures: off for these incidents.
    if (cols.has('checkin_next_at')) await tx`UPDATE incidents SET checkin_next_at = NULL WHERE id = ANY(${ids}::uuid[])`;
    await tx`
      INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, status, sid, sent_at, delivered_at)
      SELECT id, ${supB1.id}, ${supB1.phone}, 'sms', 'page', 0, 'delivered', 'SM' || md5(id::text), now(), now()
      FROM unnest(${ids}::uuid[]) id`;
    return ids;
  });
  const acceptedBefore2 = (await standin.stats(false)).accepted;
  const p2 = await begin('2. escalation');
  const armedAt = now();
  const armed = await sql<{ id: string; deadline: Date }[]>`
    WITH o AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS g FROM unnest(${m2Ids}::uuid[]) id),
         t AS (SELECT date_trunc('milliseconds', now()) + make_interval(secs => ${LEAD_S}) AS t0),
         d AS (SELECT o.id, t.t0 + make_interval(secs => o.g * ${cfg.window}::double precision / ${cfg.armed}::int) AS at FROM o, t)
    UPDATE incidents i SET esc_next_at = d.at, opened_at = d.at - make_interval(secs => ${STEP1_AFTER_S})
    FROM d WHERE i.id = d.id
    RETURNING i.id, i.esc_next_at AS deadline`;
  const firstDeadline = Math.min(...armed.map((r) => r.deadline.getTime()));
  const lastDeadline = Math.max(...armed.map((r) => r.deadline.getTime()));
  if (firstDeadline - now() < 1000) warnings.push(`metric 2: arming took ${fmt(now() - armedAt, 0)} ms; the first deadline was only ${fmt(firstDeadline - now(), 0)} ms after it was done`);
  say(`metric 2: ${armed.length} incidents inserted, then armed in ${fmt(now() - armedAt, 0)} ms; deadlines over ${cfg.window} s from ${new Date(firstDeadline).toISOString()}`);
  await sleep(Math.max(0, lastDeadline - Date.now()));
  await standin.waitAccepted(acceptedBefore2 + armed.length, (cfg.window + LEAD_S + 120) * 1000, alive);
  await end(p2);
  await settle('metric 2', m2Ids, async () => {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(DISTINCT incident_id)::int AS n FROM pages WHERE incident_id = ANY(${m2Ids}::uuid[]) AND step = 1`;
    return n === m2Ids.length;
  }, 60_000);
  await standin.pull();
  for (const r of standin.all) if (r.pageId && r.outcome === 'accepted' && !firstArrival.has(r.pageId)) firstArrival.set(r.pageId, r.at - clock.offset);
  const step1 = await sql<{ id: string; incident_id: string; created_at: Date }[]>`
    SELECT id, incident_id, created_at FROM pages WHERE incident_id = ANY(${m2Ids}::uuid[]) AND step = 1`;
  const deadlineOf = new Map(armed.map((r) => [r.id, r.deadline.getTime()]));
  const m2First = new Map<string, { at: number; created: number }>();
  for (const p of step1) {
    const at = firstArrival.get(p.id);
    if (at === undefined) continue;
    const cur = m2First.get(p.incident_id);
    if (!cur || at < cur.at) m2First.set(p.incident_id, { at, created: p.created_at.getTime() });
  }
  const m2Late: number[] = [];
  const m2Pickup: number[] = [];
  const m2Send: number[] = [];
  const m2Spans: [number, number][] = []; // deadline → arrival, for the disk probe
  for (const id of m2Ids) {
    const f = m2First.get(id);
    if (!f) {
      failures.push(`metric 2: incident ${id} never had a step-1 page reach the stand-in`);
      continue;
    }
    m2Late.push(f.at - deadlineOf.get(id)!);
    m2Pickup.push(f.created - deadlineOf.get(id)!);
    m2Send.push(f.at - f.created);
    m2Spans.push([deadlineOf.get(id)!, f.at]);
  }
  const m2P99 = pct(m2Late, 99);
  say(`metric 2: lateness p99 ${fmt(m2P99)} ms`);
  await quiesce(6_000); // also lets Mayday's idle connections to the stand-in close (its keep-alive timeout is 5 s)

  // --- metric 3: one incident, BENCH_FANOUT pages ---
  const acceptedBefore3 = (await standin.stats(false)).accepted;
  const p3 = await begin('3. fan-out');
  const d3 = driver();
  const sos3At = now();
  const r3 = await api<{ incident: { id: string; zoneId: string } }>(M, 'POST', '/v1/sos', d3.token, JSON.parse(sosBody(CENTERS.C)), 201);
  const sos3Answer = now() - sos3At;
  if (r3.incident.zoneId !== zC.id) throw new Error(`the zone C location did not land in zone C: ${JSON.stringify(r3.incident)}`);
  await standin.waitAccepted(acceptedBefore3 + cfg.fanout, 120_000, alive);
  await end(p3);
  await settle('metric 3', [r3.incident.id], async () => {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE incident_id = ${r3.incident.id} AND status NOT IN ('queued', 'sending')`;
    return n >= cfg.fanout;
  }, 60_000);
  const got3 = await standin.pull();
  const m3PageIds = new Set((await pagesOf([r3.incident.id])).map((p) => p.id));
  const m3Reqs = got3.filter((r) => r.pageId && m3PageIds.has(r.pageId) && r.outcome === 'accepted');
  if (m3Reqs.length !== cfg.fanout) failures.push(`metric 3: the stand-in took ${m3Reqs.length} pages of the fan-out incident, expected ${cfg.fanout}`);
  const rateOf = (rs: StandinRequest[]) => (rs.length < 2 ? NaN : ((rs.length - 1) * 1000) / (Math.max(...rs.map((r) => r.at)) - Math.min(...rs.map((r) => r.at))));
  const m3Rate = rateOf(m3Reqs);
  const m3Conns = new Set(m3Reqs.map((r) => r.conn)).size;
  const m3MaxInflight = Math.max(0, ...m3Reqs.map((r) => r.inflight));
  const m3FirstPage = Math.min(...m3Reqs.map((r) => r.at)) - clock.offset - sos3At;
  const m3Span = (Math.max(...m3Reqs.map((r) => r.at)) - Math.min(...m3Reqs.map((r) => r.at))) / 1000;
  say(`metric 3: ${m3Reqs.length} pages at ${fmt(m3Rate, 0)}/s over ${m3Conns} connections`);
  await quiesce(Math.max(1000, cfg.callbackDelayMs * 4));

  // The stand-in alone, at the same concurrency, from this process.
  const p3b = await begin('3. stand-in alone');
  const width = Math.max(1, m3Conns);
  const blastStart = now();
  const blastRun = randomBytes(3).toString('hex');
  // autocannon, so that the client is not what limits the rate (fetch costs more CPU than the stand-in's work).
  const blast = await new Promise<autocannon.Result>((resolve, reject) => {
    let i = 0;
    autocannon({
      url: standin.url, connections: width, amount: cfg.fanout, timeout: 30,
      requests: [{
        method: 'POST', path: `/2010-04-01/Accounts/${twilioCreds.sid}/Messages.json`,
        headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (req) => {
          const n = i++;
          req.body = new URLSearchParams({ To: `+1559${String(n).padStart(7, '0')}`, From: twilioCreds.from, Body: PAGE_BODY, StatusCallback: `${sink.url}/status?page=blast-${blastRun}-${n}` }).toString();
          return req;
        },
      }],
    }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const blastClient = (cfg.fanout * 1000) / (now() - blastStart);
  await end(p3b);
  const blastReqs = (await standin.pull()).filter((r) => r.pageId?.startsWith(`blast-${blastRun}-`) && r.outcome === 'accepted');
  const blastRate = rateOf(blastReqs);
  if (process.env.BENCH_DUMP) {
    const f = `${process.env.BENCH_DUMP}.m3.json`;
    writeFileSync(f, JSON.stringify({ sosSentAt: sos3At, offset: clock.offset, mayday: m3Reqs, alone: blastReqs }));
    say(`metric 3 raw data in ${f}`);
  }
  if (blast.errors || blast.non2xx || blast['2xx'] !== cfg.fanout) failures.push(`stand-in alone: ${blast['2xx']} answers 201 of ${cfg.fanout} (${blast.errors} errors, ${blast.non2xx} other answers)`);
  await quiesce(Math.max(1000, cfg.callbackDelayMs * 4));

  // --- checks over the whole run ---
  alive();
  const st = await standin.stats();
  for (const dup of st.duplicates) failures.push(`page ${dup.pageId} was accepted ${dup.accepted} times by the stand-in`);
  if (st.callbacks.failed) {
    // A 4xx is a broken contract (a signature Mayday does not accept, say); a 5xx or a timeout is overload.
    const why = Object.entries(st.callbacks.why).map(([k, n]) => `${k}×${n}`).join(', ');
    const refused = Object.entries(st.callbacks.why).filter(([k]) => /^4/.test(k)).reduce((a, [, n]) => a + n, 0);
    (refused ? failures : warnings).push(`${st.callbacks.failed} status callbacks failed (${why}; last: ${st.callbacks.lastError})`);
  }
  if (st.unauthorized) failures.push(`${st.unauthorized} requests to the stand-in had bad credentials`);
  const byStatus = await sql<{ status: string; purpose: string; n: number }[]>`
    SELECT status, purpose, count(*)::int AS n FROM pages GROUP BY status, purpose ORDER BY n DESC`;
  for (const r of byStatus) {
    if (r.status === 'failed') failures.push(`${r.n} ${r.purpose} pages failed`);
    if (r.status === 'unknown') warnings.push(`${r.n} ${r.purpose} pages had an unknown outcome (a timeout or a dropped connection to the stand-in)`);
  }
  const purposes = byStatus.filter((r) => r.purpose !== 'page');
  if (purposes.length) warnings.push(`pages other than escalation pages were sent: ${purposes.map((r) => `${r.purpose}/${r.status}×${r.n}`).join(', ')}`);

  // --- report ---
  const ratio1 = m1P99 / floorP99;
  const ratio2 = m2P99 / m1P99;
  const ratio3 = m3Rate / blastRate;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const row = (label: string, xs: number[]) =>
    `  ${label.padEnd(46)}${pad(String(xs.length), 7)}${pad(fmt(pct(xs, 50)), 9)}${pad(fmt(pct(xs, 90)), 9)}${pad(fmt(pct(xs, 99)), 9)}${pad(fmt(Math.max(...xs)), 9)}`;
  const head = `  ${''.padEnd(46)}${pad('n', 7)}${pad('p50 ms', 9)}${pad('p90 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}`;
  const cpus = os.cpus();
  const L: string[] = [];
  L.push('');
  L.push(`Mayday paging benchmark: Twilio stand-in on loopback (status callbacks ${cfg.callbacks ? `on, ${cfg.callbackDelayMs} ms apart` : 'off'})`);
  L.push(`machine:  ${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  L.push(`runtime:  Node ${process.version}; PostgreSQL ${pgVersion} (${db.label})`);
  L.push(`code:     ${codeVersion()}`);
  L.push(`clocks:   stand-in minus bench ${fmt(clock.offset, 2)} ms (corrected), best round trip ${fmt(clock.rtt, 2)} ms`);
  L.push('');
  L.push(`floor, measured alone: ${cfg.floorSamples} sequential samples of each, interleaved`);
  L.push(head);
  L.push(row('(a) bare INSERT … RETURNING over HTTP', floorA));
  L.push(row('(b) POST Messages.json to the stand-in', floorB));
  L.push(`  floor = p99(a) + p99(b) = ${fmt(floorP99, 2)} ms   (p99 of the per-sample sums a+b: ${fmt(floorSumP99, 2)} ms)`);
  L.push('');
  L.push(`1. SOS sent → first Twilio request received: ${m1.length} SOS at ${cfg.rate}/s over ${fmt(m1Span, 1)} s (after ${warmN} warm-up), zone A (on-call by SMS + voice)`);
  L.push(head);
  L.push(row('SOS sent → first request at the stand-in', m1Lat));
  L.push(row('  of which: SOS sent → 201 received', m1Answer));
  L.push(row('  of which: 201 received → first request', m1AfterAnswer));
  if (disk) {
    // Context, not the ratio: which SOS were waiting while the disk took 50 ms or more to flush.
    const paged = m1.filter((s) => firstByIncident.has(s.incidentId!));
    const hit = (s: Sos) => disk.stalls(s.sentAt, firstByIncident.get(s.incidentId!)!, DISK_STALL_MS).length > 0;
    const m1Clear = paged.filter((s) => !hit(s)).map((s) => firstByIncident.get(s.incidentId!)! - s.sentAt);
    L.push(`  SOS waiting through a disk flush of ≥ ${DISK_STALL_MS} ms (probe below): ${paged.length - m1Clear.length} of ${paged.length}; the others alone: p50 ${fmt(pct(m1Clear, 50))}, p99 ${fmt(pct(m1Clear, 99))} ms (context only)`);
  }
  L.push(row(`warm-up (first ${cfg.warmup} s, not counted): the same`, m1Warm));
  L.push(row('Mayday GET /healthz meanwhile, every 100 ms', healthz.filter((x) => !Number.isNaN(x))));
  L.push(m1Loop
    ? `  Mayday's event-loop delay meanwhile (monitorEventLoopDelay; each sample includes its 10 ms interval): p50 ${fmt(m1Loop.p50, 1)} ms, p99 ${fmt(m1Loop.p99, 1)} ms, max ${fmt(m1Loop.max, 1)} ms`
    : `  Mayday's event-loop delay meanwhile: not available (GET /metrics failed)`);
  const perOp = (p: Phase, pctCore: number | undefined, n: number) => ((pctCore ?? NaN) / 100) * p.secs! * 1000 / n;
  L.push(`  CPU per SOS (with its pages and their callbacks): Mayday ${fmt(perOp(p1, p1.cpu?.procs[0], total), 1)} ms, its database ${fmt(perOp(p1, p1.pgOurs, total), 1)} ms, ` +
    `stand-in ${fmt(perOp(p1, p1.cpu?.procs[1], total), 1)} ms; at ${cfg.rate}/s that is ${fmt((perOp(p1, p1.cpu?.procs[0], total) + perOp(p1, p1.pgOurs, total) + perOp(p1, p1.cpu?.procs[1], total)) * cfg.rate / 1000, 2)} cores of ${os.cpus().length}`);
  L.push(`2. escalation lateness: ${armed.length} armed incidents, step-1 deadlines spread over ${cfg.window} s (${fmt(armed.length / cfg.window, 0)}/s), zone B, one SMS each`);
  L.push(head);
  L.push(row('deadline → step-1 request at the stand-in', m2Late));
  L.push(row('  of which: deadline → escalation batch start', m2Pickup));
  L.push(row('  of which: batch start → stand-in', m2Send));
  if (disk) {
    const clear = m2Spans.filter(([from, to]) => disk.stalls(from, to, DISK_STALL_MS).length === 0).map(([from, to]) => to - from);
    L.push(`  escalations waiting through a disk flush of ≥ ${DISK_STALL_MS} ms: ${m2Spans.length - clear.length} of ${m2Spans.length}; the others alone: p50 ${fmt(pct(clear, 50))}, p99 ${fmt(pct(clear, 99))} ms (context only)`);
  }
  L.push(`  CPU per escalation (with its page and callbacks): Mayday ${fmt(perOp(p2, p2.cpu?.procs[0], armed.length), 2)} ms, its database ${fmt(perOp(p2, p2.pgOurs, armed.length), 2)} ms, ` +
    `stand-in ${fmt(perOp(p2, p2.cpu?.procs[1], armed.length), 2)} ms (phase of ${fmt(p2.secs, 1)} s)`);
  L.push(`3. fan-out: one incident, ${cfg.fanout} SMS pages (zone supervisors)`);
  L.push(`  SOS answered in ${fmt(sos3Answer)} ms; first page at the stand-in ${fmt(m3FirstPage)} ms after the SOS was sent; pages spread over ${fmt(m3Span, 2)} s`);
  L.push(`  Mayday:             ${pad(fmt(m3Rate, 0), 6)} pages/s (first → last arrival), over ${m3Conns} connections (max ${m3MaxInflight} in the stand-in's handler at once)`);
  L.push(`  stand-in alone:     ${pad(fmt(blastRate, 0), 6)} accepts/s with ${width} requests at once from the bench process (autocannon; client-side ${fmt(blastClient, 0)}/s)`);
  L.push('');
  L.push('ratios (goal):');
  L.push(`  1. SOS → first page p99 ÷ floor:                 ${pad(fmt(ratio1, 2), 7)}  (≤ 3)    ${verdict(ratio1 <= 3)}    ${fmt(m1P99)} ms ÷ ${fmt(floorP99, 2)} ms`);
  L.push(`  2. escalation lateness p99 ÷ SOS → page p99:     ${pad(fmt(ratio2, 2), 7)}  (≤ 2)    ${verdict(ratio2 <= 2)}    ${fmt(m2P99)} ms ÷ ${fmt(m1P99)} ms`);
  L.push(`  3. fan-out pages/s ÷ stand-in accepts/s:         ${pad(fmt(ratio3, 2), 7)}  (≥ 0.5)  ${verdict(ratio3 >= 0.5)}    ${fmt(m3Rate, 0)} ÷ ${fmt(blastRate, 0)}`);
  L.push('');
  L.push(`cpu, % of one core: ${pad('mayday', 8)}${pad('its db', 8)}${pad('stand-in', 10)}${pad('bench', 7)}${pad('bare', 6)}${pad('pg all', 8)}${pad('machine', 9)}${pad('steal', 7)}${pad('others', 8)}`);
  for (const p of phases) {
    const c = p.cpu!;
    const ours = [c.procs[0], c.procs[1], c.procs[2], c.pg, c.self].reduce<number>((a, b) => a + (b ?? 0), 0);
    const others = c.machine === undefined ? undefined : Math.max(0, c.machine - ours - (c.steal ?? 0));
    L.push(`  ${p.name.padEnd(18)}${pad(fmt(c.procs[0], 0), 8)}${pad(fmt(p.pgOurs, 0), 8)}${pad(fmt(c.procs[1], 0), 10)}${pad(fmt(c.self, 0), 7)}${pad(fmt(c.procs[2], 0), 6)}${pad(fmt(c.pg, 0), 8)}${pad(fmt(c.machine, 0), 9)}${pad(fmt(c.steal, 0), 7)}${pad(fmt(others, 0), 8)}`);
    if (others !== undefined && others > 50) warnings.push(`phase "${p.name}": other work on the machine used ${fmt(others, 0)}% of a core (of ${os.cpus().length * 100}%); its figures are disturbed`);
    if (c.steal !== undefined && c.steal > 20) warnings.push(`phase "${p.name}": the host took ${fmt(c.steal, 0)}% of a core from this machine (steal); its figures are disturbed`);
  }
  L.push("  (its db: the backends of Mayday's two pools and the bare server's connections; pg all: every process named postgres, other clients of the");
  L.push('   server included; machine: all cores, all users, steal included; steal: time the host gave this virtual machine\'s cores to someone else;');
  L.push('   others: machine minus mayday, stand-in, bench, bare, pg all and steal)');
  L.push('');
  if (disk) {
    L.push(`disk flushes (probe: 8 kB written and fdatasync()ed, 10 ms apart, in ${diskDir}, as a commit flushes the WAL; ${disk.count()} in all):`);
    if (disk.error() || disk.count() === 0) warnings.push(`the disk probe did not run (${disk.error() ?? 'no flush done'}): "none" below means nothing`);
    for (const p of phases) {
      const st = disk.stalls(p.from!, p.to!, DISK_STALL_MS);
      L.push(`  ${p.name.padEnd(18)}${st.length ? `${st.length} of ≥ ${DISK_STALL_MS} ms, the longest ${fmt(Math.max(...st.map((x) => x.ms)), 0)} ms` : `none of ≥ ${DISK_STALL_MS} ms`}`);
    }
    L.push('');
  }
  L.push("Mayday's database connections while each phase ran (pg_stat_activity every 100 ms; mean connections per sample):");
  for (const p of phases.filter((x) => x.name !== 'floor' && x.name !== '3. stand-in alone')) L.push(`${p.name}:`, ...p.activity.summary());
  L.push('');
  L.push(`stand-in: ${st.received} requests, ${st.accepted} accepted, ${st.callbacks.sent} callbacks taken by their receivers (${st.callbacks.failed} failed), ` +
    `${st.duplicates.length} pages accepted more than once; the sink here took ${sink.count()} callbacks`);
  L.push(`pages by status: ${byStatus.map((r) => `${r.purpose}/${r.status}×${r.n}`).join(', ')}`);
  for (const w of warnings) L.push(`warning: ${w}`);
  process.stdout.write(L.join('\n') + '\n');

  if (failures.length) {
    process.stdout.write(`\nFAILED:\n  ${failures.slice(0, 20).join('\n  ')}${failures.length > 20 ? `\n  … and ${failures.length - 20} more` : ''}\n`);
    if (cfg.maydayLogLevel === 'silent') process.stdout.write("  (rerun with BENCH_LOG_LEVEL=warn to see Mayday's own log)\n");
    process.exitCode = 1;
  }
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

main()
  .catch(async (e) => {
    process.stderr.write(`bench: failed: ${(e as Error).stack ?? e}\n`);
    await sleep(300);
    for (const c of children) {
      const tail = c.tail();
      if (tail) process.stderr.write(`bench: ${c.name} output ends:\n${tail.split('\n').slice(-20).map((l) => `    ${l}`).join('\n')}\n`);
    }
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
  });
