/**
 * `npm run bench:bypass`: an SOS never waits behind the ordinary support lane.
 *
 *   SOS p99 with 100,000 open support requests queued  /  SOS p99 with none, in one run; goal <= 1.1.
 *
 * Mayday runs for real in a child process of its own (`node --import tsx src/entry/node.ts`, its
 * own process group, SIGTERM then SIGKILL after 15 s) on a scratch database; the load comes from
 * here: POST /v1/sos paced evenly at a fixed rate, open loop (every request a new
 * clientRequestId, so each opens an incident; drivers round-robin; a spot inside the zone), over
 * keep-alive connections of node:http. Not autocannon: its fixed rate sends each second's
 * requests in one burst at the top of the second, so its p99 measures how fast a burst drains,
 * not what one SOS costs. Latency is each 201's own, from the call to the last byte (waiting
 * for a free connection included), pooled per condition; p99 is the nearest-rank percentile.
 *
 * Phases, each after a warm-up of its own (and one longer warm-up at the start): none, backlog,
 * backlog, none (ABBA), BENCH_ROUNDS times, so the slow drift of a growing incidents table and
 * the other tenants' load of a shared machine fall on both conditions alike. Before a backlog
 * phase 100,000 open support requests (70 % tier 1, 20 % tier 2, 10 % tier 3, ordinary
 * categories, from the bench drivers) go in with one INSERT ... SELECT generate_series; before a
 * none phase they are TRUNCATEd. After each change: VACUUM ANALYZE of support_requests and a CHECKPOINT (when
 * allowed), then a short pause, so what is compared is the backlog's presence, not the bulk
 * write's aftermath (a fresh 100k-row table would otherwise draw autovacuum into a phase).
 *
 * After each phase, a second, smaller measurement of the bypass itself: BENCH_PROMOTIONS
 * support requests of category `safety`, one after another, each promoted at once to an incident;
 * their p99 is printed per condition too (no goal: it is the lane's own path).
 *
 * Drivers are inserted directly in SQL (one precomputed PIN hash reused: PBKDF2 is slow on
 * purpose) with tokens minted as the API mints them; the zone is made through the admin API.
 *
 * Database: DATABASE_URL if set (a scratch database mayday_bench_<random> is created on that
 * server and dropped at the end), else the embedded PostgreSQL in a temporary directory.
 *
 * Env: BENCH_DURATION (s per phase, default 10), BENCH_RATE (SOS/s overall, default 50: well under
 * what a 2-core machine takes, so a p99 shows the cost of an SOS and not a queue of them; 0 =
 * closed loop, as fast as BENCH_CONNECTIONS allow), BENCH_CONNECTIONS (default 10), BENCH_ROUNDS
 * (ABBA rounds, default 2), BENCH_WARMUP (s per phase, default 3), BENCH_DRIVERS (default 50),
 * BENCH_BACKLOG (default 100000), BENCH_PROMOTIONS (default 100), BENCH_LOG_LEVEL (Mayday's
 * LOG_LEVEL, default silent).
 * Exits non-zero on any request error or non-201 answer. The goal is reported, not enforced: on
 * a shared machine another tenant's load moves a p99 by far more than 10 % (the table shows each
 * phase, and the load average at the end); rerun on a quiet machine before concluding.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPin, hashToken, newToken } from '../src/auth/crypto';
import { connect, type Sql } from '../src/db/client';
import { startEmbedded, type EmbeddedPostgres } from '../src/db/embedded';
import { migrate } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';

const REPO = fileURLToPath(new URL('..', import.meta.url));

function intEnv(name: string, dflt: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

const cfg = {
  duration: intEnv('BENCH_DURATION', 10),
  rate: intEnv('BENCH_RATE', 50, 0),
  rounds: intEnv('BENCH_ROUNDS', 2),
  connections: intEnv('BENCH_CONNECTIONS', 10),
  warmup: intEnv('BENCH_WARMUP', 3, 0),
  drivers: intEnv('BENCH_DRIVERS', 50),
  backlog: intEnv('BENCH_BACKLOG', 100_000),
  promotions: intEnv('BENCH_PROMOTIONS', 100, 0),
  maydayLogLevel: process.env.BENCH_LOG_LEVEL || 'silent',
};
const GOAL = 1.1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started registers its undo here; run in reverse order, once, also on
// failure and on Ctrl-C. (The same pattern as scripts/bench-intake.ts.)

const undo: { what: string; fn: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (undo.length) {
      const { what, fn } = undo.pop()!;
      try {
        await fn();
      } catch (e) {
        say(`cleanup: ${what} failed: ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}

// ---------------------------------------------------------------------------------------------
// The Mayday child process

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

interface Child { proc: ChildProcess; base: string; exited: boolean; exitInfo?: string; tail(): string }

function startMayday(port: number, env: Record<string, string>): Child {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Nothing of the caller's Mayday/Twilio settings may leak in: the child gets exactly ours.
    if (v === undefined || /^(TWILIO_|DATABASE_URL$|DATA_DIR$|ADMIN_TOKEN$|PUBLIC_BASE_URL$|DEMO$|LOG_LEVEL$|LOG_FORMAT$|PORT$)/.test(k)) continue;
    clean[k] = v;
  }
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/entry/node.ts'], {
    cwd: REPO,
    env: { ...clean, ...env, PORT: String(port) },
    detached: true, // its own process group
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString('utf8')).slice(-8000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.stdin!.on('error', () => {});
  const child: Child = { proc, base: `http://127.0.0.1:${port}`, exited: false, tail: () => out.trim() };
  proc.once('exit', (code, signal) => {
    child.exited = true;
    child.exitInfo = signal ? `signal ${signal}` : `code ${code}`;
  });
  undo.push({ what: 'stop mayday', fn: () => stopChild(child) });
  return child;
}

async function stopChild(c: Child): Promise<void> {
  if (c.exited || c.proc.pid === undefined) return;
  const pid = c.proc.pid;
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* gone already */
    }
  };
  group('SIGTERM');
  const until = Date.now() + 15_000;
  while (!c.exited && Date.now() < until) await sleep(50);
  if (!c.exited) {
    say('mayday did not stop within 15 s of SIGTERM; killing it');
    group('SIGKILL');
    while (!c.exited && Date.now() < until + 5_000) await sleep(50);
  }
}

async function waitReady(c: Child, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (c.exited) throw new Error(`mayday exited (${c.exitInfo}) before it was ready; its output ends:\n${c.tail()}`);
    try {
      const res = await fetch(`${c.base}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `${res.status} ${(await res.text()).slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`mayday not ready after ${timeoutMs / 1000} s (GET /readyz: ${last}); its output ends:\n${c.tail()}`);
}

// ---------------------------------------------------------------------------------------------
// Database

async function scratchDatabase(): Promise<{ url: string; label: string }> {
  const name = `mayday_bench_${randomBytes(5).toString('hex')}`;
  const given = process.env.DATABASE_URL;
  if (given) {
    const admin = connect(given, { max: 1, applicationName: 'mayday-bench' });
    undo.push({ what: 'close the admin connection', fn: () => admin.end({ timeout: 2 }) });
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    undo.push({ what: `drop database ${name}`, fn: async () => void (await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)) });
    const u = new URL(given);
    u.pathname = `/${name}`;
    return { url: u.toString(), label: `DATABASE_URL server ${u.host}, scratch database ${name}` };
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'mayday-bench-'));
  undo.push({ what: `remove ${dir}`, fn: () => rmSync(dir, { recursive: true, force: true }) });
  say(`starting the embedded PostgreSQL in ${dir}`);
  const pg: EmbeddedPostgres = await startEmbedded({ dataDir: dir, database: name });
  undo.push({ what: 'stop the embedded PostgreSQL', fn: () => pg.stop() });
  return { url: pg.url, label: `embedded PostgreSQL in ${dir}, database ${name}` };
}

/** Drivers straight into the database, each with a token minted as the API mints one. */
async function insertDrivers(sql: Sql, n: number): Promise<{ ids: string[]; tokens: string[] }> {
  const [cancel, duress] = await Promise.all([hashPin('1234'), hashPin('9999')]);
  const tokens = Array.from({ length: n }, () => newToken('drv'));
  const hashes = await Promise.all(tokens.map((t) => hashToken(t)));
  const rows = await sql<{ id: string }[]>`
    WITH u AS (
      INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash)
      SELECT 'driver', 'Bench driver ' || g, '+1555' || lpad((3000000 + g)::text, 7, '0'), ${cancel}, ${duress}
      FROM generate_series(1, ${n}) g
      RETURNING id, name
    ), numbered AS (
      SELECT id, substring(name FROM '[0-9]+$')::int AS g FROM u
    ), t AS (
      INSERT INTO tokens (token_hash, user_id)
      SELECT (${hashes}::text[])[g], id FROM numbered
    )
    SELECT id FROM numbered ORDER BY g`;
  return { ids: rows.map((r) => r.id), tokens };
}

/** The backlog: `n` open support requests, oldest first, in one statement. */
async function loadBacklog(sql: Sql, driverIds: string[], n: number): Promise<void> {
  await sql`
    INSERT INTO support_requests (driver_id, category, text, tier, created_at, updated_at)
    SELECT (${driverIds}::uuid[])[1 + g % ${driverIds.length}],
           (ARRAY['payment', 'app', 'scheduling', 'account', 'other'])[1 + g % 5],
           'Backlog ticket ' || g || ': the payout for last week does not match the trips in the app',
           CASE WHEN g % 10 < 7 THEN 1 WHEN g % 10 < 9 THEN 2 ELSE 3 END,
           now() - make_interval(secs => ${n} - g), now() - make_interval(secs => ${n} - g)
    FROM generate_series(1, ${n}) g`;
}

/** After a bulk change: statistics and dead tuples dealt with now rather than during a phase. */
async function settle(sql: Sql): Promise<void> {
  await sql`VACUUM (ANALYZE) support_requests`;
  await sql`CHECKPOINT`.catch(() => say('CHECKPOINT not allowed for this role; skipped'));
  await sleep(2_000);
}

// ---------------------------------------------------------------------------------------------
// Load

const KINDS = ['robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other'] as const;
const CENTER = { lat: 36.37, lng: -94.2 };
const HALF = 0.05;
const ZONE_BOUNDARY = {
  type: 'Polygon' as const,
  coordinates: [[
    [CENTER.lng - HALF, CENTER.lat - HALF], [CENTER.lng + HALF, CENTER.lat - HALF], [CENTER.lng + HALF, CENTER.lat + HALF],
    [CENTER.lng - HALF, CENTER.lat + HALF], [CENTER.lng - HALF, CENTER.lat - HALF],
  ]],
};

let seq = 0;
function sosBody(): string {
  const n = seq++;
  return JSON.stringify({
    clientRequestId: randomUUID(),
    kind: KINDS[n % KINDS.length],
    location: {
      lat: Math.round((CENTER.lat + (Math.random() - 0.5) * HALF) * 1e6) / 1e6,
      lng: Math.round((CENTER.lng + (Math.random() - 0.5) * HALF) * 1e6) / 1e6,
      accuracyM: 5 + (n % 40),
    },
  });
}

interface Phase {
  label: string;
  backlog: boolean;
  latencies: number[]; // ms, every 201
  seconds: number;
  problems: string[];
  promotions: number[]; // ms, each promoted support request
  load: number; // the machine's 1-minute load average at the end of the phase
}

interface Answer { status: number; ms: number; body: string }

/**
 * One POST on a keep-alive connection of `agent`; `ms` runs from the call to the last byte of
 * the answer, so time spent waiting for a free connection counts.
 */
function postTimed(agent: http.Agent, base: URL, path: string, token: string, body: string): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      {
        agent, host: base.hostname, port: base.port, path, method: 'POST', timeout: 10_000,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => resolve({ status: 0, ms: performance.now() - t0, body: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, ms: performance.now() - t0, body: `${(e as { code?: string }).code ?? ''} ${e.message}` }));
    req.end(body);
  });
}

/**
 * SOS for `duration` seconds: paced evenly at cfg.rate a second (open loop: a slow answer does
 * not delay the next press), over at most cfg.connections keep-alive connections; or, with
 * BENCH_RATE=0, cfg.connections presses back to back each. A fresh agent each time, so no
 * connection left idle since the last phase (and closed by the server meanwhile) is reused.
 */
async function sosLoad(base: URL, tokens: string[], duration: number): Promise<{ latencies: number[]; seconds: number; problems: string[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.connections });
  let rr = 0;
  const press = () => postTimed(agent, base, '/v1/sos', tokens[rr++ % tokens.length], sosBody());
  const answers: Promise<Answer>[] = [];
  const t0 = performance.now();
  const end = t0 + duration * 1000;
  if (cfg.rate > 0) {
    const interval = 1000 / cfg.rate;
    for (let i = 0; ; i++) {
      const due = t0 + i * interval;
      if (due >= end) break;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      answers.push(press());
    }
  } else {
    await Promise.all(Array.from({ length: cfg.connections }, async () => {
      while (performance.now() < end) {
        const a = press();
        answers.push(a);
        await a;
      }
    }));
  }
  const all = await Promise.all(answers);
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  const latencies = all.filter((a) => a.status === 201).map((a) => a.ms);
  const problems: string[] = [];
  const others = all.filter((a) => a.status !== 201);
  if (others.length) {
    const byStatus = new Map<number, number>();
    for (const a of others) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    problems.push(`${others.length} answers other than 201 (${[...byStatus].map(([st, n]) => `${st || 'no answer'}×${n}`).join(' ')}); first: ${others.slice(0, 3).map((a) => `${a.status} ${a.body.slice(0, 200)}`).join(' | ')}`);
  }
  if (!latencies.length) problems.push('no 201 at all');
  return { latencies, seconds, problems };
}

/** `n` safety support requests one after another, each promoted at once: their latencies. */
async function promotions(base: URL, tokens: string[], n: number): Promise<{ latencies: number[]; problems: string[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  const problems: string[] = [];
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ category: 'safety', text: `Bench safety request ${i}: the customer will not let me leave` });
    const a = await postTimed(agent, base, '/v1/support-requests', tokens[i % tokens.length], body);
    let promoted = false;
    try {
      const b = JSON.parse(a.body) as { incidentId?: string; supportRequest?: { status: string } };
      promoted = a.status === 201 && !!b.incidentId && b.supportRequest?.status === 'promoted';
    } catch {
      /* not JSON */
    }
    if (!promoted) {
      problems.push(`a safety request answered ${a.status} ${a.body.slice(0, 300)}`);
      break;
    }
    latencies.push(a.ms);
  }
  agent.destroy();
  return { latencies, problems };
}

/** The p-th percentile (nearest rank) of a list of numbers. */
function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'sql').split('\n').filter(Boolean).map((l) => l.slice(3));
    if (!dirty.length) return `${head} (src/ and sql/ as committed)`;
    return `${head} + uncommitted changes in src/ or sql/: ${dirty.slice(0, 4).join(', ')}${dirty.length > 4 ? `, and ${dirty.length - 4} more` : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const pad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

async function post(base: string, path: string, token: string, body: unknown, want: number): Promise<unknown> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== want) throw new Error(`POST ${path} answered ${res.status} (expected ${want}): ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

async function main() {
  const t0 = performance.now();
  const db = await scratchDatabase();
  const sql: Sql = connect(db.url, { max: 2, applicationName: 'mayday-bench' });
  undo.push({ what: 'close the scratch pool', fn: () => sql.end({ timeout: 2 }) });
  await migrate(sql, loadMigrations());
  const [{ server_version: pgVersion }] = await sql<{ server_version: string }[]>`SHOW server_version`;

  const adminToken = randomBytes(24).toString('base64url');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'mayday-bench-data-'));
  undo.push({ what: `remove ${dataDir}`, fn: () => rmSync(dataDir, { recursive: true, force: true }) });
  const mayday = startMayday(await freePort(), {
    DATABASE_URL: db.url, ADMIN_TOKEN: adminToken, LOG_LEVEL: cfg.maydayLogLevel, LOG_FORMAT: 'json', DEMO: 'false', DATA_DIR: dataDir,
  });
  await waitReady(mayday);
  say(`mayday on ${mayday.base} (pid ${mayday.proc.pid})`);
  const base = new URL(mayday.base);

  await post(mayday.base, '/v1/zones', adminToken, { name: 'Bench zone', boundary: ZONE_BOUNDARY }, 201);
  const drivers = await insertDrivers(sql, cfg.drivers);
  say(`zone and ${drivers.tokens.length} drivers created`);
  await post(mayday.base, '/v1/sos', drivers.tokens[0], JSON.parse(sosBody()), 201); // a broken setup says so plainly

  // ABBA, BENCH_ROUNDS times: none, backlog, backlog, none, none, backlog, ...
  const schedule = Array.from({ length: cfg.rounds }, () => [false, true, true, false]).flat();
  if (cfg.warmup > 0) {
    say(`warm-up ${cfg.warmup * 2} s`); // JIT, pools and caches, once before everything
    const w = await sosLoad(base, drivers.tokens, cfg.warmup * 2);
    if (w.problems.length) throw new Error(`warm-up: ${w.problems.join('; ')}`);
  }
  const phases: Phase[] = [];
  let loaded = false;
  for (const [i, backlog] of schedule.entries()) {
    if (backlog && !loaded) {
      const b0 = performance.now();
      await loadBacklog(sql, drivers.ids, cfg.backlog);
      say(`${cfg.backlog} open support requests queued in ${((performance.now() - b0) / 1000).toFixed(1)} s`);
      await settle(sql);
      loaded = true;
    } else if (!backlog && loaded) {
      await sql`TRUNCATE support_requests`;
      await settle(sql);
      loaded = false;
    }
    const [{ open }] = await sql<{ open: number }[]>`SELECT count(*)::int AS open FROM support_requests WHERE status = 'open'`;
    const label = `#${i + 1} ${backlog ? 'backlog' : 'none'}`;
    if (cfg.warmup > 0) {
      say(`${label}: warm-up ${cfg.warmup} s`);
      const w = await sosLoad(base, drivers.tokens, cfg.warmup);
      if (w.problems.length) throw new Error(`${label} warm-up: ${w.problems.join('; ')}`);
    }
    say(`${label}: ${open} open support requests; SOS for ${cfg.duration} s at ${cfg.rate > 0 ? `${cfg.rate}/s` : 'full speed'}, ${cfg.connections} connections`);
    const run = await sosLoad(base, drivers.tokens, cfg.duration);
    const promo = await promotions(base, drivers.tokens, cfg.promotions);
    if (mayday.exited) throw new Error(`mayday exited (${mayday.exitInfo}) during ${label}; its output ends:\n${mayday.tail()}`);
    phases.push({
      label, backlog, latencies: run.latencies, seconds: run.seconds, problems: [...run.problems, ...promo.problems],
      promotions: promo.latencies, load: os.loadavg()[0],
    });
    await sleep(500);
  }

  const pool = (backlog: boolean, f: (p: Phase) => number[]) => phases.filter((p) => p.backlog === backlog).flatMap(f);
  const none = pool(false, (p) => p.latencies);
  const full = pool(true, (p) => p.latencies);
  const ratio = pct(full, 99) / pct(none, 99);
  const promoNone = pool(false, (p) => p.promotions);
  const promoFull = pool(true, (p) => p.promotions);
  const cpus = os.cpus();

  const lines: string[] = [''];
  lines.push(`Mayday bypass benchmark: SOS at ${cfg.rate > 0 ? `${cfg.rate}/s` : 'full speed'} over ${cfg.connections} connections, ${cfg.duration} s a phase (warm-up ${cfg.warmup} s), ${drivers.tokens.length} drivers; backlog ${cfg.backlog} open support requests`);
  lines.push(`machine:  ${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  lines.push(`runtime:  Node ${process.version}; PostgreSQL ${pgVersion} (${db.label})`);
  lines.push(`code:     ${codeVersion()}`);
  lines.push('');
  lines.push(`${'phase'.padEnd(17)}${pad('SOS/s', 8)}${pad('SOS', 7)}${pad('p50 ms', 9)}${pad('p90 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}   load   safety requests promoted: n, p50, p99 ms`);
  const row = (label: string, xs: number[], rps: string, promo: number[], load?: number) =>
    lines.push(
      `${label.padEnd(17)}${pad(rps, 8)}${pad(String(xs.length), 7)}${pad(fmt(pct(xs, 50), 2), 9)}${pad(fmt(pct(xs, 90), 2), 9)}${pad(fmt(pct(xs, 99), 2), 9)}${pad(fmt(Math.max(...xs), 1), 9)}` +
        `${pad(load === undefined ? '' : fmt(load, 1), 7)}   ${promo.length}, ${fmt(pct(promo, 50), 2)}, ${fmt(pct(promo, 99), 2)}`,
    );
  for (const p of phases) row(p.label, p.latencies, fmt(p.latencies.length / p.seconds, 0), p.promotions, p.load);
  row('none (pooled)', none, '', promoNone);
  row('backlog (pooled)', full, '', promoFull);
  lines.push('');
  lines.push(`SOS p99 with ${cfg.backlog} open support requests: ${fmt(pct(full, 99), 2)} ms; with none: ${fmt(pct(none, 99), 2)} ms`);
  lines.push(`ratio backlog / none: ${fmt(ratio, 3)}  (goal <= ${GOAL}: ${ratio <= GOAL ? 'met' : 'NOT met'})`);
  const medianP99 = (backlog: boolean) => pct(phases.filter((p) => p.backlog === backlog).map((p) => pct(p.latencies, 99)), 50);
  lines.push(`(for the noise: median of the phases' own p99s, backlog / none: ${fmt(medianP99(true), 2)} / ${fmt(medianP99(false), 2)} ms = ${fmt(medianP99(true) / medianP99(false), 3)})`);
  lines.push(`promoted safety request p99, backlog / none: ${fmt(pct(promoFull, 99) / pct(promoNone, 99), 3)} (no goal; ${promoFull.length + promoNone.length} requests)`);
  process.stdout.write(lines.join('\n') + '\n');

  const failures = phases.flatMap((p) => p.problems.map((m) => `${p.label}: ${m}`));
  if (failures.length) {
    process.stdout.write(`\nFAILED:\n  ${failures.join('\n  ')}\n`);
    if (cfg.maydayLogLevel === 'silent') process.stdout.write("  (rerun with BENCH_LOG_LEVEL=warn to see Mayday's own log of 5xx)\n");
    process.exitCode = 1;
  }
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

main()
  .catch(async (e) => {
    const cause = (e as { cause?: unknown }).cause;
    process.stderr.write(`bench: failed: ${(e as Error).stack ?? e}${cause ? `\n  cause: ${(cause as Error).stack ?? cause}` : ''}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
  });
