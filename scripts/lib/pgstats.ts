/**
 * What the database spent on a run, read from PostgreSQL itself: WAL written (pg_stat_wal, PG >= 14,
 * cluster-wide), statement execution time of one database (pg_stat_statements, when the server
 * preloads it), and the CPU of that database's client backends (Linux /proc, per backend pid, so
 * other databases on a shared server do not count).
 */
import type { Sql } from '../../src/db/client';
import { cpuSeconds } from './cpu';

export interface DbStatsSource {
  /** pg_stat_statements could be created in this database (the server preloads it). */
  statements: boolean;
  /** pg_stat_wal exists (PostgreSQL 14 and later). */
  wal: boolean;
  /** Why pg_stat_statements is not used, when it is not. */
  statementsWhy?: string;
}

/** Turn on what this server offers: pg_stat_statements only when shared_preload_libraries has it. */
export async function dbStatsSource(sql: Sql): Promise<DbStatsSource> {
  const [{ libs, num }] = await sql<{ libs: string; num: number }[]>`
    SELECT current_setting('shared_preload_libraries') AS libs, current_setting('server_version_num')::int AS num`;
  const wal = num >= 140000;
  if (!/(^|[\s,])pg_stat_statements($|[\s,])/.test(libs)) {
    return { statements: false, wal, statementsWhy: `not in shared_preload_libraries (${JSON.stringify(libs)})` };
  }
  try {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
    return { statements: true, wal };
  } catch (e) {
    return { statements: false, wal, statementsWhy: (e as Error).message };
  }
}

export interface DbStatsSample {
  walBytes?: number;
  walRecords?: number;
  execMs?: number;
  /** CPU seconds so far of each client backend whose application_name matches. */
  backends: Map<number, number>;
}

/**
 * The counters now. `apps` is a LIKE pattern (or, with a leading `!`, its negation) on the
 * application_name of the backends whose CPU counts: the server under load, not the others idling.
 */
export async function dbStatsSample(sql: Sql, src: DbStatsSource, apps: string): Promise<DbStatsSample> {
  const negate = apps.startsWith('!');
  const pattern = negate ? apps.slice(1) : apps;
  const pids = await sql<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND (application_name LIKE ${pattern}) = ${!negate}`;
  const backends = new Map<number, number>();
  for (const { pid } of pids) {
    const s = cpuSeconds(pid);
    if (s !== undefined) backends.set(pid, s);
  }
  const out: DbStatsSample = { backends };
  if (src.wal) {
    const [w] = await sql<{ b: string; r: string }[]>`SELECT wal_bytes::text AS b, wal_records::text AS r FROM pg_stat_wal`;
    out.walBytes = Number(w.b);
    out.walRecords = Number(w.r);
  }
  if (src.statements) {
    const [s] = await sql<{ ms: number }[]>`
      SELECT coalesce(sum(total_exec_time), 0)::float8 AS ms FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    out.execMs = s.ms;
  }
  return out;
}

export interface DbCost {
  /** Per request: WAL bytes and records (whole server), execution ms (this database), backend CPU ms. */
  walBytes?: number;
  walRecords?: number;
  execMs?: number;
  cpuMs?: number;
  /** Backends seen at the start and gone by the end, and backends new at the end: their CPU is (partly) missed. */
  lostBackends: number;
  newBackends: number;
}

/** The cost between two samples, divided by `n` requests. Backends that appeared in between are not counted. */
export function dbCost(a: DbStatsSample, b: DbStatsSample, n: number): DbCost {
  const per = (x?: number, y?: number) => (x === undefined || y === undefined || n <= 0 ? undefined : (y - x) / n);
  let cpu = 0;
  let lost = 0;
  for (const [pid, s] of a.backends) {
    const t = b.backends.get(pid) ?? cpuSeconds(pid);
    if (t === undefined) lost++;
    else cpu += t - s;
  }
  return {
    walBytes: per(a.walBytes, b.walBytes),
    walRecords: per(a.walRecords, b.walRecords),
    execMs: per(a.execMs, b.execMs),
    cpuMs: a.backends.size && n > 0 ? (cpu * 1000) / n : undefined,
    lostBackends: lost,
    newBackends: [...b.backends.keys()].filter((pid) => !a.backends.has(pid)).length,
  };
}
