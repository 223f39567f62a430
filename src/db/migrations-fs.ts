import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { migrationFromFile, type Migration } from './migrate';

export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

/** The migrations under sql/, read from disk (Node only). */
export function loadMigrations(dir = SQL_DIR): Migration[] {
  return readdirSync(dir)
    .sort()
    .map((f) => migrationFromFile(f, readFileSync(join(dir, f), 'utf8')))
    .filter((m): m is Migration => m !== undefined);
}
