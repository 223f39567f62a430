import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { definitionFromFile, migrationFromFile, type Definition, type Migration, type Migrations } from './migrate';

export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/**
 * The numbered migrations under sql/, read from disk (Node only), carrying the definitions of
 * sql/functions/ (`.definitions`), which migrate() applies after them. A list filtered from it
 * (an older schema, in tests) is a plain array: numbered migrations only.
 */
export function loadMigrations(dir = SQL_DIR): Migrations {
  const migrations: Migrations = readdirSync(dir)
    .sort()
    .filter((f) => f.endsWith('.sql'))
    .map((f) => migrationFromFile(f, readFileSync(join(dir, f), 'utf8')))
    .filter((m): m is Migration => m !== undefined);
  migrations.definitions = loadDefinitions(join(dir, 'functions'));
  return migrations;
}

/** Every sql/functions/<area>/<name>.sql, by path (none when there is no such folder). */
export function loadDefinitions(dir = join(SQL_DIR, 'functions')): Definition[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((p) => p.split('\\').join('/'))
    .sort()
    .map((p) => (p.endsWith('.sql') ? definitionFromFile(p, readFileSync(join(dir, p), 'utf8')) : undefined))
    .filter((d): d is Definition => d !== undefined);
}
