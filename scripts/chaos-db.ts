/**
 * `npm run chaos:db [-- --short] [--seed N]`: the database restarted under load.
 *
 * A throwaway PostgreSQL cluster of this script's own (the embedded binaries, startEmbedded in a
 * temporary directory — never the machine's shared server, whatever DATABASE_URL says) serves
 * Mayday (a child process, DATABASE_URL pointing at it) while SOS flows arrive steadily (each
 * retried with its clientRequestId until answered 201/200, as the app does) and responders
 * answer some pages. The cluster is stopped — alternately a fast shutdown (SIGINT) and a crash
 * (SIGKILL of the postmaster and its backends) — left down for a few seconds, and started again
 * on the same directory and port. /readyz is polled every 100 ms throughout.
 *
 * Properties (exit 1 when any is violated):
 *  - no 201/200 for an SOS that is not stored: every incident an answer named exists afterwards,
 *    one per SOS, and every SOS is answered 201/200 in the end (retried after the outage);
 *  - while the database is down the SOS answers are 503 (or no connection at all), never 500 or 201,
 *    and they come within 5 s (fail fast: the app retries);
 *  - /readyz answered 503 at least once during each outage and 200 after each recovery, which
 *    Mayday makes by itself (no restart of Mayday);
 *  - paging and escalation carry on: every incident paged, acknowledged or exhausted; no page
 *    accepted twice; the pages table agrees with the stand-in; nothing stuck; timelines verify.
 */
import { writeFileSync } from 'node:fs';
import { startEmbedded, type EmbeddedPostgres } from '../src/db/embedded';
import { args, startScenario, type Answer } from './lib/chaos';
import { ackerFact, check, checkStored, checkTimelines, endRun, pagesFact, pagingChecks, report, runFact, type Check } from './lib/checks';
import { openPool, postmasterPid } from './lib/db';
import { runChaos } from './lib/main';
import { AT_ONCE, assertRunning, crash, freePort, newAdminToken, startMayday, stopChild, waitReady } from './lib/processes';
import { onCleanup, say, sleep, tempDir } from './lib/run';
import { ms, pct, tally } from './lib/stats';
import { standinHere } from './lib/twilio';

const a = args('chaos:db', { sos: { type: 'string' } });
const cfg = {
  outages: a.short ? 2 : 4,
  downMs: a.short ? [2_500, 4_000] : [3_000, 8_000],
  /** Normal running before the first outage and between recoveries. */
  upMs: a.short ? [2_000, 3_000] : [3_000, 6_000],
  rate: 8,
};
const { rand, title } = a;

/**
 * downAt: the stop was asked; deadAt: the server process is gone; restartAt: startEmbedded is
 * called (the cluster surely down in between); upAt: startEmbedded returned; readyAt: /readyz 200.
 */
interface Outage { n: number; how: 'SIGINT' | 'SIGKILL'; downAt: number; deadAt: number; restartAt: number; upAt: number; readyAt?: number }

async function main() {
  const t0 = Date.now();
  const { creds, standin } = await standinHere({ callbackDelayMs: 100, seed: a.seed });
  // Its own temporary directory (startEmbedded hands it to the postgres user when we are root).
  const pgDir = tempDir('mayday-chaos-db-');
  const dataDir = tempDir('mayday-chaos-db-data-');
  const database = 'mayday_chaos';
  let pg: EmbeddedPostgres = await startEmbedded({ dataDir: pgDir, database });
  onCleanup('stop the throwaway PostgreSQL', () => pg.stop());

  const adminToken = newAdminToken();
  const mayday = startMayday('mayday', await freePort(), { databaseUrl: pg.url, dataDir, adminToken, logLevel: a.logLevel, twilio: { creds, url: standin.url } });
  const base = mayday.base;
  const aliveCheck = () => assertRunning([mayday]);
  await waitReady(mayday, '/readyz', AT_ONCE);
  const sql = await openPool(pg.url, { max: 4, app: 'mayday-chaos', what: 'close the chaos pool' });
  say(`Mayday ready on ${base}; throwaway PostgreSQL in ${pgDir}; stand-in ${standin.url}`);

  // /readyz, every 100 ms, all along.
  const readyz: { at: number; status: number | string }[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const at = Date.now();
      try {
        const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3_000) });
        await res.text();
        readyz.push({ at, status: res.status });
      } catch (e) {
        readyz.push({ at, status: (e as Error).name });
      }
      await sleep(Math.max(0, 100 - (Date.now() - at)));
    }
  })();

  // The scenario's length decides how many SOS: cfg.rate a second throughout.
  const planMs = 3_000 + cfg.outages * ((cfg.upMs[0] + cfg.upMs[1]) / 2 + (cfg.downMs[0] + cfg.downMs[1]) / 2 + 3_000);
  const nSos = Number(a.opts.sos ?? Math.round((planMs / 1000) * cfg.rate));
  const { world, load, acker } = await startScenario({ base, adminToken, sql, standin, creds, rand, n: nSos, giveUpMs: 180_000 });
  say(`${nSos} SOS over ${(planMs / 1000).toFixed(0)} s; ${cfg.outages} outages`);

  const outages: Outage[] = [];
  const chaos = (async () => {
    await sleep(3_000);
    for (let n = 1; n <= cfg.outages; n++) {
      const how = n % 2 ? 'SIGINT' : 'SIGKILL';
      const downAt = Date.now();
      if (how === 'SIGINT') await pg.stop();
      else {
        const pid = postmasterPid(pgDir);
        if (pid) await crash(pid);
      }
      const o: Outage = { n, how, downAt, deadAt: Date.now(), restartAt: 0, upAt: 0 };
      outages.push(o);
      await sleep(rand.between(cfg.downMs[0], cfg.downMs[1]));
      o.restartAt = Date.now();
      pg = await startEmbedded({ dataDir: pgDir, database });
      o.upAt = Date.now();
      o.readyAt = await waitReady(mayday, '/readyz', { ...AT_ONCE, timeoutMs: 60_000 }).catch(() => undefined);
      say(`outage ${n} (${how}): database down ${((o.upAt - downAt) / 1000).toFixed(1)} s; /readyz 200 again ${o.readyAt ? ms(o.readyAt - o.upAt) : 'never'} after it was back`);
      await sleep(rand.between(cfg.upMs[0], cfg.upMs[1]));
    }
  })();
  await Promise.all([load.run(planMs / 1000), chaos]);
  await sleep(1_000);
  polling = false;
  await poller;
  aliveCheck();
  const loadEnd = Date.now();

  const { open, waitedMs, end, drained } = await endRun({ sql, standin, acker, base: () => base, lead: world.L1, ackMs: 60_000, drainMs: 60_000, alive: aliveCheck });

  // --- checks ---
  const checks: Check[] = [];
  checks.push(await checkStored(sql, load));
  const within = (x: Answer, o: Outage) => x.sentAt >= o.deadAt && x.sentAt + x.ms <= o.restartAt;
  const during = load.answers.filter((x) => outages.some((o) => within(x, o)));
  const wrong = during.filter((x) => x.status !== null && x.status !== 503);
  const any500 = load.answers.filter((x) => x.status !== null && x.status >= 500 && x.status !== 503);
  checks.push(check('while the database is down, SOS answers are 503 or no connection (never 201/200/500)', wrong.length === 0 && any500.length === 0,
    `${during.length} SOS answers entirely inside an outage (server gone, not restarted yet): ${tally(during.map((x) => x.status ?? x.error)) || '-'}; 5xx other than 503 over the whole run: ${any500.length}`,
    [...wrong.map((x) => `SOS ${x.flow} attempt ${x.attempt} answered ${x.status} during an outage`), ...any500.map((x) => `SOS ${x.flow} answered ${x.status}: ${x.error}`)]));
  // Fail fast: an SOS sent while the server is gone gets its 503 within the connect timeout (5 s),
  // not when the pool's reconnect backoff allows (it used to be 10 s and more).
  const sentDuring = load.answers.filter((x) => outages.some((o) => x.sentAt >= o.deadAt && x.sentAt <= o.restartAt));
  const slow = sentDuring.filter((x) => x.ms > 5_000);
  checks.push(check('an SOS sent while the database is down is answered within 5 s', slow.length === 0 && sentDuring.length > 0,
    `${sentDuring.length} sent during an outage: answered in p50 ${ms(pct(sentDuring.map((x) => x.ms), 50))}, max ${ms(Math.max(...sentDuring.map((x) => x.ms)))}`,
    slow.map((x) => `SOS ${x.flow} attempt ${x.attempt}: ${x.status ?? x.error} after ${x.ms} ms`)));
  const readyIssues: string[] = [];
  for (const o of outages) {
    const inside = readyz.filter((r) => r.at >= o.deadAt && r.at <= o.restartAt);
    if (!inside.some((r) => r.status === 503)) readyIssues.push(`outage ${o.n}: /readyz never said 503 (${tally(inside.map((r) => r.status))})`);
    if (!o.readyAt) readyIssues.push(`outage ${o.n}: /readyz never said 200 again`);
  }
  const last = readyz[readyz.length - 1];
  if (last?.status !== 200) readyIssues.push(`/readyz said ${last?.status} at the end`);
  checks.push(check('/readyz reports each outage (503) and the recovery (200), Mayday never restarted', readyIssues.length === 0 && !mayday.exited,
    outages.map((o) => {
      const inside = readyz.filter((r) => r.at >= o.deadAt && r.at <= o.restartAt);
      return `outage ${o.n} (${o.how}, down ${ms(o.restartAt - o.deadAt)}, restarted in ${ms(o.upAt - o.restartAt)}): ${tally(inside.map((r) => r.status))}; 200 again ${o.readyAt ? ms(o.readyAt - o.upAt) : 'never'} after the database`;
    }).join('; '), readyIssues));
  const { pages, checks: paging } = await pagingChecks(sql, standin, { open, waitedMs, end });
  checks.push(...paging);
  checks.push(await checkTimelines(sql));

  const st = standin.stats();
  const facts = [
    `database: throwaway embedded PostgreSQL (${pgDir}); Mayday on ${base}, never restarted`,
    `outages: ${outages.map((o) => `${o.how} ${ms(o.upAt - o.downAt)}`).join(', ')}`,
    `SOS: ${nSos} at ${cfg.rate}/s; answers: ${tally(load.answers.map((x) => x.status ?? x.error))}`,
    `/readyz samples: ${tally(readyz.map((r) => r.status))}`,
    `${ackerFact(acker)}; resolved through the API at the end ${end.resolved} (${end.open} of them unacknowledged)`,
    `stand-in: ${st.received} requests, ${st.accepted} accepted; ${st.callbacks.sent} callbacks taken, ${st.callbacks.failed} refused (${tally(Object.entries(st.callbacks.why).flatMap(([k, n]) => Array(n).fill(k))) || '-'})`,
    `${pagesFact(pages.byStatus)}; ${pages.unknownByLease} settled by lease expiry`,
    runFact(t0, loadEnd, waitedMs, drained.waitedMs),
  ];
  if (process.env.CHAOS_DUMP) writeFileSync(process.env.CHAOS_DUMP, JSON.stringify({ t0, outages, readyz, answers: load.answers }));
  const ok = report(title, facts, checks);
  await stopChild(mayday);
  process.exitCode = ok ? 0 : 1;
}

runChaos('chaos:db', title, main);
