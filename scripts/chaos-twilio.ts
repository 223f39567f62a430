/**
 * `npm run chaos:twilio [-- --short] [--seed N] [--sos N] [--fault-rate R]`: Twilio misbehaving.
 *
 * The Twilio stand-in (this process, loopback) answers 30 % of Mayday's requests with 500, 503,
 * 429 or a hang past the client's 10 s timeout (taken, but Mayday cannot know: it must hedge
 * with the next attempt after 2 s, and record page.unknown at its timeout), and
 * sends status callbacks late (1 s apart, and for a quarter of the pages only after 11 s, past the
 * client's timeout), 30 % of them twice, each page's in random order. One supervisor's number is
 * refused as invalid (400, error 21211) on both channels: failed, failed over, and never a loop.
 * SOS flows arrive; some incidents are acknowledged by SMS reply or keypress, others run to
 * exhaustion (steps at 0, 3, 6 s, repeats every 10 s); then pages stuck past their time are noted,
 * every incident is resolved through the API (paging and check-ins stop) and the run drains
 * (nothing due or sending, the stand-in idle with no callback still to send).
 *
 * Properties, checked against the pages table, the timeline and the stand-in's own record
 * (exit 1 when any is violated):
 *  - no page accepted twice (per page id ≤ 1); every sent/delivered page accepted exactly once
 *    with the SID Mayday stored; every page the stand-in accepted is recorded as gone out;
 *  - every page ends sent, delivered, failed, voicemail, canceled or unknown — nothing stuck in
 *    queued/sending; every failed page has page.failed; no canceled page went out; every
 *    unknown one has page.unknown and a next attempt (unless it was the last or the incident
 *    no longer needed it); every page refused with 429/5xx was tried again until taken or failed;
 *  - every incident was paged, reached an acknowledgement or exhaustion, and its timeline verifies;
 *    every SOS answered 201/200 is stored;
 *  - no silent seconds (issue 18; lib/silence.ts says exactly what is measured): no logical page
 *    waits in silence (no attempt open at the stand-in, none accepted; a hung request counts as
 *    open for the 2 s hedge time only) over 1.5 s; every SOS reaches the on-call by an SMS the
 *    stand-in accepted within 3.5 s of the press; every escalation step fires within 1 s of due.
 * Database: a scratch database on DATABASE_URL's server, else an embedded PostgreSQL.
 */
import { type FaultKind } from './twilio-standin';
import { args, CHAOS_POLICY, NAMES, PHONES, startScenario } from './lib/chaos';
import { ackerFact, check, loadFact, checkStored, checkTimelines, endRun, outcomes, pagesFact, pagingChecks, report, runFact, type Check } from './lib/checks';
import { openPool, scratchDatabase } from './lib/db';
import { runChaos } from './lib/main';
import { firstSmsCheck, measureSilence, measureSteps, silenceCheck, stepCheck } from './lib/silence';
import { AT_ONCE, assertRunning, freePort, newAdminToken, startMayday, stopChild, waitReady } from './lib/processes';
import { say, tempDir } from './lib/run';
import { tally } from './lib/stats';
import { standinHere } from './lib/twilio';

const a = args('chaos:twilio', { sos: { type: 'string' }, 'fault-rate': { type: 'string' } });
const cfg = {
  sos: Number(a.opts.sos ?? (a.short ? 100 : 400)),
  loadSeconds: a.short ? 10 : 40,
  faultRate: Number(a.opts['fault-rate'] ?? 0.3),
  faultKinds: ['500', '503', '429', 'hang'] as FaultKind[],
  /** Past the Twilio client's 10 s timeout. */
  hangMs: 12_000,
  callbackDelayMs: 1_000,
  duplicateCallbacks: 0.3,
  /** A quarter of the pages get their callbacks only after 11 s: a hung send is recorded unknown first. */
  lateCallbacks: { rate: 0.25, delayMs: 11_000 },
  /** S3's number (paged at step 1 by SMS) is not a valid number for Twilio: 400/21211 on both channels. */
  invalidNumbers: [PHONES.S3],
  /** Issue 18's budgets: silence of a page, SOS → first SMS to the on-call, a step's lateness (see lib/silence.ts). */
  silenceBudgetMs: 1_500,
  firstSmsBudgetMs: 3_500,
  stepBudgetMs: 1_000,
  /** Mayday's hedge time: a hung request counts as in flight this long after it arrived. */
  hedgeMs: 2_000,
};
const { rand, title } = a;

async function main() {
  const t0 = Date.now();
  const { creds, standin } = await standinHere({
    seed: a.seed, faults: { rate: cfg.faultRate, kinds: cfg.faultKinds }, hangMs: cfg.hangMs,
    callbackDelayMs: cfg.callbackDelayMs, duplicateCallbacks: cfg.duplicateCallbacks, shuffleCallbacks: true, lateCallbacks: cfg.lateCallbacks,
    invalidNumbers: cfg.invalidNumbers,
  });
  const db = await scratchDatabase('mayday_chaos');
  const adminToken = newAdminToken();
  const dataDir = tempDir('mayday-chaos-twilio-');
  const port = await freePort();
  const mayday = startMayday('mayday', port, { databaseUrl: db.url, dataDir, adminToken, logLevel: a.logLevel, twilio: { creds, url: standin.url } });
  const base = mayday.base;
  const alive = () => assertRunning([mayday]);
  await waitReady(mayday, '/readyz', AT_ONCE);
  const sql = await openPool(db.url, { max: 4, app: 'mayday-chaos', what: 'close the chaos pool' });
  say(`Mayday ready on ${base} (${db.label}); stand-in ${standin.url} with ${cfg.faultRate * 100} % faults (${cfg.faultKinds.join(', ')}, hang ${cfg.hangMs / 1000} s)`);

  const { world, load, acker } = await startScenario({ base, adminToken, sql, standin, creds, rand, n: cfg.sos });
  await load.run(cfg.loadSeconds);
  alive();
  const loadEnd = Date.now();
  say(`load done: ${load.answers.length} answers; waiting for every incident to be acknowledged or exhausted`);
  const { open, waitedMs, end, drained } = await endRun({
    sql, standin, acker, base: () => base, lead: world.L1, ackMs: 90_000, drainMs: 90_000, alive, draining: `hangs last ${cfg.hangMs / 1000} s, backoff up to 8 s`,
  });

  const checks: Check[] = [];
  checks.push(await checkStored(sql, load));
  const { total, pages, checks: paging } = await pagingChecks(sql, standin, { open, waitedMs, end });
  checks.push(...paging);

  // Pages the stand-in refused (429/5xx) or hung on, and how they ended.
  const reqs = standin.requests();
  const refused = new Set(reqs.filter((r) => r.pageId && ['500', '503', '429'].includes(r.outcome)).map((r) => r.pageId!));
  const hung = new Set(reqs.filter((r) => r.pageId && r.outcome === 'hang').map((r) => r.pageId!));
  const tries = new Map<string, number>();
  for (const r of reqs) if (r.pageId) tries.set(r.pageId, (tries.get(r.pageId) ?? 0) + 1);
  const ends = await sql<{ id: string; status: string; tries: number; was_unknown: boolean; next_status: string | null }[]>`
    SELECT p.id, p.status, p.tries,
      EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = p.incident_id AND e.type = 'page.unknown' AND e.data ->> 'pageId' = p.id::text) AS was_unknown,
      (SELECT r.status FROM pages r WHERE r.incident_id = p.incident_id AND r.recipient_id = p.recipient_id AND r.channel = p.channel
              AND r.step = p.step AND r.round = p.round AND r.attempt = p.attempt + 1) AS next_status
    FROM pages p WHERE p.id = ANY(${[...new Set([...refused, ...hung])]}::uuid[])`;
  const endOf = new Map(ends.map((e) => [e.id, e]));
  const accepted = standin.stats().pages ?? {};
  const refusedBad = [...refused].filter((id) => {
    const e = endOf.get(id);
    // 429 and 503 are sent again as the same attempt; a 500 may have been taken, so it is settled
    // as unknown with a new attempt (the unknown-outcome check above follows that one).
    return !e || !(accepted[id] === 1 || e.status === 'failed' || e.status === 'canceled' || e.status === 'unknown');
  });
  checks.push(check('every page refused with 429/5xx was tried again until taken (or failed with page.failed)', refusedBad.length === 0,
    `${refused.size} pages refused at least once: ${tally([...refused].map((id) => endOf.get(id)?.status))}; most tries of one page ${Math.max(0, ...tries.values())}`,
    refusedBad.map((id) => `page ${id} refused, then ${endOf.get(id)?.status ?? 'no row'} (accepted ${accepted[id] ?? 0}×)`)));
  const hungBad = [...hung].filter((id) => {
    const e = endOf.get(id);
    return !e || !(['sent', 'delivered', 'voicemail'].includes(e.status) || (e.status === 'unknown'));
  });
  checks.push(check('every page whose answer hung past the timeout was settled by its callbacks or as unknown', hungBad.length === 0,
    `${hung.size} hung: ${tally([...hung].map((id) => endOf.get(id)?.status))}; recorded unknown first ${[...hung].filter((id) => endOf.get(id)?.was_unknown).length} ` +
      `(then: ${tally([...hung].filter((id) => endOf.get(id)?.was_unknown).map((id) => `${endOf.get(id)?.status}, next attempt ${endOf.get(id)?.next_status ?? 'none'}`)) || '-'})`,
    hungBad.map((id) => `page ${id} hung, then ${endOf.get(id)?.status ?? 'no row'}`)));
  // The invalid number: each page to it failed with page.failed, failed over to the other channel
  // once per step and round, and nothing more (no failover of a failover, back and forth).
  const inv = await sql<{ id: string; status: string; channel: string; purpose: string; attempt: number; failed_ev: boolean }[]>`
    SELECT p.id, p.status, p.channel, p.purpose, p.attempt,
      EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = p.incident_id AND e.type = 'page.failed' AND e.data ->> 'pageId' = p.id::text) AS failed_ev
    FROM pages p WHERE p.phone = ANY(${cfg.invalidNumbers}::text[])`;
  const [{ per_step: perStep, steps }] = await sql<{ per_step: number; steps: number }[]>`
    SELECT coalesce(max(n), 0)::int AS per_step, count(*)::int AS steps FROM (
      SELECT count(*) AS n FROM pages WHERE phone = ANY(${cfg.invalidNumbers}::text[]) AND purpose IN ('page', 'failover')
      GROUP BY incident_id, step, round) q`;
  const invBad = inv.filter((p) => p.status !== 'canceled' && (p.status !== 'failed' || !p.failed_ev));
  checks.push(check('pages to an invalid number fail with page.failed and fail over once, never back and forth', invBad.length === 0 && perStep <= 2 && inv.length > 0,
    `${inv.length} pages to ${cfg.invalidNumbers.join(', ')}: ${tally(inv.map((p) => `${p.purpose}/${p.channel} ${p.status}`))}; at most ${perStep} per step and round (${steps} steps and rounds; 2 = the page and its failover)`,
    [...invBad.map((p) => `page ${p.id} to an invalid number ended ${p.status}${p.failed_ev ? '' : ' without page.failed'}`),
      ...(perStep > 2 ? [`${perStep} pages for one step and round: failover of a failover`] : [])]));
  checks.push(await checkTimelines(sql));

  // No silent seconds (issue 18).
  const measuredAt = Date.now();
  const logical = await measureSilence(sql, reqs, { hedgeMs: cfg.hedgeMs, end: measuredAt });
  checks.push(silenceCheck(logical, { budgetMs: cfg.silenceBudgetMs, names: NAMES }));
  checks.push(await firstSmsCheck(sql, reqs, load.flows, PHONES.S1, cfg.firstSmsBudgetMs));
  checks.push(stepCheck(await measureSteps(sql, CHAOS_POLICY, { end: measuredAt }), cfg.stepBudgetMs));

  const st = standin.stats();
  const ev = await outcomes(sql);
  const facts = [
    `database: ${db.label}; Mayday on ${base}`,
    `SOS: ${cfg.sos} over ${cfg.loadSeconds} s; answers: ${tally(load.answers.map((x) => x.status ?? x.error))}`,
    `stand-in: ${st.received} requests: ${st.accepted} accepted (${st.faults.hang} of them hung ${cfg.hangMs / 1000} s), refused 500 ×${st.faults['500']}, 503 ×${st.faults['503']}, ` +
      `429 ×${st.faults['429']}, invalid number ×${st.invalid}; ${st.callbacks.sent} callbacks taken (${cfg.duplicateCallbacks * 100} % doubled, shuffled, ${cfg.callbackDelayMs} ms apart, ${cfg.lateCallbacks.rate * 100} % of pages' after ${cfg.lateCallbacks.delayMs / 1000} s), ${st.callbacks.failed} failed`,
    `incidents: ${total}; acknowledged by a person ${ev.sms + ev.voice} (sms ${ev.sms}, voice ${ev.voice}); exhausted ${ev.exhausted}; resolved through the API at the end ${end.resolved} (${end.open} of them unacknowledged)`,
    ackerFact(acker),
    pagesFact(pages.byStatus),
    runFact(t0, loadEnd, waitedMs, drained.waitedMs),
    loadFact(),
  ];
  const ok = report(title, facts, checks);
  await stopChild(mayday);
  process.exitCode = ok ? 0 : 1;
}

runChaos('chaos:twilio', title, main);
