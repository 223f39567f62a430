import { describe, expect, it } from 'vitest';
import { connect } from '../src/db/client';
import { migrate, migrationFromFile, schemaVersion } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';
import { freshDatabase } from './helpers/db';

describe('migrations', () => {
  it('several instances starting at once apply each migration exactly once (advisory lock)', async () => {
    const { url, sql } = await freshDatabase({ migrated: false });
    const migrations = loadMigrations();
    const pools = [connect(url, { max: 1 }), connect(url, { max: 1 }), connect(url, { max: 1 })];
    const applied = await Promise.all(pools.map((p) => migrate(p, migrations)));
    await Promise.all(pools.map((p) => p.end()));
    const all = applied.flat().sort((a, b) => a - b);
    expect(all).toEqual(migrations.map((m) => m.id).sort((a, b) => a - b));
    expect(await schemaVersion(sql)).toBe(Math.max(...migrations.map((m) => m.id)));
    expect(await migrate(sql, migrations)).toEqual([]); // a second start applies nothing
  });

  it('are plain numbered SQL files, forward only, each saying why it exists', () => {
    const migrations = loadMigrations();
    expect(migrations.map((m) => m.id)).toEqual(migrations.map((_, i) => i + 1));
    for (const m of migrations) expect(m.sql.trimStart().startsWith('--')).toBe(true);
    expect(migrationFromFile('README.md', '')).toBeUndefined();
    expect(migrationFromFile('007_x.sql', 'select 1')).toEqual({ id: 7, name: 'x', sql: 'select 1' });
  });

  it('a failing migration applies nothing of itself', async () => {
    const { sql } = await freshDatabase({ migrated: false });
    await expect(migrate(sql, [
      { id: 1, name: 'ok', sql: 'CREATE TABLE a (x int)' },
      { id: 2, name: 'bad', sql: 'CREATE TABLE b (x int); SELECT nonsense_function()' },
    ])).rejects.toThrow();
    const [t] = await sql`SELECT to_regclass('b')::text AS b, to_regclass('a')::text AS a`;
    expect(t).toEqual({ a: null, b: null }); // one transaction: all or nothing
  });
});
