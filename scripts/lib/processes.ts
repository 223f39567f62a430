/**
 * Child processes: each `node [nodeArgs] --import tsx <script>` in its own process group, with
 * only the Mayday/Twilio settings the caller gives (none inherited), its output's end kept for
 * error messages, stopped at the end (SIGTERM, SIGKILL after 15 s). Mayday itself is one of them
 * (startMayday), and so are the bare server and the Twilio stand-in when a script runs them apart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { alive as isAlive } from '../../src/db/embedded';
import { onCleanup, REPO, say, sleep, tempDir } from './run';

export { alive as isAlive, freePort } from '../../src/db/embedded';

/** `sig` to a process (a negative pid: its group); false when there is none any more. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL a process and its group (a postmaster and its backends: a crash, not a shutdown); resolves when it is gone. */
export async function crash(pid: number): Promise<void> {
  if (!signal(-pid, 'SIGKILL')) signal(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(10);
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
/** Every child started, for the tails of their output when a script fails. */
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
  signal(-pid, 'SIGTERM');
  const until = Date.now() + 15_000;
  while (!c.exited && Date.now() < until) await sleep(50);
  if (!c.exited) {
    say(`${c.name} did not stop within 15 s of SIGTERM; killing it. The end of its output:\n${c.tail().split('\n').slice(-8).join('\n')}`);
    signal(-pid, 'SIGKILL');
    while (!c.exited && Date.now() < until + 5_000) await sleep(50);
  }
}

/** SIGKILL a child's process group (no chance to clean up); resolves when it has exited. */
export async function killChild(c: Child): Promise<void> {
  signal(-c.proc.pid!, 'SIGKILL');
  while (!c.exited) await sleep(10);
}

/** Why a child is no longer running (with the end of its output), if it is not. */
export const exitReport = (c: Child): string | undefined => (c.exited ? `${c.name} exited (${c.exitInfo}); its output ends:\n${c.tail()}` : undefined);

/** Throws if any of `cs` has exited. */
export function assertRunning(cs: readonly Child[] = children): void {
  for (const c of cs) {
    const report = exitReport(c);
    if (report) throw new Error(report);
  }
}

/**
 * Until GET `path` answers 200, polled every `everyMs` (each try given `requestMs`); answers
 * Date.now() at that answer. Throws when the child exits first or after `timeoutMs`.
 */
export async function waitReady(c: Child, path: string, o: { timeoutMs?: number; everyMs?: number; requestMs?: number } = {}): Promise<number> {
  const timeoutMs = o.timeoutMs ?? 90_000;
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (c.exited) throw new Error(`${c.name} exited (${c.exitInfo}) before it was ready; its output ends:\n${c.tail()}`);
    try {
      const res = await fetch(c.base + path, { signal: AbortSignal.timeout(o.requestMs ?? 2_000) });
      const at = Date.now();
      const text = await res.text();
      if (res.status === 200) return at;
      last = `${res.status} ${text.slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(o.everyMs ?? 200);
  }
  throw new Error(`${c.name} not ready after ${timeoutMs / 1000} s (GET ${path}: ${last}); its output ends:\n${c.tail()}`);
}

/** For waitReady when the moment of readiness is measured (the chaos scripts): polled every 25 ms, for up to 2 minutes. */
export const AT_ONCE = { everyMs: 25, requestMs: 1_000, timeoutMs: 120_000 };

// --- Mayday -----------------------------------------------------------------------------------

/** A fresh ADMIN_TOKEN (32 characters). */
export const newAdminToken = () => randomBytes(24).toString('base64url');

export interface MaydayOptions {
  /** None: Mayday's own embedded PostgreSQL under its DATA_DIR. */
  databaseUrl?: string;
  adminToken: string;
  logLevel: string;
  /** Its DATA_DIR; default a temporary directory of its own. */
  dataDir?: string;
  /** Paging through a Twilio stand-in: credentials, its URL, and PUBLIC_BASE_URL for the callbacks. */
  twilio?: { creds: { sid: string; token: string; from: string }; url: string };
  /** A directory: Mayday runs with --cpu-prof and writes its CPU profile there when it stops (BENCH_PROFILE). */
  profileDir?: string;
  /** PUBLIC_BASE_URL when it is not Mayday's own address (a proxy in front: lib/proxy.ts). */
  publicBaseUrl?: string;
}

/** Mayday's environment: JSON logs, no demo data, and the Twilio settings when it pages. */
export function maydayEnv(port: number, o: MaydayOptions & { dataDir: string }): Record<string, string> {
  return {
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}),
    DATA_DIR: o.dataDir,
    ADMIN_TOKEN: o.adminToken,
    LOG_LEVEL: o.logLevel,
    LOG_FORMAT: 'json',
    DEMO: 'false',
    ...(o.twilio ? {
      PUBLIC_BASE_URL: o.publicBaseUrl ?? `http://127.0.0.1:${port}`,
      TWILIO_ACCOUNT_SID: o.twilio.creds.sid,
      TWILIO_AUTH_TOKEN: o.twilio.creds.token,
      TWILIO_FROM_NUMBER: o.twilio.creds.from,
      TWILIO_API_BASE_URL: o.twilio.url,
    } : {}),
  };
}

/**
 * Mayday itself (src/entry/node.ts) as a child on `port`; with MAYDAY_CHECKOUT=<dir>, the one of
 * that checkout (its own src/, sql/ and node_modules), so one script measures an older version
 * the same way (a before/after comparison).
 */
export function startMayday(name: string, port: number, o: MaydayOptions): Child {
  const dataDir = o.dataDir ?? tempDir('mayday-bench-data-');
  const entry = process.env.MAYDAY_CHECKOUT ? join(process.env.MAYDAY_CHECKOUT, 'src/entry/node.ts') : 'src/entry/node.ts';
  return startChild(name, entry, port, maydayEnv(port, { ...o, dataDir }), [],
    o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : []);
}
