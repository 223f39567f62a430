/**
 * `npm run bench:timeline`: does one incident's timeline read stay flat as history grows?
 *
 * Two scratch databases on one server, "small" and "big", each migrated and seeded alike with
 * BENCH_SMALL_EVENTS (default 1,000) timeline events in all: BENCH_READ_INCIDENTS (default 5)
 * incidents of BENCH_READ_EVENTS (default 30) events each, the ones read, and resolved filler
 * incidents of 10 events each. Each database has its own Mayday (src/entry/node.ts, a child
 * process, as in the other benches) and an auditor made through the API. The load is
 * GET /v1/incidents/{id}/timeline as that auditor, one request at a time, alternating the two
 * servers request by request (so both meet the same moments of a busy machine; which one goes
 * first in a pair swaps each time), the read incidents in turn. Phases, each after a warm-up:
 *   1. small vs small: both at BENCH_SMALL_EVENTS (a control: the ratio should be about 1);
 *   then "big" grows to BENCH_EVENTS (default 1,000,000) events with more filler, is ANALYZEd,
 *   and its Mayday is given time to write the checkpoints that sign the new heads and then mark
 *   them covered (as it would have, minute by minute, in service);
 *   2. and 3. small vs big, twice.
 * Prints n, p50, p90, p99, max per server and phase, and p99 big / p99 small for phases 2 and 3
 * (goal <= 1.5), beside big-after / big-before (the same server, phase 2 against phase 1).
 * Then EXPLAIN (ANALYZE, BUFFERS) of the read's main query (listEvents in src/timeline/store.ts)
 * on both, and of the minute's checkpoint query (the heads not yet covered) at both sizes, with
 * no head moved (first, again, after VACUUM timeline_heads) and with 100 moved (in a transaction
 * rolled back), beside the same question asked of every head (the query before sql/023).
 *
 * Seeding is SQL, set-based: per chunk of 10,000 incidents, one statement inserts the incidents,
 * builds every timeline with a recursive CTE that chains the hashes with the database's own
 * timeline_hash() (one recursion step per seq, all incidents of the chunk at once), inserts the
 * events and the timeline heads. The chain trigger (~0.5 ms an event) and the foreign-key checks
 * are off for those transactions only (session_replication_role = replica: a superuser's
 * connection); a sample of chains is verified with timeline_verify() afterwards.
 *
 * Database: DATABASE_URL if set (scratch databases on that server, dropped at the end), else an
 * embedded PostgreSQL in a temporary directory. Linux or not: no /proc needed.
 * Env: BENCH_EVENTS (default 1000000), BENCH_SMALL_EVENTS (default 1000), BENCH_READS (reads per
 * server per phase, default 2000), BENCH_WARMUP_READS (default 200), BENCH_READ_INCIDENTS (default
 * 5), BENCH_READ_EVENTS (default 30), BENCH_LOG_LEVEL (default warn).
 * Exits non-zero when a read did not answer 200 with the whole timeline, or a sampled chain does
 * not verify.
 */
import { Agent } from 'node:http';
import os from 'node:os';
import type { Sql, TxSql } from '../src/db/client';
import { api, send } from './lib/api';
import { openPool, scratchDatabases, serverVersion } from './lib/db';
import { printFailures, runBench } from './lib/main';
import { freePort, newAdminToken, startMayday, waitReady, type Child } from './lib/processes';
import { intEnv, say, sleep } from './lib/run';
import { fmt, pct, pctTable, provenance } from './lib/stats';

const cfg = {
  events: intEnv('BENCH_EVENTS', 1_000_000),
  smallEvents: intEnv('BENCH_SMALL_EVENTS', 1_000),
  reads: intEnv('BENCH_READS', 2_000),
  warmupReads: intEnv('BENCH_WARMUP_READS', 200, 0),
  readIncidents: intEnv('BENCH_READ_INCIDENTS', 5),
  readEvents: intEnv('BENCH_READ_EVENTS', 30, 10),
  logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
};
const FILLER_EVENTS = 10;
const CHUNK = 10_000;

/** One database with its Mayday: who reads, what is read, how much is stored. */
interface Side {
  name: string;
  sql: Sql;
  mayday: Child;
  auditor: string;
  reads: string[];
  /** Incidents seeded so far, for the opening times of the next ones. */
  seeded: number;
  world: { driver: string; responder: string; zone: string };
}

/**
 * `count` resolved incidents of `events` events each (chained as the trigger would), in chunks;
 * their ids. Openings 2 s apart, the newest an hour ago (retention and the engine leave them be).
 */
async function seedIncidents(side: Side, count: number, events: number): Promise<string[]> {
  const { driver, responder, zone } = side.world;
  const ids: string[] = [];
  for (let lo = 0; lo < count; lo += CHUNK) {
    const hi = Math.min(count, lo + CHUNK) - 1;
    const first = side.seeded + lo;
    await side.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      const rows = await tx<{ incident_id: string }[]>`
        WITH RECURSIVE inc AS (
          INSERT INTO incidents (driver_id, client_request_id, status, kind, severity, zone_id, zone_rule, opened_at, lat, lng,
                                 accuracy_m, location_at, acknowledged_at, acknowledged_by, ack_via, resolved_at, resolved_by,
                                 disposition, esc_next_at, checkin_next_at)
          SELECT ${driver}, gen_random_uuid(), 'resolved', 'robbery', 'critical', ${zone}, 'inside', o, 36.37, -94.2,
                 8, o, o + interval '30 seconds', ${responder}, 'sms', o + interval '15 minutes', ${responder},
                 'resolved_safe', NULL, NULL
          FROM generate_series(${first}::int, ${first + hi - lo}::int) g,
               LATERAL (SELECT date_trunc('milliseconds', now() - interval '1 hour' - (${cfg.events * 2}::int - g * 2) * interval '1 second')) t(o)
          RETURNING id, opened_at, client_request_id),
        ev (incident_id, seq, type, at, actor, data, prev_hash, hash, opened, crid) AS (
          SELECT id, 0, NULL::text, NULL::timestamptz, NULL::text, NULL::jsonb, NULL::text, repeat('0', 64), opened_at, client_request_id FROM inc
          UNION ALL
          SELECT ev.incident_id, ev.seq + 1, t.type, t.at, x.actor, x.data, ev.hash,
                 timeline_hash(ev.hash, ev.incident_id, ev.seq + 1, t.type, t.at, x.actor, x.data), ev.opened, ev.crid
          FROM ev
          CROSS JOIN LATERAL (SELECT ev.seq + 1 AS k, date_trunc('milliseconds', ev.opened + (ev.seq + 1) * interval '1 second') AS at,
            CASE WHEN ev.seq = 0 THEN 'incident.opened' WHEN ev.seq + 1 = ${events}::int THEN 'incident.resolved'
                 WHEN ev.seq < 3 THEN 'page.queued' WHEN ev.seq < 5 THEN 'page.sent' WHEN ev.seq = 5 THEN 'page.delivered'
                 WHEN ev.seq = 6 THEN 'incident.acknowledged' ELSE 'location.updated' END AS type) t
          CROSS JOIN LATERAL (SELECT
            CASE WHEN t.type IN ('incident.opened', 'location.updated') THEN 'driver:' || ${driver}
                 WHEN t.type IN ('incident.acknowledged', 'incident.resolved') THEN 'supervisor:' || ${responder} ELSE 'system' END AS actor,
            CASE t.type
              WHEN 'incident.opened' THEN jsonb_build_object('kind', 'robbery', 'severity', 'critical', 'source', 'app', 'zoneId', ${zone}::uuid,
                'zoneRule', 'inside', 'clientRequestId', ev.crid, 'location', jsonb_build_object('id', t.k, 'digest', md5(ev.incident_id::text) || md5(ev.crid::text), 'accuracyM', 8))
              WHEN 'incident.resolved' THEN jsonb_build_object('by', ${responder}::uuid, 'disposition', 'resolved_safe', 'from', 'acknowledged')
              WHEN 'incident.acknowledged' THEN jsonb_build_object('by', ${responder}::uuid, 'via', 'sms')
              WHEN 'location.updated' THEN jsonb_build_object('location', jsonb_build_object('id', t.k, 'digest', md5(ev.incident_id::text || t.k) || md5(t.k || ev.crid::text),
                'accuracyM', 8, 'capturedAt', t.at), 'current', true)
              ELSE jsonb_build_object('pageId', gen_random_uuid(), 'channel', CASE WHEN t.k % 2 = 0 THEN 'sms' ELSE 'voice' END,
                'recipientId', ${responder}::uuid, 'step', 0, 'sid', 'SM' || md5(ev.incident_id::text || t.k))
            END AS data) x
          WHERE ev.seq < ${events}::int),
        ins AS (
          INSERT INTO incident_events (incident_id, seq, type, at, actor, data, prev_hash, hash)
          SELECT incident_id, seq, type, at, actor, data, prev_hash, hash FROM ev WHERE seq > 0)
        INSERT INTO timeline_heads (incident_id, seq, prev_hash, hash)
        SELECT incident_id, seq, prev_hash, hash FROM ev WHERE seq = ${events}::int
        RETURNING incident_id`;
      ids.push(...rows.map((r) => r.incident_id));
    });
  }
  side.seeded += count;
  return ids;
}

/** Filler up to `total` events stored (10 a filler incident). */
async function fillTo(side: Side, total: number): Promise<void> {
  const [{ n }] = await side.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM incident_events`;
  const more = Math.max(0, Math.round((total - n) / FILLER_EVENTS));
  const t0 = performance.now();
  if (more > 0) await seedIncidents(side, more, FILLER_EVENTS);
  await side.sql`ANALYZE incidents, incident_events, timeline_heads`;
  say(`${side.name}: ${more} filler incidents (${more * FILLER_EVENTS} events) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * The minute's checkpoint query (src/timeline/store.ts writeCheckpoint): the heads not marked
 * covered, through their partial index, each probed for a checkpoint that signed it already.
 */
const UNCOVERED = `SELECT h.incident_id, h.seq, h.hash,
    (SELECT c.hash FROM timeline_checkpoint_heads c WHERE c.incident_id = h.incident_id AND c.seq = h.seq) AS signed
  FROM timeline_heads h WHERE NOT h.covered`;
/** The same question asked of every head (the checkpoint's query before sql/023), for comparison. */
const EVERY_HEAD = `SELECT h.incident_id, h.seq, h.hash FROM timeline_heads h
  WHERE NOT EXISTS (SELECT 1 FROM timeline_checkpoint_heads c WHERE c.incident_id = h.incident_id AND c.seq = h.seq)
  ORDER BY h.incident_id`;
/** Heads moved (one event appended each, uncommitted) for the checkpoint query's measurement with work to do. */
const MOVED_HEADS = 100;

/**
 * Until every head is marked covered (at most 135 s): Mayday's checkpoint, one a minute, signs a
 * head that moved, and the next one marks it. The seconds waited.
 */
async function awaitCheckpoint(side: Side): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 135_000) {
    const [{ n }] = await side.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM timeline_heads WHERE NOT covered`;
    if (n === 0) return (performance.now() - t0) / 1000;
    await sleep(500);
  }
  say(`${side.name}: heads still not marked covered after 135 s; measuring anyway`);
  return NaN;
}

async function stored(sql: Sql): Promise<{ incidents: number; events: number }> {
  const [c] = await sql<{ incidents: number; events: number }[]>`
    SELECT (SELECT count(*) FROM incidents)::int AS incidents, (SELECT count(*) FROM incident_events)::int AS events`;
  return c;
}

/** Reads alternating between the sides, `n` each; the latencies of each side (ms), and problems. */
async function readAlternating(sides: Side[], n: number, agent: Agent, failures: string[], phase: string): Promise<number[][]> {
  const lat = sides.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    // Which goes first swaps each time: neither always reads right after the other.
    for (const k of i % 2 ? [...sides.keys()].reverse() : sides.keys()) {
      const s = sides[k];
      const id = s.reads[i % s.reads.length];
      const t0 = performance.now();
      const r = await send(`${s.mayday.base}/v1/incidents/${id}/timeline`, { agent, headers: { authorization: `Bearer ${s.auditor}` } });
      lat[k].push(performance.now() - t0);
      if (r.status !== 200) failures.push(`${phase}, ${s.name}: ${r.status} ${r.text.slice(0, 200)}`);
      else if (i === 0 && (JSON.parse(r.text) as { events: unknown[] }).events.length !== cfg.readEvents) {
        failures.push(`${phase}, ${s.name}: the timeline read has ${(JSON.parse(r.text) as { events: unknown[] }).events.length} events, not ${cfg.readEvents}`);
      }
    }
  }
  return lat;
}

/** EXPLAIN (ANALYZE, BUFFERS) of listEvents' query for one read incident, indented. */
async function explainRead(side: Side): Promise<string[]> {
  const rows = await side.sql.unsafe<{ 'QUERY PLAN': string }[]>(
    `EXPLAIN (ANALYZE, BUFFERS) SELECT seq, type, at, actor, data, prev_hash, hash FROM incident_events WHERE incident_id = $1 ORDER BY seq`,
    [side.reads[0]],
  );
  return rows.map((r) => `    ${r['QUERY PLAN']}`);
}

/**
 * The checkpoint's query, EXPLAIN (ANALYZE, BUFFERS), as writeCheckpoint runs it (sequential and
 * bitmap scans off): with no head moved, and with MOVED_HEADS filler heads moved by one event each in this
 * transaction (rolled back, so Mayday's own checkpoint never sees them); then the query over every
 * head, for comparison. One line each: execution time, buffers, top plan node, rows found.
 */
async function checkpointQueries(side: Side): Promise<string[]> {
  const summary = (rows: { 'QUERY PLAN': string }[]) => {
    const lines = rows.map((r) => r['QUERY PLAN']);
    const exec = lines.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '') ?? '?';
    const buffers = lines.find((l) => l.trim().startsWith('Buffers:'))?.trim() ?? 'Buffers: none';
    const rowsFound = /actual time=[\d.]+\.\.[\d.]+ rows=(\d+)/.exec(lines[0])?.[1] ?? '?';
    return `${exec}, ${rowsFound} rows, ${buffers} (${lines[0].trim().split('  (')[0]})`;
  };
  const out: string[] = [];
  const explainUncovered = (sql: TxSql) => sql.unsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN (ANALYZE, BUFFERS) ${UNCOVERED}`);
  const unmoved = async () =>
    summary(
      await side.sql.begin(async (tx) => {
        await tx`SET LOCAL enable_seqscan = off`;
        await tx`SET LOCAL enable_bitmapscan = off`;
        return explainUncovered(tx);
      }),
    );
  // The partial index keeps the entries of heads marked since the last VACUUM (hinted dead after
  // the first scan that meets them): first read, again, and after VACUUM (what autovacuum does).
  out.push(`    the minute's checkpoint query, nothing moved: ${await unmoved()}`);
  out.push(`      again: ${await unmoved()}`);
  await side.sql.unsafe('VACUUM timeline_heads');
  out.push(`      after VACUUM timeline_heads: ${await unmoved()}`);
  const rollback = new Error('rolled back on purpose');
  await side.sql
    .begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      await tx`SET LOCAL enable_bitmapscan = off`;
      await tx`
        INSERT INTO incident_events (incident_id, type, actor, data)
        SELECT h.incident_id, 'incident.details', 'system', '{"note": "bench"}'::jsonb
        FROM timeline_heads h WHERE h.incident_id <> ALL(${side.reads}::uuid[]) ORDER BY h.incident_id LIMIT ${MOVED_HEADS}`;
      out.push(`    the minute's checkpoint query, ${MOVED_HEADS} heads moved: ${summary(await explainUncovered(tx))}`);
      throw rollback;
    })
    .catch((e) => {
      if (e !== rollback) throw e;
    });
  out.push(`    the same question of every head (the query before sql/023): ${summary(await side.sql.unsafe(`EXPLAIN (ANALYZE, BUFFERS) ${EVERY_HEAD}`))}`);
  return out;
}

async function setUp(name: string, url: string): Promise<Side> {
  const sql = await openPool(url, { migrated: true, what: `close the ${name} pool` });
  const [driver] = await sql<{ id: string }[]>`
    INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash) VALUES ('driver', 'Bench driver', '+15550009999', 'x', 'x') RETURNING id`;
  const [responder] = await sql<{ id: string }[]>`INSERT INTO users (role, name, phone) VALUES ('supervisor', 'Bench supervisor', '+15550009998') RETURNING id`;
  const [zone] = await sql<{ id: string }[]>`
    INSERT INTO zones (name, boundary) VALUES ('Bench zone', '{"type":"Polygon","coordinates":[[[-94.25,36.32],[-94.15,36.32],[-94.15,36.42],[-94.25,36.42],[-94.25,36.32]]]}') RETURNING id`;
  const side: Side = { name, sql, mayday: undefined as unknown as Child, auditor: '', reads: [], seeded: 0, world: { driver: driver.id, responder: responder.id, zone: zone.id } };
  side.reads = await seedIncidents(side, cfg.readIncidents, cfg.readEvents);
  await fillTo(side, cfg.smallEvents);
  const adminToken = newAdminToken();
  side.mayday = startMayday(`mayday-${name}`, await freePort(), { databaseUrl: url, adminToken, logLevel: cfg.logLevel });
  await waitReady(side.mayday, '/readyz');
  side.auditor = (await api<{ token: string }>(side.mayday.base, 'POST', '/v1/auditors', adminToken, { name: 'Bench auditor' }, 201)).token;
  return side;
}

async function main() {
  const t0 = performance.now();
  if (cfg.events <= cfg.smallEvents) throw new Error(`BENCH_EVENTS (${cfg.events}) must be more than BENCH_SMALL_EVENTS (${cfg.smallEvents})`);
  const dbs = await scratchDatabases(['small', 'big']);
  const sides = [await setUp('small', dbs.urls[0]), await setUp('big', dbs.urls[1])];
  const [small, big] = sides;
  const pgVersion = await serverVersion(small.sql);
  const failures: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });

  const sizes: string[] = [];
  const note = async (when: string) => {
    const c = await Promise.all(sides.map((s) => stored(s.sql)));
    sizes.push(`${when}: ${sides.map((s, i) => `${s.name} ${c[i].events} events in ${c[i].incidents} incidents`).join(', ')}`);
  };
  const explains: string[] = [];
  const explain = async (when: string) => {
    for (const s of sides) {
      explains.push(`  ${s.name}, ${when}:`, ...(await explainRead(s)));
      explains.push(...(await checkpointQueries(s)));
    }
  };
  for (const s of sides) say(`${s.name}: checkpoints signed and marked its heads after ${fmt(await awaitCheckpoint(s))} s`);
  await note('phase 1');
  await explain('phase 1');

  const phases: { label: string; lat: number[][] }[] = [];
  const phase = async (label: string) => {
    if (cfg.warmupReads) await readAlternating(sides, cfg.warmupReads, agent, failures, `${label} warm-up`);
    say(`${label}: ${cfg.reads} reads per server, alternating`);
    phases.push({ label, lat: await readAlternating(sides, cfg.reads, agent, failures, label) });
  };
  await phase('1 small vs small');

  say(`big: growing to ${cfg.events} events`);
  await fillTo(big, cfg.events);
  await big.sql`CHECKPOINT`; // the fill's dirty pages written now, not during the reads
  say(`big: checkpoints signed and marked its heads after ${fmt(await awaitCheckpoint(big))} s`);
  await note('phases 2 and 3');
  await explain('phases 2 and 3');
  await phase('2 small vs big');
  await phase('3 small vs big');

  // The chains the fill wrote must verify like the trigger's.
  for (const s of sides) {
    const bad = await s.sql<{ id: string }[]>`
      SELECT i.id FROM (SELECT id FROM incidents ORDER BY random() LIMIT 20) i, timeline_verify(i.id) v WHERE NOT v.valid`;
    const readsBad = await s.sql<{ id: string }[]>`SELECT r.id FROM unnest(${s.reads}::uuid[]) r(id), timeline_verify(r.id) v WHERE NOT v.valid`;
    for (const b of [...bad, ...readsBad]) failures.push(`${s.name}: the seeded chain of ${b.id} does not verify`);
  }

  const p99 = (ph: number, side: number) => pct(phases[ph].lat[side], 99);
  const t = pctTable({ labelWidth: 26, indent: '  ', max: true });
  const lines: string[] = ['', `Mayday timeline read benchmark: GET /v1/incidents/{id}/timeline as an auditor, ${cfg.readIncidents} incidents of ${cfg.readEvents} events read in turn, one request at a time, the two servers alternating`];
  lines.push(...provenance(pgVersion, dbs.label, `${os.platform()} ${os.release()}`));
  lines.push(...sizes.map((s) => `stored, ${s}`), '', t.head('phase, server'));
  for (const ph of phases) for (const [k, s] of sides.entries()) lines.push(t.row(`${ph.label}: ${s.name}`, ph.lat[k]));
  lines.push('');
  lines.push(`phase 1 (control, both small): p99 big / p99 small = ${(p99(0, 1) / p99(0, 0)).toFixed(2)}`);
  for (const ph of [1, 2]) {
    const r = p99(ph, 1) / p99(ph, 0);
    lines.push(`phase ${ph + 1}: p99 with ${cfg.events} events / p99 with ${cfg.smallEvents} = ${r.toFixed(2)}  (goal <= 1.5: ${r <= 1.5 ? 'met' : 'NOT met'})`);
  }
  lines.push(`the same server before and after growing: p99 phase 2 / phase 1 = ${(p99(1, 1) / p99(0, 1)).toFixed(2)} (moments apart: drift counts)`);
  lines.push('', 'EXPLAIN (ANALYZE, BUFFERS) of the read\'s main query (listEvents), one read incident:', ...explains);
  process.stdout.write(lines.join('\n') + '\n');
  printFailures(failures, { limit: 10 });
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

runBench(main);
