/**
 * `npm run bench:wal`: the WAL one SOS writes, counted record by record rather than timed, so a
 * change to the schema or the SQL functions shows its effect without the noise of a loaded run
 * (issue 21's goal of at most 6 kB an SOS; bench:intake measures the same under load).
 *
 * One SOS's life in its first seconds, one at a time on one connection, as Mayday's code calls the
 * database: sos_open_and_claim() in one statement, its first pages claimed for the sender named on
 * the connection (the SOS call, as src/incidents/store.ts makes it), page_sent_many() for its two
 * pages (the sends' record), and page_callback_many() with one status callback each (the SMS
 * delivered, the call in progress). The demo's zone: one on-call supervisor, paged by SMS
 * and voice at once; every SOS from a driver of its own (no links between incidents).
 * The reference, in the same run: the durable minimum of bench:intake (bare-server's POST /durable,
 * one statement inserting an incident, its opening event and its two pages, no chain).
 * BENCH_BASELINE=<dir>, another checkout (say `git worktree add /tmp/before <commit>` with
 * node_modules linked), adds that code's own schema and functions on a scratch database of its
 * own, measured the same way: a before/after in one run. Its SQL functions must take the
 * arguments this script passes.
 *
 * BENCH_WAL_APPLY=<file.sql>: SQL run on this checkout's scratch database after its migrations
 * (a trial: a function's new body, a trigger or an index dropped), so a change is measured, against
 * BENCH_BASELINE=. (this checkout as it is) say, before it becomes a migration or a definition.
 * BENCH_WAL_ROWS=<n> (default 14): how many relations and record types to list.
 * BENCH_WAL_BATCH=<k> (default 1): k SOS, then the send records of their pages in one
 * page_sent_many() and their callbacks in one page_callback_many(), as Mayday's sender batches
 * them under load (the durable minimum still one statement an SOS).
 * After BENCH_WAL_WARMUP (default 200) SOS, BENCH_WAL_SOS (default 500) are counted between two
 * WAL positions with pg_walinspect (PostgreSQL >= 15; a superuser's connection): bytes and records
 * per SOS, full-page images apart (they depend on when the last checkpoint was: a CHECKPOINT
 * precedes each count), and where they went, by relation and record type. Beside them, the
 * database CPU per SOS of the one backend (its /proc entry, when the server runs on this machine:
 * goal 2's other figure, without the load) and each PL/pgSQL function's own time per SOS
 * (track_functions, wall time: on one idle connection that is nearly all CPU).
 * Database: DATABASE_URL's server (scratch databases, dropped at the end), else an embedded
 * PostgreSQL in a temporary directory.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Sql } from '../src/db/client';
import { migrate } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';
import { insertDurableSos } from './lib/durable';
import { createDurableTables, insertDrivers, openPool, scratchDatabases, serverVersion } from './lib/db';
import { runBench } from './lib/main';
import { cpuSeconds } from './lib/cpu';
import { intEnv, REPO, say } from './lib/run';

const cfg = {
  warmup: intEnv('BENCH_WAL_WARMUP', 200, 0),
  count: intEnv('BENCH_WAL_SOS', 500),
  baseline: process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined,
  batch: intEnv('BENCH_WAL_BATCH', 1),
  apply: process.env.BENCH_WAL_APPLY ? resolve(process.env.BENCH_WAL_APPLY) : undefined,
  rows: intEnv('BENCH_WAL_ROWS', 14),
};

interface Counted { bytes: number; fpi: number; records: number; rows: { rel: string; type: string; n: number; b: number }[] }

/** The WAL written by `n` calls of `fn`, per SOS (`each` a call), after a CHECKPOINT. */
async function countWal(sql: Sql, n: number, fn: () => Promise<void>, each: number): Promise<Counted> {
  await sql`CHECKPOINT`;
  const [{ a }] = await sql<{ a: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS a`;
  for (let i = 0; i < n; i++) await fn();
  const [{ b }] = await sql<{ b: string }[]>`SELECT pg_current_wal_insert_lsn()::text AS b`;
  const rows = await sql<{ rel: string; type: string; n: number; b: number; fpi: number }[]>`
    SELECT coalesce(c.relname, '(no relation)') AS rel, r.resource_manager || '/' || r.record_type AS type,
           count(*)::int AS n, sum(r.record_length - r.fpi_length)::int AS b, sum(r.fpi_length)::int AS fpi
    FROM pg_get_wal_records_info(${a}::pg_lsn, ${b}::pg_lsn) r
    LEFT JOIN pg_class c ON c.relfilenode = nullif(substring(r.block_ref from 'rel \\d+/\\d+/(\\d+)'), '')::oid
    WHERE r.block_ref IS NULL OR r.block_ref ~ ('rel \\d+/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/')
    GROUP BY 1, 2`;
  const sos = n * each;
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((s, r) => s + f(r), 0) / sos;
  return { bytes: sum((r) => r.b), fpi: sum((r) => r.fpi), records: sum((r) => r.n), rows: rows.map((r) => ({ rel: r.rel, type: r.type, n: r.n / sos, b: r.b / sos })) };
}

/** The database's per-function counters of this connection's database, flushed first. */
async function functionTimes(sql: Sql): Promise<Map<string, { calls: number; self: number }>> {
  await sql`SELECT pg_stat_force_next_flush()`;
  await sql`SELECT 1`; // a transaction ends: the forced flush happens
  await sql`SELECT pg_stat_clear_snapshot()`;
  const rows = await sql<{ name: string; calls: number; self: number }[]>`
    SELECT funcname AS name, calls::int AS calls, self_time::float8 AS self FROM pg_stat_user_functions`;
  return new Map(rows.map((r) => [r.name, { calls: r.calls, self: r.self }]));
}

interface Timed {
  /** The backend's CPU per call (ms), when its /proc entry is readable (a server on this machine). */
  cpuMs?: number;
  /** PL/pgSQL functions' own time per call (ms), the most first (track_functions). */
  functions: { name: string; calls: number; selfMs: number }[];
}

/**
 * Each side's backend CPU and functions' times per call over `n` rounds, the sides taking turns
 * call by call (who goes first alternates), so that all meet the same moments of the machine:
 * measured one after the other, the same code read 15 % apart.
 */
async function timeTogether(sides: { sql: Sql; fn: () => Promise<void> }[], n: number, each: number): Promise<Timed[]> {
  const marks = await Promise.all(sides.map(async ({ sql }) => {
    await sql`SET track_functions = 'pl'`;
    const [{ pid }] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    return { pid, f: await functionTimes(sql), cpu: cpuSeconds(pid) };
  }));
  for (let i = 0; i < n; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) await side.fn();
  }
  return Promise.all(sides.map(async ({ sql }, k) => {
    const cpu = cpuSeconds(marks[k].pid);
    const fb = await functionTimes(sql);
    const fa = marks[k].f;
    const sos = n * each;
    const functions = [...fb].map(([name, v]) => ({ name, calls: (v.calls - (fa.get(name)?.calls ?? 0)) / sos, selfMs: (v.self - (fa.get(name)?.self ?? 0)) / sos }))
      .filter((f) => f.calls > 0).sort((x, y) => y.selfMs - x.selfMs);
    const before = marks[k].cpu;
    return { cpuMs: before === undefined || cpu === undefined ? undefined : ((cpu - before) * 1000) / sos, functions };
  }));
}

/** A scratch database migrated by `checkout`'s sql/, seeded with the demo and enough drivers; its SOS lifecycle. */
async function mayday(url: string, checkout: string, apply?: string): Promise<{ sql: Sql; lifecycle: () => Promise<void> }> {
  // The sender's id on the connection, as Mayday's pool sets it (src/db/client.ts).
  const sender = '00000000-0000-4000-8000-000000000001';
  const sql = await openPool(url, { max: 1, what: `close ${checkout}'s pool`, sender });
  await migrate(sql, loadMigrations(join(checkout, 'sql')));
  if (apply) await sql.unsafe(readFileSync(apply, 'utf8'));
  await sql`CREATE EXTENSION IF NOT EXISTS pg_walinspect`;
  const { seedDemo, DEMO } = await import(join(checkout, 'src/demo/seed.ts'));
  const demo = await seedDemo(sql);
  const drivers = await insertDrivers(sql, { count: (rounds(cfg.warmup) + 2 * rounds(cfg.count)) * cfg.batch + 10, name: 'Driver', phonePrefix: '+1556' });
  let k = 0;
  // cfg.batch SOS, then their sends' record in one batch and their callbacks in another.
  const lifecycle = async () => {
    const pages: { id: string; channel: string }[] = [];
    for (let j = 0; j < cfg.batch; j++) {
      const driver = drivers[k++].id;
      // One statement, as src/incidents/store.ts calls it (by token, sos_open_by_token() calls this).
      const [{ o_pages: claimed }] = await sql<{ o_pages: { id: string; channel: string }[] }[]>`
        CALL sos_open_and_claim(${driver}::uuid, gen_random_uuid(), 'app', 'robbery', 'critical', ${demo.zoneId}::uuid, 'inside',
                                ${DEMO.here.lat}, ${DEMO.here.lng}, 10, now(), NULL, ${'driver:' + driver}, 30, 10)`;
      if (claimed.length !== 2) throw new Error(`an SOS claimed ${claimed.length} pages, not 2 (the demo's on-call supervisor by SMS and voice)`);
      pages.push(...claimed);
    }
    const ids = pages.map((p) => p.id);
    const sids = pages.map((p) => `${p.channel === 'sms' ? 'SM' : 'CA'}${p.id.replaceAll('-', '')}`);
    await sql`SELECT page_sent_many(${ids}::uuid[], ${sids}::text[], NULL)`;
    await sql`SELECT page_callback_many(${ids}::uuid[], ${sids}::text[],
                                        ${pages.map((p) => (p.channel === 'sms' ? 'delivered' : 'in-progress'))}::text[],
                                        ${ids.map(() => null)}::text[], ${ids.map(() => null)}::text[], 60, 3)`;
  };
  return { sql, lifecycle };
}

/** The durable minimum's statement (scripts/bare-server.ts, POST /durable) on its own tables. */
async function durable(sql: Sql): Promise<() => Promise<void>> {
  await createDurableTables(sql);
  const oncall = { id: '00000000-0000-4000-8000-000000000002', phone: '+15550000001' };
  const driver = '00000000-0000-4000-8000-000000000003';
  return async () => {
    for (let j = 0; j < cfg.batch; j++) {
      await insertDurableSos(sql, { driver, oncall, clientRequestId: crypto.randomUUID(), kind: 'robbery', severity: 'critical', lat: 36.37, lng: -94.2, accuracyM: 10 });
    }
  };
}

const kB = (b: number) => (b / 1024).toFixed(2);
/** Calls of a side's `fn` (cfg.batch SOS each) for `sos` SOS. */
const rounds = (sos: number) => Math.ceil(sos / cfg.batch);

async function main() {
  const sides = [{ name: cfg.apply ? `this checkout + ${cfg.apply}` : 'this checkout', dir: REPO }, ...(cfg.baseline ? [{ name: `baseline ${cfg.baseline}`, dir: cfg.baseline }] : [])];
  const { urls, label } = await scratchDatabases(sides.map((_, i) => (i === 0 ? 'this' : 'base')));
  say(`${label}`);
  const ms: { sql: Sql; lifecycle: () => Promise<void> }[] = [];
  for (const [i, side] of sides.entries()) ms.push(await mayday(urls[i], side.dir, i === 0 ? cfg.apply : undefined));
  const ref = await openPool(urls[0], { max: 1, what: 'close the durable minimum\'s pool' });
  const all = [{ name: 'durable minimum', sql: ref, fn: await durable(ref) }, ...sides.map((s, i) => ({ name: s.name, sql: ms[i].sql, fn: ms[i].lifecycle }))];
  for (const s of all) for (let j = 0; j < rounds(cfg.warmup); j++) await s.fn();
  const counted: Counted[] = [];
  for (const s of all) counted.push(await countWal(s.sql, rounds(cfg.count), s.fn, cfg.batch));
  say('WAL counted; now the CPU, the sides taking turns');
  const timed = await timeTogether(all, rounds(cfg.count), cfg.batch);
  process.stdout.write(`PostgreSQL ${await serverVersion(ref)}\n`);
  process.stdout.write(`One SOS in its first seconds (SOS call, send record, one callback a page), ${rounds(cfg.count) * cfg.batch} counted after ${rounds(cfg.warmup) * cfg.batch}` +
    `${cfg.batch > 1 ? `, the send records and callbacks of ${cfg.batch} SOS in one batch each` : ''}:\n`);
  for (const [k, s] of all.entries()) {
    const c = counted[k];
    const cpu = timed[k].cpuMs === undefined ? '' : `  database CPU ${timed[k].cpuMs!.toFixed(2)} ms`;
    process.stdout.write(`  ${s.name.padEnd(40)} ${kB(c.bytes).padStart(6)} kB WAL ${c.records.toFixed(1).padStart(6)} records (+${kB(c.fpi)} kB of full-page images)${cpu}\n`);
  }
  const [d, ours, base] = counted;
  const cpuRatio = (a?: number, b?: number) => (a !== undefined && b !== undefined ? `, CPU ${(a / b).toFixed(2)}` : '');
  process.stdout.write(`this checkout / durable minimum: WAL ${(ours.bytes / d.bytes).toFixed(2)}${cpuRatio(timed[1].cpuMs, timed[0].cpuMs)}` +
    (base ? `;  this checkout / baseline: WAL ${(ours.bytes / base.bytes).toFixed(3)} (${((ours.bytes - base.bytes) / 1024).toFixed(2)} kB)${cpuRatio(timed[1].cpuMs, timed[2].cpuMs)}` : '') +
    `\ngoals (issue 21, without the load): <= 6 kB WAL an SOS: ${ours.bytes <= 6 * 1024 ? 'met' : 'NOT met'}` +
    (timed[1].cpuMs === undefined ? '' : `;  <= 1 ms database CPU: ${timed[1].cpuMs <= 1 ? 'met' : 'NOT met'}`) + '\n');
  for (const [k, s] of all.entries()) {
    if (k === 0) continue;
    process.stdout.write(`where ${s.name}'s WAL went, per SOS:\n`);
    for (const row of [...counted[k].rows].sort((a, b) => b.b - a.b).slice(0, cfg.rows)) {
      process.stdout.write(`  ${row.rel.slice(0, 48).padEnd(48)} ${row.type.padEnd(22)} ${row.n.toFixed(1).padStart(5)} ${row.b.toFixed(0).padStart(6)} B\n`);
    }
    process.stdout.write(`  its PL/pgSQL functions' own time per SOS (track_functions; wall time, on an idle connection nearly all CPU):\n`);
    for (const f of timed[k].functions.slice(0, 10)) {
      process.stdout.write(`    ${f.name.padEnd(32)} ${f.calls.toFixed(1).padStart(5)} calls ${f.selfMs.toFixed(3).padStart(7)} ms\n`);
    }
  }
}

runBench(main, 'pg_walinspect needs PostgreSQL 15 or later and a superuser connection');
