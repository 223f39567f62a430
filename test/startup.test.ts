/**
 * `npm start` as a newcomer runs it: the real entry point in a child process, on the embedded
 * PostgreSQL under a DATA_DIR of its own — first start, a start after SIGKILL (the embedded
 * server orphaned), graceful SIGTERM; and with DATABASE_URL, no demo.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './helpers/db';
import { freePort } from './helpers/ports';

const root = new URL('..', import.meta.url).pathname;


interface Run { child: ChildProcess; out: () => string; port: number; exited: Promise<number | null> }

function start(env: Record<string, string>, port: number): Run {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/node.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, out: () => out, port, exited };
}

async function ready(run: Run, ms = 90_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (run.child.exitCode !== null) throw new Error(`exited ${run.child.exitCode}: ${run.out()}`);
    try {
      const r = await fetch(`http://127.0.0.1:${run.port}/readyz`);
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready in ${ms} ms: ${run.out()}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const dataDir = mkdtempSync(join(tmpdir(), 'mayday-start-'));
const runs: Run[] = [];
afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid > 0 && alive(pid)) process.kill(pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 1000));
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('starts on the embedded PostgreSQL with the demo, survives SIGKILL, and stops cleanly on SIGTERM', async () => {
    const first = start({ DATA_DIR: dataDir }, await freePort());
    runs.push(first);
    await ready(first);
    expect(first.out()).toContain('Demo data seeded');
    expect(first.out()).toMatch(/driver\s+Dana Kim/);
    const admin = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const zones: any = await (await fetch(`http://127.0.0.1:${first.port}/v1/zones`, { headers: { authorization: `Bearer ${admin}` } })).json();
    expect(zones.zones).toHaveLength(1);

    // SIGKILL: nothing runs Mayday's shutdown, and the embedded server is left behind.
    first.child.kill('SIGKILL');
    await first.exited;
    const pg = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(alive(pg)).toBe(true);

    const second = start({ DATA_DIR: dataDir }, await freePort());
    runs.push(second);
    await ready(second);
    expect(second.out()).not.toContain('Demo data seeded');
    const again: any = await (await fetch(`http://127.0.0.1:${second.port}/v1/zones`, { headers: { authorization: `Bearer ${admin}` } })).json();
    expect(again.zones).toHaveLength(1); // the same data, reused

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false); // the embedded server stopped too
  }, 240_000);

  it('with DATABASE_URL uses that database, migrates it and seeds nothing', async () => {
    const { url, sql } = await freshDatabase({ migrated: false });
    const run = start({ DATABASE_URL: url, DATA_DIR: join(dataDir, 'unused'), ADMIN_TOKEN: 'an-admin-token-of-sixteen+' }, await freePort());
    runs.push(run);
    await ready(run);
    expect(run.out()).not.toContain('Demo data seeded');
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM users`;
    expect(n).toBe(0);
    const [{ v }] = await sql`SELECT max(id)::int AS v FROM schema_migrations`;
    expect(v).toBeGreaterThanOrEqual(4);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 120_000);

  it('SIGTERM: a kept-alive connection whose request was under way is closed once answered, and Mayday exits 0 at once (not after the 65 s keep-alive)', async () => {
    const { url } = await freshDatabase({ migrated: false });
    const run = start({ DATABASE_URL: url, DATA_DIR: join(dataDir, 'unused'), ADMIN_TOKEN: 'an-admin-token-of-sixteen+' }, await freePort());
    runs.push(run);
    await ready(run);
    // A request under way when the signal comes: its headers are not finished yet.
    const socket = connect(run.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let answer = '';
    socket.on('data', (b) => (answer += b));
    const closed = new Promise((r) => socket.once('close', r));
    socket.write('GET /healthz HTTP/1.1\r\nHost: mayday\r\n');
    await new Promise((r) => setTimeout(r, 200));
    const signalled = Date.now();
    run.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    socket.write('Connection: keep-alive\r\n\r\n'); // finished: it is answered, and then idle
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(await run.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5_000);
  }, 120_000);

  it('opens the database pools DATABASE_POOL_SIZE and DATABASE_INTAKE_POOL_SIZE say, each connection once warmed', async () => {
    const { url, sql } = await freshDatabase({ migrated: false });
    const run = start({ DATABASE_URL: url, DATA_DIR: join(dataDir, 'unused'), DATABASE_POOL_SIZE: '3', DATABASE_INTAKE_POOL_SIZE: '2' }, await freePort());
    runs.push(run);
    await ready(run);
    // The pools are warmed (every connection opened) once the engine's first tick has run.
    const count = async () => Object.fromEntries((await sql<{ app: string; n: number }[]>`
      SELECT application_name AS app, count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE 'mayday%' AND pid <> pg_backend_pid() GROUP BY 1`).map((r) => [r.app, r.n]));
    let seen: Record<string, number> = {};
    for (let i = 0; i < 100 && !(seen['mayday-intake'] === 2 && seen.mayday >= 3); i++) {
      seen = await count();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen['mayday-intake']).toBe(2);
    // The main pool's three, and the one connection postgres.js keeps for LISTEN.
    expect(seen.mayday).toBeGreaterThanOrEqual(3);
    expect(seen.mayday).toBeLessThanOrEqual(4);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 120_000);
});
