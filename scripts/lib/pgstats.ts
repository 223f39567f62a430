/**
 * What the database spent on a run, read from PostgreSQL itself: WAL written (pg_stat_wal, PG >= 14,
 * the whole server's; and, where pg_walinspect can be created, the WAL records that touch this
 * database's relations), statement execution time of one database (pg_stat_statements, when the
 * server preloads it), and the CPU of that database's client backends (Linux /proc, per backend
 * pid, so other databases on a shared server do not count).
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
  /** pg_walinspect could be created (PostgreSQL 15 and later, a superuser's connection). */
  walinspect: boolean;
}

/** Turn on what this server offers: pg_stat_statements only when shared_preload_libraries has it. */
export async function dbStatsSource(sql: Sql): Promise<DbStatsSource> {
  const [{ libs, num }] = await sql<{ libs: string; num: number }[]>`
    SELECT current_setting('shared_preload_libraries') AS libs, current_setting('server_version_num')::int AS num`;
  const wal = num >= 140000;
  const created = async (ext: string) => {
    try {
      await sql.unsafe(`CREATE EXTENSION IF NOT EXISTS ${ext}`);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const walinspect = num >= 150000 && (await created('pg_walinspect')) === undefined;
  if (!/(^|[\s,])pg_stat_statements($|[\s,])/.test(libs)) {
    return { statements: false, wal, walinspect, statementsWhy: `not in shared_preload_libraries (${JSON.stringify(libs)})` };
  }
  const why = await created('pg_stat_statements');
  return { statements: why === undefined, wal, walinspect, statementsWhy: why };
}

export interface DbStatsSample {
  walBytes?: number;
  walRecords?: number;
  /** The flushed WAL position, for pg_walinspect. */
  lsn?: string;
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
    const [w] = await sql<{ b: string; r: string; lsn: string }[]>`
      SELECT wal_bytes::text AS b, wal_records::text AS r, pg_current_wal_flush_lsn()::text AS lsn FROM pg_stat_wal`;
    out.walBytes = Number(w.b);
    out.walRecords = Number(w.r);
    out.lsn = w.lsn;
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
  /** Per request: WAL bytes and records touching this database's relations (pg_walinspect; commit records are not counted). */
  dbWalBytes?: number;
  dbWalRecords?: number;
  execMs?: number;
  cpuMs?: number;
  /** Backends seen at the start and gone by the end, and backends new at the end: their CPU is (partly) missed. */
  lostBackends: number;
  newBackends: number;
}

/** The cost between two samples, divided by `n` requests. Backends that appeared in between are not counted. */
export async function dbCost(sql: Sql, src: DbStatsSource, a: DbStatsSample, b: DbStatsSample, n: number): Promise<DbCost> {
  const per = (x?: number, y?: number) => (x === undefined || y === undefined || n <= 0 ? undefined : (y - x) / n);
  let cpu = 0;
  let lost = 0;
  for (const [pid, s] of a.backends) {
    const t = b.backends.get(pid) ?? cpuSeconds(pid);
    if (t === undefined) lost++;
    else cpu += t - s;
  }
  let mine: { bytes: number; records: number } | undefined;
  if (src.walinspect && a.lsn && b.lsn) {
    // A record names the relations it changes as "rel <tablespace>/<database oid>/<relfilenode>".
    // A checkpoint may have recycled the run's first segments already (a run writing more WAL
    // than max_wal_size): then the figure is missing, not the run.
    [mine] = await sql<{ bytes: number; records: number }[]>`
      SELECT coalesce(sum(record_length), 0)::float8 AS bytes, count(*)::float8 AS records
      FROM pg_get_wal_records_info(${a.lsn}::pg_lsn, ${b.lsn}::pg_lsn)
      WHERE block_ref LIKE '%rel %/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/%'`
      .catch((e: Error) => (/already been removed/.test(e.message) ? [undefined] : Promise.reject(e)));
  }
  return {
    dbWalBytes: per(0, mine?.bytes),
    dbWalRecords: per(0, mine?.records),
    walBytes: per(a.walBytes, b.walBytes),
    walRecords: per(a.walRecords, b.walRecords),
    execMs: per(a.execMs, b.execMs),
    cpuMs: a.backends.size && n > 0 ? (cpu * 1000) / n : undefined,
    lostBackends: lost,
    newBackends: [...b.backends.keys()].filter((pid) => !a.backends.has(pid)).length,
  };
}

/**
 * Where the database's WAL went between two samples (pg_walinspect): per relation the first block
 * of a record changes, and per record type, bytes per request (full-page images apart), biggest
 * first, `limit` rows each. Empty when pg_walinspect is not there.
 */
export async function walBreakdown(sql: Sql, src: DbStatsSource, a: DbStatsSample, b: DbStatsSample, n: number, limit = 12): Promise<string[]> {
  if (!src.walinspect || !a.lsn || !b.lsn || n <= 0) return [];
  const rows = await sql<{ rel: string; kind: string; bytes: number; fpi: number; records: number }[]>`
    WITH r AS (
      SELECT resource_manager || '/' || record_type AS kind, record_length, fpi_length,
             substring(block_ref FROM 'rel \\d+/\\d+/(\\d+)')::oid AS filenode
      FROM pg_get_wal_records_info(${a.lsn}::pg_lsn, ${b.lsn}::pg_lsn)
      WHERE block_ref LIKE '%rel %/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/%')
    SELECT coalesce(pg_filenode_relation(0, filenode)::text, filenode::text) AS rel, kind,
           sum(record_length)::float8 AS bytes, sum(fpi_length)::float8 AS fpi, count(*)::float8 AS records
    FROM r GROUP BY 1, 2`.catch((e: Error) => (/already been removed/.test(e.message) ? [] : Promise.reject(e)));
  const top = (key: 'rel' | 'kind') => {
    const m = new Map<string, { bytes: number; fpi: number; records: number }>();
    for (const r of rows) {
      const t = m.get(r[key]) ?? { bytes: 0, fpi: 0, records: 0 };
      m.set(r[key], { bytes: t.bytes + r.bytes, fpi: t.fpi + r.fpi, records: t.records + r.records });
    }
    return [...m].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, limit)
      .map(([k, t]) => `    ${k.padEnd(48)}${(t.bytes / n).toFixed(0).padStart(8)} B${(t.fpi / n).toFixed(0).padStart(8)} B FPI${(t.records / n).toFixed(1).padStart(8)} records`);
  };
  return ['  by relation (first block of each record), per request:', ...top('rel'), '  by record type, per request:', ...top('kind')];
}
