/**
 * `npm run bench:burst`: issue 21, goal 3, "a burst is absorbed": BENCH_BURST_DRIVERS (5,000)
 * distinct drivers press SOS once each within BENCH_BURST_SECONDS (10). Goals: every one is
 * answered 201; SOS sent → first page at Twilio p99 ≤ 1 s through the burst; the last first page
 * leaves within 2 s of the last 201.
 *
 * Processes: Mayday (src/entry/node.ts) with Twilio credentials and TWILIO_API_BASE_URL at the
 * Twilio stand-in (scripts/twilio-standin.ts, a child of its own, which records when each request
 * arrived and sends signed status callbacks back to Mayday as Twilio would), and this process
 * (load and measurement). One scratch database (DATABASE_URL's server, else the embedded
 * PostgreSQL). Times are epoch milliseconds (performance.timeOrigin + now()) in each process; the
 * stand-in's clock offset to ours is measured and corrected.
 *
 * World: one zone with one on-call supervisor (a rotation) and a policy paging the on-call by SMS
 * and voice at 0 s (bench:paging's zone A), made through the admin API; the drivers straight in
 * SQL (scripts/lib/db.ts insertDrivers: one shared PIN hash pair, a token each).
 *
 * Run: one SOS end to end (both pages reach the stand-in), then a warm-up of BENCH_BURST_WARMUP s
 * at BENCH_BURST_WARMUP_RATE SOS/s from other drivers (a running service has open pools and
 * optimized code; 0 measures a cold burst), whose incidents are resolved and whose paging is let
 * finish. Then the burst: open loop, one SOS per driver, each with a new clientRequestId, evenly
 * paced over the burst's seconds whatever the answers do, over keep-alive node:http connections
 * (at most BENCH_BURST_CONNECTIONS; a request waiting for a free one waits on the clock). No
 * retries: each driver presses once.
 *
 * Per SOS: the answer's latency (the call → the last byte of the answer); SOS sent → the first
 * arrival at the stand-in of any of its incident's pages (the StatusCallback's `page` id, mapped
 * to incidents through the pages table). After the last answer the run waits until every
 * incident's first page has arrived (at most BENCH_BURST_WAIT s) and lists those that never did.
 * An incident never paged counts as infinitely late in the p99.
 *
 * Prints: 201 / non-201 / errors; answer and first-page p50, p90, p99, max; the last 201 → last
 * first page; each second of the run (SOS sent, 201s, first pages, the p99s of the SOS sent in
 * that second, CPU of Mayday, PostgreSQL, the stand-in, this process, the machine and the steal);
 * CPU per process over the burst and over the drain after it (with the database backends of
 * Mayday's pools apart from every postgres process on the machine); the answers on connections
 * the SOS opened apart from those on kept-alive ones; the connections waiting in Mayday's accept
 * queue (/proc/net/tcp, every 200 ms); the machine's TCP listen-queue drops and SYN retransmits
 * (a dropped connection's client tries again 1 s later, then 2 s, …); the verdicts.
 *
 * Front: by default the SOS and the stand-in's callbacks connect to Mayday itself. Node 20 accepts
 * one connection per turn of its event loop, and under the burst a turn handles hundreds of
 * sockets, so Mayday took a few dozen new connections a second and the rest waited in its accept
 * queue (overflowing at 4,096: SYNs dropped and retried after 1, 3, 7 s). A deployment ends TLS
 * at a proxy; two can be put in front here (lib/proxy.ts), and their CPU is printed apart:
 * BENCH_BURST_PROXY=haproxy (Debian's haproxy) opens at most BENCH_BURST_PROXY_MAXCONN (64)
 * connections to Mayday and queues the rest, as a load balancer with a per-target connection
 * limit does; BENCH_BURST_PROXY=nginx (nginx-light) takes the connections at once but opens as
 * many to Mayday as requests are in flight (its kept-alive pool bounds only the idle ones).
 *
 * Env: BENCH_BURST_DRIVERS (5000), BENCH_BURST_SECONDS (10), BENCH_BURST_CONNECTIONS (1000),
 * BENCH_BURST_WARMUP (s, 3; 0: none), BENCH_BURST_WARMUP_RATE (SOS/s, 20), BENCH_BURST_WAIT (s
 * after the last answer for the last first page, 60), BENCH_BURST_TIMEOUT_MS (per SOS, 30000),
 * BENCH_CALLBACK_DELAY_MS (250: the stand-in's delay before each status callback),
 * BENCH_BURST_PROXY (none, haproxy or nginx), BENCH_BURST_PROXY_MAXCONN (64), BENCH_LOG_LEVEL (Mayday's LOG_LEVEL, default silent), BENCH_PROFILE (a directory: Mayday runs
 * with --cpu-prof and writes its profile there when it stops), BENCH_DUMP (a path prefix: each
 * SOS's times written to <prefix>.burst.json).
 * A smoke run: BENCH_BURST_DRIVERS=500 BENCH_BURST_SECONDS=2 npm run bench:burst.
 * Exits non-zero when an SOS of the burst was not answered 201 (or on a crash); the goals are
 * reported, not enforced.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import os from 'node:os';
import type { Sql } from '../src/db/client';
import type { StandinRequest } from './twilio-standin';
import { api, pool, send, sosBody, ZONE_BOUNDARY } from './lib/api';
import { cpuDelta, cpuSample, cpuSeconds, type CpuSample } from './lib/cpu';
import { insertDrivers, openPool, scratchDatabase, serverVersion } from './lib/db';
import { printFailures, runBench } from './lib/main';
import { assertRunning, freePort, newAdminToken, startMayday, waitReady, type Child } from './lib/processes';
import { intEnv, now, say, sleep } from './lib/run';
import { fmt, pad, pct, pctTable, provenance, tally } from './lib/stats';
import { StandinChild, twilioCreds } from './lib/twilio';
import { haproxyAvailable, nginxAvailable, startHaproxy, startNginx, type Proxy } from './lib/proxy';

const cfg = {
  drivers: intEnv('BENCH_BURST_DRIVERS', 5000),
  seconds: intEnv('BENCH_BURST_SECONDS', 10),
  connections: intEnv('BENCH_BURST_CONNECTIONS', 1000),
  warmup: intEnv('BENCH_BURST_WARMUP', 3, 0),
  warmupRate: intEnv('BENCH_BURST_WARMUP_RATE', 20),
  waitS: intEnv('BENCH_BURST_WAIT', 60),
  timeoutMs: intEnv('BENCH_BURST_TIMEOUT_MS', 30_000),
  callbackDelayMs: intEnv('BENCH_CALLBACK_DELAY_MS', 250, 0),
  maydayLogLevel: process.env.BENCH_LOG_LEVEL || 'silent',
  /** What the phones and Twilio's callbacks connect to: `nginx` in front of Mayday (as deployed), or `none` (Mayday directly). */
  proxy: process.env.BENCH_BURST_PROXY ?? 'none',
  /** HAProxy's connections to Mayday at most (BENCH_BURST_PROXY=haproxy). */
  proxyMaxconn: intEnv('BENCH_BURST_PROXY_MAXCONN', 64),
};
if (!['nginx', 'haproxy', 'none'].includes(cfg.proxy)) throw new Error(`BENCH_BURST_PROXY must be haproxy, nginx or none, not ${cfg.proxy}`);
if (cfg.proxy === 'haproxy' && !haproxyAvailable()) throw new Error('BENCH_BURST_PROXY=haproxy: HAProxy is not installed (apt-get install -y haproxy)');
if (cfg.proxy === 'nginx' && !nginxAvailable()) throw new Error('BENCH_BURST_PROXY=nginx: nginx is not installed (apt-get install -y nginx-light)');
const GOAL_FIRST_PAGE_P99_MS = 1000;
const GOAL_TAIL_MS = 2000;

const failures: string[] = [];
const warnings: string[] = [];

interface Rig {
  sql: Sql;
  pgVersion: string;
  dbLabel: string;
  mayday: Child;
  /** Where the SOS and the callbacks go: the proxy's address, or Mayday's. */
  front: string;
  proxy?: Proxy;
  standin: StandinChild;
  adminToken: string;
  /** The stand-in's clock minus ours. */
  clock: { offset: number; rtt: number };
  supervisorToken: string;
  drivers: { id: string; token: string }[];
}

/** The scratch database, the stand-in, Mayday paging through it, the zone, its on-call and the drivers. */
async function startRig(): Promise<Rig> {
  const db = await scratchDatabase();
  const sql = await openPool(db.url, { max: 4, migrated: true });
  const pgVersion = await serverVersion(sql);
  const creds = twilioCreds();
  const standin = await StandinChild.start(creds, ['--callback-delay-ms', String(cfg.callbackDelayMs)]);
  const adminToken = newAdminToken();
  const proxyPort = cfg.proxy === 'none' ? undefined : await freePort();
  const mayday = startMayday('mayday', await freePort(), {
    databaseUrl: db.url, adminToken, logLevel: cfg.maydayLogLevel, twilio: { creds, url: standin.url }, profileDir: process.env.BENCH_PROFILE,
    publicBaseUrl: proxyPort ? `http://127.0.0.1:${proxyPort}` : undefined,
  });
  await Promise.all([waitReady(mayday, '/readyz'), waitReady(standin.child, '/_standin/stats')]);
  const proxy = !proxyPort ? undefined
    : cfg.proxy === 'nginx' ? await startNginx(proxyPort, mayday.port) : await startHaproxy(proxyPort, mayday.port, { maxconn: cfg.proxyMaxconn });
  if (proxy) say(`${cfg.proxy} in front of Mayday at ${proxy.url} (pids ${proxy.pids().join(', ')}): the SOS and the stand-in's callbacks go through it`);
  const clock = await standin.clockOffset();
  say(`mayday ${mayday.base} (pid ${mayday.proc.pid}), stand-in ${standin.url} (pid ${standin.child.proc.pid}); stand-in clock offset ${clock.offset.toFixed(2)} ms (rtt ${clock.rtt.toFixed(2)} ms)`);

  const M = mayday.base;
  const zone = await api<{ id: string }>(M, 'POST', '/v1/zones', adminToken, { name: 'Bench zone', boundary: ZONE_BOUNDARY }, 201);
  const sup = await api<{ id: string; token: string }>(M, 'POST', '/v1/responders', adminToken, { name: 'On call', phone: '+15551000001', role: 'supervisor', zoneIds: [zone.id] }, 201);
  await api(M, 'PUT', `/v1/zones/${zone.id}/rotation`, adminToken, { responderIds: [sup.id], shiftMinutes: 1440, startsAt: new Date(Date.now() - 3_600_000).toISOString() }, 200);
  await api(M, 'PUT', `/v1/zones/${zone.id}/escalation-policy`, adminToken,
    { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms', 'voice'] }], repeatEverySeconds: 86_400 }, 200);
  // The burst's drivers first, then the smoke SOS's and the warm-up's: no driver presses in both.
  const drivers = await insertDrivers(sql, { count: cfg.drivers + 1 + cfg.warmup * cfg.warmupRate, name: 'Bench driver', phonePrefix: '+1557' });
  say(`world: one zone, its on-call supervisor (SMS and voice at 0 s), ${drivers.length} drivers`);
  return { sql, pgVersion, dbLabel: db.label, mayday, front: proxy?.url ?? mayday.base, proxy, standin, adminToken, clock, supervisorToken: sup.token, drivers };
}

// --- load -------------------------------------------------------------------------------------------

/**
 * A keep-alive agent that counts the connections it opens (it opens one synchronously within the
 * request that needs it) and times each from connect() to its 'connect' event (the handshake done).
 */
class CountingAgent extends Agent {
  opened = 0;
  connectMs: number[] = [];
  override createConnection(o: ClientRequestArgs, cb?: (err: Error | null, stream: Duplex) => void) {
    this.opened++;
    const t = now();
    const socket = super.createConnection(o, cb);
    socket?.once('connect', () => this.connectMs.push(now() - t));
    return socket;
  }
}

interface Sos {
  i: number;
  /** When it was due by the schedule, and when it was sent (our clock). */
  due: number;
  sentAt: number;
  answeredAt?: number;
  status?: number;
  incidentId?: string;
  error?: string;
  /** Requests in flight (this one included) when it was sent. */
  inflight: number;
  /** It opened a new connection (else it went on a kept-alive one, at once or after waiting for one to be free). */
  newConnection?: boolean;
}

/**
 * One SOS per driver of `drivers`, evenly over `seconds`, open loop: each is sent when due (or at
 * once when this process is behind), whatever the earlier ones' answers are doing.
 */
async function press(rig: Rig, agent: CountingAgent, drivers: { token: string }[], seconds: number): Promise<Sos[]> {
  const interval = (seconds * 1000) / drivers.length;
  const soses: Sos[] = [];
  const pending: Promise<void>[] = [];
  let inflight = 0;
  const start = now() + 20;
  for (let i = 0; i < drivers.length; i++) {
    const due = start + i * interval;
    const wait = due - now();
    if (wait > 0.5) await sleep(wait);
    const body = sosBody();
    const s: Sos = { i, due, sentAt: now(), inflight: ++inflight };
    soses.push(s);
    const opened = agent.opened;
    const sent = send(`${rig.front}/v1/sos`, {
      agent, method: 'POST', body, timeoutMs: cfg.timeoutMs,
      headers: { authorization: `Bearer ${drivers[i].token}`, 'content-type': 'application/json' },
    });
    s.newConnection = agent.opened > opened;
    pending.push(sent.then((r) => {
      s.answeredAt = now();
      s.status = r.status;
      try {
        if (r.status === 201) s.incidentId = (JSON.parse(r.text) as { incident: { id: string } }).incident.id;
        else s.error = r.text.slice(0, 300);
      } catch {
        s.status = -201; // a 201 whose body names no incident
        s.error = r.text.slice(0, 300);
      }
    }, (e: NodeJS.ErrnoException) => {
      s.answeredAt = now();
      s.error = `${e.message}${e.code ? ` (${e.code})` : ''}`;
    }).finally(() => void inflight--));
  }
  await Promise.all(pending);
  return soses;
}

// --- pages at the stand-in ---------------------------------------------------------------------------

/** Incident → the first arrival at the stand-in of any of its pages (our clock), grown by each update(). */
class FirstPages {
  readonly byIncident = new Map<string, number>();
  private incidentOfPage = new Map<string, string | null>();
  constructor(private rig: Rig) {}
  /** Pull the stand-in's new requests and map their page ids to incidents (one query for the new ones). */
  async update(): Promise<void> {
    const got: StandinRequest[] = await this.rig.standin.pull();
    const fresh = [...new Set(got.filter((r) => r.pageId && r.outcome === 'accepted' && !this.incidentOfPage.has(r.pageId)).map((r) => r.pageId!))];
    if (fresh.length) {
      const uuids = fresh.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
      const rows = uuids.length ? await this.rig.sql<{ id: string; incident_id: string }[]>`SELECT id, incident_id FROM pages WHERE id = ANY(${uuids}::uuid[])` : [];
      for (const id of fresh) this.incidentOfPage.set(id, null);
      for (const r of rows) this.incidentOfPage.set(r.id, r.incident_id);
    }
    for (const r of got) {
      const inc = r.pageId && r.outcome === 'accepted' ? this.incidentOfPage.get(r.pageId) : undefined;
      if (!inc) continue;
      const at = r.at - this.rig.clock.offset;
      if (at < (this.byIncident.get(inc) ?? Infinity)) this.byIncident.set(inc, at);
    }
  }
  /** Until every one of `ids` has a first page, or `untilMs` (our clock) passes. */
  async waitFor(ids: string[], untilMs: number): Promise<string[]> {
    for (;;) {
      assertRunning();
      await this.update();
      const missing = ids.filter((id) => !this.byIncident.has(id));
      if (!missing.length || now() > untilMs) return missing;
      await sleep(250);
    }
  }
}

/** Until Mayday has no page due and unsent and the stand-in has been quiet (no request, no callback) for `quietMs`. */
async function quiesce({ sql, standin }: Rig, quietMs: number): Promise<void> {
  let last = '';
  let since = Date.now();
  const until = Date.now() + 120_000;
  for (;;) {
    assertRunning();
    const s = await standin.stats(false);
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE status IN ('queued', 'sending') AND not_before <= now()`;
    const key = `${s.received}/${s.callbacks.sent}/${s.callbacks.failed}/${n}/${s.inflight}`;
    if (key !== last) (last = key), (since = Date.now());
    if (n === 0 && s.inflight === 0 && Date.now() - since >= quietMs) return;
    if (Date.now() > until) throw new Error(`not quiet after 120 s (stand-in received/callbacks/failed, pages due, in flight: ${key})`);
    await sleep(200);
  }
}

// --- CPU --------------------------------------------------------------------------------------------

/** CPU seconds so far of each database backend of Mayday's two pools. */
async function backends(sql: Sql): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('mayday', 'mayday-intake')`;
  return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]).filter((e): e is [number, number] => e[1] !== undefined));
}
/** % of one core the backends of `a` used until `b` (those present at both). */
function backendsPct(a: Map<number, number>, b: Map<number, number>, secs: number): number {
  let used = 0;
  for (const [pid, t] of b) used += t - (a.get(pid) ?? t);
  return (used / secs) * 100;
}

/**
 * cpuDelta between two samples taken earlier: its `self` is this process's usage from `a` to the
 * moment of the call, so here it is taken from the two samples instead.
 */
function cpuBetween(a: CpuSample, b: CpuSample) {
  const secs = (b.at - a.at) / 1000;
  const self = ((b.self.user - a.self.user + b.self.system - a.self.system) / 1e6 / secs) * 100;
  return { ...cpuDelta(a, b), self };
}

/** The machine's TCP counters that show connections refused or retried at the listen queue (Linux /proc/net/netstat; {} elsewhere). */
function tcpCounters(): Record<string, number> {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0].split(/\s+/).slice(1);
    const values = lines[1].split(/\s+/).slice(1).map(Number);
    const want = ['ListenOverflows', 'ListenDrops', 'TCPSynRetrans', 'TCPTimeouts'];
    return Object.fromEntries(names.map((n, i) => [n, values[i]]).filter(([n]) => want.includes(n as string)));
  } catch {
    return {};
  }
}

/**
 * Connections waiting in the accept queue of the listening socket on `port` (Linux: rx_queue of
 * its LISTEN line in /proc/net/tcp and tcp6): handshaken by the kernel, not yet taken by the
 * process. Undefined where /proc/net is not readable.
 */
function acceptQueue(port: number): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n: number | undefined;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        const c = line.trim().split(/\s+/);
        if (c[3] === '0A' && c[1]?.endsWith(`:${hex}`)) n = (n ?? 0) + parseInt(c[4].split(':')[1], 16);
      }
    } catch {
      /* not Linux */
    }
  }
  return n;
}

interface Window { name: string; cpu: ReturnType<typeof cpuBetween>; ours: number; secs: number }

/** A CPU sample of Mayday and the stand-in (and postgres, this process, the machine) each second while the burst runs and drains. */
class EverySecond {
  readonly samples: CpuSample[] = [];
  private timer?: ReturnType<typeof setInterval>;
  /** Mayday's accept queue every 200 ms: [when, connections waiting]. */
  readonly queue: [number, number][] = [];
  private queueTimer?: ReturnType<typeof setInterval>;
  constructor(private pids: (number | undefined)[], private port: number) {}
  start() {
    this.samples.push(cpuSample(this.pids));
    this.timer = setInterval(() => this.samples.push(cpuSample(this.pids)), 1000);
    this.queueTimer = setInterval(() => {
      const n = acceptQueue(this.port);
      if (n !== undefined) this.queue.push([now(), n]);
    }, 200);
  }
  stop() {
    clearInterval(this.timer);
    clearInterval(this.queueTimer);
    this.samples.push(cpuSample(this.pids));
  }
  /** CPU of the second that began `k` seconds after the first sample (undefined past the last). */
  second(k: number) {
    return k + 1 < this.samples.length ? cpuBetween(this.samples[k], this.samples[k + 1]) : undefined;
  }
}

// --- the run ----------------------------------------------------------------------------------------

async function main() {
  const t0 = performance.now();
  const rig = await startRig();
  const { sql, mayday, standin } = rig;
  const burstDrivers = rig.drivers.slice(0, cfg.drivers);
  const others = rig.drivers.slice(cfg.drivers);
  const firsts = new FirstPages(rig);
  const agent = new CountingAgent({ keepAlive: true, maxSockets: cfg.connections });

  // One SOS end to end: a broken setup says so plainly, not as a burst of errors.
  const smoke = await api<{ incident: { id: string; zoneRule: string } }>(mayday.base, 'POST', '/v1/sos', others[0].token, JSON.parse(sosBody()), 201);
  if (smoke.incident.zoneRule !== 'inside') throw new Error(`the benchmark location is not inside the zone: ${JSON.stringify(smoke.incident)}`);
  if ((await firsts.waitFor([smoke.incident.id], now() + 15_000)).length) throw new Error('the smoke SOS was not paged to the stand-in within 15 s');
  const s0 = await standin.stats(false);
  if (s0.unauthorized) throw new Error(`the stand-in refused Mayday's credentials (${s0.unauthorized}×401)`);
  const warmIds = [smoke.incident.id];

  // The warm-up, from drivers outside the burst; its incidents resolved, its paging finished.
  let warm: Sos[] = [];
  if (cfg.warmup > 0) {
    say(`warm-up: ${cfg.warmup * cfg.warmupRate} SOS over ${cfg.warmup} s`);
    warm = await press(rig, agent, others.slice(1), cfg.warmup);
    const bad = warm.filter((s) => s.status !== 201);
    if (bad.length) throw new Error(`warm-up: ${bad.length} SOS not answered 201; first: ${bad[0].status ?? ''} ${bad[0].error}`);
    warmIds.push(...warm.map((s) => s.incidentId!));
    await firsts.waitFor(warmIds, now() + 30_000);
  }
  await quiesce(rig, Math.max(1000, cfg.callbackDelayMs * 4));
  await pool(warmIds.length, 8, (i) => api(mayday.base, 'POST', `/v1/incidents/${warmIds[i]}/resolve`, rig.supervisorToken, { disposition: 'false_alarm', note: 'benchmark warm-up' }, 200));
  await quiesce(rig, Math.max(1000, cfg.callbackDelayMs * 4));
  await firsts.update();

  // The burst.
  say(`burst: ${cfg.drivers} SOS over ${cfg.seconds} s (${fmt(cfg.drivers / cfg.seconds, 0)}/s), up to ${cfg.connections} connections`);
  const pids = [mayday.proc.pid, standin.child.proc.pid];
  const proxyPids = rig.proxy?.pids() ?? [];
  const proxyCpu0 = proxyPids.map(cpuSeconds);
  const perSecond = new EverySecond(pids, mayday.port);
  const b0 = await backends(sql);
  const tcp0 = tcpCounters();
  const c0 = cpuSample(pids);
  perSecond.start();
  const connectsBefore = agent.connectMs.length;
  const soses = await press(rig, agent, burstDrivers, cfg.seconds);
  const burstConnects = agent.connectMs.slice(connectsBefore);
  const c1 = cpuSample(pids);
  const proxyCpu1 = proxyPids.map(cpuSeconds);
  const b1 = await backends(sql);
  const lastAnswerAt = Math.max(...soses.map((s) => s.answeredAt!));
  const ok = soses.filter((s) => s.status === 201 && s.incidentId);
  const ids = ok.map((s) => s.incidentId!);
  say(`burst: ${ok.length} of ${soses.length} answered 201; waiting for the first pages (at most ${cfg.waitS} s)`);
  const missing = await firsts.waitFor(ids, lastAnswerAt + cfg.waitS * 1000);
  const c2 = cpuSample(pids);
  const tcp2 = tcpCounters();
  const b2 = await backends(sql);
  perSecond.stop();
  agent.destroy();
  const windows: Window[] = [
    { name: 'burst', cpu: cpuBetween(c0, c1), secs: (c1.at - c0.at) / 1000, ours: 0 },
    { name: 'drain', cpu: cpuBetween(c1, c2), secs: (c2.at - c1.at) / 1000, ours: 0 },
  ];
  windows[0].ours = backendsPct(b0, b1, windows[0].secs);
  windows[1].ours = backendsPct(b1, b2, windows[1].secs);

  // Accounting.
  if (new Set(ids).size !== ids.length) failures.push(`${ids.length - new Set(ids).size} SOS answered 201 with an incident another SOS of the burst had opened`);
  const non201 = soses.filter((s) => s.status !== undefined && s.status !== 201);
  const errors = soses.filter((s) => s.status === undefined);
  if (non201.length) failures.push(`${non201.length} SOS answered other than 201 (${tally(non201.map((s) => s.status))}); first: ${non201.slice(0, 3).map((s) => `${s.status} ${s.error}`).join(' | ')}`);
  if (errors.length) failures.push(`${errors.length} SOS without an answer (${tally(errors.map((s) => s.error?.replace(/\d+/g, 'N')))})`);
  const first = (s: Sos) => firsts.byIncident.get(s.incidentId!);
  const answer = ok.map((s) => s.answeredAt! - s.sentAt);
  // An incident never paged is infinitely late: the p99 is over every SOS answered 201.
  const toFirst = ok.map((s) => (first(s) ?? Infinity) - s.sentAt);
  const afterAnswer = ok.filter((s) => first(s) !== undefined).map((s) => first(s)! - s.answeredAt!);
  const paged = ok.filter((s) => first(s) !== undefined);
  const last201 = Math.max(...ok.map((s) => s.answeredAt!));
  const lastFirst = missing.length ? Infinity : Math.max(...paged.map((s) => first(s)!));
  const tail = lastFirst - last201;
  const late = soses.map((s) => s.sentAt - s.due);
  const peakInflight = Math.max(...soses.map((s) => s.inflight));
  const queuedForSocket = soses.filter((s) => s.inflight > cfg.connections).length;
  const st = await standin.stats();
  for (const dup of st.duplicates) failures.push(`page ${dup.pageId} was accepted ${dup.accepted} times by the stand-in`);
  if (st.callbacks.failed) warnings.push(`${st.callbacks.failed} status callbacks failed (${Object.entries(st.callbacks.why).map(([k, n]) => `${k}×${n}`).join(', ')}; last: ${st.callbacks.lastError})`);
  const byStatus = await sql<{ purpose: string; status: string; n: number }[]>`SELECT purpose, status, count(*)::int AS n FROM pages GROUP BY purpose, status ORDER BY n DESC`;
  // Where a late first page waited: from its page's row being written (the SOS's commit) to the
  // record that Twilio took it (up to yieldToIntakeMs more behind an SOS in flight), and its tries.
  const [pageTimes] = await sql<{ n: number; p50: number; p99: number; max: number; retried: number; over5s: number }[]>`
    SELECT count(*)::int AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM p.sent_at - p.created_at) * 1000)::float8 AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM p.sent_at - p.created_at) * 1000)::float8 AS p99,
           max(extract(epoch FROM p.sent_at - p.created_at) * 1000)::float8 AS max,
           count(*) FILTER (WHERE p.tries > 1)::int AS retried,
           count(*) FILTER (WHERE p.sent_at - p.created_at > interval '5 s')::int AS over5s
    FROM pages p WHERE p.incident_id = ANY (${ids}::uuid[]) AND p.sent_at IS NOT NULL`;

  // The report.
  const start = soses[0].due;
  const rel = (t: number) => `${fmt((t - start) / 1000, 2)} s`;
  const { row, head } = pctTable({ labelWidth: 40, indent: '  ', max: true });
  const L: string[] = [
    '',
    `Mayday burst benchmark: ${cfg.drivers} distinct drivers press SOS once each, evenly over ${cfg.seconds} s (${fmt(cfg.drivers / cfg.seconds, 0)}/s, open loop), ${rig.proxy ? `through ${cfg.proxy}` : 'straight to Mayday'},`,
    `  over at most ${cfg.connections} keep-alive connections; pages to the Twilio stand-in on loopback (status callbacks ${cfg.callbackDelayMs} ms apart)`,
    ...provenance(rig.pgVersion, rig.dbLabel, `load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`),
    `clocks:   stand-in minus bench ${fmt(rig.clock.offset, 2)} ms (corrected), best round trip ${fmt(rig.clock.rtt, 2)} ms`,
    '',
  ];
  if (warm.length) {
    const w = warm.filter((s) => firsts.byIncident.has(s.incidentId!));
    L.push(`warm-up (not counted): ${warm.length} SOS at ${cfg.warmupRate}/s: answer p50 ${fmt(pct(warm.map((s) => s.answeredAt! - s.sentAt), 50))} ms, p99 ${fmt(pct(warm.map((s) => s.answeredAt! - s.sentAt), 99))} ms; ` +
      `first page p50 ${fmt(pct(w.map((s) => firsts.byIncident.get(s.incidentId!)! - s.sentAt), 50))} ms, p99 ${fmt(pct(w.map((s) => firsts.byIncident.get(s.incidentId!)! - s.sentAt), 99))} ms`);
  } else L.push('warm-up: none (a cold burst)');
  L.push(
    `sending: last SOS sent at ${rel(soses[soses.length - 1].sentAt)}; behind schedule p50 ${fmt(pct(late, 50), 2)} ms, p99 ${fmt(pct(late, 99), 2)} ms, max ${fmt(Math.max(...late), 1)} ms; ` +
      `peak ${peakInflight} SOS in flight; ${soses.filter((s) => s.newConnection).length} connections opened (${queuedForSocket} SOS sent while all ${cfg.connections} were busy)`,
    `answers: 201 ×${ok.length}, other ×${non201.length}${non201.length ? ` (${tally(non201.map((s) => s.status))})` : ''}, no answer ×${errors.length}`,
    head(),
    row('SOS sent → 201 received', answer),
    row('  of which on a connection it opened', ok.filter((s) => s.newConnection).map((s) => s.answeredAt! - s.sentAt)),
    row('  of which on a kept-alive connection', ok.filter((s) => !s.newConnection).map((s) => s.answeredAt! - s.sentAt)),
    row('  (connect() → connected, each connection)', burstConnects),
    row('SOS sent → first page at the stand-in', toFirst.filter(Number.isFinite)),
    row('  of which on a connection it opened', ok.filter((s) => s.newConnection && first(s) !== undefined).map((s) => first(s)! - s.sentAt)),
    row('  of which on a kept-alive connection', ok.filter((s) => !s.newConnection && first(s) !== undefined).map((s) => first(s)! - s.sentAt)),
    row('  201 received → first page', afterAnswer),
    `  (first-page p99 over all ${ok.length} incidents, the never paged as infinitely late: ${fmt(pct(toFirst, 99))} ms)`,
    `last 201 at ${rel(last201)}, last first page at ${Number.isFinite(lastFirst) ? rel(lastFirst) : 'never'}: last first page − last 201 = ${fmt(tail)} ms`,
  );
  if (missing.length) L.push(`never paged within ${cfg.waitS} s of the last answer: ${missing.length} incidents (first: ${missing.slice(0, 5).join(', ')})`);
  L.push('');

  // Each second from the first SOS's due time.
  const seconds = Math.ceil(((Number.isFinite(lastFirst) ? lastFirst : now()) - start) / 1000);
  const inSecond = (t: number | undefined, k: number) => t !== undefined && t >= start + k * 1000 && t < start + (k + 1) * 1000;
  L.push(`each second from the first SOS: SOS sent, 201s received, first pages arrived, answer p50 and p99 and first-page p99 of the SOS sent in it, the most connections waiting in Mayday's accept queue (every 200 ms); CPU, % of one core (of ${os.cpus().length * 100})`);
  L.push(`  ${'s'.padEnd(4)}${pad('sent', 6)}${pad('201s', 6)}${pad('paged', 7)}${pad('answer p50', 12)}${pad('p99', 7)}${pad('page p99', 10)}${pad('acc q', 7)}  ${pad('mayday', 7)}${pad('pg all', 8)}${pad('stand-in', 9)}${pad('bench', 7)}${pad('machine', 9)}${pad('steal', 7)}`);
  const cpuAt = (k: number) => {
    // The per-second samples began when the burst's first SOS was 20 ms from due; close enough to read as that second.
    const c = perSecond.second(k);
    return c ? `${pad(fmt(c.procs[0], 0), 7)}${pad(fmt(c.pg, 0), 8)}${pad(fmt(c.procs[1], 0), 9)}${pad(fmt(c.self, 0), 7)}${pad(fmt(c.machine, 0), 9)}${pad(fmt(c.steal, 0), 7)}` : '';
  };
  const queueAt = (k: number) => {
    const q = perSecond.queue.filter(([t]) => inSecond(t, k)).map(([, n]) => n);
    return q.length ? String(Math.max(...q)) : '';
  };
  for (let k = 0; k < Math.min(seconds, cfg.seconds + cfg.waitS + 5); k++) {
    const sent = soses.filter((s) => inSecond(s.sentAt, k));
    const sentOk = sent.filter((s) => s.incidentId);
    L.push(`  ${String(k).padEnd(4)}${pad(String(sent.length), 6)}${pad(String(ok.filter((s) => inSecond(s.answeredAt, k)).length), 6)}` +
      `${pad(String(ok.filter((s) => inSecond(first(s), k)).length), 7)}${pad(sent.length ? fmt(pct(sent.map((s) => s.answeredAt! - s.sentAt), 50), 0) : '', 12)}` +
      `${pad(sent.length ? fmt(pct(sent.map((s) => s.answeredAt! - s.sentAt), 99), 0) : '', 7)}` +
      `${pad(sentOk.length ? fmt(pct(sentOk.map((s) => (first(s) ?? Infinity) - s.sentAt), 99), 0) : '', 10)}${pad(queueAt(k), 7)}  ${cpuAt(k)}`);
  }
  L.push('');

  L.push(`cpu, % of one core: ${''.padEnd(16)}${pad('mayday', 8)}${pad('its db', 8)}${pad('pg all', 8)}${pad('stand-in', 10)}${pad('bench', 7)}${pad('machine', 9)}${pad('steal', 7)}${pad('others', 8)}`);
  for (const w of windows) {
    const c = w.cpu;
    if (w.secs < 0.5) {
      L.push(`  ${`${w.name} (${fmt(w.secs, 1)} s)`.padEnd(34)}(too short to measure)`);
      continue;
    }
    const mine = [c.procs[0], c.procs[1], c.pg, c.self].reduce<number>((a, b) => a + (b ?? 0), 0);
    const rest = c.machine === undefined ? undefined : Math.max(0, c.machine - mine - (c.steal ?? 0));
    L.push(`  ${`${w.name} (${fmt(w.secs, 1)} s)`.padEnd(34)}${pad(fmt(c.procs[0], 0), 8)}${pad(fmt(w.ours, 0), 8)}${pad(fmt(c.pg, 0), 8)}${pad(fmt(c.procs[1], 0), 10)}${pad(fmt(c.self, 0), 7)}${pad(fmt(c.machine, 0), 9)}${pad(fmt(c.steal, 0), 7)}${pad(fmt(rest, 0), 8)}`);
    if (rest !== undefined && rest > 50) warnings.push(`${w.name}: other work on the machine used ${fmt(rest, 0)}% of a core; the figures are disturbed`);
    if (c.steal !== undefined && c.steal > 20) warnings.push(`${w.name}: the host took ${fmt(c.steal, 0)}% of a core from this machine (steal); the figures are disturbed`);
  }
  L.push("  (burst: first SOS sent → last answer; drain: last answer → last first page seen. its db: the backends of Mayday's two pools; pg all: every");
  L.push('   process named postgres on the machine, other clients of a shared server included; others: machine minus the rest and the steal)');
  const tcp = Object.keys(tcp2).map((k) => `${k} ${tcp2[k] - (tcp0[k] ?? 0)}`).join(', ');
  const qPeak = perSecond.queue.length ? Math.max(...perSecond.queue.map(([, n]) => n)) : undefined;
  L.push(`tcp: Mayday's accept queue (connections handshaken, not yet taken by Mayday; the stand-in's callbacks' too) at most ${qPeak ?? 'not measured'}; ` +
    `the whole machine over the burst and drain (other programs' connections included): ${tcp || 'not available'}`);
  L.push('  (ListenOverflows/ListenDrops: connections a full listen queue dropped, whose SYN the client sends again after 1 s, 2 s more, …)');
  if (rig.proxy) {
    const used = proxyPids.reduce((a, _, i) => a + ((proxyCpu1[i] ?? 0) - (proxyCpu0[i] ?? 0)), 0);
    L.push(`front: ${cfg.proxy === 'nginx' ? 'nginx (one worker, a kept-alive pool to Mayday)' : `HAProxy (one thread, at most ${cfg.proxyMaxconn} connections to Mayday, the rest queued)`}: ${fmt((100 * used) / windows[0].secs, 0)}% of a core over the burst (in "others" above); the accept queue above is Mayday's behind it`);
  } else L.push('front: none, phones and callbacks connect to Mayday itself (BENCH_BURST_PROXY=none)');
  L.push('');

  const p99 = pct(toFirst, 99);
  L.push('goals:');
  L.push(`  1. every SOS answered 201:                     ${pad(`${ok.length} of ${soses.length}`, 14)}  ${ok.length === soses.length ? 'met' : 'NOT met'}`);
  L.push(`  2. SOS → first page p99 ≤ ${GOAL_FIRST_PAGE_P99_MS} ms:              ${pad(`${fmt(p99, 0)} ms`, 14)}  ${p99 <= GOAL_FIRST_PAGE_P99_MS ? 'met' : 'NOT met'}`);
  L.push(`  3. last first page ≤ ${GOAL_TAIL_MS} ms after the last 201: ${pad(`${fmt(tail, 0)} ms`, 14)}  ${tail <= GOAL_TAIL_MS ? 'met' : 'NOT met'}`);
  L.push(`  (context: answer p50 ${fmt(pct(answer, 50), 0)} ms, p99 ${fmt(pct(answer, 99), 0)} ms; first page p50 ${fmt(pct(toFirst, 50), 0)} ms)`);
  L.push('');
  L.push(`stand-in: ${st.received} requests, ${st.accepted} accepted, ${st.callbacks.sent} callbacks taken by Mayday (${st.callbacks.failed} failed), ${st.duplicates.length} pages accepted more than once`);
  L.push(`pages by purpose/status: ${byStatus.map((r) => `${r.purpose}/${r.status}×${r.n}`).join(', ')}`);
  L.push(`the burst's pages, row written (its SOS's commit) → send recorded: p50 ${fmt(pageTimes.p50)} ms, p99 ${fmt(pageTimes.p99)} ms, max ${fmt(pageTimes.max)} ms; ` +
    `${pageTimes.over5s} of ${pageTimes.n} over 5 s; ${pageTimes.retried} needed more than one try`);
  for (const w of warnings) L.push(`warning: ${w}`);
  process.stdout.write(L.join('\n') + '\n');
  if (process.env.BENCH_DUMP) {
    const f = `${process.env.BENCH_DUMP}.burst.json`;
    writeFileSync(f, JSON.stringify({ offset: rig.clock.offset, soses: soses.map((s) => ({ ...s, firstPageAt: s.incidentId ? first(s) : undefined })) }));
    say(`raw data (per SOS: due, sent, answered, first page at the stand-in, on this process's clock) in ${f}`);
  }

  printFailures(failures, { limit: 20, hint: cfg.maydayLogLevel === 'silent' ? "(rerun with BENCH_LOG_LEVEL=warn to see Mayday's own log)" : undefined });
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

runBench(main);
