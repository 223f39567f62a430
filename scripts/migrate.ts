/**
 * `npm run migrate`: apply the numbered migrations under sql/, then the function definitions of
 * sql/functions/ that changed, and exit (docs/database.md). Uses DATABASE_URL, else the embedded
 * PostgreSQL under DATA_DIR (started for the purpose and stopped again). This is how a Worker's
 * database is migrated: the Worker itself has no file system and never migrates.
 */
import { parseConfig, ConfigError } from '../src/config/env';
import { connect } from '../src/db/client';
import { startEmbedded, type EmbeddedPostgres } from '../src/db/embedded';
import { migrate } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';
import { schemaState } from '../src/db/schema-version';

async function main() {
  const config = parseConfig(process.env);
  let embedded: EmbeddedPostgres | undefined;
  const url = config.databaseUrl ?? (embedded = await startEmbedded({ dataDir: config.dataDir, log: (m) => console.log(m) })).url;
  const sql = connect(url, { max: 1 });
  try {
    const applied = await migrate(sql, loadMigrations());
    console.log(applied.migrations.length ? `applied migrations ${applied.migrations.join(', ')}` : 'no migration to apply');
    console.log(applied.definitions.length ? `applied definitions ${applied.definitions.join(', ')}` : 'no definition changed');
    const state = await schemaState(sql);
    console.log(`schema version ${state.version}, definitions ${state.definitions}`);
  } finally {
    await sql.end();
    await embedded?.stop();
  }
}

main().catch((e) => {
  console.error(`migrate: ${e instanceof ConfigError ? e.message : (e as Error).stack}`);
  process.exit(1);
});
