/**
 * What this code expects of its database, and what the database has. /readyz answers 503 until
 * the database has both: the newest numbered migration (SCHEMA_VERSION) and, at that version,
 * exactly this code's function definitions (DEFINITIONS_CHECKSUM, over sql/functions/). A Worker
 * has no file system, so both are kept here, and test/migrate.test.ts fails the day either and
 * sql/ disagree (its message gives the new value).
 */
import type { Sql } from './client';

export const SCHEMA_VERSION = 24;
export const DEFINITIONS_CHECKSUM = 'ba3b066740674723864e44faf7300b9f3eee60125a2aca2fa2eca43a7776e431';

export interface SchemaState {
  /** The newest numbered migration applied, 0 when none. */
  version: number;
  /** The checksum of the definitions applied (as definitionsChecksum() computes it), null when none ever were. */
  definitions: string | null;
}

/** The newest migration applied, or 0 when the database has none. */
export async function schemaVersion(sql: Sql): Promise<number> {
  return (await schemaState(sql)).version;
}

export async function schemaState(sql: Sql): Promise<SchemaState> {
  const [t] = await sql<{ m: boolean; d: boolean }[]>`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS m, to_regclass('schema_definitions') IS NOT NULL AS d`;
  if (!t.m) return { version: 0, definitions: null };
  if (!t.d) {
    const [row] = await sql<{ v: number }[]>`SELECT coalesce(max(id), 0) AS v FROM schema_migrations`;
    return { version: row.v, definitions: null };
  }
  // The same lines as definitionsChecksum() hashes: "name checksum\n", in byte order of the names.
  const [row] = await sql<{ v: number; d: string }[]>`
    SELECT (SELECT coalesce(max(id), 0) FROM schema_migrations) AS v,
           (SELECT encode(sha256(convert_to(coalesce(string_agg(name || ' ' || checksum || E'\n', '' ORDER BY name COLLATE "C"), ''), 'UTF8')), 'hex')
              FROM schema_definitions) AS d`;
  return { version: row.v, definitions: row.d };
}

/**
 * Why a database cannot serve this code, or undefined when it can: it lacks a migration, or it
 * is at this code's version with other definitions. A newer database is served, as it always was
 * (its migrations were written to keep older code working during a deploy).
 */
export function notReady(db: SchemaState, expectedVersion: number, expectedDefinitions = DEFINITIONS_CHECKSUM): string | undefined {
  if (db.version < expectedVersion) return `database at migration ${db.version}, expected ${expectedVersion}`;
  if (db.version === expectedVersion && db.definitions !== expectedDefinitions) {
    return `database functions ${db.definitions ? 'differ from' : 'not yet applied from'} this code's sql/functions (run npm run migrate)`;
  }
  return undefined;
}
