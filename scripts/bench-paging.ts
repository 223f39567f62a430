/**
 * `npm run bench:paging`: how close paging comes to the physical floor of this machine, as
 * ratios measured side by side in one run (absolute times on a shared machine are context only).
 *
 * Processes: Mayday (src/entry/node.ts) with Twilio credentials and TWILIO_API_BASE_URL pointing
 * at the Twilio stand-in (scripts/twilio-standin.ts, its own child process: it signs and sends
 * status callbacks back to Mayday as Twilio would), the bare server of bench:intake
 * (scripts/bare-server.ts), and this process (load, measurement, a sink for the callbacks
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
 * Concurrent floor: while metric 1's SOS stream runs, a floor probe every BENCH_FLOOR_PROBE_MS
 * (10 ms) on the same pacing clock, halfway between two SOS at the default rate, open loop:
 * POST /bare, then on its answer POST Messages.json to the stand-in (StatusCallback page
 * `probe-<run>-<n>`, which no page of Mayday's matches). Probe latency = the stand-in's arrival of
 * that POST minus the moment the probe was sent, the same end points as an SOS's, so both meet
 * the same disk flushes and the same busy cores. Probes sent in the warm-up are not counted.
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
 *    A second ratio, p99 ÷ p99 of the concurrent floor probes, goal ≤ 1; the p50s are printed too.
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
 * BENCH_FLOOR_PROBE_MS (10: one concurrent floor probe per this many ms during metric 1; 0 leaves them out),
 * BENCH_PHASES (1,2,3: which metrics to run, e.g. 1 for metric 1 and its floors only; 2 needs 1),
 * BENCH_ARMED (10000), BENCH_ESC_WINDOW (BENCH_ARMED ÷ BENCH_SOS_RATE s, 100), BENCH_FANOUT (1000), BENCH_CALLBACK_DELAY_MS (250:
 * the stand-in's delay before each status callback), BENCH_CALLBACKS (on|off), BENCH_LOG_LEVEL
 * (Mayday's LOG_LEVEL, default silent), BENCH_DUMP (a path prefix: raw data of metric 1 written to <prefix>.m1.json, of metric 3 to <prefix>.m3.json),
 * BENCH_PROFILE (a directory: Mayday runs with --cpu-prof and writes its CPU profile there when it stops),
 * BENCH_DISK_PROBE (on|off: scripts/lib/disk-probe.ts, a flush of the disk 10 ms after the last, in
 * BENCH_DISK_PROBE_DIR, default the temporary directory: it should be on the database's disk; the run
 * prints how many flushes took 50 ms or more in each phase, and which SOS of metric 1 waited
 * through one: a quick run's SOS stall of 242 ms began within 10 ms of a 221 ms flush of the probe).
 * Exits 0 whether the goals are met or not; non-zero on errors: a page accepted twice by the
 * stand-in, an SOS not answered 201, an incident never paged, a page that failed, a callback
 * Mayday refused with a 4xx (a timeout or 5xx under overload is a warning), a process that died.
 */
import autocannon from 'autocannon';
import { Agent, createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseConfig } from '../src/config/env';
import type { Sql } from '../src/db/client';
import type { StandinRequest } from './twilio-standin';
import { api, CENTER, pool, send, sosBody, square, type Point } from './lib/api';
import { cpuDelta, cpuSample, cpuSeconds, type CpuSample } from './lib/cpu';
import { createBareTable, insertDrivers, openPool, scratchDatabase, serverVersion, type Db } from './lib/db';
import { startDiskProbe, type DiskProbe } from './lib/disk-probe';
import { printFailures, runBench } from './lib/main';
import { assertRunning, freePort, newAdminToken, startChild, startMayday, waitReady, type Child } from './lib/processes';
import { intEnv, now, onCleanup, say, sleep } from './lib/run';
import { codeVersion, fmt, hardware, pad, pct, pctTable } from './lib/stats';
import { basicAuth, StandinChild, twilioCreds } from './lib/twilio';

/** BENCH_PHASES: the metrics to run, of 1, 2 and 3; metric 2 is divided by metric 1's p99, so 2 needs 1. */
function phasesEnv(v: string): Set<1 | 2 | 3> {
  const xs = v.split(/[\s,]+/).filter(Boolean);
  if (!xs.length || xs.some((x) => !['1', '2', '3'].includes(x))) throw new Error(`BENCH_PHASES=${v}: a list of 1, 2 and 3, e.g. 1,3`);
  const set = new Set(xs.map((x) => Number(x) as 1 | 2 | 3));
  if (set.has(2) && !set.has(1)) throw new Error('BENCH_PHASES: metric 2 is divided by metric 1\'s p99; add 1');
  return set;
}

const RATE = intEnv('BENCH_SOS_RATE', 100);
const ARMED = intEnv('BENCH_ARMED', 10_000);
const cfg = {
  rate: RATE,
  seconds: intEnv('BENCH_SOS_SECONDS', 10),
  warmup: intEnv('BENCH_SOS_WARMUP', 5, 0),
  floorSamples: intEnv('BENCH_FLOOR_SAMPLES', 1000),
  probeMs: intEnv('BENCH_FLOOR_PROBE_MS', 10, 0),
  phases: phasesEnv(process.env.BENCH_PHASES || '1,2,3'),
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

const creds = twilioCreds();
const failures: string[] = [];
const warnings: string[] = [];

/** Zone A is the benchmark zone; B and C lie north of it. */
const CENTERS = { A: CENTER, B: { lat: 36.57, lng: -94.2 }, C: { lat: 36.77, lng: -94.2 } };

// --- HTTP helpers -------------------------------------------------------------------------------

/**
 * The measured requests (the SOS at rate, both halves of the floor, the /healthz probe) go over
 * one keep-alive pool of node:http (lib/api.ts send()). The floor and the load go through the
 * same client, so the ratio compares like with like.
 */
const benchAgent = new Agent({ keepAlive: true, maxSockets: 512 });

/**
 * Mayday's event-loop delay since the previous scrape, in ms: prom-client's default metrics
 * (monitorEventLoopDelay, 10 ms resolution) are reset at every scrape of /metrics, so a scrape
 * before a phase and one after it give the phase's own figures. Undefined if /metrics fails.
 */
async function loopDelay(base: string, adminToken: string): Promise<{ p50: number; p99: number; max: number } | undefined> {
  try {
    const r = await send(`${base}/metrics`, { agent: benchAgent, headers: { authorization: `Bearer ${adminToken}` } });
    if (r.status !== 200) return undefined;
    const lag = (name: string) => Number(new RegExp(`^mayday_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(r.text)?.[1]) * 1000;
    return { p50: lag('p50'), p99: lag('p99'), max: lag('max') };
  } catch {
    return undefined;
  }
}

/** A place for the status callbacks of requests this process sends the stand-in: 204 to all. */
async function callbackSink(): Promise<{ url: string; count: () => number }> {
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
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, count: () => count };
}

const PAGE_BODY = 'Mayday #12345 ROBBERY (critical) - Bench driver 17 needs help at 36.370012,-94.200031 (±12 m, 2 s ago) in Bench zone. Map: https://maps.google.com/?q=36.370012,-94.200031 Reply ACK 12345 to take it.';
/** The form of a page's SMS to the stand-in, as Mayday sends it. */
const pageForm = (to: string, callback: string) => new URLSearchParams({ To: to, From: creds.from, Body: PAGE_BODY, StatusCallback: callback }).toString();
const MESSAGES_PATH = `/2010-04-01/Accounts/${creds.sid}/Messages.json`;
const standinHeaders = { authorization: basicAuth(creds), 'content-type': 'application/x-www-form-urlencoded' };

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
  /** Of pgOurs, the bare server's backends (busy during metric 1 with the concurrent floor probes). */
  pgBare?: number;
  secs?: number;
  activity: ActivitySampler;
  startCpu?: CpuSample;
  startBackends?: Map<number, Backend>;
  /** Epoch ms: when the phase began and ended (for the disk probe). */
  from?: number;
  to?: number;
}

// --- the rig: database, processes, world ------------------------------------------------------------

/** Everything a run measures with and against. */
interface Rig {
  db: Db;
  sql: Sql;
  pgVersion: string;
  disk?: DiskProbe;
  diskDir: string;
  sink: Awaited<ReturnType<typeof callbackSink>>;
  standin: StandinChild;
  mayday: Child;
  bare: Child;
  adminToken: string;
  /** The stand-in's clock minus ours. */
  clock: { offset: number; rtt: number };
  phases: Phase[];
}

/** A scratch database, the disk probe, and the three children: the stand-in, Mayday paging through it, and the bare server. */
async function startRig(): Promise<Rig> {
  const db = await scratchDatabase();
  const diskDir = process.env.BENCH_DISK_PROBE_DIR || os.tmpdir();
  const disk: DiskProbe | undefined = process.env.BENCH_DISK_PROBE === 'off' ? undefined : startDiskProbe(diskDir);
  if (disk) onCleanup('stop the disk probe', () => disk.stop());
  const sql = await openPool(db.url, { max: 4, migrated: true });
  await createBareTable(sql);
  const pgVersion = await serverVersion(sql);

  const sink = await callbackSink();
  const standin = await StandinChild.start(creds, ['--callback-delay-ms', String(cfg.callbackDelayMs), ...(cfg.callbacks ? [] : ['--no-callbacks'])]);
  const adminToken = newAdminToken();
  const mayday = startMayday('mayday', await freePort(), {
    databaseUrl: db.url, adminToken, logLevel: cfg.maydayLogLevel, twilio: { creds, url: standin.url }, profileDir: process.env.BENCH_PROFILE,
  });
  const bare = startChild('bare-server', 'scripts/bare-server.ts', await freePort(), { DATABASE_URL: db.url });
  await Promise.all([waitReady(mayday, '/readyz'), waitReady(bare, '/healthz'), waitReady(standin.child, '/_standin/stats')]);
  const clock = await standin.clockOffset();
  say(`mayday ${mayday.base} (pid ${mayday.proc.pid}), stand-in ${standin.url} (pid ${standin.child.proc.pid}), bare ${bare.base}; stand-in clock offset ${clock.offset.toFixed(2)} ms (rtt ${clock.rtt.toFixed(2)} ms)`);
  return { db, sql, pgVersion, disk, diskDir, sink, standin, mayday, bare, adminToken, clock, phases: [] };
}

interface World {
  zA: { id: string }; zB: { id: string }; zC: { id: string };
  supA: Responder; supB1: Responder; supB2: Responder;
  drivers: { id: string; token: string }[];
  /** The next driver not used yet: every SOS comes from a driver of its own. */
  driver(): { id: string; token: string };
}
interface Responder { id: string; token: string; phone: string }

/** Zones A, B and C with their rotations and policies and three responders through the API; drivers and zone C's supervisors in SQL. */
async function pagingWorld({ mayday: { base: M }, adminToken, sql }: Rig): Promise<World> {
  const zone = (name: string, c: Point) => api<{ id: string }>(M, 'POST', '/v1/zones', adminToken, { name, boundary: square(c) }, 201);
  const [zA, zB, zC] = [await zone('Bench A', CENTERS.A), await zone('Bench B', CENTERS.B), await zone('Bench C', CENTERS.C)];
  const responder = (name: string, phone: string, zoneId: string) =>
    api<Responder>(M, 'POST', '/v1/responders', adminToken, { name, phone, role: 'supervisor', zoneIds: [zoneId] }, 201);
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

  const drivers = await insertDrivers(sql, { count: cfg.rate * (cfg.seconds + cfg.warmup) + 10, name: 'Bench driver', phonePrefix: '+1557' });
  await sql`
    WITH u AS (INSERT INTO users (role, name, phone) SELECT 'supervisor', 'C supervisor ' || g, '+1558' || lpad(g::text, 7, '0') FROM generate_series(1, ${cfg.fanout}::int) g RETURNING id)
    INSERT INTO responder_zones (responder_id, zone_id) SELECT id, ${zC.id} FROM u`;
  let next = 0;
  const driver = () => {
    if (next >= drivers.length) throw new Error('out of drivers');
    return drivers[next++];
  };
  say(`world: 3 zones, 3 responders (API), ${drivers.length} drivers and ${cfg.fanout} zone-C supervisors (SQL)`);
  return { zA, zB, zC, supA, supB1, supB2, drivers, driver };
}

// --- waiting and accounting -------------------------------------------------------------------------

const alive = () => assertRunning();

const pagesOf = (sql: Sql, incidentIds: string[]) =>
  sql<{ id: string; incident_id: string; step: number; status: string }[]>`SELECT id, incident_id, step, status FROM pages WHERE incident_id = ANY(${incidentIds}::uuid[])`;

/** Until no page of these incidents is queued or sending and `done` holds. */
async function settle({ sql }: Rig, what: string, incidentIds: string[], done: () => Promise<boolean>, timeoutMs: number) {
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
async function quiesce({ sql, standin }: Rig, quietMs: number) {
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

interface Backend { cpu: number; bare: boolean }
/** CPU seconds so far of each database backend serving Mayday and the bare server. */
async function backends({ sql }: Rig): Promise<Map<number, Backend>> {
  const rows = await sql<{ pid: number; app: string }[]>`SELECT pid, application_name AS app FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('mayday', 'mayday-intake', 'mayday-bench-bare')`;
  const m = new Map<number, Backend>();
  for (const r of rows) {
    const cpu = cpuSeconds(r.pid);
    if (cpu !== undefined) m.set(r.pid, { cpu, bare: r.app === 'mayday-bench-bare' });
  }
  return m;
}
const sampleCpu = (rig: Rig) => cpuSample([rig.mayday.proc.pid, rig.standin.child.proc.pid, rig.bare.proc.pid]);

/** A measured phase begins: CPU, backends and pg_stat_activity sampled from here. */
async function begin(rig: Rig, name: string): Promise<Phase> {
  const p: Phase = { name, activity: new ActivitySampler(rig.sql), startBackends: await backends(rig), startCpu: sampleCpu(rig), from: now() };
  p.activity.start();
  rig.phases.push(p);
  return p;
}
async function end(rig: Rig, p: Phase) {
  p.to = now();
  p.activity.stop();
  p.cpu = cpuDelta(p.startCpu!, sampleCpu(rig));
  const secs = (p.secs = (performance.now() - p.startCpu!.at) / 1000);
  let used = 0;
  let bare = 0;
  for (const [pid, b] of await backends(rig)) {
    const d = b.cpu - (p.startBackends!.get(pid)?.cpu ?? 0);
    used += d;
    if (b.bare) bare += d;
  }
  p.pgOurs = (used / secs) * 100;
  p.pgBare = (bare / secs) * 100;
}

/** First arrival at the stand-in of each page accepted, on our clock (pulled so far, not yet in the map). */
function arrivals(rig: Rig, into = new Map<string, number>()): Map<string, number> {
  for (const r of rig.standin.all) if (r.pageId && r.outcome === 'accepted' && !into.has(r.pageId)) into.set(r.pageId, r.at - rig.clock.offset);
  return into;
}

// --- the phases -------------------------------------------------------------------------------------

/** One SOS end to end: both pages accepted once, their callbacks accepted. Answers its incident. */
async function smoke(rig: Rig, world: World): Promise<string> {
  const { mayday, standin } = rig;
  const d = world.driver();
  const res = await api<{ incident: { id: string; zoneId: string } }>(mayday.base, 'POST', '/v1/sos', d.token, JSON.parse(sosBody({ center: CENTERS.A })), 201);
  if (res.incident.zoneId !== world.zA.id) throw new Error(`the zone A location did not land in zone A: ${JSON.stringify(res.incident)}`);
  await settle(rig, 'smoke SOS', [res.incident.id], async () => true, 15_000);
  await quiesce(rig, cfg.callbacks ? cfg.callbackDelayMs * 3 + 300 : 300);
  const s = await standin.stats();
  const pages = await pagesOf(rig.sql, [res.incident.id]);
  if (s.unauthorized) throw new Error(`the stand-in refused Mayday's credentials (${s.unauthorized}×401)`);
  if (pages.length !== 2 || pages.some((p) => s.pages[p.id] !== 1)) throw new Error(`smoke SOS: pages ${JSON.stringify(pages)}, stand-in saw ${JSON.stringify(s.pages)}`);
  if (cfg.callbacks && (s.callbacks.failed || pages.some((p) => p.status !== 'delivered')))
    throw new Error(`smoke SOS: callbacks not taken (${s.callbacks.failed} refused, last: ${s.callbacks.lastError}); pages ${JSON.stringify(pages)}`);
  await standin.pull();
  say(`smoke SOS paged the on-call by SMS and voice; ${s.callbacks.sent} signed callbacks accepted`);
  return res.incident.id;
}

interface Floor { a: number[]; b: number[]; p99: number; sumP99: number }

/** The floor, measured alone: (a) POST /bare, (b) POST Messages.json to the stand-in, sequential and interleaved, after 20 of each not counted. */
async function floor(rig: Rig): Promise<Floor> {
  const a: number[] = [];
  const b: number[] = [];
  const p = await begin(rig, 'floor');
  const bareBody = sosBody({ center: CENTERS.A });
  for (let i = -20; i < cfg.floorSamples; i++) {
    let t = now();
    const ra = await send(`${rig.bare.base}/bare`, { agent: benchAgent, method: 'POST', headers: { 'content-type': 'application/json' }, body: bareBody });
    const ta = now() - t;
    t = now();
    const rb = await send(rig.standin.url + MESSAGES_PATH, { agent: benchAgent, method: 'POST', headers: standinHeaders, body: pageForm('+15559990000', `${rig.sink.url}/status?page=floor-${i}`) });
    const tb = now() - t;
    if (ra.status !== 201 || rb.status !== 201) throw new Error(`floor: bare answered ${ra.status}, stand-in ${rb.status}`);
    if (i >= 0) a.push(ta), b.push(tb);
  }
  await end(rig, p);
  await rig.standin.pull();
  const f = { a, b, p99: pct(a, 99) + pct(b, 99), sumP99: pct(a.map((x, i) => x + b[i]), 99) };
  say(`floor: bare p99 ${fmt(pct(a, 99), 2)} ms + stand-in p99 ${fmt(pct(b, 99), 2)} ms = ${fmt(f.p99, 2)} ms`);
  return f;
}

interface Sos { i: number; sentAt: number; answeredAt?: number; status?: number; incidentId?: string; retried?: number; error?: string }

/** POST /v1/sos as the app does: on a network error, the same request again (same clientRequestId: it coalesces), up to 3 tries. */
async function fire(base: string, s: Sos, d: { token: string }, body: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await send(`${base}/v1/sos`, { agent: benchAgent, method: 'POST', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' }, body });
      s.answeredAt = now();
      s.status = res.status;
      // 201, or 200 for a retry whose first try had been taken after all
      if (res.status === 201 || (res.status === 200 && attempt > 1)) s.incidentId = (JSON.parse(res.text) as { incident: { id: string } }).incident.id;
      else s.error = res.text.slice(0, 300);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      s.error = `${(e as Error).message}${code ? ` (${code})` : ''}`;
      s.retried = attempt;
      if (attempt >= 3) return;
    }
  }
}

/** A concurrent floor probe of metric 1: sent (POST /bare), bare answered, stand-in answered, on our clock. */
interface Probe { j: number; marker: string; sentAt: number; bareAt?: number; doneAt?: number; error?: string }

/** One floor probe: the bare insert, then on its answer the page-shaped POST to the stand-in, as the floor's (a) then (b). */
async function probeOnce(rig: Rig, p: Probe, bareBody: string) {
  try {
    const ra = await send(`${rig.bare.base}/bare`, { agent: benchAgent, method: 'POST', headers: { 'content-type': 'application/json' }, body: bareBody });
    p.bareAt = now();
    if (ra.status !== 201) throw new Error(`bare answered ${ra.status}`);
    const rb = await send(rig.standin.url + MESSAGES_PATH, { agent: benchAgent, method: 'POST', headers: standinHeaders, body: pageForm('+15559990001', `${rig.sink.url}/status?page=${p.marker}`) });
    p.doneAt = now();
    if (rb.status !== 201) throw new Error(`stand-in answered ${rb.status}`);
  } catch (e) {
    p.error = (e as Error).message;
  }
}

type Metric1 = Awaited<ReturnType<typeof metric1>>;

/** Metric 1: BENCH_SOS_RATE SOS a second, open loop, each from a driver of its own; SOS sent → first Twilio request. */
async function metric1(rig: Rig, world: World) {
  const { mayday: { base: M }, standin, sql } = rig;
  const soses: Sos[] = [];
  const healthz: number[] = [];
  const total = cfg.rate * (cfg.warmup + cfg.seconds);
  const warmN = cfg.rate * cfg.warmup;
  const acceptedBefore = (await standin.stats(false)).accepted;
  const phase = await begin(rig, '1. SOS at rate');
  const interval = 1000 / cfg.rate;
  const inflight: Promise<void>[] = [];
  say(`metric 1: ${total} SOS at ${cfg.rate}/s (${warmN} warm-up)`);
  await loopDelay(M, rig.adminToken); // resets the event-loop delay histogram: what follows is this phase's
  // Mayday's event loop, seen from outside: GET /healthz (no database) every 100 ms meanwhile.
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const t = now();
      try {
        await send(`${M}/healthz`, { agent: benchAgent });
        healthz.push(now() - t);
      } catch {
        healthz.push(NaN);
      }
      await sleep(100);
    }
  })();
  // One clock paces both streams: SOS i at start + i·interval, floor probe j at start + (j + ½)·probeMs,
  // so at the default rate each probe goes out halfway between two SOS, for as long as the SOS stream lasts.
  const probes: Probe[] = [];
  const probeRun = randomBytes(3).toString('hex');
  const nProbes = cfg.probeMs > 0 ? Math.floor((total * interval) / cfg.probeMs) : 0;
  const bareBody = sosBody({ center: CENTERS.A });
  const start = now() + 20;
  const warmEnd = start + warmN * interval; // the warm-up's end, for SOS and probes alike
  for (let i = 0, j = 0; i < total || j < nProbes;) {
    const tSos = i < total ? start + i * interval : Infinity;
    const tProbe = j < nProbes ? start + (j + 0.5) * cfg.probeMs : Infinity;
    const wait = Math.min(tSos, tProbe) - now();
    if (wait > 0.5) await sleep(wait);
    if (tSos <= tProbe) {
      const d = world.driver();
      const s: Sos = { i, sentAt: now() };
      soses.push(s);
      inflight.push(fire(M, s, d, sosBody({ center: CENTERS.A })));
      i++;
    } else {
      const p: Probe = { j, marker: `probe-${probeRun}-${j}`, sentAt: now() };
      probes.push(p);
      inflight.push(probeOnce(rig, p, bareBody));
      j++;
    }
  }
  await Promise.all(inflight);
  probing = false;
  await prober;
  const loop = await loopDelay(M, rig.adminToken);
  const probesSent = probes.filter((p) => p.doneAt !== undefined && !p.error).length;
  await standin.waitAccepted(acceptedBefore + 2 * soses.filter((s) => s.incidentId).length + probesSent, 60_000, alive);
  await end(rig, phase);
  const ids = soses.filter((s) => s.incidentId).map((s) => s.incidentId!);
  await settle(rig, 'metric 1', ids, async () => {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(DISTINCT incident_id)::int AS n FROM pages WHERE incident_id = ANY(${ids}::uuid[])`;
    return n === ids.length;
  }, 60_000);
  await standin.pull();

  for (const s of soses) if (!s.incidentId) failures.push(`metric 1: SOS #${s.i} answered ${s.status ?? 'nothing'} after ${s.retried ?? 0} network errors: ${s.error}`);
  const retriedSos = soses.filter((s) => s.retried && s.incidentId).length;
  if (retriedSos) warnings.push(`metric 1: ${retriedSos} SOS went through only after a network error and a retry (last error: ${soses.find((s) => s.retried && s.incidentId)?.error})`);
  const firstArrival = arrivals(rig);
  const firstByIncident = new Map<string, number>();
  for (const p of await pagesOf(sql, ids)) {
    const at = firstArrival.get(p.id);
    if (at !== undefined && at < (firstByIncident.get(p.incident_id) ?? Infinity)) firstByIncident.set(p.incident_id, at);
  }
  const counted = soses.slice(warmN).filter((s) => s.incidentId);
  const lat: number[] = [];
  for (const s of counted) {
    const at = firstByIncident.get(s.incidentId!);
    if (at === undefined) failures.push(`metric 1: incident ${s.incidentId} never reached the stand-in`);
    else lat.push(at - s.sentAt);
  }
  const reached = (s: Sos) => firstByIncident.get(s.incidentId!)!;
  // The probes' arrivals, by their own markers (Mayday's page ids are UUIDs: they never match).
  const probeArrival = new Map<string, number>();
  for (const r of standin.all) if (r.pageId?.startsWith(`probe-${probeRun}-`) && r.outcome === 'accepted' && !probeArrival.has(r.pageId)) probeArrival.set(r.pageId, r.at - rig.clock.offset);
  for (const p of probes) {
    if (p.error) failures.push(`metric 1: floor probe #${p.j} failed: ${p.error}`);
    else if (!probeArrival.has(p.marker)) failures.push(`metric 1: floor probe #${p.j} was answered but never recorded by the stand-in`);
  }
  const probesCounted = probes.filter((p) => p.sentAt >= warmEnd && probeArrival.has(p.marker));
  const probeLat = probesCounted.map((p) => probeArrival.get(p.marker)! - p.sentAt);
  // counted: the SOS after the warm-up that opened an incident; ids: the incidents of them all;
  // firstByIncident: incident → first arrival of any of its pages at the stand-in (our clock).
  const m = {
    phase, soses, counted, ids, total, warmN, firstByIncident, firstArrival, lat, healthz, loop,
    answer: counted.map((s) => s.answeredAt! - s.sentAt),
    // The warm-up, printed but not counted: a cold start (new server processes, code not yet optimized).
    warm: soses.slice(0, warmN).filter((s) => s.incidentId && firstByIncident.has(s.incidentId)).map((s) => reached(s) - s.sentAt),
    afterAnswer: counted.filter((s) => firstByIncident.has(s.incidentId!)).map((s) => reached(s) - s.answeredAt!),
    span: (counted[counted.length - 1]?.sentAt - counted[0]?.sentAt) / 1000,
    p99: pct(lat, 99),
    // The concurrent floor: probe sent → its POST at the stand-in, and its parts (and the client's whole round trip, context).
    probes, probesCounted, probeLat, probeP99: pct(probeLat, 99),
    probeWarm: probes.filter((p) => p.sentAt < warmEnd && probeArrival.has(p.marker)).map((p) => probeArrival.get(p.marker)! - p.sentAt),
    probeBare: probesCounted.map((p) => p.bareAt! - p.sentAt),
    probeAfterBare: probesCounted.map((p) => probeArrival.get(p.marker)! - p.bareAt!),
    probeRoundTrip: probesCounted.map((p) => p.doneAt! - p.sentAt),
    probeSpans: probesCounted.map((p): [number, number] => [p.sentAt, probeArrival.get(p.marker)!]),
  };
  if (process.env.BENCH_DUMP) {
    const rows = await sql`SELECT p.id, p.incident_id, p.channel, p.status, p.tries, p.created_at, p.sent_at, i.opened_at
      FROM pages p JOIN incidents i ON i.id = p.incident_id WHERE p.incident_id = ANY(${ids}::uuid[])`;
    const f = `${process.env.BENCH_DUMP}.m1.json`;
    writeFileSync(f, JSON.stringify({ soses, pages: rows.map((r) => ({ ...r, arrival: firstArrival.get(r.id) })), probes: probes.map((p) => ({ ...p, arrival: probeArrival.get(p.marker) })) }));
    say(`metric 1 raw data in ${f}`);
  }
  say(`metric 1: p99 ${fmt(m.p99)} ms${probes.length ? `; concurrent floor probe p99 ${fmt(m.probeP99)} ms` : ''}; resolving its ${ids.length} incidents before their check-ins start`);
  return m;
}

/** Resolve incidents (as zone A's on-call), so later phases see no check-ins or repeats of theirs. */
async function resolveAll(rig: Rig, world: World, ids: string[]) {
  await pool(ids.length, 16, (i) => api(rig.mayday.base, 'POST', `/v1/incidents/${ids[i]}/resolve`, world.supA.token, { disposition: 'false_alarm', note: 'benchmark' }, 200));
  await quiesce(rig, Math.max(1000, cfg.callbackDelayMs * 4));
}

interface Metric2 { phase: Phase; armed: number; late: number[]; pickup: number[]; send: number[]; spans: [number, number][]; p99: number }

/**
 * Metric 2: BENCH_ARMED incidents of zone B inserted at step 0 (a delivered step-0 page each,
 * check-ins off), then armed in one UPDATE with step-1 deadlines spread over BENCH_ESC_WINDOW s;
 * lateness = first arrival of the step-1 page minus its deadline.
 */
async function metric2(rig: Rig, world: World, firstArrival: Map<string, number>): Promise<Metric2> {
  const { sql, standin } = rig;
  const { drivers, zB, supB1 } = world;
  const cols = new Set((await sql<{ c: string }[]>`SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'incidents' AND table_schema = current_schema()`).map((r) => r.c));
  // Insert them unarmed (no deadline), then arm them all in one quick UPDATE: deadlines start LEAD_S after it.
  const ids = await sql.begin(async (tx) => {
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
  const acceptedBefore = (await standin.stats(false)).accepted;
  const phase = await begin(rig, '2. escalation');
  const armedAt = now();
  const armed = await sql<{ id: string; deadline: Date }[]>`
    WITH o AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS g FROM unnest(${ids}::uuid[]) id),
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
  await standin.waitAccepted(acceptedBefore + armed.length, (cfg.window + LEAD_S + 120) * 1000, alive);
  await end(rig, phase);
  await settle(rig, 'metric 2', ids, async () => {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(DISTINCT incident_id)::int AS n FROM pages WHERE incident_id = ANY(${ids}::uuid[]) AND step = 1`;
    return n === ids.length;
  }, 60_000);
  await standin.pull();
  arrivals(rig, firstArrival);
  const step1 = await sql<{ id: string; incident_id: string; created_at: Date }[]>`
    SELECT id, incident_id, created_at FROM pages WHERE incident_id = ANY(${ids}::uuid[]) AND step = 1`;
  const deadlineOf = new Map(armed.map((r) => [r.id, r.deadline.getTime()]));
  const first = new Map<string, { at: number; created: number }>();
  for (const p of step1) {
    const at = firstArrival.get(p.id);
    if (at === undefined) continue;
    const cur = first.get(p.incident_id);
    if (!cur || at < cur.at) first.set(p.incident_id, { at, created: p.created_at.getTime() });
  }
  const m: Metric2 = { phase, armed: armed.length, late: [], pickup: [], send: [], spans: [], p99: NaN };
  for (const id of ids) {
    const f = first.get(id);
    if (!f) {
      failures.push(`metric 2: incident ${id} never had a step-1 page reach the stand-in`);
      continue;
    }
    m.late.push(f.at - deadlineOf.get(id)!);
    m.pickup.push(f.created - deadlineOf.get(id)!);
    m.send.push(f.at - f.created);
    m.spans.push([deadlineOf.get(id)!, f.at]); // deadline → arrival, for the disk probe
  }
  m.p99 = pct(m.late, 99);
  say(`metric 2: lateness p99 ${fmt(m.p99)} ms`);
  await quiesce(rig, 6_000); // also lets Mayday's idle connections to the stand-in close (its keep-alive timeout is 5 s)
  return m;
}

type Metric3 = Awaited<ReturnType<typeof metric3>>;

/** Pages a second, first to last arrival at the stand-in. */
const rateOf = (rs: StandinRequest[]) => (rs.length < 2 ? NaN : ((rs.length - 1) * 1000) / (Math.max(...rs.map((r) => r.at)) - Math.min(...rs.map((r) => r.at))));

/** Metric 3: one SOS in zone C → BENCH_FANOUT pages; then the stand-in alone at the same concurrency. */
async function metric3(rig: Rig, world: World) {
  const { sql, standin, clock } = rig;
  const acceptedBefore = (await standin.stats(false)).accepted;
  const phase = await begin(rig, '3. fan-out');
  const d = world.driver();
  const sosAt = now();
  const r = await api<{ incident: { id: string; zoneId: string } }>(rig.mayday.base, 'POST', '/v1/sos', d.token, JSON.parse(sosBody({ center: CENTERS.C })), 201);
  const sosAnswer = now() - sosAt;
  if (r.incident.zoneId !== world.zC.id) throw new Error(`the zone C location did not land in zone C: ${JSON.stringify(r.incident)}`);
  await standin.waitAccepted(acceptedBefore + cfg.fanout, 120_000, alive);
  await end(rig, phase);
  await settle(rig, 'metric 3', [r.incident.id], async () => {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE incident_id = ${r.incident.id} AND status NOT IN ('queued', 'sending')`;
    return n >= cfg.fanout;
  }, 60_000);
  const got = await standin.pull();
  const pageIds = new Set((await pagesOf(sql, [r.incident.id])).map((p) => p.id));
  const reqs = got.filter((x) => x.pageId && pageIds.has(x.pageId) && x.outcome === 'accepted');
  if (reqs.length !== cfg.fanout) failures.push(`metric 3: the stand-in took ${reqs.length} pages of the fan-out incident, expected ${cfg.fanout}`);
  const rate = rateOf(reqs);
  const conns = new Set(reqs.map((x) => x.conn)).size;
  const maxInflight = Math.max(0, ...reqs.map((x) => x.inflight));
  const firstPage = Math.min(...reqs.map((x) => x.at)) - clock.offset - sosAt;
  const span = (Math.max(...reqs.map((x) => x.at)) - Math.min(...reqs.map((x) => x.at))) / 1000;
  say(`metric 3: ${reqs.length} pages at ${fmt(rate, 0)}/s over ${conns} connections`);
  await quiesce(rig, Math.max(1000, cfg.callbackDelayMs * 4));

  // The stand-in alone, at the same concurrency, from this process.
  const alonePhase = await begin(rig, '3. stand-in alone');
  const width = Math.max(1, conns);
  const blastStart = now();
  const blastRun = randomBytes(3).toString('hex');
  // autocannon, so that the client is not what limits the rate (fetch costs more CPU than the stand-in's work).
  const blast = await new Promise<autocannon.Result>((resolve, reject) => {
    let i = 0;
    autocannon({
      url: standin.url, connections: width, amount: cfg.fanout, timeout: 30,
      requests: [{
        method: 'POST', path: MESSAGES_PATH, headers: standinHeaders,
        setupRequest: (req) => {
          const n = i++;
          req.body = pageForm(`+1559${String(n).padStart(7, '0')}`, `${rig.sink.url}/status?page=blast-${blastRun}-${n}`);
          return req;
        },
      }],
    }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const aloneClient = (cfg.fanout * 1000) / (now() - blastStart);
  await end(rig, alonePhase);
  const blastReqs = (await standin.pull()).filter((x) => x.pageId?.startsWith(`blast-${blastRun}-`) && x.outcome === 'accepted');
  const aloneRate = rateOf(blastReqs);
  if (process.env.BENCH_DUMP) {
    const f = `${process.env.BENCH_DUMP}.m3.json`;
    writeFileSync(f, JSON.stringify({ sosSentAt: sosAt, offset: clock.offset, mayday: reqs, alone: blastReqs }));
    say(`metric 3 raw data in ${f}`);
  }
  if (blast.errors || blast.non2xx || blast['2xx'] !== cfg.fanout) failures.push(`stand-in alone: ${blast['2xx']} answers 201 of ${cfg.fanout} (${blast.errors} errors, ${blast.non2xx} other answers)`);
  await quiesce(rig, Math.max(1000, cfg.callbackDelayMs * 4));
  // alone*: the stand-in alone, accepts a second and the client's own rate, with `width` requests at once.
  return { phase, alonePhase, sosAnswer, firstPage, span, rate, conns, maxInflight, aloneRate, aloneClient, width };
}

/** Over the whole run: no page accepted twice, callbacks taken, credentials right, no page failed. */
async function checkRun({ sql, standin }: Rig) {
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
  return { st, byStatus };
}

// --- the report ---------------------------------------------------------------------------------------

const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
const { row, head: tableHead } = pctTable({ labelWidth: 46, indent: '  ', max: true });
const head = tableHead();
/** CPU milliseconds per operation of a phase, from its % of one core. */
const perOp = (p: Phase, pctCore: number | undefined, n: number) => ((pctCore ?? NaN) / 100) * p.secs! * 1000 / n;

function reportFloor(f: Floor): string[] {
  return [
    `floor, measured alone: ${cfg.floorSamples} sequential samples of each, interleaved`,
    head,
    row('(a) bare INSERT … RETURNING over HTTP', f.a),
    row('(b) POST Messages.json to the stand-in', f.b),
    `  floor = p99(a) + p99(b) = ${fmt(f.p99, 2)} ms   (p99 of the per-sample sums a+b: ${fmt(f.sumP99, 2)} ms)`,
  ];
}

function reportMetric1(m: Metric1, disk: DiskProbe | undefined): string[] {
  const L = [
    `1. SOS sent → first Twilio request received: ${m.counted.length} SOS at ${cfg.rate}/s over ${fmt(m.span, 1)} s (after ${m.warmN} warm-up), zone A (on-call by SMS + voice)`,
    head,
    row('SOS sent → first request at the stand-in', m.lat),
    row('  of which: SOS sent → 201 received', m.answer),
    row('  of which: 201 received → first request', m.afterAnswer),
  ];
  if (disk) {
    // Context, not the ratio: which SOS were waiting while the disk took 50 ms or more to flush.
    const paged = m.counted.filter((s) => m.firstByIncident.has(s.incidentId!));
    const hit = (s: Sos) => disk.stalls(s.sentAt, m.firstByIncident.get(s.incidentId!)!, DISK_STALL_MS).length > 0;
    const clear = paged.filter((s) => !hit(s)).map((s) => m.firstByIncident.get(s.incidentId!)! - s.sentAt);
    L.push(`  SOS waiting through a disk flush of ≥ ${DISK_STALL_MS} ms (probe below): ${paged.length - clear.length} of ${paged.length}; the others alone: p50 ${fmt(pct(clear, 50))}, p99 ${fmt(pct(clear, 99))} ms (context only)`);
  }
  L.push(row(`warm-up (first ${cfg.warmup} s, not counted): the same`, m.warm));
  if (m.probes.length) {
    L.push(row(`floor probe every ${cfg.probeMs} ms: sent → stand-in`, m.probeLat));
    L.push(row('  of which: POST /bare sent → 201 received', m.probeBare));
    L.push(row('  of which: bare 201 → POST at the stand-in', m.probeAfterBare));
    L.push(row('  round trip: sent → stand-in\'s 201', m.probeRoundTrip));
    if (disk) {
      const clear = m.probeSpans.filter(([from, to]) => disk.stalls(from, to, DISK_STALL_MS).length === 0).map(([from, to]) => to - from);
      L.push(`  probes waiting through a disk flush of ≥ ${DISK_STALL_MS} ms: ${m.probeSpans.length - clear.length} of ${m.probeSpans.length}; the others alone: p50 ${fmt(pct(clear, 50))}, p99 ${fmt(pct(clear, 99))} ms (context only)`);
    }
    L.push(row('probe warm-up (not counted): the same', m.probeWarm));
  }
  L.push(row('Mayday GET /healthz meanwhile, every 100 ms', m.healthz.filter((x) => !Number.isNaN(x))));
  L.push(m.loop
    ? `  Mayday's event-loop delay meanwhile (monitorEventLoopDelay; each sample includes its 10 ms interval): p50 ${fmt(m.loop.p50, 1)} ms, p99 ${fmt(m.loop.p99, 1)} ms, max ${fmt(m.loop.max, 1)} ms`
    : `  Mayday's event-loop delay meanwhile: not available (GET /metrics failed)`);
  const p = m.phase;
  // Mayday's database: our backends less the bare server's (the probes' inserts).
  const db = perOp(p, p.pgOurs === undefined ? undefined : p.pgOurs - (p.pgBare ?? 0), m.total);
  L.push(`  CPU per SOS (with its pages and their callbacks): Mayday ${fmt(perOp(p, p.cpu?.procs[0], m.total), 1)} ms, its database ${fmt(db, 1)} ms, ` +
    `stand-in ${fmt(perOp(p, p.cpu?.procs[1], m.total), 1)} ms${m.probes.length ? ' (with the probes\' requests)' : ''}; at ${cfg.rate}/s that is ${fmt((perOp(p, p.cpu?.procs[0], m.total) + db + perOp(p, p.cpu?.procs[1], m.total)) * cfg.rate / 1000, 2)} cores of ${os.cpus().length}`);
  if (m.probes.length) {
    L.push(`  CPU of the ${m.probes.length} floor probes meanwhile, per probe: bare server ${fmt(perOp(p, p.cpu?.procs[2], m.probes.length), 2)} ms, its database ${fmt(perOp(p, p.pgBare, m.probes.length), 2)} ms`);
  }
  return L;
}

function reportMetric2(m: Metric2, disk: DiskProbe | undefined): string[] {
  const L = [
    `2. escalation lateness: ${m.armed} armed incidents, step-1 deadlines spread over ${cfg.window} s (${fmt(m.armed / cfg.window, 0)}/s), zone B, one SMS each`,
    head,
    row('deadline → step-1 request at the stand-in', m.late),
    row('  of which: deadline → escalation batch start', m.pickup),
    row('  of which: batch start → stand-in', m.send),
  ];
  if (disk) {
    const clear = m.spans.filter(([from, to]) => disk.stalls(from, to, DISK_STALL_MS).length === 0).map(([from, to]) => to - from);
    L.push(`  escalations waiting through a disk flush of ≥ ${DISK_STALL_MS} ms: ${m.spans.length - clear.length} of ${m.spans.length}; the others alone: p50 ${fmt(pct(clear, 50))}, p99 ${fmt(pct(clear, 99))} ms (context only)`);
  }
  const p = m.phase;
  L.push(`  CPU per escalation (with its page and callbacks): Mayday ${fmt(perOp(p, p.cpu?.procs[0], m.armed), 2)} ms, its database ${fmt(perOp(p, p.pgOurs, m.armed), 2)} ms, ` +
    `stand-in ${fmt(perOp(p, p.cpu?.procs[1], m.armed), 2)} ms (phase of ${fmt(p.secs, 1)} s)`);
  return L;
}

function reportMetric3(m: Metric3): string[] {
  return [
    `3. fan-out: one incident, ${cfg.fanout} SMS pages (zone supervisors)`,
    `  SOS answered in ${fmt(m.sosAnswer)} ms; first page at the stand-in ${fmt(m.firstPage)} ms after the SOS was sent; pages spread over ${fmt(m.span, 2)} s`,
    `  Mayday:             ${pad(fmt(m.rate, 0), 6)} pages/s (first → last arrival), over ${m.conns} connections (max ${m.maxInflight} in the stand-in's handler at once)`,
    `  stand-in alone:     ${pad(fmt(m.aloneRate, 0), 6)} accepts/s with ${m.width} requests at once from the bench process (autocannon; client-side ${fmt(m.aloneClient, 0)}/s)`,
  ];
}

function reportRatios(f?: Floor, m1?: Metric1, m2?: Metric2, m3?: Metric3): string[] {
  const L = ['ratios (goal):'];
  if (f && m1) {
    const ratio1 = m1.p99 / f.p99;
    L.push(`  1. SOS → first page p99 ÷ floor:                 ${pad(fmt(ratio1, 2), 7)}  (≤ 3)    ${verdict(ratio1 <= 3)}    ${fmt(m1.p99)} ms ÷ ${fmt(f.p99, 2)} ms`);
    if (m1.probes.length) {
      const fair = m1.p99 / m1.probeP99;
      const p50 = pct(m1.lat, 50);
      const probeP50 = pct(m1.probeLat, 50);
      const aloneP50 = pct(f.a, 50) + pct(f.b, 50);
      L.push(`     ÷ concurrent floor probe p99:                 ${pad(fmt(fair, 2), 7)}  (≤ 1)    ${verdict(fair <= 1)}    ${fmt(m1.p99)} ms ÷ ${fmt(m1.probeP99)} ms`);
      L.push(`     p50s: SOS → first page ${fmt(p50)} ms; concurrent floor probe ${fmt(probeP50)} ms (÷ ${fmt(p50 / probeP50, 2)}); ` +
        `floor alone p50(a) + p50(b) ${fmt(aloneP50, 2)} ms (÷ ${fmt(p50 / aloneP50, 2)})`);
    }
  }
  if (m1 && m2) {
    const ratio2 = m2.p99 / m1.p99;
    L.push(`  2. escalation lateness p99 ÷ SOS → page p99:     ${pad(fmt(ratio2, 2), 7)}  (≤ 2)    ${verdict(ratio2 <= 2)}    ${fmt(m2.p99)} ms ÷ ${fmt(m1.p99)} ms`);
  }
  if (m3) {
    const ratio3 = m3.rate / m3.aloneRate;
    L.push(`  3. fan-out pages/s ÷ stand-in accepts/s:         ${pad(fmt(ratio3, 2), 7)}  (≥ 0.5)  ${verdict(ratio3 >= 0.5)}    ${fmt(m3.rate, 0)} ÷ ${fmt(m3.aloneRate, 0)}`);
  }
  return L;
}

/** CPU of each phase by process; warns of phases the rest of the machine or the host disturbed. */
function reportCpu(phases: Phase[]): string[] {
  const L = [`cpu, % of one core: ${pad('mayday', 8)}${pad('its db', 8)}${pad('stand-in', 10)}${pad('bench', 7)}${pad('bare', 6)}${pad('pg all', 8)}${pad('machine', 9)}${pad('steal', 7)}${pad('others', 8)}`];
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
  return L;
}

function reportDisk(rig: Rig, disk: DiskProbe): string[] {
  const L = [`disk flushes (probe: 8 kB written and fdatasync()ed, 10 ms apart, in ${rig.diskDir}, as a commit flushes the WAL; ${disk.count()} in all):`];
  if (disk.error() || disk.count() === 0) warnings.push(`the disk probe did not run (${disk.error() ?? 'no flush done'}): "none" below means nothing`);
  for (const p of rig.phases) {
    const st = disk.stalls(p.from!, p.to!, DISK_STALL_MS);
    L.push(`  ${p.name.padEnd(18)}${st.length ? `${st.length} of ≥ ${DISK_STALL_MS} ms, the longest ${fmt(Math.max(...st.map((x) => x.ms)), 0)} ms` : `none of ≥ ${DISK_STALL_MS} ms`}`);
  }
  L.push('');
  return L;
}

async function main() {
  const t0 = performance.now();
  const rig = await startRig();
  const world = await pagingWorld(rig);
  const smokeId = await smoke(rig, world);
  const run = cfg.phases;
  const f = run.has(1) ? await floor(rig) : undefined;
  const m1 = run.has(1) ? await metric1(rig, world) : undefined;
  await resolveAll(rig, world, [smokeId, ...(m1?.ids ?? [])]);
  const m2 = m1 && run.has(2) ? await metric2(rig, world, m1.firstArrival) : undefined;
  const m3 = run.has(3) ? await metric3(rig, world) : undefined;
  const { st, byStatus } = await checkRun(rig);

  const L: string[] = [
    '',
    `Mayday paging benchmark: Twilio stand-in on loopback (status callbacks ${cfg.callbacks ? `on, ${cfg.callbackDelayMs} ms apart` : 'off'})`,
    `machine:  ${hardware()}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    `runtime:  Node ${process.version}; PostgreSQL ${rig.pgVersion} (${rig.db.label})`,
    `code:     ${codeVersion()}`,
    `clocks:   stand-in minus bench ${fmt(rig.clock.offset, 2)} ms (corrected), best round trip ${fmt(rig.clock.rtt, 2)} ms`,
    '',
    ...(run.size < 3 ? [`phases:   metric ${[...run].sort().join(', ')} only (BENCH_PHASES)`, ''] : []),
    ...(f ? [...reportFloor(f), ''] : []),
    ...(m1 ? reportMetric1(m1, rig.disk) : []),
    ...(m2 ? reportMetric2(m2, rig.disk) : []),
    ...(m3 ? reportMetric3(m3) : []),
    '',
    ...reportRatios(f, m1, m2, m3),
    '',
    ...reportCpu(rig.phases),
    '',
    ...(rig.disk ? reportDisk(rig, rig.disk) : []),
    "Mayday's database connections while each phase ran (pg_stat_activity every 100 ms; mean connections per sample):",
  ];
  for (const p of rig.phases.filter((x) => x.name !== 'floor' && x.name !== '3. stand-in alone')) L.push(`${p.name}:`, ...p.activity.summary());
  L.push('');
  L.push(`stand-in: ${st.received} requests, ${st.accepted} accepted, ${st.callbacks.sent} callbacks taken by their receivers (${st.callbacks.failed} failed), ` +
    `${st.duplicates.length} pages accepted more than once; the sink here took ${rig.sink.count()} callbacks`);
  L.push(`pages by status: ${byStatus.map((r) => `${r.purpose}/${r.status}×${r.n}`).join(', ')}`);
  for (const w of warnings) L.push(`warning: ${w}`);
  process.stdout.write(L.join('\n') + '\n');

  printFailures(failures, { limit: 20, hint: cfg.maydayLogLevel === 'silent' ? "(rerun with BENCH_LOG_LEVEL=warn to see Mayday's own log)" : undefined });
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

runBench(main);
