/**
 * `npm run migrate`: apply the migrations under sql/ and exit. Uses DATABASE_URL, else the
 * embedded PostgreSQL under DATA_DIR (started for the purpose and stopped again).
 */
import { parseConfig, ConfigError } from '../src/config/env';
import { connect } from '../src/db/client';
import { startEmbedded, type EmbeddedPostgres } from '../src/db/embedded';
import { migrate, schemaVersion } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';

async function main() {
  const config = parseConfig(process.env);
  let embedded: EmbeddedPostgres | undefined;
  const url = config.databaseUrl ?? (embedded = await startEmbedded({ dataDir: config.dataDir, log: (m) => console.log(m) })).url;
  const sql = connect(url, { max: 1 });
  try {
    const applied = await migrate(sql, loadMigrations());
    console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'nothing to apply');
    console.log(`schema version ${await schemaVersion(sql)}`);
  } finally {
    await sql.end();
    await embedded?.stop();
  }
}

main().catch((e) => {
  console.error(`migrate: ${e instanceof ConfigError ? e.message : (e as Error).stack}`);
  process.exit(1);
});
