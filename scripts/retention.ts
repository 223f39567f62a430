/**
 * `npm run retention`: coarsen, now, the precise coordinates of every incident resolved more
 * than RETENTION_DAYS days ago (default 90) that is not on legal hold, and print what was done.
 * The engine does the same once a day by itself; this is for an operator who wants it now.
 *
 * Database: DATABASE_URL; else the embedded PostgreSQL under DATA_DIR (default ./.data): the one
 * a running `npm start` uses when it is up (found through its postmaster.pid and the port and
 * password Mayday keeps beside it), otherwise started for this run and stopped afterwards.
 * Migrations are applied first, as `npm start` does.
 *
 * Env: RETENTION_DAYS (whole days >= 0, default 90), DATABASE_URL, DATA_DIR.
 * Exit status: 0 when the run completed, 1 on a configuration or database error.
 */
import { resolve } from 'node:path';
import { runRetention } from '../src/audit/retention';
import { parseConfig, type Config } from '../src/config/env';
import { connect } from '../src/db/client';
import { startEmbedded, type EmbeddedPostgres } from '../src/db/embedded';
import { migrate } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';
import { embeddedUrl, postmasterPid } from './lib/db';
import { isAlive } from './lib/processes';

const print = (msg: string) => process.stdout.write(`${msg}\n`);

/** The embedded server a running Mayday started under dataDir, if it is up. */
function runningEmbedded(dataDir: string): string | undefined {
  const dir = resolve(dataDir);
  const pid = postmasterPid(dir);
  return pid && isAlive(pid) ? embeddedUrl(dir) : undefined;
}

async function main() {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (e) {
    process.stderr.write(`retention: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const days = config.retentionDays;
  const dataDir = config.dataDir;
  let url = config.databaseUrl;
  let embedded: EmbeddedPostgres | undefined;
  let where = 'DATABASE_URL';
  if (!url) {
    url = runningEmbedded(dataDir);
    where = `the running embedded PostgreSQL under ${dataDir}`;
  }
  if (!url) {
    embedded = await startEmbedded({ dataDir });
    url = embedded.url;
    where = `the embedded PostgreSQL under ${dataDir} (started for this run)`;
  }
  const sql = connect(url, { max: 2, applicationName: 'mayday-retention' });
  try {
    await migrate(sql, loadMigrations());
    const at = new Date();
    print(`retention: coarsening the locations of incidents resolved before ${new Date(at.getTime() - days * 86_400_000).toISOString()} (${days} days ago), except those on legal hold; database: ${where}`);
    const r = await runRetention(sql, { days, at, actor: 'script' });
    const [held] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM incidents WHERE legal_hold AND status = 'resolved' AND coarsened_at IS NULL AND resolved_at < ${at} - make_interval(days => ${days})`;
    print(`retention: coarsened ${r.incidents} incident(s), ${r.points} trail point(s), to 0.01°; ${held.n} kept precise by a legal hold`);
    for (const id of r.incidentIds.slice(0, 20)) print(`  ${id}`);
    if (r.incidentIds.length > 20) print(`  ... and ${r.incidentIds.length - 20} more`);
  } finally {
    await sql.end({ timeout: 5 });
    await embedded?.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`retention: failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
