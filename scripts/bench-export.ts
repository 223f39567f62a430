/**
 * `npm run bench:export`: does the audit export really run in constant memory?
 *
 * Seeds BENCH_INCIDENTS (default 100,000) resolved incidents straight into a scratch database
 * with SQL (generate_series; each with a 3-point trail and a 6-event timeline built by the real
 * chain trigger, a tenth of them with an awkward note), starts the real server (src/entry/node.ts)
 * as a child process, and downloads GET /v1/audit/export in every format, reading as fast as it
 * can and throwing the bytes away, while it samples the server's resident memory (VmRSS in
 * /proc/<pid>/status) every 50 ms. Then a slow reader (64 KiB every 50 ms for 5 s, then gone)
 * shows backpressure: memory stays flat, and the export's transaction is rolled back and its
 * connection released when the client leaves.
 *
 * Prints, per format: bytes, seconds, MB/s, incidents seen, RSS before, peak RSS during, and
 * the difference. Exits non-zero when an export failed, came out short, or the server's peak RSS
 * grew by more than BENCH_MAX_GROWTH_MB (default 100) over its baseline.
 *
 * Database: DATABASE_URL if set (a scratch database mayday_bench_<random> is created on that
 * server and dropped at the end), else the embedded PostgreSQL in a temporary directory.
 * Env: BENCH_INCIDENTS (default 100000), BENCH_MAX_GROWTH_MB (default 100), BENCH_LOG_LEVEL (default warn),
 * BENCH_KEEP_DATABASE=1 (with DATABASE_URL: keep the scratch database afterwards, to look into it).
 * The child runs as `node --import tsx src/entry/node.ts` in its own process group; it is stopped
 * with SIGTERM (SIGKILL after 15 s), also on failure and Ctrl-C. Linux only (/proc).
 */
import os from 'node:os';
import type { Sql } from '../src/db/client';
import { api, call } from './lib/api';
import { rssKiB } from './lib/cpu';
import { openPool, scratchDatabase } from './lib/db';
import { runBench } from './lib/main';
import { freePort, newAdminToken, startMayday, waitReady } from './lib/processes';
import { say, sleep } from './lib/run';

const N = Number(process.env.BENCH_INCIDENTS || 100_000);
const MAX_GROWTH_MB = Number(process.env.BENCH_MAX_GROWTH_MB || 100);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL || 'warn';
const CHUNK = 10_000;
const BASE = new Date('2026-01-01T00:00:00Z');
const SPACING_S = 20; // one incident every 20 s: 100,000 span about 23 days

/** N resolved incidents, each: 3 trail points and incident.opened, 2 x location.updated, page.sent, acknowledged, resolved. */
async function seed(sql: Sql) {
  const [driver] = await sql`
    INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash) VALUES ('driver', 'Bench driver', '+15550009999', 'x', 'x') RETURNING id`;
  const [sup] = await sql`INSERT INTO users (role, name, phone) VALUES ('supervisor', 'Bench supervisor', '+15550009998') RETURNING id`;
  const [zone] = await sql`
    INSERT INTO zones (name, boundary) VALUES ('Bench, "north" zone',
      '{"type":"Polygon","coordinates":[[[-94.25,36.32],[-94.15,36.32],[-94.15,36.42],[-94.25,36.42],[-94.25,36.32]]]}') RETURNING id`;
  const t0 = performance.now();
  for (let lo = 0; lo < N; lo += CHUNK) {
    const hi = Math.min(N, lo + CHUNK) - 1;
    const from = new Date(BASE.getTime() + lo * SPACING_S * 1000);
    const to = new Date(BASE.getTime() + (hi + 1) * SPACING_S * 1000);
    await sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`; // see below
      await tx`
        INSERT INTO incidents (driver_id, client_request_id, source, status, kind, severity, zone_id, zone_rule, note, opened_at,
                               lat, lng, accuracy_m, location_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
                               disposition, resolution_note, esc_next_at, checkin_next_at)
        SELECT ${driver.id}, gen_random_uuid(), 'app', 'resolved',
               (ARRAY['robbery','shooting','assault','harassment','crash','medical','other'])[1 + g % 7],
               (ARRAY['critical','critical','critical','medium','high','high','medium'])[1 + g % 7],
               ${zone.id}, 'inside',
               CASE WHEN g % 10 = 0 THEN 'He said "stop, now", then ran' || chr(10) || 'north — 🚨 Straße 東京 #' || g END,
               o, 36.37 + (g % 1000) * 0.00001234567, -94.2 - (g % 997) * 0.00001234567, 8, o + interval '40 seconds',
               o + interval '30 seconds' + (g % 90) * interval '1 second', ${sup.id},
               o + interval '15 minutes', ${sup.id},
               (ARRAY['resolved_safe','police_dispatched','medical_dispatched','false_alarm'])[1 + g % 4],
               CASE WHEN g % 10 = 0 THEN 'Police came, "all clear",' || chr(10) || 'driver safe' END,
               NULL, NULL
        FROM generate_series(${lo}::int, ${hi}::int) g, LATERAL (SELECT ${BASE}::timestamptz + g * make_interval(secs => ${SPACING_S})) t(o)`;
      await tx`
        INSERT INTO incident_locations (incident_id, lat, lng, accuracy_m, captured_at)
        SELECT i.id, i.lat - (2 - k) * 0.0001, i.lng - (2 - k) * 0.0001, 8, i.opened_at + k * interval '20 seconds'
        FROM incidents i CROSS JOIN generate_series(0, 2) k
        WHERE i.opened_at >= ${from} AND i.opened_at < ${to}
        ORDER BY i.opened_at, k`;
      // Fresh statistics, or the planner takes the growing tables for empty and the joins below go quadratic.
      await tx`ANALYZE incidents, incident_locations`;
      // The timeline: the rows of each incident's six events first, then the chain, one seq at a
      // time, set-based, with the database's own timeline_hash() (per-row, the chain trigger
      // costs ~0.5 ms an event here: 5 minutes for 600,000). Triggers (and foreign-key checks)
      // are off for this transaction only; the bench verifies every chain through the API.
      await tx`
        CREATE TEMP TABLE ev_src ON COMMIT DROP AS
        SELECT i.id AS incident_id, 1 AS seq, 'incident.opened' AS type, date_trunc('milliseconds', i.opened_at) AS at, 'driver:' || i.driver_id AS actor,
               jsonb_strip_nulls(jsonb_build_object('kind', i.kind, 'severity', i.severity, 'source', 'app', 'zoneId', i.zone_id,
                 'zoneRule', 'inside', 'clientRequestId', i.client_request_id, 'note', i.note,
                 'location', jsonb_build_object('id', l.id, 'digest', location_digest(l.lat, l.lng, l.accuracy_m, l.captured_at, l.salt), 'accuracyM', l.accuracy_m))) AS data
        FROM incidents i JOIN LATERAL (SELECT * FROM incident_locations x WHERE x.incident_id = i.id ORDER BY x.id LIMIT 1) l ON true
        WHERE i.opened_at >= ${from} AND i.opened_at < ${to}
        UNION ALL
        SELECT l.incident_id, (1 + row_number() OVER (PARTITION BY l.incident_id ORDER BY l.id))::int, 'location.updated',
               date_trunc('milliseconds', l.captured_at + interval '1 second'), 'driver:' || ${driver.id},
               jsonb_build_object('location', jsonb_build_object('id', l.id, 'digest', location_digest(l.lat, l.lng, l.accuracy_m, l.captured_at, l.salt),
                 'accuracyM', l.accuracy_m, 'capturedAt', l.captured_at), 'current', true)
        FROM incident_locations l JOIN incidents i ON i.id = l.incident_id
        WHERE i.opened_at >= ${from} AND i.opened_at < ${to}
          AND l.id > (SELECT min(x.id) FROM incident_locations x WHERE x.incident_id = l.incident_id)
        UNION ALL
        SELECT i.id, 4, 'page.sent', date_trunc('milliseconds', i.opened_at + interval '2 seconds'), 'system',
               jsonb_build_object('pageId', gen_random_uuid(), 'sid', 'SMbench', 'channel', 'sms', 'recipientId', i.acknowledged_by, 'attempt', 1)
        FROM incidents i WHERE i.opened_at >= ${from} AND i.opened_at < ${to}
        UNION ALL
        SELECT i.id, 5, 'incident.acknowledged', date_trunc('milliseconds', i.acknowledged_at), 'supervisor:' || i.acknowledged_by,
               jsonb_build_object('by', i.acknowledged_by, 'via', 'api')
        FROM incidents i WHERE i.opened_at >= ${from} AND i.opened_at < ${to}
        UNION ALL
        SELECT i.id, 6, 'incident.resolved', date_trunc('milliseconds', i.resolved_at), 'supervisor:' || i.resolved_by,
               jsonb_strip_nulls(jsonb_build_object('by', i.resolved_by, 'disposition', i.disposition, 'note', i.resolution_note, 'from', 'acknowledged'))
        FROM incidents i WHERE i.opened_at >= ${from} AND i.opened_at < ${to}`;
      await tx`CREATE INDEX ON ev_src (seq)`;
      for (let seq = 1; seq <= 6; seq++) {
        await tx`
          INSERT INTO incident_events (incident_id, seq, type, at, actor, data, prev_hash, hash)
          SELECT s.incident_id, s.seq, s.type, s.at, s.actor, s.data, h.prev,
                 timeline_hash(h.prev, s.incident_id, s.seq, s.type, s.at, s.actor, s.data)
          FROM ev_src s
          LEFT JOIN incident_events p ON p.incident_id = s.incident_id AND p.seq = s.seq - 1
          CROSS JOIN LATERAL (SELECT coalesce(p.hash, repeat('0', 64)) AS prev) h
          WHERE s.seq = ${seq}`;
      }
      await tx`
        INSERT INTO timeline_heads (incident_id, seq, prev_hash, hash)
        SELECT e.incident_id, e.seq, e.prev_hash, e.hash FROM incident_events e JOIN ev_src s ON s.incident_id = e.incident_id AND s.seq = 6 AND e.seq = 6`;
    });
    say(`seeded ${hi + 1} / ${N} incidents (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await sql`ANALYZE`;
  const [c] = await sql<{ incidents: number; events: number; locations: number }[]>`
    SELECT (SELECT count(*) FROM incidents)::int AS incidents, (SELECT count(*) FROM incident_events)::int AS events,
           (SELECT count(*) FROM incident_locations)::int AS locations`;
  return { ...c, seconds: (performance.now() - t0) / 1000 };
}

const mib = (kib: number) => (kib / 1024).toFixed(0);

/**
 * Sample the server's RSS every 50 ms while `work` runs; answers its result, the peak, and the
 * peak of each quarter of the run (flat memory: the later quarters are no higher than the first).
 */
async function sampled<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakKiB: number; quarters: number[] }> {
  const samples: number[] = [rssKiB(pid)];
  const timer = setInterval(() => samples.push(rssKiB(pid)), 50);
  try {
    const result = await work();
    samples.push(rssKiB(pid));
    const q = Math.max(1, Math.ceil(samples.length / 4));
    const quarters = [0, 1, 2, 3].map((i) => Math.max(...samples.slice(i * q, (i + 1) * q), 0));
    return { result, peakKiB: Math.max(...samples), quarters };
  } finally {
    clearInterval(timer);
  }
}

interface Download { status: number; bytes: number; seconds: number; incidents: number; tail: string }

/** Read the whole export and throw it away, counting incidents by a marker each format writes once per incident. */
async function download(url: string, token: string, marker: RegExp, slow?: { chunkBytes: number; everyMs: number; forMs: number }): Promise<Download> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok || !res.body) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let bytes = 0;
  let incidents = 0;
  let carry = '';
  let tail = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    const text = carry + decoder.decode(value, { stream: true });
    incidents += (text.match(marker) ?? []).length;
    carry = text.slice(-80); // a marker cut in two is counted in the next chunk...
    incidents -= (carry.match(marker) ?? []).length; // ...and not twice
    tail = text.slice(-40);
    if (slow) {
      await sleep(slow.everyMs * (value.byteLength / slow.chunkBytes));
      if (performance.now() - t0 > slow.forMs) {
        await reader.cancel();
        break;
      }
    }
  }
  incidents += (carry.match(marker) ?? []).length;
  return { status: res.status, bytes, seconds: (performance.now() - t0) / 1000, incidents, tail };
}

async function main() {
  const t0 = performance.now();
  const db = await scratchDatabase('mayday_bench', { keep: process.env.BENCH_KEEP_DATABASE === '1' ? 'BENCH_KEEP_DATABASE=1' : undefined });
  const sql = await openPool(db.url, { migrated: true });
  say(`seeding ${N} incidents`);
  const seeded = await seed(sql);
  say(`seeded ${seeded.incidents} incidents, ${seeded.events} events, ${seeded.locations} trail points in ${seeded.seconds.toFixed(0)} s`);

  const adminToken = newAdminToken();
  const server = startMayday('mayday', await freePort(), { databaseUrl: db.url, adminToken, logLevel: LOG_LEVEL });
  await waitReady(server, '/readyz');
  const pid = server.proc.pid!;
  const { token } = await api<{ token: string }>(server.base, 'POST', '/v1/auditors', adminToken, { name: 'Bench auditor' }, 201);
  const range = new URLSearchParams({ from: BASE.toISOString(), to: new Date(BASE.getTime() + (N + 1) * SPACING_S * 1000).toISOString() });
  // Warm up (code paths compiled, pools and buffers at their working size) on a one-day range of
  // every format, so the baseline below is the server as it runs, not as it starts.
  const warmRange = new URLSearchParams({ from: BASE.toISOString(), to: new Date(BASE.getTime() + 86_400_000).toISOString() });
  for (const format of ['ndjson', 'csv', 'geojson', 'eido']) await download(`${server.base}/v1/audit/export?${warmRange}&format=${format}`, token, /\n/g);
  await sleep(1000);

  // One incident per: ndjson line; csv incident.opened row; geojson opening Point; eido object.
  const plan: { format: string; marker: RegExp }[] = [
    { format: 'ndjson', marker: /\n/g },
    { format: 'csv', marker: /,incident\.opened,/g },
    { format: 'geojson', marker: /"feature":"opening"/g },
    { format: 'eido', marker: /"eidoVersion":"1\.0"/g },
  ];
  const rows: string[] = [];
  const failures: string[] = [];
  const head = `${'format'.padEnd(14)}${'bytes'.padStart(14)}${'s'.padStart(8)}${'MB/s'.padStart(8)}${'incidents'.padStart(11)}${'RSS before'.padStart(12)}${'RSS peak'.padStart(10)}${'growth'.padStart(9)}   peak RSS in each quarter of the run`;
  const quarterText = (qs: number[]) => `   ${qs.map((k) => mib(k)).join(' / ')} MiB`;
  for (const { format, marker } of plan) {
    const before = rssKiB(pid);
    say(`export ${format}`);
    const { result: d, peakKiB, quarters } = await sampled(pid, () => download(`${server.base}/v1/audit/export?${range}&format=${format}`, token, marker));
    const growth = (peakKiB - before) / 1024;
    rows.push(`${format.padEnd(14)}${String(d.bytes).padStart(14)}${d.seconds.toFixed(1).padStart(8)}${(d.bytes / 1e6 / d.seconds).toFixed(1).padStart(8)}${String(d.incidents).padStart(11)}${`${mib(before)} MiB`.padStart(12)}${`${mib(peakKiB)} MiB`.padStart(10)}${`${growth.toFixed(0)} MiB`.padStart(9)}${quarterText(quarters)}`);
    if (d.incidents !== N) failures.push(`${format}: ${d.incidents} incidents in the export, expected ${N}`);
    if (growth > MAX_GROWTH_MB) failures.push(`${format}: the server's RSS grew by ${growth.toFixed(0)} MiB (limit ${MAX_GROWTH_MB})`);
    await sleep(500);
  }

  // A slow reader that then goes away: memory stays flat, the transaction and connection are released.
  const before = rssKiB(pid);
  say('slow reader: 64 KiB every 50 ms for 5 s, then gone');
  const { result: slow, peakKiB, quarters: slowQuarters } = await sampled(pid, () =>
    download(`${server.base}/v1/audit/export?${range}&format=ndjson`, token, /\n/g, { chunkBytes: 65_536, everyMs: 50, forMs: 5_000 }));
  rows.push(`${'ndjson (slow)'.padEnd(14)}${String(slow.bytes).padStart(14)}${slow.seconds.toFixed(1).padStart(8)}${(slow.bytes / 1e6 / slow.seconds).toFixed(1).padStart(8)}${String(slow.incidents).padStart(11)}${`${mib(before)} MiB`.padStart(12)}${`${mib(peakKiB)} MiB`.padStart(10)}${`${((peakKiB - before) / 1024).toFixed(0)} MiB`.padStart(9)}${quarterText(slowQuarters)}`);
  let lingering = -1;
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const [r] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`;
    lingering = r.n;
    if (lingering === 0) break;
  }
  if (lingering !== 0) failures.push(`the abandoned export left ${lingering} connection(s) idle in a transaction`);
  const [audit] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM audit_log WHERE action = 'export'`;
  if (audit.n !== 2 * plan.length + 1) failures.push(`${audit.n} exports in the audit log, expected ${2 * plan.length + 1} (warm-up, measured, slow)`);

  // The same range through the other two safety-team endpoints: every chain checked, and the report.
  const timed = async (path: string) => {
    const t1 = performance.now();
    const r = await call(server.base, 'GET', path, token, undefined, 600_000);
    return { status: r.status, body: JSON.parse(r.text) as any, seconds: (performance.now() - t1) / 1000 };
  };
  say('verify in bulk');
  const { result: verify, peakKiB: verifyPeak } = await sampled(pid, () => timed(`/v1/audit/verify?${range}`));
  if (verify.status !== 200 || verify.body.valid !== true || verify.body.checked !== N) failures.push(`verify answered ${verify.status} ${JSON.stringify(verify.body).slice(0, 300)}`);
  say('response-time report');
  const { result: report } = await sampled(pid, () => timed(`/v1/reports/response-times?${range}`));
  if (report.status !== 200 || report.body.overall?.incidents !== N) failures.push(`the report answered ${report.status} ${JSON.stringify(report.body).slice(0, 300)}`);

  const cpus = os.cpus();
  process.stdout.write([
    '',
    `Mayday audit export: ${N} incidents (${seeded.events} events, ${seeded.locations} trail points; seeded in ${seeded.seconds.toFixed(0)} s)`,
    `machine: ${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown cpu'}, Node ${process.version}`,
    `server RSS sampled every 50 ms from /proc/${pid}/status, after a warm-up export of one day in every format; "growth" = peak during the export - RSS just before it`,
    '',
    head,
    ...rows,
    '',
    `abandoned export: transaction rolled back and connection released: ${lingering === 0 ? 'yes' : 'NO'}; exports in the audit log: ${audit.n}`,
    `GET /v1/audit/verify over the range: ${verify.seconds.toFixed(1)} s, valid ${verify.body.valid}, checked ${verify.body.checked}, server RSS peak ${mib(verifyPeak)} MiB`,
    `GET /v1/reports/response-times over the range: ${report.seconds.toFixed(1)} s, ${report.body.groups?.length ?? '-'} groups, ack p50/p90/p99 ${report.body.overall?.acknowledgement?.p50}/${report.body.overall?.acknowledgement?.p90}/${report.body.overall?.acknowledgement?.p99} s, ${report.body.overall?.breachCount} breaches of 60 s`,
    failures.length ? `\nFAILED:\n  ${failures.join('\n  ')}` : `\nOK: peak RSS growth within ${MAX_GROWTH_MB} MiB for every format`,
    '',
  ].join('\n'));
  if (failures.length) process.exitCode = 1;
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

runBench(main);
