/**
 * Pieces shared by the benchmarks (scripts/bench-*.ts): cleanup on exit, child processes run as
 * `node --import tsx <entry>` in their own process groups (Mayday itself among them), scratch
 * databases (DATABASE_URL's server, else the embedded PostgreSQL), CPU accounting from /proc,
 * the benchmark zone and SOS bodies, JSON calls to the API, percentiles and the code version
 * measured.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Sql } from '../../src/db/client';
import { startEmbedded, type EmbeddedPostgres } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';
import { loadMigrations } from '../../src/db/migrations-fs';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
/** Epoch milliseconds with sub-millisecond precision, comparable across processes of this machine. */
export const now = () => performance.timeOrigin + performance.now();

export function intEnv(name: string, dflt: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

// --- cleanup: everything started registers its undo; run in reverse order, once --------------

const undoList: { what: string; fn: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;
export const onCleanup = (what: string, fn: () => Promise<void> | void) => void undoList.push({ what, fn });
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (undoList.length) {
      const { what, fn } = undoList.pop()!;
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

// --- child processes ------------------------------------------------------------------------

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export interface Child {
  name: string;
  proc: ChildProcess;
  port: number;
  base: string;
  exited: boolean;
  exitInfo?: string;
  tail(): string;
}
export const children: Child[] = [];

/** `node [nodeArgs] --import tsx <script> [args]` with exactly our Mayday/Twilio settings (none of the caller's). */
export function startChild(name: string, script: string, port: number, env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []): Child {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(TWILIO_|DATABASE_URL$|DATA_DIR$|ADMIN_TOKEN$|PUBLIC_BASE_URL$|DEMO$|LOG_LEVEL$|LOG_FORMAT$|PORT$)/.test(k)) continue;
    clean[k] = v;
  }
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: REPO,
    env: { ...clean, ...env, PORT: String(port) },
    detached: true, // its own process group
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => void (out = (out + b.toString('utf8')).slice(-8000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.stdin!.on('error', () => {});
  const child: Child = { name, proc, port, base: `http://127.0.0.1:${port}`, exited: false, tail: () => out.trim() };
  children.push(child);
  proc.once('exit', (code, signal) => {
    child.exited = true;
    child.exitInfo = signal ? `signal ${signal}` : `code ${code}`;
  });
  onCleanup(`stop ${name}`, () => stopChild(child));
  return child;
}

export async function stopChild(c: Child): Promise<void> {
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
    say(`${c.name} did not stop within 15 s of SIGTERM; killing it`);
    group('SIGKILL');
    while (!c.exited && Date.now() < until + 5_000) await sleep(50);
  }
}

export async function waitReady(c: Child, path: string, timeoutMs = 90_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (c.exited) throw new Error(`${c.name} exited (${c.exitInfo}) before it was ready; its output ends:\n${c.tail()}`);
    try {
      const res = await fetch(c.base + path, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `${res.status} ${(await res.text()).slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${c.name} not ready after ${timeoutMs / 1000} s (GET ${path}: ${last}); its output ends:\n${c.tail()}`);
}

/** Mayday itself (src/entry/node.ts) on `databaseUrl`, JSON logs, no demo data, a DATA_DIR of its own (removed at the end). */
export function startMayday(name: string, port: number, o: { databaseUrl: string; adminToken: string; logLevel: string }): Child {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'mayday-bench-data-'));
  onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  // BENCH_PROFILE (a directory): Mayday runs with --cpu-prof and writes its CPU profile there when it stops.
  return startChild(name, 'src/entry/node.ts', port, {
    DATABASE_URL: o.databaseUrl, ADMIN_TOKEN: o.adminToken, LOG_LEVEL: o.logLevel, LOG_FORMAT: 'json', DEMO: 'false', DATA_DIR: dataDir,
  }, [], process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);
}

// --- database -------------------------------------------------------------------------------

export interface Db {
  url: string;
  label: string;
}

/** Databases `names` created on the server of `adminUrl` (dropped at the end); their URLs. */
async function createDatabases(adminUrl: string, names: readonly string[]): Promise<string[]> {
  const admin = connect(adminUrl, { max: 1, applicationName: 'mayday-bench' });
  onCleanup('close the admin connection', () => admin.end({ timeout: 2 }));
  const urls: string[] = [];
  for (const name of names) {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    onCleanup(`drop database ${name}`, async () => void (await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    urls.push(u.toString());
  }
  return urls;
}

/** An embedded PostgreSQL in a temporary directory (stopped and removed at the end), with `database` made if given. */
async function embeddedServer(database?: string): Promise<{ pg: EmbeddedPostgres; dir: string }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'mayday-bench-'));
  onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  say(`starting the embedded PostgreSQL in ${dir}`);
  const pg = await startEmbedded({ dataDir: dir, database });
  onCleanup('stop the embedded PostgreSQL', () => pg.stop());
  return { pg, dir };
}

/** A scratch database on DATABASE_URL's server (dropped at the end), else an embedded PostgreSQL in a temporary directory. */
export async function scratchDatabase(prefix = 'mayday_bench'): Promise<Db> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const given = process.env.DATABASE_URL;
  if (given) {
    const [url] = await createDatabases(given, [name]);
    return { url, label: `DATABASE_URL server ${new URL(given).host}, scratch database ${name}` };
  }
  const { pg, dir } = await embeddedServer(name);
  return { url: pg.url, label: `embedded PostgreSQL in ${dir}, database ${name}` };
}

/**
 * Several scratch databases on one server, `<prefix>_<random>_<suffix>` for each suffix: on
 * DATABASE_URL's server, else on an embedded PostgreSQL in a temporary directory. Their URLs in
 * the order of `suffixes`.
 */
export async function scratchDatabases(suffixes: readonly string[], prefix = 'mayday_bench'): Promise<{ urls: string[]; label: string }> {
  const stem = `${prefix}_${randomBytes(5).toString('hex')}`;
  const names = suffixes.map((s) => `${stem}_${s}`);
  let adminUrl = process.env.DATABASE_URL;
  let label: string;
  if (!adminUrl) {
    const { pg, dir } = await embeddedServer();
    adminUrl = pg.adminUrl;
    label = `embedded PostgreSQL in ${dir}, databases ${names.join(' and ')}`;
  } else {
    label = `DATABASE_URL server ${new URL(adminUrl).host}, scratch databases ${names.join(' and ')}`;
  }
  return { urls: await createDatabases(adminUrl, names), label };
}

/** A small pool on a scratch database (closed at the end), migrated to the current schema. */
export async function migratedPool(url: string, what = 'close the scratch pool'): Promise<Sql> {
  const sql = connect(url, { max: 2, applicationName: 'mayday-bench' });
  onCleanup(what, () => sql.end({ timeout: 2 }));
  await migrate(sql, loadMigrations());
  return sql;
}

// --- CPU from /proc (Linux; absent elsewhere) -------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function statFields(pid: number | string): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return [s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ...s.slice(s.lastIndexOf(')') + 2).split(' ')];
  } catch {
    return undefined;
  }
}
/** utime+stime in clock ticks (fields 14 and 15 of stat(5)). */
const ticksOf = (f: string[] | undefined) => (f ? Number(f[12]) + Number(f[13]) : undefined);
/** The same plus its reaped children's (cutime+cstime, fields 16 and 17): backends that exit stay counted in the postmaster's. */
const ticksWithChildren = (f: string[]) => ticksOf(f)! + Number(f[14]) + Number(f[15]);

function postgresTicks(reaped: boolean): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (f?.[0] === 'postgres') sum += reaped ? ticksWithChildren(f) : ticksOf(f)!;
  }
  return sum;
}

/**
 * The machine's ticks from /proc/stat's first line. `busy` is everything but idle and iowait, so
 * it includes `steal`: time this virtual machine was ready to run but its host ran something else
 * (another tenant). Steal is nobody's work here; it is counted apart so that a run slowed by the
 * host can be told from one slowed by its own processes.
 */
function machineTicks(): { busy: number; steal: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] ?? 0), steal: f[7] ?? 0, total };
  } catch {
    return undefined;
  }
}

/** CPU time of one process so far, in seconds (undefined once it is gone). */
export const cpuSeconds = (pid: number): number | undefined => {
  const t = ticksOf(statFields(pid));
  return t === undefined ? undefined : t / CLK_TCK;
};

export interface CpuSample { procs: (number | undefined)[]; pg?: number; self: NodeJS.CpuUsage; machine?: { busy: number; steal: number; total: number }; at: number }
/**
 * `pgReaped: false` counts only the postgres processes alive at each sample (bench:intake's
 * accounting, kept as it was): backends that exit in between drop out of the sum.
 */
export function cpuSample(pids: (number | undefined)[], { pgReaped = true }: { pgReaped?: boolean } = {}): CpuSample {
  return { procs: pids.map((p) => (p ? ticksOf(statFields(p)) : undefined)), pg: postgresTicks(pgReaped), self: process.cpuUsage(), machine: machineTicks(), at: performance.now() };
}
/**
 * Percent of one core used between two samples: each pid, all postgres processes, this process,
 * the whole machine (all users, steal included) and the steal alone (see machineTicks()).
 */
export function cpuDelta(a: CpuSample, b: CpuSample) {
  const secs = (b.at - a.at) / 1000;
  const pct = (x?: number, y?: number) => (x === undefined || y === undefined ? undefined : ((y - x) / CLK_TCK / secs) * 100);
  const c = process.cpuUsage(a.self);
  const share = (k: 'busy' | 'steal') => (a.machine && b.machine ? ((b.machine[k] - a.machine[k]) / (b.machine.total - a.machine.total)) * 100 * os.cpus().length : undefined);
  return { procs: a.procs.map((x, i) => pct(x, b.procs[i])), pg: pct(a.pg, b.pg), self: ((c.user + c.system) / 1e6 / secs) * 100, machine: share('busy'), steal: share('steal') };
}

// --- the benchmark zone and its SOS ------------------------------------------------------------

export const KINDS = ['robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other'] as const;
/** The benchmark zone: a square of +-HALF degrees around this point (GeoJSON wants [lng, lat]). */
export const CENTER = { lat: 36.37, lng: -94.2 };
export const HALF = 0.05;
export const ZONE_BOUNDARY = {
  type: 'Polygon' as const,
  coordinates: [[
    [CENTER.lng - HALF, CENTER.lat - HALF], [CENTER.lng + HALF, CENTER.lat - HALF], [CENTER.lng + HALF, CENTER.lat + HALF],
    [CENTER.lng - HALF, CENTER.lat + HALF], [CENTER.lng - HALF, CENTER.lat - HALF],
  ]],
};

let seq = 0;
/** An SOS body: a fresh clientRequestId, the kinds in turn, and a spot well inside the zone. */
export function sosBody(): string {
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

/** A JSON request with a bearer token; throws unless the answer has status `want`. */
export async function post<T = unknown>(base: string, path: string, token: string, body: unknown, want: number, method = 'POST'): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== want) throw new Error(`${method} ${path} answered ${res.status} (expected ${want}): ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

// --- numbers and text -----------------------------------------------------------------------

/** Nearest-rank percentile (p in 0..100) of unsorted numbers; NaN when there are none. */
export function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
export const fmt = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));
export const pad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** The commit measured, and whether src/ or sql/ differ from it (someone's work in progress). */
export function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'sql').split('\n').filter(Boolean).map((l) => l.slice(3));
    if (!dirty.length) return `${head} (src/ and sql/ as committed)`;
    const shown = dirty.slice(0, 4).join(', ') + (dirty.length > 4 ? `, and ${dirty.length - 4} more` : '');
    return `${head} + uncommitted changes in src/ or sql/: ${shown}`;
  } catch {
    return 'not a git checkout';
  }
}
