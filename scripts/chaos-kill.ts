/**
 * `npm run chaos:kill [-- --short] [--seed N] [--embedded] [--sos N] [--kills N]`: crash safety.
 *
 * Mayday (src/entry/node.ts, a child process) pages through the Twilio stand-in (this process,
 * loopback, status callbacks 100 ms apart) while SOS flows arrive (one per driver, retried with
 * the same clientRequestId until answered 201/200, as the app does) and the responders answer
 * some incidents (by SMS reply or keypress: the on-call at step 0, a supervisor at step 1, the
 * safety lead at step 2) and never others. The zone's policy has steps at 0, 3 and 6 s and
 * repeats every 10 s, so exhaustion comes 16 s after an SOS. Meanwhile Mayday is killed with
 * SIGKILL at random moments (some while it is still starting) and started again on the same
 * port. With --embedded it runs on its own embedded PostgreSQL (no DATABASE_URL), which a kill
 * leaves orphaned — and which is sometimes SIGKILLed too (its whole process group) — and the
 * next start has to stop the orphan or recover the crashed cluster.
 *
 * Database: without --embedded, a scratch database on DATABASE_URL's server, else an embedded
 * PostgreSQL this script starts (and keeps up while Mayday dies).
 *
 * Properties (exit 1 when any is violated):
 *  - every SOS answered 201/200 is stored, one incident per SOS, every SOS answered eventually;
 *  - every incident reached an acknowledgement or exhaustion (by itself, before the drain);
 *  - no page accepted twice by the stand-in; the pages table agrees with the stand-in; nothing
 *    stuck after the drain; every timeline verifies;
 *  - overdue escalations fire within 1 s of the restarted service being ready: for every
 *    incident open with its deadline (esc_next_at, read while Mayday was dead) passed by the
 *    time the new instance answered /readyz 200, its next escalation.step event's time minus
 *    that ready time, p100 ≤ 1 s;
 *  - no silent seconds (issue 18; lib/silence.ts says exactly what is measured): no logical page
 *    waits in silence (no attempt open at the stand-in, none accepted) over 1.5 s, the time
 *    Mayday was down (from the kill to the new instance's /readyz 200) not counted, so a send
 *    interrupted by a kill must go again within that of the restart; every escalation step fires
 *    within 1 s of due (of ready, when Mayday was down at due).
 * At the end (once every incident was acknowledged or exhausted) pages stuck past their time are
 * noted, every incident is resolved through the API (paging and check-ins stop), the run drains,
 * the checks run, and Mayday stops with SIGTERM.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { args, CHAOS_POLICY, NAMES, startScenario } from './lib/chaos';
import { check, checkStored, checkTimelines, endRun, loadFact, outcomes, pagesFact, pagingChecks, report, ackerFact, runFact, type Check } from './lib/checks';
import { embeddedUrl, openPool, postmasterPid, scratchDatabase } from './lib/db';
import { runChaos } from './lib/main';
import { measureSilence, measureSteps, silenceCheck, stepCheck, type Span } from './lib/silence';
import { AT_ONCE, crash, freePort, isAlive, killChild, newAdminToken, startMayday, stopChild, waitReady, type Child } from './lib/processes';
import { onCleanup, retrying, say, sleep, tempDir } from './lib/run';
import { ms, pct, tally } from './lib/stats';
import { standinHere } from './lib/twilio';

const a = args('chaos:kill', { embedded: { type: 'boolean', default: false }, sos: { type: 'string' }, kills: { type: 'string' } });
const embedded = Boolean(a.opts.embedded);
const cfg = {
  sos: Number(a.opts.sos ?? (a.short ? 150 : 500)),
  kills: Number(a.opts.kills ?? (a.short ? 4 : 12)),
  /** How long SOS flows keep arriving; kills go on until `kills` is reached. */
  loadSeconds: a.short ? 24 : 75,
  /** Up-time between a ready instance and its kill. */
  upMs: a.short ? [2_000, 4_500] : [2_500, 6_000],
  downMs: [200, 2_000],
  /** Chance that a start is killed again before it is ready; that the embedded server dies too. */
  startupKill: 0.2,
  pgKill: 0.4,
  overdueBudgetMs: 1_000,
  /** Issue 18's budgets: silence of a page, a step's lateness (see lib/silence.ts). */
  silenceBudgetMs: 1_500,
  stepBudgetMs: 1_000,
  /** Mayday's hedge time: a hung request counts as in flight this long after it arrived (none hang here). */
  hedgeMs: 2_000,
};
const { rand, title } = a;

interface Snapshot { at: number; sending: number; sendingTaken: number; rows: { id: string; esc_next_at: Date; seq: number }[] }
interface Restart { n: number; killAt: number; spawnAt: number; readyAt: number; startupKills: number; pgKilled: boolean; snapshot?: Snapshot }

async function main() {
  const t0 = Date.now();
  const { creds, standin } = await standinHere({ callbackDelayMs: 100, seed: a.seed });
  const adminToken = newAdminToken();
  const dataDir = tempDir('mayday-chaos-kill-');
  if (embedded) {
    onCleanup('stop the embedded PostgreSQL left behind', async () => {
      const pid = postmasterPid(dataDir);
      if (!pid || !isAlive(pid)) return;
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
    });
  }
  let dbUrl: string | undefined;
  let dbLabel = 'embedded PostgreSQL of Mayday itself (DATA_DIR)';
  if (!embedded) {
    const db = await scratchDatabase('mayday_chaos');
    dbUrl = db.url;
    dbLabel = db.label;
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  let generation = 0;
  let current!: Child;
  let killing = false;
  const unexpected: string[] = [];
  const spawn = () => {
    const c = startMayday(`mayday#${++generation}`, port, { databaseUrl: dbUrl, dataDir, adminToken, logLevel: a.logLevel, twilio: { creds, url: standin.url } });
    if (process.env.CHAOS_LOG_DIR) {
      const out = createWriteStream(join(process.env.CHAOS_LOG_DIR, `mayday-${generation}.log`));
      c.proc.stdout!.pipe(out);
      c.proc.stderr!.pipe(out);
    }
    c.proc.once('exit', () => {
      if (!killing && c === current && !stopping) unexpected.push(`${c.name} exited by itself (${c.exitInfo}); its output ends:\n${c.tail().split('\n').slice(-15).join('\n')}`);
    });
    current = c;
    return c;
  };
  let stopping = false;
  await waitReady(spawn(), '/readyz', AT_ONCE);
  say(`Mayday ready on ${base} (${dbLabel}); stand-in ${standin.url}`);

  if (embedded) dbUrl = embeddedUrl(dataDir);
  const sql = await openPool(dbUrl!, { max: 4, app: 'mayday-chaos', what: 'close the chaos pool' });

  const { world, load, acker } = await startScenario({ base, adminToken, sql, standin, creds, rand, n: cfg.sos });
  say(`world ready; ${cfg.sos} SOS over ${cfg.loadSeconds} s, ${cfg.kills} kills`);

  // --- the killer -------------------------------------------------------------------------------
  const restarts: Restart[] = [];
  let kills = 0;
  let pgKills = 0;
  const killMayday = async () => {
    killing = true;
    await killChild(current);
    killing = false;
    kills++;
  };
  /** Deadlines as the dead instance left them (its backends gone first, so nothing changes after). */
  const snapshot = async (): Promise<Snapshot | undefined> => {
    try {
      return await retrying('snapshot', async () => {
        for (let i = 0; i < 100; i++) {
          const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('mayday', 'mayday-intake')`;
          if (n === 0) break;
          await sleep(50);
        }
        const rows = await sql<{ id: string; esc_next_at: Date; seq: number }[]>`
          SELECT i.id, i.esc_next_at, h.seq FROM incidents i JOIN timeline_heads h ON h.incident_id = i.id
          WHERE i.status = 'open' AND i.esc_next_at IS NOT NULL`;
        const sendingIds = await sql<{ id: string }[]>`SELECT id FROM pages WHERE status = 'sending'`;
        const taken = standin.stats().pages ?? {};
        return { at: Date.now(), sending: sendingIds.length, sendingTaken: sendingIds.filter((r) => taken[r.id]).length, rows };
      }, 6_000);
    } catch {
      return undefined; // the database is not up (a start killed before it had one): nothing changed since the last snapshot
    }
  };
  const killPostgres = async () => {
    const pid = postmasterPid(dataDir);
    if (!pid || !isAlive(pid)) return false;
    await crash(pid);
    pgKills++;
    return true;
  };

  const killer = (async () => {
    while (kills < cfg.kills) {
      await sleep(rand.between(cfg.upMs[0], cfg.upMs[1]));
      if (unexpected.length) return;
      const killAt = Date.now();
      await killMayday();
      let snap = await snapshot();
      let pgKilled = false;
      if (embedded && rand() < cfg.pgKill) pgKilled = await killPostgres();
      await sleep(rand.between(cfg.downMs[0], cfg.downMs[1]));
      let startupKills = 0;
      let spawnAt = Date.now();
      spawn();
      while (kills < cfg.kills && rand() < cfg.startupKill) {
        await sleep(rand.between(100, 1_500));
        if (current.exited) break;
        await killMayday();
        startupKills++;
        snap = (await snapshot()) ?? snap;
        if (embedded && rand() < cfg.pgKill) pgKilled = (await killPostgres()) || pgKilled;
        spawnAt = Date.now();
        spawn();
      }
      const ready = await waitReady(current, '/readyz', AT_ONCE);
      restarts.push({ n: restarts.length + 1, killAt, spawnAt, readyAt: ready, startupKills, pgKilled, snapshot: snap });
      say(`restart ${restarts.length} (${kills}/${cfg.kills} kills): down ${((ready - killAt) / 1000).toFixed(1)} s (start ${((ready - spawnAt) / 1000).toFixed(1)} s), ${snap ? `${snap.sending} pages left sending (${snap.sendingTaken} of them taken by Twilio)` : '? pages left sending'}${startupKills ? `, killed ${startupKills}× while starting` : ''}` +
        `${pgKilled ? ', PostgreSQL SIGKILLed too' : ''}; ${snap?.rows.filter((r) => r.esc_next_at.getTime() <= ready).length ?? '?'} escalations overdue at ready`);
    }
  })();
  await Promise.all([load.run(cfg.loadSeconds), killer]);
  if (unexpected.length) throw new Error(unexpected.join('\n'));
  const loadEnd = Date.now();
  say(`load done: ${load.answers.length} answers; waiting for every incident to be acknowledged or exhausted`);

  const { open, waitedMs, end, drained } = await endRun({ sql, standin, acker, base: () => base, lead: world.L1, ackMs: 60_000, drainMs: 45_000 });

  // --- overdue escalations after each restart ---
  const ks: number[] = [], ids: string[] = [], seqs: number[] = [];
  for (const r of restarts) for (const row of r.snapshot?.rows ?? []) if (row.esc_next_at.getTime() <= r.readyAt) (ks.push(r.n), ids.push(row.id), seqs.push(row.seq));
  // The escalation.step that followed, and the pages it queued (same transaction, same instant).
  const next = ks.length ? await sql<{ k: number; id: string; type: string | null; at: Date | null; page_ids: string[] | null }[]>`
    SELECT x.k, x.id, e.type, e.at,
           (SELECT array_agg(p.id) FROM pages p WHERE p.incident_id = x.id AND p.purpose = 'page' AND date_trunc('milliseconds', p.created_at) = e.at) AS page_ids
    FROM unnest(${ks}::int[], ${ids}::uuid[], ${seqs}::int[]) AS x(k, id, seq)
    LEFT JOIN LATERAL (SELECT type, at FROM incident_events e WHERE e.incident_id = x.id AND e.seq > x.seq
                       AND e.type IN ('escalation.step', 'incident.acknowledged') ORDER BY e.seq LIMIT 1) e ON true` : [];
  const arrival = new Map<string, number>();
  for (const r of standin.requests()) if (r.pageId && r.outcome === 'accepted' && !arrival.has(r.pageId)) arrival.set(r.pageId, r.at);
  const toTwilio: number[] = [];
  const readyOf = new Map(restarts.map((r) => [r.n, r]));
  const deltas: number[] = [];
  const fromSpawn: number[] = [];
  const late: string[] = [];
  let ackedFirst = 0;
  for (const r of next) {
    const rs = readyOf.get(r.k)!;
    if (r.type === 'incident.acknowledged') {
      ackedFirst++;
      continue;
    }
    if (!r.at) {
      late.push(`restart ${r.k}: incident ${r.id} overdue, never escalated afterwards`);
      continue;
    }
    const d = r.at.getTime() - rs.readyAt;
    deltas.push(d);
    const first = Math.min(...(r.page_ids ?? []).map((id) => arrival.get(id) ?? Infinity));
    if (Number.isFinite(first)) toTwilio.push(first - rs.readyAt);
    fromSpawn.push(r.at.getTime() - rs.spawnAt);
    if (d > cfg.overdueBudgetMs) late.push(`restart ${r.k}: incident ${r.id} escalated ${d} ms after ready`);
  }

  // --- checks ---
  const checks: Check[] = [];
  checks.push(await checkStored(sql, load));
  const { pages, checks: paging } = await pagingChecks(sql, standin, { open, waitedMs, end });
  checks.push(...paging);
  checks.push(await checkTimelines(sql));
  checks.push(check(`killed at least ${cfg.kills} times, restarted every time`, kills >= cfg.kills && restarts.length > 0,
    `${kills} SIGKILLs (${restarts.reduce((x, r) => x + r.startupKills, 0)} while starting${embedded ? `; PostgreSQL SIGKILLed ${pgKills}×` : ''}), ${restarts.length} restarts`));
  // No silent seconds (issue 18): Mayday's down time (kill → ready) stops the clock.
  const down: Span[] = restarts.map((r) => ({ from: r.killAt, to: r.readyAt }));
  const measuredAt = Date.now();
  const logical = await measureSilence(sql, standin.requests(), { hedgeMs: cfg.hedgeMs, down, end: measuredAt });
  checks.push(silenceCheck(logical, { budgetMs: cfg.silenceBudgetMs, names: NAMES, down }));
  checks.push(stepCheck(await measureSteps(sql, CHAOS_POLICY, { down, end: measuredAt }), cfg.stepBudgetMs));
  checks.push(check('overdue escalations fire within 1 s of the restarted service being ready', late.length === 0 && deltas.length > 0,
    `${deltas.length} overdue escalations after ${restarts.length} restarts: next escalation.step − ready p50 ${ms(pct(deltas, 50))}, p100 ${ms(Math.max(...deltas))} ` +
    `(budget ${cfg.overdueBudgetMs} ms; − process start p100 ${ms(Math.max(...fromSpawn))}); ${ackedFirst} acknowledged first; ` +
    `its first page at Twilio − ready p50 ${ms(pct(toTwilio, 50))}, p100 ${ms(Math.max(...toTwilio))}`, late));

  // How long a send Twilio took stayed 'sending' before Mayday recorded it (page.sent): what a kill in between turns into a re-send.
  const answered = new Map<string, number>();
  for (const r of standin.requests()) if (r.pageId && r.outcome === 'accepted' && r.answeredAt !== null) answered.set(r.pageId, r.answeredAt);
  const sentRows = await sql<{ id: string; sent_ms: number }[]>`SELECT id, (extract(epoch FROM sent_at) * 1000)::float8 AS sent_ms FROM pages WHERE sent_at IS NOT NULL`;
  const recordLag = sentRows.filter((r) => answered.has(r.id)).map((r) => r.sent_ms - answered.get(r.id)!);

  const ev = await outcomes(sql);
  const st = standin.stats();
  const downs = restarts.map((r) => r.readyAt - r.killAt);
  const starts = restarts.map((r) => r.readyAt - r.spawnAt);
  const facts = [
    `database: ${dbLabel}; Mayday on ${base}, restarted ${restarts.length}×, down p50 ${ms(pct(downs, 50))}, max ${ms(Math.max(...downs))} ` +
      `(of which start → ready p50 ${ms(pct(starts, 50))}, max ${ms(Math.max(...starts))}); pages left sending by a kill (taken by Twilio): ${restarts.map((r) => (r.snapshot ? `${r.snapshot.sending} (${r.snapshot.sendingTaken})` : '?')).join(', ')}`,
    `SOS: ${cfg.sos} over ${cfg.loadSeconds} s; answers: ${tally(load.answers.map((x) => x.status ?? x.error))}`,
    `plans: ${tally(load.flows.map((f) => f.plan))}; acknowledged by a person ${ev.acked} (sms ${ev.sms}, voice ${ev.voice}); exhausted ${ev.exhausted}; ` +
      `resolved through the API at the end ${end.resolved} (${end.open} of them unacknowledged)`,
    `${ackerFact(acker)} (${tally(Object.entries(acker.stats.why).flatMap(([k, n]) => Array(n).fill(k))) || '-'})`,
    `stand-in: ${st.received} requests, ${st.accepted} accepted; ${st.callbacks.sent} callbacks taken, ${st.callbacks.failed} failed (Mayday down)`,
    `${pagesFact(pages.byStatus)}; ${pages.unknownByLease} settled by lease expiry; Twilio's 201 → page.sent recorded p50 ${ms(pct(recordLag, 50))}, p99 ${ms(pct(recordLag, 99))}, max ${ms(Math.max(...recordLag))}`,
    runFact(t0, loadEnd, waitedMs, drained.waitedMs),
    loadFact(),
  ];
  if (process.env.CHAOS_DUMP) writeFileSync(process.env.CHAOS_DUMP, JSON.stringify({ t0, restarts, acks: acker.log, answers: load.answers }));
  stopping = true;
  const ok = report(title, facts, checks);
  await stopChild(current!);
  process.exitCode = ok ? 0 : 1;
}

runChaos('chaos:kill', title, main);
