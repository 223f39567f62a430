import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { connect, type Sql } from '../src/db/client';
import { checksum, definitionFromFile, definitionsChecksum, migrate, migrationFromFile, schemaVersion, type Definition } from '../src/db/migrate';
import { loadDefinitions, loadMigrations } from '../src/db/migrations-fs';
import { DEFINITIONS_CHECKSUM, notReady, schemaState } from '../src/db/schema-version';
import { testApp } from './helpers/app';
import { freshDatabase } from './helpers/db';
import { square, world } from './helpers/world';

/**
 * What a database is made of, as text to compare: tables and their columns, indexes,
 * constraints, triggers, domains, sequences, views, extensions, and every routine as
 * pg_get_functiondef() writes it. Object ids and row contents are left out.
 */
async function catalog(sql: Sql) {
  const q = (text: string) => sql.unsafe(text).then((rows) => rows.map((r) => Object.values(r).join(' | ')));
  return {
    columns: await q(`SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                             pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
                      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
                      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                        AND a.attnum > 0 AND NOT a.attisdropped
                      ORDER BY c.relname, a.attnum`),
    indexes: await q(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`),
    constraints: await q(`SELECT coalesce(conrelid::regclass::text, contypid::regtype::text), conname, pg_get_constraintdef(oid)
                          FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`),
    triggers: await q(`SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgrelid::regclass::text, tgname`),
    types: await q(`SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull
                    FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('d', 'e', 'c', 'r')
                      AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
                    ORDER BY 1`),
    sequences: await q(`SELECT sequencename, data_type, start_value, increment_by FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1`),
    views: await q(`SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1`),
    extensions: await q(`SELECT extname FROM pg_extension ORDER BY 1`),
    routines: await q(`SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p
                       WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1`),
    bookkeeping: await q(`SELECT 'migration', id::text, name FROM schema_migrations
                          UNION ALL SELECT 'definition', name, checksum FROM schema_definitions ORDER BY 1, 2`),
  };
}

/** A database as a released Mayday left it: its numbered migrations up to `upTo`, applied as the migrator of those releases applied them. */
async function releasedDatabase(upTo: number) {
  const { sql } = await freshDatabase({ migrated: false });
  await sql.begin(async (tx) => {
    await tx`CREATE TABLE schema_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    for (const m of loadMigrations().filter((m) => m.id <= upTo)) {
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (id, name) VALUES (${m.id}, ${m.name})`;
    }
  });
  return sql;
}

/** One of this checkout's definitions, its text changed by `edit`. */
function edited(name: string, edit: (text: string) => string): Definition[] {
  return loadDefinitions().map((d) => (d.name === name ? { ...d, sql: edit(d.sql) } : d));
}

describe('migrations', () => {
  it('several instances starting at once apply each migration and each definition exactly once (advisory lock)', async () => {
    const { url, sql } = await freshDatabase({ migrated: false });
    const migrations = loadMigrations();
    const pools = [connect(url, { max: 1 }), connect(url, { max: 1 }), connect(url, { max: 1 })];
    const applied = await Promise.all(pools.map((p) => migrate(p, migrations)));
    await Promise.all(pools.map((p) => p.end()));
    const all = applied.flatMap((a) => a.migrations).sort((a, b) => a - b);
    expect(all).toEqual(migrations.map((m) => m.id).sort((a, b) => a - b));
    const defined = applied.flatMap((a) => a.definitions).sort();
    expect(defined).toEqual(migrations.definitions!.map((d) => d.name).sort());
    expect(await schemaVersion(sql)).toBe(Math.max(...migrations.map((m) => m.id)));
    expect(await migrate(sql, migrations)).toEqual({ migrations: [], definitions: [] }); // a second start applies nothing
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
    ])).rejects.toThrow(/migration 2 \(bad\): .*nonsense_function/);
    const [t] = await sql`SELECT to_regclass('b')::text AS b, to_regclass('a')::text AS a`;
    expect(t).toEqual({ a: null, b: null }); // one transaction: all or nothing
  });

  it('a gap or a duplicate number among the numbered files is refused, before anything is applied', async () => {
    const { sql } = await freshDatabase({ migrated: false });
    const m = (id: number, name = `m${id}`) => ({ id, name, sql: `CREATE TABLE ${name} (x int)` });
    await expect(migrate(sql, [m(1), m(3)])).rejects.toThrow('migration 2 is missing (found 1, 3): migrations are numbered 1 to n without a gap');
    await expect(migrate(sql, [m(2), m(3)])).rejects.toThrow(/migration 1 is missing/);
    await expect(migrate(sql, [m(1), m(2, 'a'), m(2, 'b')])).rejects.toThrow('two migrations numbered 2 (a, b): each number is used once');
    // As files: sql/ with two 002s.
    const dir = mkdtempSync(join(tmpdir(), 'mayday-sql-'));
    try {
      for (const f of ['001_one.sql', '002_two.sql', '002_deux.sql']) writeFileSync(join(dir, f), '-- x\nSELECT 1;');
      await expect(migrate(sql, loadMigrations(dir))).rejects.toThrow(/two migrations numbered 2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const [t] = await sql`SELECT to_regclass('schema_migrations')::text AS t, to_regclass('m1')::text AS m1`;
    expect(t).toEqual({ t: null, m1: null });
  });
});

describe('function definitions (sql/functions/<area>/<name>.sql)', () => {
  it('are one file per routine name, each saying what it does, and every routine of a migrated database has one', async () => {
    const defs = loadDefinitions();
    expect(defs.length).toBeGreaterThanOrEqual(42);
    for (const d of defs) {
      expect(d.sql.startsWith('--'), d.path).toBe(true);
      expect(d.sql, `${d.path} names a migration: comments name functions`).not.toMatch(/\b(sql\/)?0\d\d\b/);
      expect(d.sql, d.path).toMatch(new RegExp(`CREATE OR REPLACE (FUNCTION|PROCEDURE) ${d.name}\\(`));
    }
    const { sql } = await freshDatabase();
    const routines = await sql<{ name: string }[]>`
      SELECT DISTINCT proname AS name FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1`;
    expect(routines.map((r) => r.name)).toEqual(defs.map((d) => d.name).sort());
    expect(definitionFromFile('intake/sos_open.sql', 'x\r\ny')).toEqual({ name: 'sos_open', path: 'intake/sos_open.sql', sql: 'x\ny' });
    expect(definitionFromFile('intake/README.md', '')).toBeUndefined();
    expect(() => definitionFromFile('sos_open.sql', '')).toThrow(/<area>\/<routine name>\.sql/);
  });

  it('DEFINITIONS_CHECKSUM (what a Worker expects) is the checksum of sql/functions, and a migrated database has it', async () => {
    const now = definitionsChecksum(loadDefinitions().map((d) => ({ name: d.name, checksum: checksum(d.sql) })));
    expect(DEFINITIONS_CHECKSUM, `sql/functions changed: set DEFINITIONS_CHECKSUM in src/db/schema-version.ts to '${now}'`).toBe(now);
    const { sql } = await freshDatabase();
    expect(await schemaState(sql)).toEqual({ version: Math.max(...loadMigrations().map((m) => m.id)), definitions: now });
  });

  it('re-applying every definition changes nothing: unchanged ones are skipped, and applied again they leave the catalog as it was', async () => {
    const { sql } = await freshDatabase();
    const before = await catalog(sql);
    expect(await migrate(sql, loadMigrations())).toEqual({ migrations: [], definitions: [] });
    expect(await catalog(sql)).toEqual(before);
    await sql`UPDATE schema_definitions SET checksum = 'forgotten'`;
    const again = await migrate(sql, loadMigrations());
    expect(again.definitions).toHaveLength(loadDefinitions().length);
    expect(await catalog(sql)).toEqual(before);
  });

  it('definitions touch routines only: tables, indexes, constraints, triggers and types are those of the numbered migrations alone', async () => {
    const { sql: fresh } = await freshDatabase();
    const { sql: numbered } = await freshDatabase({ migrated: false });
    expect((await migrate(numbered, [...loadMigrations()])).definitions).toEqual([]); // a copied list carries no definitions
    const [a, b] = [await catalog(numbered), await catalog(fresh)];
    for (const k of Object.keys(b) as (keyof typeof b)[]) if (k !== 'routines' && k !== 'bookkeeping') expect(a[k], k).toEqual(b[k]);
    expect(b.triggers.length).toBeGreaterThan(0);
  });

  it.each([1, 7, 15])('a database released at migration %i, migrated now, is identical to a new one', async (upTo) => {
    const { sql: fresh } = await freshDatabase();
    const old = await releasedDatabase(upTo);
    const applied = await migrate(old, loadMigrations());
    expect(applied.migrations).toEqual(loadMigrations().filter((m) => m.id > upTo).map((m) => m.id));
    expect(applied.definitions).toHaveLength(loadDefinitions().length);
    const [a, b] = [await catalog(old), await catalog(fresh)];
    for (const k of Object.keys(b) as (keyof typeof b)[]) expect(a[k], k).toEqual(b[k]);
  });

  it('a changed definition is applied again, even with another signature or return type; a trigger function is replaced in place', async () => {
    const { sql } = await freshDatabase();
    const migrations = loadMigrations();
    // Another body.
    const lower = edited('severity_rank', (t) => t.replace('ELSE 1 END', 'ELSE 0 END'));
    expect(lower).not.toEqual(loadDefinitions());
    expect(await migrate(sql, migrations, lower)).toEqual({ migrations: [], definitions: ['severity_rank'] });
    expect(await sql`SELECT severity_rank('medium') AS r`).toEqual([{ r: 0 }]);
    // Another return type (CREATE OR REPLACE alone refuses that), and an overload more.
    const wider = edited('severity_rank', (t) => t.replace('RETURNS integer', 'RETURNS bigint') +
      "\nCREATE OR REPLACE FUNCTION severity_rank(p text, p_default integer) RETURNS integer\nLANGUAGE sql IMMUTABLE AS $$ SELECT p_default $$;\n");
    expect((await migrate(sql, migrations, wider)).definitions).toEqual(['severity_rank']);
    expect(await sql`SELECT pg_typeof(severity_rank('high'))::text AS t, severity_rank('x', 7) AS d`).toEqual([{ t: 'bigint', d: 7 }]);
    // Back to this checkout's text: the overload it no longer has is gone.
    expect((await migrate(sql, migrations)).definitions).toEqual(['severity_rank']);
    const ranks = await sql`SELECT oid::regprocedure::text AS f, pg_get_function_result(oid) AS r FROM pg_proc WHERE proname = 'severity_rank'`;
    expect(ranks).toEqual([{ f: 'severity_rank(text)', r: 'integer' }]);
    // A trigger's function: replaced, and still the function of its triggers.
    const louder = edited('refuse_change', (t) => t.replace("'% is append-only: % refused'", "'% is append-only (%)'"));
    expect((await migrate(sql, migrations, louder)).definitions).toEqual(['refuse_change']);
    await expect(sql`TRUNCATE incident_events`).rejects.toThrow('incident_events is append-only (TRUNCATE)');
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_trigger WHERE tgfoid = 'refuse_change'::regproc`;
    expect(n).toBe(12);
    // A file that names another routine than its own is refused, naming the file; so is a body that cannot run.
    const misnamed = edited('severity_rank', (t) => t.replaceAll('severity_rank(', 'severity_rank_x('));
    await expect(migrate(sql, migrations, misnamed)).rejects.toThrow('sql/functions/lifecycle/severity_rank.sql defines no routine named severity_rank');
    const broken = edited('severity_rank', (t) => t.replace("SELECT CASE p", "SELECT CASE (SELECT x FROM no_such_table)"));
    await expect(migrate(sql, migrations, broken)).rejects.toThrow(/sql\/functions\/lifecycle\/severity_rank\.sql: .*no_such_table/);
    expect(await sql`SELECT severity_rank('medium') AS r`).toEqual([{ r: 1 }]); // both refused whole
  });

  it('definitions may refer to each other in any order: they are checked once all exist', async () => {
    const { sql } = await freshDatabase({ migrated: false });
    const def = (name: string, body: string): Definition => ({
      name, path: `x/${name}.sql`, sql: `-- ${name}\nCREATE OR REPLACE FUNCTION ${name}() RETURNS integer LANGUAGE sql AS $$ ${body} $$;`,
    });
    // a_first() calls b_then(), which does not exist when a_first() is created.
    expect((await migrate(sql, [], [def('a_first', 'SELECT b_then() + 1'), def('b_then', 'SELECT 41')])).definitions).toEqual(['a_first', 'b_then']);
    expect(await sql`SELECT a_first() AS v`).toEqual([{ v: 42 }]);
    await expect(migrate(sql, [], [def('a_first', 'SELECT c_never() + 1'), def('b_then', 'SELECT 41')])).rejects.toThrow(/a_first\.sql: .*c_never/);
    await expect(migrate(sql, [], [def('a_first', 'SELECT 1'), { ...def('a_first', 'SELECT 2'), path: 'y/a_first.sql' }]))
      .rejects.toThrow('sql/functions/x/a_first.sql and sql/functions/y/a_first.sql both define a_first: one file per name');
  });

  it('a database newer than this code keeps its definitions; one whose file is gone is forgotten', async () => {
    const { sql } = await freshDatabase();
    const migrations = loadMigrations();
    const older = migrations.slice(0, -1);
    expect(await migrate(sql, older, edited('severity_rank', (t) => t.replace('ELSE 1 END', 'ELSE 0 END')))).toEqual({ migrations: [], definitions: [] });
    expect(await sql`SELECT severity_rank('medium') AS r`).toEqual([{ r: 1 }]);
    const fewer = loadDefinitions().filter((d) => d.name !== 'severity_rank');
    expect(await migrate(sql, migrations, fewer)).toEqual({ migrations: [], definitions: [] });
    expect(await sql`SELECT name FROM schema_definitions WHERE name = 'severity_rank'`).toEqual([]);
    expect(await sql`SELECT severity_rank('medium') AS r`).toEqual([{ r: 1 }]); // dropping it is a numbered migration's work
  });

  it("/readyz is not ready while the database lacks a migration, or has other definitions at this code's version", async () => {
    const t = await testApp();
    expect((await t.get('/readyz')).status).toBe(200);
    await t.sql`UPDATE schema_definitions SET checksum = 'older' WHERE name = 'severity_rank'`;
    const res = await t.get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.reason).toMatch(/functions differ from this code's sql\/functions \(run npm run migrate\)/);
    await migrate(t.sql, loadMigrations());
    expect((await t.get('/readyz')).status).toBe(200);
    const v = Math.max(...loadMigrations().map((m) => m.id));
    expect(notReady({ version: v - 1, definitions: DEFINITIONS_CHECKSUM }, v)).toBe(`database at migration ${v - 1}, expected ${v}`);
    expect(notReady({ version: v, definitions: null }, v)).toMatch(/not yet applied/);
    expect(notReady({ version: v + 1, definitions: 'newer' }, v)).toBeUndefined(); // a newer database serves older code, as before
  });
});

describe('migrations', () => {
  describe('008: the busiest tables keep their value rules on domains', () => {
    const HOT = ['incidents', 'incident_locations', 'incident_events', 'pages', 'sim_messages'];

    it('no table CHECK is left on them but the one over several columns (a table CHECK is planned again by every statement)', async () => {
      const { sql } = await freshDatabase();
      const checks = await sql<{ table: string; name: string }[]>`
        SELECT conrelid::regclass::text AS table, conname AS name FROM pg_constraint
        WHERE contype = 'c' AND conrelid::regclass::text = ANY (${HOT}) ORDER BY 1, 2`;
      expect(checks).toEqual([{ table: 'incidents', name: 'incidents_check' }]);
    });

    it('still refuse every value 001-007 refused, with check_violation', async () => {
      const { sql } = await freshDatabase();
      const [{ driver }] = await sql<{ driver: string }[]>`
        INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash)
        VALUES ('driver', 'D', '+15550001111', 'x', 'y') RETURNING id AS driver`;
      const [{ incident }] = await sql<{ incident: string }[]>`
        INSERT INTO incidents (driver_id, kind, severity, zone_rule) VALUES (${driver}, 'robbery', 'critical', 'none') RETURNING id AS incident`;
      const refused = async (statement: string) => {
        const e = await sql.unsafe(statement).then(() => null, (err: { code?: string; message: string }) => err);
        expect(e, statement).not.toBeNull();
        expect(e!.code, `${statement}: ${e!.message}`).toBe('23514');
      };
      const inc = (col: string, value: string) =>
        refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule, ${col}) VALUES ('${driver}', 'robbery', 'critical', 'none', ${value})`);
      await refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule) VALUES ('${driver}', 'burglary', 'critical', 'none')`);
      await refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule) VALUES ('${driver}', 'robbery', 'low', 'none')`);
      await refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule) VALUES ('${driver}', 'robbery', 'critical', 'guess')`);
      await inc('status', "'closed'");
      await inc('source', "'fax'");
      await inc('disposition', "'whatever'");
      await inc('ack_via', "'pigeon'");
      await inc('legal_hold_reason', `'${'x'.repeat(501)}'`);
      await refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule, lat, lng, location_at) VALUES ('${driver}', 'robbery', 'critical', 'none', 91, 0, now())`);
      await refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule, lat, lng, location_at) VALUES ('${driver}', 'robbery', 'critical', 'none', 0, -181, now())`);
      await refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule, lat, lng, accuracy_m, location_at) VALUES ('${driver}', 'robbery', 'critical', 'none', 0, 0, -1, now())`);
      await refused(`INSERT INTO incidents (driver_id, kind, severity, zone_rule, lat) VALUES ('${driver}', 'robbery', 'critical', 'none', 0)`); // the table CHECK
      await refused(`INSERT INTO incident_locations (incident_id, lat, lng, captured_at) VALUES ('${incident}', -90.5, 0, now())`);
      await refused(`INSERT INTO incident_locations (incident_id, lat, lng, captured_at) VALUES ('${incident}', 0, 180.5, now())`);
      await refused(`INSERT INTO incident_locations (incident_id, lat, lng, accuracy_m, captured_at) VALUES ('${incident}', 0, 0, -0.5, now())`);
      await refused(`INSERT INTO incident_events (incident_id, type, actor) VALUES ('${incident}', 'incident.deleted', 'x')`);
      const page = (channel: string, purpose: string, status: string) =>
        refused(`INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, round, attempt, status)
                 VALUES ('${incident}', '${driver}', '+15550001111', '${channel}', '${purpose}', 0, 0, 1, '${status}')`);
      await page('fax', 'page', 'queued');
      await page('sms', 'gossip', 'queued');
      await page('sms', 'page', 'lost');
      await refused(`INSERT INTO sim_messages (sid, kind, direction, phone, body, status) VALUES ('SMx', 'fax', 'to_phone', '+15550001111', 'b', 'sent')`);
      await refused(`INSERT INTO sim_messages (sid, kind, direction, phone, body, status) VALUES ('SMx', 'sms', 'sideways', '+15550001111', 'b', 'sent')`);
      // ...and an update cannot get round them either.
      await refused(`UPDATE incidents SET status = 'closed' WHERE id = '${incident}'`);
      // Every allowed value is still allowed (the lists of 001-007, one by one).
      for (const s of ['queued', 'sending', 'sent', 'delivered', 'voicemail', 'failed', 'unknown', 'canceled']) {
        await sql`INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, round, attempt, status)
                  VALUES (${incident}, ${driver}, '+15550001111', 'voice', 'retry', 0, 0, ${1 + s.length * 100 + s.charCodeAt(0)}, ${s})`;
      }
      const [{ statuses }] = await sql<{ statuses: string[] }[]>`SELECT array_agg(status ORDER BY status) AS statuses FROM pages`;
      expect(statuses).toHaveLength(8);
      expect(typeof statuses[0]).toBe('string'); // a domain column reaches the client as its base type
    });

    it('upgrading a database from 007 keeps its rows, its types for the client and its hash chains', async () => {
      const { sql } = await freshDatabase({ migrated: false });
      const all = loadMigrations();
      await migrate(sql, all.filter((m) => m.id <= 7));
      const [{ driver }] = await sql<{ driver: string }[]>`
        INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash)
        VALUES ('driver', 'D', '+15550001111', 'x', 'y') RETURNING id AS driver`;
      const [{ incident }] = await sql<{ incident: { id: string; lat: number; kind: string } }[]>`
        SELECT incident FROM sos_open(${driver}, gen_random_uuid(), 'app', 'robbery', 'critical', NULL, 'none',
                                      40.5, -73.9, 12, NULL, NULL, 'driver:x')`;
      const before = await sql`SELECT * FROM incidents`;
      const [chainBefore] = await sql`SELECT * FROM timeline_verify(${incident.id})`;
      expect((await migrate(sql, all)).migrations).toEqual(all.filter((m) => m.id > 7).map((m) => m.id));
      expect(await sql`SELECT * FROM incidents`).toEqual(before);
      expect(await sql`SELECT * FROM timeline_verify(${incident.id})`).toEqual([chainBefore]);
      expect(chainBefore.valid).toBe(true);
      const [row] = await sql<{ lat: number; kind: string }[]>`SELECT lat, kind FROM incidents`;
      expect(row).toEqual({ lat: 40.5, kind: 'robbery' }); // a number and a string, as before
    });
  });

  describe('013: plans made once are index lookups, however small the tables were when they were made', () => {
    it('every function that keeps its first plan also keeps sequential scans off', async () => {
      const { sql } = await freshDatabase();
      const rows = await sql<{ name: string; config: string[] }[]>`
        SELECT p.proname AS name, p.proconfig AS config FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proconfig IS NOT NULL`;
      const kept = rows.filter((r) => r.config.includes('plan_cache_mode=force_generic_plan'));
      expect(kept.map((r) => r.name)).toEqual(expect.arrayContaining(['sos_open', 'page_sent_many', 'page_callback_many', 'escalate_due_and_claim']));
      for (const r of kept) expect(r.config, r.name).toContain('enable_seqscan=off');
      expect(rows.find((r) => r.name === 'claim_incident_pages')?.config).toContain('enable_seqscan=off');
    });

    it('on a new database, recording sends and callbacks finds the incident and the page by index, not by reading every row', async () => {
      const t = await testApp(); // pages go to the phone simulator
      const w = world(t);
      const zone = await w.zone('Zone', square(36.37, -94.2));
      await w.responder('supervisor', [zone.id], 'Ava');
      const driver = await w.driver('Dana');
      expect((await w.sos(driver)).status).toBe(201);
      await t.deps.pager.idle();
      const [page] = await t.sql<{ id: string; sid: string }[]>`SELECT id, sid FROM pages WHERE sid IS NOT NULL LIMIT 1`;
      // A connection of its own whose first calls plan these functions' statements now, with
      // one incident and two pages in the tables: each plan executed is shown to it (auto_explain).
      const plans: string[] = [];
      const watched = postgres(t.url, { max: 1, onnotice: (n) => plans.push(String(n.message)) });
      try {
        await watched.unsafe(`LOAD 'auto_explain'`);
        await watched.unsafe(`SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice`);
        await watched`SELECT page_sent_many(${[page.id]}::uuid[], ${[page.sid]}::text[])`;
        await watched`SELECT page_callback_many(${[page.id]}::uuid[], ${[page.sid]}::text[], ${['delivered']}::text[], ${[null]}::text[], ${[null]}::text[], 30, 3)`;
      } finally {
        await watched.end();
      }
      const locks = plans.filter((p) => p.includes('FOR NO KEY UPDATE') || p.includes('FOR UPDATE'));
      expect(locks.length, plans.join('\n---\n')).toBeGreaterThanOrEqual(4); // each function's two locks
      for (const p of plans) expect(p).not.toMatch(/Seq Scan on (incidents|pages)\b/);
    });
  });
});
