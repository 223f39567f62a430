/**
 * Mayday on Node: configuration, database (embedded unless DATABASE_URL), migrations, demo
 * seed, HTTP server and graceful shutdown.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { newToken } from '../auth/crypto';
import { ConfigError, parseConfig, type Config } from '../config/env';
import { connect, warmPool } from '../db/client';
import { EmbeddedStartError, startEmbedded, type EmbeddedPostgres } from '../db/embedded';
import { checksumOfFiles, migrate } from '../db/migrate';
import { loadMigrations } from '../db/migrations-fs';
import type { Deps } from '../deps';
import { seedDemo, DEMO, type DemoTokens } from '../demo/seed';
import { createLogger } from '../log';
import { auditKeysFor } from './audit-key';
import { createServer } from './node-server';
import { wireNode } from './wire';

function adminToken(config: Config): { token: string; generated: boolean } {
  if (config.adminToken) return { token: config.adminToken, generated: false };
  const file = join(resolve(config.dataDir), 'admin-token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), generated: true };
  mkdirSync(resolve(config.dataDir), { recursive: true, mode: 0o700 });
  const token = newToken('adm');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, generated: true };
}

function docsAssets(): Deps['docsAsset'] {
  let dir: string;
  try {
    dir = createRequire(import.meta.url)('swagger-ui-dist').getAbsoluteFSPath() as string;
  } catch {
    return undefined;
  }
  const types: Record<string, string> = { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'text/javascript; charset=utf-8' };
  return async (name) => (types[name] ? { body: await readFile(join(dir, name)), type: types[name] } : undefined);
}

function printBanner(config: Config, admin: { token: string; generated: boolean }, demo: DemoTokens | undefined) {
  const out: string[] = ['', `Mayday is listening on http://localhost:${config.port}  (API docs: /docs, OpenAPI: /openapi.json)`];
  if (admin.generated) out.push(`admin token (kept in ${join(config.dataDir, 'admin-token')}): ${admin.token}`);
  if (demo) {
    out.push('', 'Demo data seeded. These tokens are shown this once:');
    for (const t of demo.tokens) out.push(`  ${t.role.padEnd(11)} ${t.name.padEnd(11)} ${t.phone}  ${t.token}  id ${t.id}`);
    out.push(`  driver PINs: cancel ${DEMO.driver.cancelPin}, duress ${DEMO.driver.duressPin}; a spot inside the zone: lat ${DEMO.here.lat}, lng ${DEMO.here.lng}`);
    out.push('  In the console (/console), sign in with the admin token to play every part on the simulated phones; a supervisor plays only their own.');
  }
  out.push('');
  process.stdout.write(out.join('\n') + '\n');
}

async function main() {
  let config: Config;
  try {
    config = parseConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mayday: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log = createLogger({ level: config.logLevel, pretty: config.logFormat ? config.logFormat === 'pretty' : process.stdout.isTTY });

  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbedded({ dataDir: config.dataDir, log: (msg) => log.info(msg) });
    url = embedded.url;
  }
  // Two pools: SOS intake never waits for a connection behind sends and callbacks. Small ones
  // (6 and 3 by default): postgres.js hands out its idle connections in turn, so every connection
  // of a pool stays in use, and each is a database process. With 16 and 12 on this project's
  // two cores, 28 processes took turns for each query, and bench:paging's SOS → first page p99
  // was about twice what it is with 6 and 3 (docs/architecture.md, "Small connection pools").
  // This process's sender id: pages it claims are leased to it, and its advisory lock (held by
  // the engine) tells the other instances at once when it has died.
  const senderId = randomUUID();
  const sql = connect(url, { max: config.pool.main, sender: senderId });
  const intakeSql = connect(url, { max: config.pool.intake, applicationName: 'mayday-intake', sender: senderId });
  const migrations = loadMigrations();
  const applied = await migrate(sql, migrations);
  if (applied.migrations.length || applied.definitions.length) log.info({ applied }, 'migrations applied');

  const admin = adminToken(config);
  const audit = await auditKeysFor(config);
  if (audit.generated) log.warn({ file: audit.file }, 'AUDIT_SIGNING_KEY is not set: made a checkpoint signing key and kept it in DATA_DIR; checkpoints signed with another key cannot be verified with this one');
  const demo = (config.demo ?? !config.databaseUrl) ? await seedDemo(sql) : undefined;

  let draining = false;
  const { app, engine, deps } = wireNode({
    sql,
    intakeSql,
    log,
    adminToken: admin.token,
    publicBaseUrl: config.publicBaseUrl,
    twilio: config.twilio,
    noonlight: config.noonlight,
    retentionDays: config.retentionDays,
    auditKeys: audit.keys,
    schemaVersion: Math.max(...migrations.map((m) => m.id)),
    definitionsChecksum: checksumOfFiles(migrations.definitions ?? []),
    docsAsset: docsAssets(),
    draining: () => draining,
    console: config.console,
    senderId,
  });
  await engine.start();
  const stopTokenListener = await deps.auth.listen();
  // Keep the zone shapes fresh on a quiet instance too, so that an SOS never waits for their load
  // (ZoneDirectory answers from memory while a reload runs; it waits only for shapes over 4 s old).
  const zoneRefresh = setInterval(() => void deps.zones.get().catch(() => undefined), 1_000);
  zoneRefresh.unref();
  log.info({ telephony: config.twilio ? 'twilio' : 'simulator', dispatch: config.noonlight ? 'noonlight' : 'simulator' }, 'paging engine started');
  // A deep accept queue: under a burst (SOS, Twilio's callbacks) while the event loop is busy,
  // Node's default of 511 overflows, and a dropped SYN is retried by the client after 1, 3, 7 s.
  // API timeouts (headers 10 s, a whole request 30 s, keep-alive 65 s): src/entry/node-server.ts.
  const server = createServer(app.fetch);
  server.listen({ port: config.port, backlog: 4096 }, () => printBanner(config, admin, demo));
  // Then open every pool connection (warmPool), so that a burst of SOS soon after a start does not
  // wait for new database processes (bench:paging: up to 1.5 s at p99 without it) — but only once
  // a restart's overdue escalations have been taken and their pages sent: warming at once
  // delayed them by ~2 s (chaos:kill).
  void engine.firstRun
    .then(() => deps.pager.idle())
    .then(() => Promise.all([warmPool(sql), warmPool(intakeSql)]))
    .catch((e) => log.warn({ err: e }, 'database pool warm-up failed'));

  const shutdown = async (signal: string) => {
    if (draining) return;
    draining = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      log.error('shutdown took over 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    // Every request under way is answered (a kept-alive connection then closes); streams and
    // stuck clients are cut after 10 s (src/entry/node-server.ts).
    await server.shutdown(10_000);
    clearInterval(zoneRefresh);
    await engine.stop(); // sends under way record their outcome; queued pages wait for the next start
    await stopTokenListener().catch(() => undefined);
    await Promise.all([sql.end({ timeout: 5 }), intakeSql.end({ timeout: 5 })]);
    await embedded?.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`mayday: failed to start: ${e instanceof EmbeddedStartError ? e.message : ((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
