import { describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { connect } from '../src/db/client';
import { migrate, migrationFromFile, schemaVersion } from '../src/db/migrate';
import { loadMigrations } from '../src/db/migrations-fs';
import { testApp } from './helpers/app';
import { freshDatabase } from './helpers/db';
import { square, world } from './helpers/world';

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
      expect(await migrate(sql, all)).toEqual(all.filter((m) => m.id > 7).map((m) => m.id));
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
