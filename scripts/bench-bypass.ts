/**
 * `npm run bench:bypass`: an SOS never waits behind the ordinary support lane.
 *
 *   SOS p99 with 100,000 open support requests queued  /  SOS p99 with none, in one run; goal <= 1.1.
 *
 * Paired, because the machine is shared: two Mayday servers run side by side, A and B, each a
 * child process of its own (`node --import tsx src/entry/node.ts`, its own process group,
 * SIGTERM then SIGKILL after 15 s) on a database of its own in the same PostgreSQL. One of them
 * has the backlog (100,000 open support requests: 70 % tier 1, 20 % tier 2, 10 % tier 3,
 * ordinary categories, from the bench drivers, one INSERT ... SELECT generate_series), the other
 * none; the SOS load alternates between them request by request, so whatever else the machine is
 * doing at that moment falls on both conditions alike. The roles swap every round (the backlog
 * is TRUNCATEd on one side and loaded on the other; then VACUUM ANALYZE of both and a CHECKPOINT
 * when allowed, and a pause), so a difference between the two servers themselves cancels too.
 *
 * The load comes from here: POST /v1/sos paced evenly at a fixed overall rate, open loop (a slow
 * answer does not delay the next press; every request a new clientRequestId, so each opens an
 * incident; drivers round-robin; a spot inside the zone), over keep-alive connections of
 * node:http. Not autocannon: its fixed rate sends each second's requests in one burst at the top
 * of the second, so its p99 measures how fast a burst drains, not what one SOS costs. Latency is
 * each 201's own, from the call to the last byte (waiting for a free connection included),
 * pooled per condition over every round; p99 is the nearest-rank percentile.
 *
 * After each round, the bypass itself: BENCH_PROMOTIONS support requests of category `safety`,
 * one after another, alternating sides, each promoted at once to an incident; their p99 per
 * condition is printed too (no goal: it is the lane's own path).
 *
 * Drivers are inserted directly in SQL (one precomputed PIN hash reused: PBKDF2 is slow on
 * purpose), the same tokens on both sides; the zone is made through each server's admin API.
 *
 * Database: DATABASE_URL if set (two scratch databases mayday_bench_<random>_a/_b are created on
 * that server and dropped at the end), else the embedded PostgreSQL in a temporary directory.
 *
 * Env: BENCH_DURATION (s of SOS per round, default 20), BENCH_RATE (SOS/s overall, both sides
 * together, default 25: well under what this shared 2-core machine takes even when other tenants
 * load it (50/s already queued SOS behind each other there, p50 in seconds), so a p99 shows what
 * one SOS costs, not a queue of them; 0 = closed loop, BENCH_CONNECTIONS presses back to back
 * per side), BENCH_CONNECTIONS (keep-alive connections per side, default 10), BENCH_ROUNDS
 * (default 4), BENCH_WARMUP (s per round, default 3), BENCH_DRIVERS (default 50), BENCH_BACKLOG
 * (default 100000), BENCH_PROMOTIONS (per round, default 100), BENCH_LOG_LEVEL (Mayday's
 * LOG_LEVEL, default silent), BENCH_PROFILE (a directory: Mayday runs with --cpu-prof and writes
 * its profile there when it stops).
 * Exits non-zero on any request error or non-201 answer. The goal is reported, not enforced.
 */
import http from 'node:http';
import os from 'node:os';
import { newToken } from '../src/auth/crypto';
import { type Sql } from '../src/db/client';
import { api, send, sosBody, ZONE_BOUNDARY } from './lib/api';
import { insertDrivers, openPool, pinHashes, scratchDatabases, serverVersion } from './lib/db';
import { printFailures, runBench } from './lib/main';
import { freePort, newAdminToken, startMayday, waitReady, type Child } from './lib/processes';
import { intEnv, say, sleep } from './lib/run';
import { fmt, pad, pct, provenance } from './lib/stats';

const cfg = {
  duration: intEnv('BENCH_DURATION', 20),
  rate: intEnv('BENCH_RATE', 25, 0),
  rounds: intEnv('BENCH_ROUNDS', 4),
  connections: intEnv('BENCH_CONNECTIONS', 10),
  warmup: intEnv('BENCH_WARMUP', 3, 0),
  drivers: intEnv('BENCH_DRIVERS', 50),
  backlog: intEnv('BENCH_BACKLOG', 100_000),
  promotions: intEnv('BENCH_PROMOTIONS', 100, 0),
  maydayLogLevel: process.env.BENCH_LOG_LEVEL || 'silent',
};
const GOAL = 1.1;

// ---------------------------------------------------------------------------------------------
// Database

/** The backlog: `n` open support requests, oldest first, in one statement. */
async function loadBacklog(sql: Sql, driverIds: string[], n: number): Promise<void> {
  await sql`
    INSERT INTO support_requests (driver_id, category, text, tier, created_at, updated_at)
    SELECT (${driverIds}::uuid[])[1 + g % ${driverIds.length}],
           (ARRAY['payment', 'app', 'scheduling', 'account', 'other'])[1 + g % 5],
           'Backlog ticket ' || g || ': the payout for last week does not match the trips in the app',
           CASE WHEN g % 10 < 7 THEN 1 WHEN g % 10 < 9 THEN 2 ELSE 3 END,
           now() - make_interval(secs => ${n} - g), now() - make_interval(secs => ${n} - g)
    FROM generate_series(1, ${n}) g`;
}

/** After a bulk change: statistics and dead tuples dealt with now rather than during a round. */
async function settleTables(sqls: Sql[]): Promise<void> {
  for (const sql of sqls) await sql`VACUUM (ANALYZE) support_requests`;
  await sqls[0]`CHECKPOINT`.catch(() => say('CHECKPOINT not allowed for this role; skipped'));
  await sleep(2_000);
}

// ---------------------------------------------------------------------------------------------
// Load

interface Side {
  name: 'A' | 'B';
  child: Child;
  base: URL;
  sql: Sql;
  backlog: boolean;
}

interface Answer { status: number; ms: number; body: string }

/**
 * One POST on a keep-alive connection of `agent`; `ms` runs from the call to the last byte of
 * the answer, so time spent waiting for a free connection counts.
 */
async function postTimed(agent: http.Agent, base: URL, path: string, token: string, body: string): Promise<Answer> {
  const t0 = performance.now();
  try {
    const r = await send(new URL(path, base).toString(), {
      agent, method: 'POST', body, timeoutMs: 10_000, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    return { status: r.status, ms: performance.now() - t0, body: r.text };
  } catch (e) {
    return { status: 0, ms: performance.now() - t0, body: `${(e as { code?: string }).code ?? ''} ${(e as Error).message}` };
  }
}

interface Measured { backlog: number[]; none: number[]; seconds: number; problems: string[] }

function summarise(tagged: { backlog: boolean; a: Answer }[], seconds: number, what: string): Measured {
  const ok = (backlog: boolean) => tagged.filter((x) => x.backlog === backlog && x.a.status === 201).map((x) => x.a.ms);
  const problems: string[] = [];
  const others = tagged.filter((x) => x.a.status !== 201);
  if (others.length) {
    const byStatus = new Map<number, number>();
    for (const { a } of others) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    problems.push(`${what}: ${others.length} answers other than 201 (${[...byStatus].map(([st, n]) => `${st || 'no answer'}×${n}`).join(' ')}); first: ${others.slice(0, 3).map(({ a }) => `${a.status} ${a.body.slice(0, 200)}`).join(' | ')}`);
  }
  const m = { backlog: ok(true), none: ok(false), seconds, problems };
  if (!m.backlog.length && !m.none.length) problems.push(`${what}: no 201 at all`);
  return m;
}

/**
 * SOS for `duration` seconds, alternating between the two sides request by request: paced
 * evenly at cfg.rate a second overall (open loop), over at most cfg.connections keep-alive
 * connections per side; or, with BENCH_RATE=0, cfg.connections presses back to back per side.
 * Fresh agents each time, so no connection left idle since the last round (and closed by the
 * server meanwhile) is reused.
 */
async function sosLoad(sides: Side[], tokens: string[], duration: number): Promise<Measured> {
  const agents = sides.map(() => new http.Agent({ keepAlive: true, maxSockets: cfg.connections }));
  let rr = 0;
  const tagged: Promise<{ backlog: boolean; a: Answer }>[] = [];
  const press = (i: number) => {
    const s = sides[i % sides.length];
    const p = postTimed(agents[i % sides.length], s.base, '/v1/sos', tokens[rr++ % tokens.length], sosBody()).then((a) => ({ backlog: s.backlog, a }));
    tagged.push(p);
    return p;
  };
  const t0 = performance.now();
  const end = t0 + duration * 1000;
  if (cfg.rate > 0) {
    const interval = 1000 / cfg.rate;
    for (let i = 0; ; i++) {
      const due = t0 + i * interval;
      if (due >= end) break;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      void press(i);
    }
  } else {
    await Promise.all(Array.from({ length: cfg.connections * sides.length }, async (_, w) => {
      while (performance.now() < end) await press(w);
    }));
  }
  const all = await Promise.all(tagged);
  const seconds = (performance.now() - t0) / 1000;
  for (const a of agents) a.destroy();
  return summarise(all, seconds, 'SOS');
}

/** `n` safety support requests one after another, alternating sides, each promoted at once. */
async function promotions(sides: Side[], tokens: string[], n: number): Promise<Measured> {
  const agents = sides.map(() => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const tagged: { backlog: boolean; a: Answer }[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = sides[i % sides.length];
    const body = JSON.stringify({ category: 'safety', text: `Bench safety request ${i}: the customer will not let me leave` });
    const a = await postTimed(agents[i % sides.length], s.base, '/v1/support-requests', tokens[i % tokens.length], body);
    let promoted = false;
    try {
      const b = JSON.parse(a.body) as { incidentId?: string; supportRequest?: { status: string } };
      promoted = !!b.incidentId && b.supportRequest?.status === 'promoted';
    } catch {
      /* not JSON */
    }
    tagged.push({ backlog: s.backlog, a: promoted || a.status !== 201 ? a : { ...a, status: -201 } });
  }
  for (const a of agents) a.destroy();
  return summarise(tagged, (performance.now() - t0) / 1000, 'safety requests (201 not promoted shows as -201)');
}

async function main() {
  const t0 = performance.now();
  const dbs = await scratchDatabases(['a', 'b']);
  const sqls: Sql[] = [];
  for (const url of dbs.urls) sqls.push(await openPool(url, { migrated: true, what: 'close a scratch pool' }));
  const pgVersion = await serverVersion(sqls[0]);

  // The same drivers and tokens on both sides.
  const tokens = Array.from({ length: cfg.drivers }, () => newToken('drv'));
  const pins = await pinHashes();
  const driverIds = await Promise.all(sqls.map(async (sql) =>
    (await insertDrivers(sql, { count: tokens.length, tokens, pins, name: 'Bench driver', phonePrefix: '+1555', phoneOffset: 3_000_000 })).map((d) => d.id)));

  const adminToken = newAdminToken();
  const sides: Side[] = await Promise.all((['A', 'B'] as const).map(async (name, i) => {
    const child = startMayday(`mayday ${name}`, await freePort(), { databaseUrl: dbs.urls[i], adminToken, logLevel: cfg.maydayLogLevel, profileDir: process.env.BENCH_PROFILE });
    return { name, child, base: new URL(child.base), sql: sqls[i], backlog: false };
  }));
  await Promise.all(sides.map((s) => waitReady(s.child, '/readyz')));
  for (const s of sides) {
    say(`${s.child.name} on ${s.child.base} (pid ${s.child.proc.pid})`);
    await api(s.child.base, 'POST', '/v1/zones', adminToken, { name: 'Bench zone', boundary: ZONE_BOUNDARY }, 201);
    await api(s.child.base, 'POST', '/v1/sos', tokens[0], JSON.parse(sosBody()), 201); // a broken setup says so plainly
  }
  say(`zone and ${tokens.length} drivers on each side`);

  if (cfg.warmup > 0) {
    say(`warm-up ${cfg.warmup * 2} s`); // JIT, pools and caches, once before everything
    const w = await sosLoad(sides, tokens, cfg.warmup * 2);
    if (w.problems.length) throw new Error(`warm-up: ${w.problems.join('; ')}`);
  }

  interface Round { label: string; sos: Measured; promo: Measured; load: number }
  const rounds: Round[] = [];
  for (let r = 0; r < cfg.rounds; r++) {
    const withBacklog = sides[r % 2];
    const without = sides[(r + 1) % 2];
    if (without.backlog) {
      await without.sql`TRUNCATE support_requests`;
      without.backlog = false;
    }
    if (!withBacklog.backlog) {
      const b0 = performance.now();
      await loadBacklog(withBacklog.sql, driverIds[sides.indexOf(withBacklog)], cfg.backlog);
      withBacklog.backlog = true;
      say(`${cfg.backlog} open support requests queued on side ${withBacklog.name} in ${((performance.now() - b0) / 1000).toFixed(1)} s`);
    }
    await settleTables(sqls);
    const open = await Promise.all(sides.map(async (s) => (await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM support_requests WHERE status = 'open'`)[0].n));
    const label = `#${r + 1} backlog on ${withBacklog.name}`;
    if (cfg.warmup > 0) {
      const w = await sosLoad(sides, tokens, cfg.warmup);
      if (w.problems.length) throw new Error(`${label} warm-up: ${w.problems.join('; ')}`);
    }
    say(`${label} (open: ${sides.map((s, i) => `${s.name} ${open[i]}`).join(', ')}): SOS for ${cfg.duration} s at ${cfg.rate > 0 ? `${cfg.rate}/s` : 'full speed'}`);
    const sos = await sosLoad(sides, tokens, cfg.duration);
    const promo = await promotions(sides, tokens, cfg.promotions);
    for (const s of sides) if (s.child.exited) throw new Error(`${s.child.name} exited (${s.child.exitInfo}) during ${label}; its output ends:\n${s.child.tail()}`);
    rounds.push({ label, sos, promo, load: os.loadavg()[0] });
    await sleep(500);
  }

  const none = rounds.flatMap((r) => r.sos.none);
  const full = rounds.flatMap((r) => r.sos.backlog);
  const ratio = pct(full, 99) / pct(none, 99);
  const promoNone = rounds.flatMap((r) => r.promo.none);
  const promoFull = rounds.flatMap((r) => r.promo.backlog);
  const lines: string[] = [''];
  lines.push(`Mayday bypass benchmark: two servers side by side, one with ${cfg.backlog} open support requests, one with none, swapped every round;`);
  lines.push(`  SOS alternating between them at ${cfg.rate > 0 ? `${cfg.rate}/s overall` : 'full speed'}, ${cfg.duration} s a round (warm-up ${cfg.warmup} s), ${cfg.rounds} rounds, ${tokens.length} drivers`);
  lines.push(...provenance(pgVersion, dbs.label, `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`));
  lines.push('');
  const cols = (xs: number[]) => `${pad(String(xs.length), 6)}${pad(fmt(pct(xs, 50), 2), 9)}${pad(fmt(pct(xs, 99), 2), 9)}`;
  lines.push(`${''.padEnd(20)}${pad('SOS: with backlog', 24)}${pad('with none', 24)}${pad('p99', 8)}${pad('load', 7)}   safety requests promoted, p99 ms`);
  lines.push(`${'round'.padEnd(20)}${pad('n', 6)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('n', 6)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('ratio', 8)}${pad('', 7)}   backlog / none`);
  const row = (label: string, b: number[], n: number[], pb: number[], pn: number[], load?: number) =>
    lines.push(
      `${label.padEnd(20)}${cols(b)}${cols(n)}${pad(fmt(pct(b, 99) / pct(n, 99), 3), 8)}${pad(load === undefined ? '' : fmt(load, 1), 7)}` +
        `   ${fmt(pct(pb, 99), 2)} / ${fmt(pct(pn, 99), 2)} (n ${pb.length + pn.length})`,
    );
  for (const r of rounds) row(r.label, r.sos.backlog, r.sos.none, r.promo.backlog, r.promo.none, r.load);
  row('pooled', full, none, promoFull, promoNone);
  lines.push('');
  lines.push(`SOS p99 with ${cfg.backlog} open support requests: ${fmt(pct(full, 99), 2)} ms; with none: ${fmt(pct(none, 99), 2)} ms`);
  lines.push(`ratio backlog / none: ${fmt(ratio, 3)}  (goal <= ${GOAL}: ${ratio <= GOAL ? 'met' : 'NOT met'})`);
  lines.push(`promoted safety request p99, backlog / none: ${fmt(pct(promoFull, 99) / pct(promoNone, 99), 3)} (no goal)`);
  process.stdout.write(lines.join('\n') + '\n');

  const failures = rounds.flatMap((r) => [...r.sos.problems, ...r.promo.problems].map((m) => `${r.label}: ${m}`));
  printFailures(failures, { hint: cfg.maydayLogLevel === 'silent' ? "(rerun with BENCH_LOG_LEVEL=warn to see Mayday's own log of 5xx)" : undefined });
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

runBench(main);
