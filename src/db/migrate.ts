import type { Sql } from './client';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/** Any fixed 64-bit key: every Mayday instance takes this lock before migrating. */
const MIGRATION_LOCK = 0x4d61796461790001n;

/** Parse "001_foundation.sql" into its number and name; anything else is not a migration. */
export function migrationFromFile(file: string, text: string): Migration | undefined {
  const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
  return m ? { id: Number(m[1]), name: m[2], sql: text } : undefined;
}

/**
 * Apply every migration not applied yet, in order, in one transaction under an advisory lock,
 * so several instances starting at once apply each migration exactly once.
 * Returns the ids applied by this call.
 */
export async function migrate(sql: Sql, migrations: Migration[]): Promise<number[]> {
  const ordered = [...migrations].sort((a, b) => a.id - b.id);
  ordered.forEach((m, i) => {
    if (i > 0 && ordered[i - 1].id === m.id) throw new Error(`two migrations numbered ${m.id}`);
  });
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const done = new Set((await tx<{ id: number }[]>`SELECT id FROM schema_migrations`).map((r) => r.id));
    const applied: number[] = [];
    for (const m of ordered) {
      if (done.has(m.id)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (id, name) VALUES (${m.id}, ${m.name})`;
      applied.push(m.id);
    }
    return applied;
  });
}

/** The newest migration applied, or 0 when the database has none. */
export async function schemaVersion(sql: Sql): Promise<number> {
  const [t] = await sql<{ t: string | null }[]>`SELECT to_regclass('schema_migrations')::text AS t`;
  if (!t?.t) return 0;
  const [row] = await sql<{ v: number }[]>`SELECT coalesce(max(id), 0) AS v FROM schema_migrations`;
  return row.v;
}
