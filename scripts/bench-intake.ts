/**
 * `npm run bench:intake`: how close SOS intake comes to the physical floor of this machine.
 *
 * Two real HTTP servers, each in a child process of its own (so the load generator, which runs
 * here, never shares an event loop with a server), on one scratch database, and three loads:
 *   - Mayday itself (src/entry/node.ts), loaded with POST /v1/sos: every request a new
 *     clientRequestId (so every one opens an incident), drivers taken round-robin, a location
 *     inside the zone;
 *   - the "bare" baseline (scripts/bare-server.ts): same stack and pool size, POST /bare
 *     parses the JSON body and does one INSERT ... RETURNING (context);
 *   - the durable minimum, the reference of the goal (the same bare server, POST /durable): one
 *     statement, one commit, inserting an incident row, its opening event and its two first pages
 *     into tables of its own shaped like Mayday's (no triggers, so no hash chain; lib/db.ts).
 *   - with the stand-in (BENCH_PAGES=standin), the paged floor (the same bare server, POST /paged):
 *     the durable minimum's statement answered at once, then its two pages sent to the stand-in
 *     and their sids and status callbacks (signature checked) recorded, what arrives together in
 *     one UPDATE, as Mayday's sender records them: an SOS with its paging and nothing else, no
 *     chain, no escalation. Below 0.5 of the durable minimum, goal 1 is out of reach of an
 *     implementation that pages, as measured here (the stand-in on the same cores).
 * Children run as `node --import tsx <entry>` (one process each, no npx/tsx wrapper), each in its
 * own process group, and are stopped with SIGTERM (SIGKILL after 15 s).
 * Runs one after another, each after a short warm-up: bare, durable, (paged,) SOS, (paged,) durable, bare, so that
 * each reference is measured as far before the SOS run as after it and its mean cancels a steady
 * drift. Mayday is stopped once its run's window closes, so that its SOS's check-ins do not run
 * beside the references after it. Prints throughput, p50, p99 and the ratios intake/durable throughput (goal >= 0.5) and
 * intake/bare, and p99 likewise; the whole machine's CPU per answer, the SOS's split between
 * Mayday, the stand-in, PostgreSQL and autocannon, and the most goal 1 allows on these cores.
 * What the database spent per request, for every run (lib/pgstats.ts): WAL bytes and records
 * (pg_stat_wal: the whole server's, so on a shared server other databases' writes count too),
 * CPU ms of the scratch database's backends serving the loaded server (/proc), and statement
 * execution ms (pg_stat_statements, only when the server preloads it; it is wall time inside the
 * executor, waits included). Goals printed for the SOS: <= 1 ms database CPU, <= 6 kB WAL.
 * Each window runs from the end of the run's warm-up to the end of the run, and after an SOS run
 * until Mayday's page queue is empty (at most 30 s), so the paging an SOS causes is counted too.
 *
 * Database: DATABASE_URL if set (a scratch database mayday_bench_<random> is created on that
 * server and dropped at the end), else the embedded PostgreSQL in a temporary directory
 * (stopped and removed at the end).
 *
 * Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50), BENCH_WARMUP (s, default 2),
 * BENCH_DRIVERS (default 20000), BENCH_LOG_LEVEL (Mayday's LOG_LEVEL, default silent),
 * BENCH_PAGES: where the pages go. `standin` (default) is as deployed: Twilio is outside, here the
 * Twilio stand-in (scripts/twilio-standin.ts) in a child process of its own on loopback, which
 * answers each page and sends its status callbacks back 100 ms later, signed. `simulator` is
 * Mayday's built-in phone simulator (no Twilio credentials): it writes its messages to Mayday's
 * own database (sim_messages), which a deployment does not, so its WAL and CPU count there.
 * BENCH_PROFILE: a directory; Mayday runs with --cpu-prof and writes its profile there when it stops.
 * Why 20,000 drivers: a driver who presses again while an earlier SOS is open gets both linked
 * (six more timeline events, and locks on those incidents' timelines, per SOS), and one driver's
 * presses queue behind each other on its advisory lock: with too few drivers the load measures
 * that artifact more than intake (50 drivers: three presses a second each; 2,000 drivers at
 * 730 SOS/s for 10 s: four presses each, 3.3 links per incident). 20,000 drivers each press
 * at most about once in a run of up to 2,000 SOS/s, as real drivers would. The first 5 drivers are made through the admin
 * API (so that path is checked), the rest straight in SQL with one shared PIN hash pair (the
 * API hashes two PINs per driver with PBKDF2, ~100 ms each, on purpose).
 * The CPU column (Linux /proc) counts every process named postgres on the machine, other
 * users' included, and "whole machine" is all cores' busy time: other load shows there.
 * Exits non-zero when the SOS run (or a baseline run) saw an error or a non-2xx answer, or when
 * an SOS did not open a new incident.
 */
import autocannon from 'autocannon';
import type { Sql } from '../src/db/client';
import os from 'node:os';
import { api, sosBody, ZONE_BOUNDARY } from './lib/api';
import { cpuDelta, cpuSample } from './lib/cpu';
import { createBareTable, createDurableTables, insertDrivers, openPool, scratchDatabase, serverVersion } from './lib/db';
import { printFailures, runBench } from './lib/main';
import { dbCost, dbStatsSample, dbStatsSource, walBreakdown, type DbCost, type DbStatsSource } from './lib/pgstats';
import { freePort, newAdminToken, startChild, startMayday, stopChild, waitReady, type Child } from './lib/processes';
import { StandinChild, twilioCreds } from './lib/twilio';
import { intEnv, say, sleep } from './lib/run';
import { fmt, pad, provenance } from './lib/stats';

const cfg = {
  duration: intEnv('BENCH_DURATION', 10),
  connections: intEnv('BENCH_CONNECTIONS', 50),
  warmup: intEnv('BENCH_WARMUP', 2, 0),
  drivers: intEnv('BENCH_DRIVERS', 20000),
  maydayLogLevel: process.env.BENCH_LOG_LEVEL || 'silent',
  pages: (process.env.BENCH_PAGES || 'standin') as 'standin' | 'simulator',
};
if (cfg.pages !== 'standin' && cfg.pages !== 'simulator') throw new Error(`BENCH_PAGES: standin or simulator (got ${cfg.pages})`);

interface Run {
  label: string;
  result: autocannon.Result;
  perSecond: number[];
  reqErrors: Map<string, number>;
  bodies: string[];
  cpu: ReturnType<typeof cpuDelta>;
  db?: DbCost;
  /** Where the WAL went (pg_walinspect), for the SOS run. */
  walWhere?: string[];
}

/**
 * Until no page of Mayday's is due and unsent, and the stand-in (if any) has sent every status
 * callback it owes (at most `ms`): the paging of the SOS just taken, its callbacks included.
 */
async function drainPages(sql: Sql, standin: StandinChild | undefined, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE status IN ('queued', 'sending') AND not_before <= now()`;
    const owed = standin ? (await standin.stats(false)).pendingCallbacks : 0;
    if (n === 0 && owed === 0) return;
    await sleep(200);
  }
  say(`pages still due or callbacks still owed after ${ms / 1000} s: the window closes anyway`);
}

/**
 * Where each path's next request takes its driver's token: it goes on from one run to the next (a
 * warm-up, then its run), so that no driver presses twice (a second press while the first incident
 * is open links the two). Mayday's starts after the smoke test's driver.
 */
const nextToken = new Map<string, number>([['/v1/sos', 1]]);

async function load(label: string, target: Child, path: string, tokens: string[], duration: number): Promise<Run> {
  let rr = nextToken.get(path) ?? 0;
  const perSecond: number[] = [];
  const reqErrors = new Map<string, number>();
  const bodies: string[] = [];
  const before = cpuSample([target.proc.pid, standinPid], { pgReaped: false });
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon(
      {
        url: target.base,
        connections: cfg.connections,
        duration,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path,
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => {
              req.headers.authorization = `Bearer ${tokens[rr++ % tokens.length]}`;
              req.body = sosBody();
              return req;
            },
            onResponse: (status, body) => {
              if ((status < 200 || status > 299) && bodies.length < 5) bodies.push(`${status} ${body.slice(0, 400)}`);
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    inst.on('tick', ({ counter }: { counter: number }) => perSecond.push(counter));
    inst.on('reqError', (e: Error & { code?: string }) => {
      const k = e.code ?? e.message;
      reqErrors.set(k, (reqErrors.get(k) ?? 0) + 1);
    });
  });
  const cpu = cpuDelta(before, cpuSample([target.proc.pid, standinPid], { pgReaped: false }));
  nextToken.set(path, rr);
  if (target.exited) throw new Error(`${target.name} exited (${target.exitInfo}) during "${label}"; its output ends:\n${target.tail()}`);
  return { label, result, perSecond, reqErrors, bodies, cpu };
}

/** The Twilio stand-in's pid (BENCH_PAGES=standin): its CPU is sampled beside the loaded server's. */
let standinPid: number | undefined;

/** Milliseconds of CPU per 2xx answer, from a percent of one core over a run. */
const msPerAnswer = (pct: number | undefined, r: Run) => (pct === undefined ? undefined : ((pct / 100) * r.cpu.secs * 1000) / Math.max(1, r.result['2xx']));

/**
 * The whole machine's CPU per answer, and the SOS run's split: the machine's cores bound intake at
 * cores ÷ (CPU per SOS), so goal 1 (half the durable minimum's rate) needs at most
 * cores ÷ (0.5 × durable rate) of it per SOS, whoever spends it (the stand-in and the load
 * generator share the cores here, as they would not in service).
 */
function budgetLines(sos: Run, d1: Run, d2: Run, durRps: number, bare: Run, paged?: Run): string[] {
  const cores = os.cpus().length;
  const f = (x: number | undefined) => fmt(x, 2);
  const m = (r: Run) => msPerAnswer(r.cpu.machine, r);
  const durMs = ((m(d1) ?? NaN) + (m(d2) ?? NaN)) / 2;
  const split = (r: Run, server: string) => {
    const parts = { server: msPerAnswer(r.cpu.procs[0], r), standin: msPerAnswer(r.cpu.procs[1], r), pg: msPerAnswer(r.cpu.pg, r), load: msPerAnswer(r.cpu.self, r) };
    const rest = m(r) === undefined ? undefined : m(r)! - Object.values(parts).reduce<number>((a, b) => a + (b ?? 0), 0);
    return `${server} ${f(parts.server)}, stand-in ${f(parts.standin)}, PostgreSQL ${f(parts.pg)}, autocannon ${f(parts.load)}, the rest (kernel, other processes) ${f(rest)} ms`;
  };
  const whole = m(sos);
  const withoutStandin = (r: Run) => r.result.requests.average * (m(r) ?? NaN) / ((m(r) ?? NaN) - (msPerAnswer(r.cpu.procs[1], r) ?? 0));
  return [
    `whole machine's CPU per 2xx answer: durable ${f(durMs)} ms, SOS ${f(whole)} ms (${f(whole !== undefined ? whole / durMs : undefined)} x)` +
      (paged ? `, paged floor (#1) ${f(m(paged))} ms` : ''),
    `  the SOS's: ${split(sos, 'Mayday')}`,
    ...(paged ? [`  the paged floor's (#1): ${split(paged, 'bare server')}`] : []),
    `  one bare request's (#1): ${split(bare, 'bare server')}`,
    `  goal 1 on ${cores} cores needs at most ${f((cores * 1000) / (0.5 * durRps))} ms per SOS of the whole machine, the stand-in's and autocannon's included`,
    `  without the stand-in's CPU (Twilio elsewhere; estimated as rate × CPU per SOS ÷ that CPU less the stand-in's), of the durable minimum's rate: ` +
      `SOS ${f(withoutStandin(sos) / durRps)}${paged ? `, paged floor (#1) ${f(withoutStandin(paged) / durRps)}` : ''}`,
  ];
}

const codes = (r: autocannon.Result) =>
  Object.entries(r.statusCodeStats ?? {})
    .map(([code, { count }]) => `${code}×${count}`)
    .join(' ');

/** The database's cost per 2xx answer of each run, with where each figure comes from, and the SOS's goals. */
function costLines(runs: Run[], src: DbStatsSource): string[] {
  const out = [`database cost per 2xx answer: ${'run'.padEnd(14)}${pad('CPU ms', 9)}${pad('exec ms', 9)}${pad('WAL B', 9)}${pad('WAL rec', 9)}${pad('db WAL B', 10)}${pad('db rec', 9)}`];
  for (const r of runs) {
    const c = r.db;
    const missed = c && (c.lostBackends || c.newBackends) ? `   (${c.lostBackends} backends gone, ${c.newBackends} new: their CPU partly missed)` : '';
    out.push(`${''.padEnd(30)}${r.label.padEnd(14)}${pad(fmt(c?.cpuMs, 2), 9)}${pad(fmt(c?.execMs, 2), 9)}${pad(fmt(c?.walBytes, 0), 9)}${pad(fmt(c?.walRecords, 1), 9)}${pad(fmt(c?.dbWalBytes, 0), 10)}${pad(fmt(c?.dbWalRecords, 1), 9)}${missed}`);
  }
  const sos = runs.find((r) => r.label.startsWith('SOS'))?.db;
  const verdict = (x: number | undefined, goal: number) => (x === undefined ? 'not measured' : x <= goal ? 'met' : 'NOT met');
  out.push(`  CPU ms: /proc CPU of the scratch database's client backends serving the loaded server${src.statements ? '' : ' (pg_stat_statements not used: ' + src.statementsWhy + ')'}`);
  out.push(`  exec ms: ${src.statements ? "pg_stat_statements' total_exec_time of the scratch database (wall time in the executor, waits included)" : 'not available'}`);
  out.push(`  WAL: ${src.wal ? 'pg_stat_wal, the whole server (other databases on a shared server add to it)' : 'not available (PostgreSQL < 14)'}`);
  out.push(`  db WAL: ${src.walinspect ? "pg_walinspect, the records that change the scratch database's relations (commit records, ~50 B a transaction, not counted)" : 'not available (needs PostgreSQL >= 15 and pg_walinspect)'}`);
  // The database's own WAL when it can be told apart from the rest of the server's.
  const wal = sos?.dbWalBytes ?? sos?.walBytes;
  out.push(`SOS database CPU: ${fmt(sos?.cpuMs, 2)} ms (goal <= 1 ms: ${verdict(sos?.cpuMs, 1)});  WAL (${sos?.dbWalBytes !== undefined ? 'db WAL' : 'WAL'}): ${fmt(wal === undefined ? undefined : wal / 1000, 1)} kB (goal <= 6 kB: ${verdict(wal, 6000)})`);
  return out;
}

/** Problems of one run, as sentences; none means clean. */
function problems(run: Run): string[] {
  const r = run.result;
  const out: string[] = [];
  if (r.errors) out.push(`${r.errors} request errors (${r.timeouts} timeouts)${run.reqErrors.size ? `: ${[...run.reqErrors].map(([k, n]) => `${k}×${n}`).join(', ')}` : ''}`);
  if (r.non2xx) out.push(`${r.non2xx} non-2xx answers (status codes: ${codes(r)})${run.bodies.length ? `; first bodies:\n      ${run.bodies.join('\n      ')}` : ''}`);
  if (r.mismatches) out.push(`${r.mismatches} body mismatches`);
  if (!r['2xx']) out.push('no 2xx answer at all');
  return out;
}

async function main() {
  const t0 = performance.now();
  const db = await scratchDatabase();

  // Migrate, and make the baseline's table.
  const sql = await openPool(db.url, { migrated: true });
  await createBareTable(sql);
  await createDurableTables(sql);
  const pgVersion = await serverVersion(sql);
  const statsSrc: DbStatsSource = await dbStatsSource(sql);

  // Mayday, for real, in its own process.
  const adminToken = newAdminToken();
  const creds = twilioCreds();
  const standin = cfg.pages === 'standin' ? await StandinChild.start(creds, ['--callback-delay-ms', '100']) : undefined;
  standinPid = standin?.child.proc.pid;
  const mayday = startMayday('mayday', await freePort(), {
    databaseUrl: db.url, adminToken, logLevel: cfg.maydayLogLevel, profileDir: process.env.BENCH_PROFILE, twilio: standin ? { creds, url: standin.url } : undefined,
  });
  const bare = startChild('bare-server', 'scripts/bare-server.ts', await freePort(), {
    DATABASE_URL: db.url, ...(standin ? { TWILIO_API_URL: standin.url, TWILIO_ACCOUNT_SID: creds.sid, TWILIO_AUTH_TOKEN: creds.token } : {}),
  });
  await Promise.all([waitReady(mayday, '/readyz'), waitReady(bare, '/healthz'), ...(standin ? [waitReady(standin.child, '/_standin/stats')] : [])]);
  say(`mayday on ${mayday.base} (pid ${mayday.proc.pid}), bare on ${bare.base} (pid ${bare.proc.pid}), pages to ${standin ? `the Twilio stand-in ${standin.url} (pid ${standin.child.proc.pid})` : 'the phone simulator'}`);

  // The world, through the admin API as an operator would make it.
  // A zone as it is in service: a rotation of two supervisors and a safety lead, so every SOS
  // queues its first pages (SMS and call to the on-call) in its own transaction, and the pages
  // go out (BENCH_PAGES) while the load runs.
  // Its next escalation step an hour away (nobody acknowledges here): a run's window holds what
  // each SOS costs when it is pressed (intake, its first pages and their callbacks), not a second
  // step that a long window (callbacks catching up after the run) would count for early SOS. The
  // first check-in still comes 30 s after each SOS; the events line below says how many did.
  const zone = await api<{ id: string }>(mayday.base, 'POST', '/v1/zones', adminToken, { name: 'Bench zone', boundary: ZONE_BOUNDARY }, 201);
  await api(mayday.base, 'PUT', `/v1/zones/${zone.id}/escalation-policy`, adminToken, {
    steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms', 'voice'] }, { afterSeconds: 3_600, notify: ['zone_supervisors', 'safety_leads'], channels: ['sms', 'voice'] }],
    repeatEverySeconds: 3_600,
  }, 200);
  const sups: string[] = [];
  for (const [i, role] of (['supervisor', 'supervisor', 'safety_lead'] as const).entries()) {
    const r = await api<{ id: string }>(mayday.base, 'POST', '/v1/responders', adminToken, {
      name: `Bench ${role} ${i + 1}`, phone: `+1555${String(1_000_000 + i).padStart(7, '0')}`, role, zoneIds: [zone.id],
    }, 201);
    if (role === 'supervisor') sups.push(r.id);
  }
  await api(mayday.base, 'PUT', `/v1/zones/${zone.id}/rotation`, adminToken, { responderIds: sups, shiftMinutes: 600, startsAt: new Date().toISOString() }, 200);
  const tokens: string[] = [];
  const BATCH = 5; // PIN hashing (PBKDF2) is deliberately slow: a few at a time
  const viaApi = Math.min(cfg.drivers, 5);
  for (let i = 0; i < viaApi; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(viaApi, i + BATCH); j++) {
      batch.push(
        api<{ token: string }>(mayday.base, 'POST', '/v1/drivers', adminToken, {
          name: `Bench driver ${j + 1}`,
          phone: `+1555${String(2_000_000 + j).padStart(7, '0')}`,
          cancelPin: '1234',
          duressPin: '9999',
        }, 201),
      );
    }
    for (const d of await Promise.all(batch)) tokens.push(d.token);
  }
  if (cfg.drivers > viaApi) {
    // The rest as the API would store them: PIN hashes (one pair shared), token hashes.
    const more = await insertDrivers(sql, { first: viaApi + 1, count: cfg.drivers - viaApi, name: 'Bench driver', phonePrefix: '+1555', phoneOffset: 2_000_000 });
    tokens.push(...more.map((d) => d.token));
  }
  say(`zone and ${tokens.length} drivers created`);

  // One of each by hand first: a broken setup should say so plainly, not as 10 s of errors.
  const smoke = await api<{ incident: { zoneId: string | null; zoneRule: string } }>(mayday.base, 'POST', '/v1/sos', tokens[0], JSON.parse(sosBody()), 201);
  if (smoke.incident.zoneRule !== 'inside') throw new Error(`the benchmark location is not inside the zone: ${JSON.stringify(smoke.incident)}`);
  await api(bare.base, 'POST', '/bare', tokens[0], JSON.parse(sosBody()), 201);
  await api(bare.base, 'POST', '/durable', tokens[0], JSON.parse(sosBody()), 201);
  if (standin) await api(bare.base, 'POST', '/paged', tokens[0], JSON.parse(sosBody()), 201);
  await drainPages(sql, standin);

  // Load: bare, durable, SOS, durable, bare (symmetric around the SOS run); each after a warm-up
  // of its own. The database's costs are counted for the backends of the server under load.
  const runs: Run[] = [];
  const warmups: Run[] = [];
  const plan: [string, Child, string, string][] = [
    ['bare #1', bare, '/bare', 'mayday-bench-bare'],
    ['durable #1', bare, '/durable', 'mayday-bench-bare'],
    ...(standin ? [['paged #1', bare, '/paged', 'mayday-bench-bare'] as [string, Child, string, string]] : []),
    ['SOS intake', mayday, '/v1/sos', '!mayday-bench%'],
    ...(standin ? [['paged #2', bare, '/paged', 'mayday-bench-bare'] as [string, Child, string, string]] : []),
    ['durable #2', bare, '/durable', 'mayday-bench-bare'],
    ['bare #2', bare, '/bare', 'mayday-bench-bare'],
  ];
  for (const [label, target, path, apps] of plan) {
    if (cfg.warmup > 0) {
      say(`${label}: warm-up ${cfg.warmup} s`);
      warmups.push(await load(`${label} warm-up`, target, path, tokens, cfg.warmup));
      if (target === mayday || path === '/paged') await drainPages(sql, standin);
    }
    say(`${label}: ${cfg.duration} s, ${cfg.connections} connections`);
    const before = await dbStatsSample(sql, statsSrc, apps);
    const run = await load(label, target, path, tokens, cfg.duration);
    if (target === mayday || path === '/paged') await drainPages(sql, standin);
    const after = await dbStatsSample(sql, statsSrc, apps);
    run.db = await dbCost(sql, statsSrc, before, after, run.result['2xx']);
    if (target === mayday) run.walWhere = await walBreakdown(sql, statsSrc, before, after, run.result['2xx']);
    runs.push(run);
    if (target === mayday) {
      // Its SOS stay open and their check-ins (the first 30 s after each) would run beside the
      // runs that follow and slow them: Mayday's part is over.
      say('stopping Mayday: the runs after its own are the references only');
      await stopChild(mayday);
    }
    await sleep(500);
  }
  const byLabel = (l: string) => runs.find((r) => r.label === l);
  const [bare1, durable1, sos, durable2, bare2] = ['bare #1', 'durable #1', 'SOS intake', 'durable #2', 'bare #2'].map((l) => byLabel(l)!);
  const [paged1, paged2] = [byLabel('paged #1'), byLabel('paged #2')];
  const sosWarm = warmups.find((w) => w.label.startsWith('SOS'));

  // Did every SOS answered 201 really open an incident of its own?
  const created = 1 + (sos.result.statusCodeStats['201']?.count ?? 0) + (sosWarm?.result.statusCodeStats['201']?.count ?? 0);
  const [counts] = await sql<{ incidents: number; events: number; max_events: number }[]>`
    SELECT (SELECT count(*) FROM incidents)::int AS incidents,
           (SELECT count(*) FROM incident_events)::int AS events,
           (SELECT coalesce(max(seq), 0) FROM timeline_heads)::int AS max_events`;
  const byType = await sql<{ type: string; n: number }[]>`
    SELECT type, count(*)::int AS n FROM incident_events GROUP BY type ORDER BY n DESC, type`;
  // The paged floor's pages (the durable runs' pages are never sent): each sent, and a callback of each recorded.
  const pagedAnswers = standin ? 1 + [...warmups, ...runs].filter((r) => r.label.startsWith('paged')).reduce((n, r) => n + (r.result.statusCodeStats['201']?.count ?? 0), 0) : 0;
  // Per incident: both pages sent or neither (the durable runs send none), and a callback of each sent page recorded.
  const [floor] = await sql<{ sent: number; called: number; paged: number; half: number }[]>`
    SELECT coalesce(sum(sent), 0)::int AS sent, coalesce(sum(called), 0)::int AS called,
           count(*) FILTER (WHERE sent = 2)::int AS paged, count(*) FILTER (WHERE sent = 1)::int AS half
    FROM (SELECT count(sid) AS sent, count(twilio_status) FILTER (WHERE sid IS NOT NULL) AS called
          FROM bench_pages GROUP BY incident_id) x`;

  // Report.
  const mean = (a: Run, b: Run, f: (r: autocannon.Result) => number) => (f(a.result) + f(b.result)) / 2;
  const bareRps = mean(bare1, bare2, (r) => r.requests.average);
  const bareP99 = mean(bare1, bare2, (r) => r.latency.p99);
  const durRps = mean(durable1, durable2, (r) => r.requests.average);
  const durP99 = mean(durable1, durable2, (r) => r.latency.p99);
  const rpsRatio = sos.result.requests.average / bareRps;
  const p99Ratio = sos.result.latency.p99 / bareP99;
  const durRatio = sos.result.requests.average / durRps;
  const lines: string[] = [];
  lines.push('');
  lines.push(`Mayday intake benchmark: autocannon -c ${cfg.connections} -d ${cfg.duration} (warm-up ${cfg.warmup} s each), ${tokens.length} drivers round-robin, pages to the ${cfg.pages === 'standin' ? 'Twilio stand-in' : 'phone simulator'}`);
  lines.push(...provenance(pgVersion, db.label, `${os.platform()} ${os.release()}`));
  lines.push('');
  lines.push(`${'run'.padEnd(16)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('2xx', 9)}${pad('non-2xx', 9)}${pad('errors', 8)}   cpu, % of one core: server / stand-in / all postgres processes / autocannon / whole machine`);
  const row = (label: string, rps: number, p50: number, p99: number, r?: Run) =>
    lines.push(
      `${label.padEnd(16)}${pad(fmt(rps, 0), 9)}${pad(fmt(p50, 1), 9)}${pad(fmt(p99, 1), 9)}${pad(r ? String(r.result['2xx']) : '', 9)}${pad(r ? String(r.result.non2xx) : '', 9)}${pad(r ? String(r.result.errors) : '', 8)}` +
        (r ? `   ${fmt(r.cpu.procs[0], 0)} / ${fmt(r.cpu.procs[1], 0)} / ${fmt(r.cpu.pg, 0)} / ${fmt(r.cpu.self, 0)} / ${fmt(r.cpu.machine, 0)}` : ''),
    );
  for (const r of runs) row(r.label, r.result.requests.average, r.result.latency.p50, r.result.latency.p99, r);
  row('bare (mean)', bareRps, mean(bare1, bare2, (r) => r.latency.p50), bareP99);
  row('durable (mean)', durRps, mean(durable1, durable2, (r) => r.latency.p50), durP99);
  if (paged1 && paged2) row('paged (mean)', mean(paged1, paged2, (r) => r.requests.average), mean(paged1, paged2, (r) => r.latency.p50), mean(paged1, paged2, (r) => r.latency.p99));
  lines.push('');
  lines.push(`intake / durable throughput: ${durRatio.toFixed(2)}  (goal >= 0.5: ${durRatio >= 0.5 ? 'met' : 'NOT met'})`);
  lines.push(`intake / bare throughput:    ${rpsRatio.toFixed(2)}  (context)`);
  lines.push(`intake / durable p99:        ${(sos.result.latency.p99 / durP99).toFixed(2)};  intake / bare p99: ${p99Ratio.toFixed(2)}`);
  if (paged1 && paged2) {
    const pagedRps = mean(paged1, paged2, (r) => r.requests.average);
    const floorRatio = pagedRps / durRps;
    lines.push(`paged floor / durable:       ${floorRatio.toFixed(2)}  (an SOS with its paging and nothing else, no chain: ` +
      (floorRatio < 0.5 ? 'below 0.5, goal 1 is out of reach of an implementation that pages, with the stand-in on these cores)' : 'goal 1 is within reach of one that pages)'));
    lines.push(`intake / paged floor:        ${(sos.result.requests.average / pagedRps).toFixed(2)}  (paged floor: ${floor.paged} SOS with both pages sent, ${floor.called} of ${floor.sent} pages with a callback recorded)`);
  }
  lines.push('');
  lines.push(...budgetLines(sos, durable1, durable2, durRps, bare1, paged1));
  lines.push('');
  lines.push(...costLines(runs, statsSrc));
  if (sos.walWhere?.length) lines.push(`where the SOS run's WAL went (pg_walinspect, the scratch database's records):`, ...sos.walWhere);
  lines.push('');
  lines.push(`req/s second by second:`);
  // autocannon ticks once a second and once more, partially, when it stops: leave that one out.
  for (const r of runs) lines.push(`  ${r.label.padEnd(12)} ${r.perSecond.slice(0, cfg.duration).join(' ')}`);
  lines.push(`status codes: ${runs.map((r) => `${r.label}: ${codes(r.result) || 'none'}`).join('; ')}`);
  lines.push(
    `database after the SOS runs: ${counts.incidents} incidents for ${created} SOS answered 201 (smoke + warm-up + run; ` +
      `requests still in flight when a run stopped are stored without being counted, up to ${cfg.connections} a run); ` +
      `${counts.events} timeline events, ${(counts.events / Math.max(1, counts.incidents)).toFixed(1)} per incident, longest timeline ${counts.max_events} ` +
      `(${byType.map((t) => `${t.type}×${t.n}`).join(', ')})`,
  );
  process.stdout.write(lines.join('\n') + '\n');

  // Verdict.
  const failures: string[] = [];
  for (const r of [...warmups, ...runs]) for (const p of problems(r)) failures.push(`${r.label}: ${p}`);
  // A 200 is a coalesced retry: with a fresh clientRequestId each time there must be none.
  for (const r of [sosWarm, sos]) {
    const other2xx = Object.entries(r?.result.statusCodeStats ?? {}).filter(([c]) => c.startsWith('2') && c !== '201');
    if (other2xx.length) failures.push(`${r!.label}: 2xx answers other than 201 (${other2xx.map(([c, { count }]) => `${c}×${count}`).join(' ')}): a request did not open a new incident`);
  }
  if (counts.incidents < created) failures.push(`only ${counts.incidents} incidents in the database for ${created} answers 201`);
  // Requests in flight when a run stopped are paged without being counted (up to 50 a run).
  if (standin && (floor.paged < pagedAnswers || floor.half > 0 || floor.called < floor.sent)) {
    const cb = (await standin.stats(false)).callbacks;
    failures.push(`paged floor: ${floor.paged} SOS with both pages sent (${floor.half} with one), ${floor.called} of ${floor.sent} sent pages with a callback recorded, ` +
      `for ${pagedAnswers} SOS answered 201 (the stand-in's callbacks, to Mayday and the floor: ${cb.sent} delivered, ${cb.failed} failed ${JSON.stringify(cb.why)}${cb.lastError ? `, the last: ${cb.lastError}` : ''})`);
  }
  printFailures(failures, { hint: cfg.maydayLogLevel === 'silent' ? "(rerun with BENCH_LOG_LEVEL=warn to see Mayday's own log of 5xx)" : undefined });
  if (failures.length) {
    await sleep(300);
    const tail = mayday.tail();
    if (tail) process.stdout.write(`  mayday output ends:\n${tail.split('\n').slice(-20).map((l) => `    ${l}`).join('\n')}\n`);
  }
  say(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

runBench(main, cfg.maydayLogLevel === 'silent' ? "(BENCH_LOG_LEVEL=warn shows Mayday's own log of 5xx)" : undefined);
