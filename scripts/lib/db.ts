/**
 * Databases for a run: scratch databases on DATABASE_URL's server (dropped at the end), else on an
 * embedded PostgreSQL in a temporary directory (stopped and removed at the end); pools on them;
 * drivers inserted as the API would store them; and the embedded server a Mayday DATA_DIR holds.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPin, hashToken, newToken } from '../../src/auth/crypto';
import { connect, type Sql } from '../../src/db/client';
import { startEmbedded, type EmbeddedPostgres } from '../../src/db/embedded';
import { migrate } from '../../src/db/migrate';
import { loadMigrations } from '../../src/db/migrations-fs';
import { onCleanup, say, tempDir } from './run';

export interface Db {
  url: string;
  label: string;
}

/** Databases `names` created on the server of `adminUrl` (dropped at the end, unless `keep` says why not); their URLs. */
async function createDatabases(adminUrl: string, names: readonly string[], keep?: string): Promise<string[]> {
  const admin = connect(adminUrl, { max: 1, applicationName: 'mayday-bench' });
  onCleanup('close the admin connection', () => admin.end({ timeout: 2 }));
  const urls: string[] = [];
  for (const name of names) {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    if (keep) say(`keeping the scratch database ${name} (${keep}): drop it yourself`);
    else onCleanup(`drop database ${name}`, async () => void (await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    urls.push(u.toString());
  }
  return urls;
}

/** An embedded PostgreSQL in a temporary directory (stopped and removed at the end), with `database` made if given. */
async function embeddedServer(database?: string): Promise<{ pg: EmbeddedPostgres; dir: string }> {
  const dir = tempDir('mayday-bench-');
  say(`starting the embedded PostgreSQL in ${dir}`);
  const pg = await startEmbedded({ dataDir: dir, database });
  onCleanup('stop the embedded PostgreSQL', () => pg.stop());
  return { pg, dir };
}

/**
 * A scratch database on DATABASE_URL's server (dropped at the end; `keep`: not, and why), else an
 * embedded PostgreSQL in a temporary directory.
 */
export async function scratchDatabase(prefix = 'mayday_bench', o: { keep?: string } = {}): Promise<Db> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const given = process.env.DATABASE_URL;
  if (given) {
    const [url] = await createDatabases(given, [name], o.keep);
    return { url, label: `DATABASE_URL server ${new URL(given).host}, scratch database ${name}` };
  }
  const { pg, dir } = await embeddedServer(name);
  return { url: pg.url, label: `embedded PostgreSQL in ${dir}, database ${name}` };
}

/**
 * Several scratch databases on one server, `<prefix>_<random>_<suffix>` for each suffix: on
 * DATABASE_URL's server, else on an embedded PostgreSQL in a temporary directory. Their URLs in
 * the order of `suffixes`.
 */
export async function scratchDatabases(suffixes: readonly string[], prefix = 'mayday_bench'): Promise<{ urls: string[]; label: string }> {
  const stem = `${prefix}_${randomBytes(5).toString('hex')}`;
  const names = suffixes.map((s) => `${stem}_${s}`);
  let adminUrl = process.env.DATABASE_URL;
  let label: string;
  if (!adminUrl) {
    const { pg, dir } = await embeddedServer();
    adminUrl = pg.adminUrl;
    label = `embedded PostgreSQL in ${dir}, databases ${names.join(' and ')}`;
  } else {
    label = `DATABASE_URL server ${new URL(adminUrl).host}, scratch databases ${names.join(' and ')}`;
  }
  return { urls: await createDatabases(adminUrl, names), label };
}

/**
 * A pool of this script's own (closed at the end), migrated to the current schema first if
 * `migrated`: this checkout's, or with MAYDAY_CHECKOUT=<dir> that checkout's (startMayday runs its
 * Mayday too), so that a before/after comparison measures the older SQL as well as the older code.
 * `sender` names a sender on every connection (mayday.sender), as Mayday's own pool does.
 */
export async function openPool(url: string, o: { max?: number; app?: string; what?: string; migrated?: boolean; sender?: string } = {}): Promise<Sql> {
  const sql = connect(url, { max: o.max ?? 2, applicationName: o.app ?? 'mayday-bench', sender: o.sender });
  onCleanup(o.what ?? 'close the scratch pool', () => sql.end({ timeout: 2 }));
  const checkout = process.env.MAYDAY_CHECKOUT;
  if (o.migrated) await migrate(sql, checkout ? loadMigrations(join(checkout, 'sql')) : loadMigrations());
  return sql;
}

export async function serverVersion(sql: Sql): Promise<string> {
  const [{ server_version }] = await sql<{ server_version: string }[]>`SHOW server_version`;
  return server_version;
}

/** The table of the bare server (scripts/bare-server.ts). */
export async function createBareTable(sql: Sql): Promise<void> {
  await sql`CREATE TABLE bench_bare (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;
}

/**
 * The tables of the durable-minimum reference (scripts/bare-server.ts, POST /durable): the columns,
 * defaults and checks of incidents, incident_events and pages (LIKE), none of their triggers (so no
 * hash chain) and only the indexes intake needs: the keys, the retry key and the page queue.
 */
export async function createDurableTables(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`CREATE SEQUENCE bench_incident_code_seq START 1000`;
    await tx`CREATE TABLE bench_incidents (LIKE incidents INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id), UNIQUE (driver_id, client_request_id))`;
    await tx`ALTER TABLE bench_incidents ALTER code SET DEFAULT nextval('bench_incident_code_seq')`;
    await tx`CREATE TABLE bench_incident_events (LIKE incident_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (incident_id, seq))`;
    await tx`CREATE TABLE bench_pages (LIKE pages INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id))`;
    await tx`CREATE INDEX bench_pages_due_idx ON bench_pages (not_before) WHERE status = 'queued'`;
  });
}

/** The PIN hashes of drivers made in SQL (cancel 1234, duress 9999): PBKDF2, slow on purpose, so computed once and shared. */
export async function pinHashes(): Promise<{ cancel: string; duress: string }> {
  const [cancel, duress] = await Promise.all([hashPin('1234'), hashPin('9999')]);
  return { cancel, duress };
}

/**
 * Drivers straight in SQL, as the API would store them (PIN hashes, token hashes), numbered g from
 * `first` (default 1): named `<name> <g>`, phone `<phonePrefix>` and (phoneOffset + g) in 7 digits.
 * Each gets a token of its own (`tokens`, or new ones). Answers them in the order of g.
 */
export async function insertDrivers(sql: Sql, o: {
  count: number; name: string; phonePrefix: string; phoneOffset?: number; first?: number; tokens?: string[]; pins?: { cancel: string; duress: string };
}): Promise<{ id: string; token: string }[]> {
  const first = o.first ?? 1;
  const pins = o.pins ?? (await pinHashes());
  const rows = await sql<{ id: string }[]>`
    INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash)
    SELECT 'driver', ${o.name} || ' ' || g, ${o.phonePrefix} || lpad((${o.phoneOffset ?? 0}::int + g)::text, 7, '0'), ${pins.cancel}, ${pins.duress}
    FROM generate_series(${first}::int, ${first + o.count - 1}::int) g
    ORDER BY g
    RETURNING id`;
  const tokens = o.tokens ?? rows.map(() => newToken('drv'));
  await sql`INSERT INTO tokens (token_hash, user_id)
    SELECT * FROM unnest(${await Promise.all(tokens.map((t) => hashToken(t)))}::text[], ${rows.map((r) => r.id)}::uuid[])`;
  return rows.map((r, i) => ({ id: r.id, token: tokens[i] }));
}

// --- the embedded PostgreSQL of a Mayday DATA_DIR ---------------------------------------------------

/** The pid in its postmaster.pid, if the file is there. */
export function postmasterPid(dataDir: string): number | undefined {
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  return existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) || undefined : undefined;
}

/** The URL of its `mayday` database, from the port and password Mayday keeps beside it (undefined before its first start). */
export function embeddedUrl(dataDir: string): string | undefined {
  const stateFile = join(dataDir, 'embedded-pg.json');
  if (!existsSync(stateFile)) return undefined;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { port: number; password: string };
  return `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/mayday`;
}
