/**
 * The migrator. The database is built from two kinds of files (docs/database.md):
 *
 * - Numbered migrations, sql/NNN_name.sql: the schema's history (tables, indexes, types,
 *   triggers). Each is applied once, in order, and never edited after release. They must be
 *   numbered 1 to n: a gap or a duplicate number is refused before anything is applied.
 * - Definitions, sql/functions/<area>/<name>.sql: the one current text of the routines named
 *   <name> (a function, its overloads, a procedure, a trigger function). After the numbered
 *   migrations, in the same transaction and under the same advisory lock, each definition whose
 *   checksum differs from the one recorded in schema_definitions is applied again.
 *
 * Applying a definition first drops the routines of that name that nothing in the database
 * depends on, so a file may change a signature or a return type, or lose an overload, and the
 * database follows. A routine that something depends on (a trigger's function) is replaced in
 * place by the file's CREATE OR REPLACE, so its signature stays; changing it takes a numbered
 * migration that moves what depends on it. Removing a function is schema history too: a numbered
 * migration drops it and its file goes (the migrator then forgets the file's checksum).
 *
 * Definitions are created with check_function_bodies off, so they may refer to each other in any
 * order, and then checked by their language's validator once all of them exist. A database whose
 * numbered migrations are newer than this code's keeps its definitions: older code starting
 * during a deploy does not put back older functions.
 */
import { createHash } from 'node:crypto';
import type { Sql, TxSql } from './client';

export { schemaVersion } from './schema-version';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** One file of sql/functions: `name` is the routines' name, `path` the file under sql/functions/. */
export interface Definition {
  name: string;
  path: string;
  sql: string;
}

/** The numbered migrations, carrying the definitions that migrate() applies after them. */
export type Migrations = Migration[] & { definitions?: Definition[] };

/** What one call applied: numbered migrations by id, definitions by name. */
export interface Applied {
  migrations: number[];
  definitions: string[];
}

/** Any fixed 64-bit key: every Mayday instance takes this lock before migrating. */
const MIGRATION_LOCK = 0x4d61796461790001n;

/** Parse "001_foundation.sql" into its number and name; anything else is not a migration. */
export function migrationFromFile(file: string, text: string): Migration | undefined {
  const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
  return m ? { id: Number(m[1]), name: m[2], sql: text } : undefined;
}

/** Parse "intake/sos_open.sql" (a path under sql/functions/) into a definition of sos_open. */
export function definitionFromFile(path: string, text: string): Definition | undefined {
  if (!path.endsWith('.sql')) return undefined;
  const m = /^([a-z][a-z0-9_-]*)\/([a-z_][a-z0-9_]*)\.sql$/.exec(path);
  if (!m) throw new Error(`sql/functions/${path}: a definition is sql/functions/<area>/<routine name>.sql, in lower case`);
  // One text whatever the checkout's line endings, so that the checksum is the same everywhere.
  return { name: m[2], path, sql: text.replace(/\r\n/g, '\n') };
}

export const checksum = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * One checksum for a set of definitions: what DEFINITIONS_CHECKSUM in schema-version.ts holds and
 * what schemaState() computes from schema_definitions (the same lines, in the same order).
 */
export function definitionsChecksum(defs: { name: string; checksum: string }[]): string {
  const lines = [...defs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((d) => `${d.name} ${d.checksum}\n`);
  return checksum(lines.join(''));
}

/** definitionsChecksum() of definition files as they are read (what migrate() records for them). */
export const checksumOfFiles = (defs: Definition[]) => definitionsChecksum(defs.map((d) => ({ name: d.name, checksum: checksum(d.sql) })));

/** Refuse what cannot be applied as it stands: numbers not 1..n, definitions of one name twice. */
function check(migrations: Migration[], definitions: Definition[]) {
  const ordered = [...migrations].sort((a, b) => a.id - b.id);
  ordered.forEach((m, i) => {
    if (i > 0 && ordered[i - 1].id === m.id) throw new Error(`two migrations numbered ${m.id} (${ordered[i - 1].name}, ${m.name}): each number is used once`);
  });
  ordered.forEach((m, i) => {
    if (m.id !== i + 1) {
      throw new Error(`migration ${i + 1} is missing (found ${ordered.map((o) => o.id).join(', ')}): migrations are numbered 1 to n without a gap`);
    }
  });
  const seen = new Map<string, string>();
  for (const d of definitions) {
    const other = seen.get(d.name);
    if (other) throw new Error(`sql/functions/${other} and sql/functions/${d.path} both define ${d.name}: one file per name`);
    seen.set(d.name, d.path);
  }
  return ordered;
}

/** A PostgreSQL error, with the file it came from in its message. */
function inFile(e: unknown, file: string): Error {
  return new Error(`${file}: ${(e as Error).message}`, { cause: e });
}

/**
 * Apply every numbered migration not applied yet, in order, then every definition whose text
 * changed, in one transaction under an advisory lock, so several instances starting at once
 * apply each exactly once. The definitions default to the ones `migrations` carries
 * (loadMigrations() attaches sql/functions/); a list without them applies numbered ones only.
 */
export async function migrate(
  sql: Sql,
  migrations: Migrations,
  definitions: Definition[] = migrations.definitions ?? [],
): Promise<Applied> {
  const ordered = check(migrations, definitions);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set((await tx<{ id: number }[]>`SELECT id FROM schema_migrations`).map((r) => r.id));
    const applied: Applied = { migrations: [], definitions: [] };
    for (const m of ordered) {
      if (done.has(m.id)) continue;
      await tx.unsafe(m.sql).catch((e) => Promise.reject(inFile(e, `migration ${m.id} (${m.name})`)));
      await tx`INSERT INTO schema_migrations (id, name) VALUES (${m.id}, ${m.name})`;
      applied.migrations.push(m.id);
    }
    const newest = ordered.length ? ordered[ordered.length - 1].id : 0;
    if ([...done].some((id) => id > newest)) return applied; // a newer code's database: its definitions stay
    applied.definitions = await applyDefinitions(tx, definitions);
    return applied;
  });
}

async function applyDefinitions(tx: TxSql, definitions: Definition[]): Promise<string[]> {
  await tx`CREATE TABLE IF NOT EXISTS schema_definitions (
    name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
  const recorded = new Map((await tx<{ name: string; checksum: string }[]>`SELECT name, checksum FROM schema_definitions`).map((r) => [r.name, r.checksum]));
  const names = new Set(definitions.map((d) => d.name));
  const gone = [...recorded.keys()].filter((n) => !names.has(n));
  if (gone.length) await tx`DELETE FROM schema_definitions WHERE name = ANY(${gone})`;
  const changed = definitions
    .map((d) => ({ ...d, checksum: checksum(d.sql) }))
    .filter((d) => recorded.get(d.name) !== d.checksum)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  if (!changed.length) return [];

  await tx.unsafe('SET LOCAL check_function_bodies = off');
  for (const d of changed) {
    const file = `sql/functions/${d.path}`;
    // The routines of this name that no trigger (or other object) uses, outside any extension.
    const replaceable = await tx<{ routine: string; kind: string }[]>`
      SELECT p.oid::regprocedure::text AS routine, p.prokind AS kind FROM pg_proc p
      WHERE p.pronamespace = current_schema()::regnamespace AND p.proname = ${d.name}
        AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.refclassid = 'pg_proc'::regclass AND x.refobjid = p.oid AND x.deptype IN ('n', 'a'))
        AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_proc'::regclass AND x.objid = p.oid AND x.deptype = 'e')`;
    for (const r of replaceable) await tx.unsafe(`DROP ${r.kind === 'a' ? 'AGGREGATE' : 'ROUTINE'} ${r.routine}`);
    await tx.unsafe(d.sql).catch((e) => Promise.reject(inFile(e, file)));
    const [{ n }] = await tx<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND proname = ${d.name}`;
    if (n === 0) throw new Error(`${file} defines no routine named ${d.name}: a file is named after the routines it defines`);
    await tx`INSERT INTO schema_definitions (name, checksum) VALUES (${d.name}, ${d.checksum})
             ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()`;
  }

  // Every routine just defined, checked now that all exist, as CREATE would have checked it.
  await tx.unsafe('SET LOCAL check_function_bodies = on');
  const routines = await tx<{ oid: number; validator: string; name: string }[]>`
    SELECT p.oid, l.lanvalidator::regproc::text AS validator, p.proname AS name
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
    WHERE p.pronamespace = current_schema()::regnamespace AND p.proname = ANY(${changed.map((d) => d.name)}) AND l.lanvalidator <> 0`;
  for (const r of routines) {
    await tx.unsafe(`SELECT ${r.validator}($1::oid)`, [r.oid]).catch((e) =>
      Promise.reject(inFile(e, `sql/functions/${changed.find((d) => d.name === r.name)!.path}`)));
  }
  return changed.map((d) => d.name);
}
