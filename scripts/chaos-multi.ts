/**
 * `npm run chaos:multi [-- --short] [--seed N] [--sos N] [--instances N]`: several instances, one dies.
 *
 * Three Mayday instances (child processes, each on its own port and PUBLIC_BASE_URL) share one
 * database; they start at the same moment (migrations under the advisory lock). SOS flows are
 * spread over them round-robin (a failed try goes to the next, same clientRequestId); the Twilio
 * stand-in (this process, loopback) takes their pages and sends each page's callbacks to the
 * instance that sent it; responders answer some incidents (SMS replies to a live instance,
 * keypresses to the <Gather> action of the instance that placed the call). Mid-run one instance
 * is killed with SIGKILL the moment Twilio took a page from it (sent, not yet recorded), and not
 * restarted: what it had claimed but not recorded is settled by lease expiry
 * (page.unknown, a new attempt), its incidents escalate on the others.
 *
 * Properties (exit 1 when any is violated): every SOS answered 201/200 is stored, one incident
 * per SOS; no page accepted twice (the stand-in's per-page count ≤ 1: FOR UPDATE SKIP LOCKED
 * across instances); every incident reaches an acknowledgement or exhaustion (no escalation is
 * lost with the instance); the pages table agrees with the stand-in, nothing stuck after the
 * drain; every timeline verifies.
 * Database: a scratch database on DATABASE_URL's server, else an embedded PostgreSQL.
 */
import { args, startScenario } from './lib/chaos';
import { ackerFact, check, checkStored, checkTimelines, endRun, outcomes, pagesFact, pagingChecks, report, runFact, type Check } from './lib/checks';
import { openPool, scratchDatabase } from './lib/db';
import { runChaos } from './lib/main';
import { AT_ONCE, assertRunning, freePort, killChild, newAdminToken, startMayday, stopChild, waitReady, type Child } from './lib/processes';
import { say, sleep, tempDir } from './lib/run';
import { tally } from './lib/stats';
import { standinHere } from './lib/twilio';

const a = args('chaos:multi', { sos: { type: 'string' }, instances: { type: 'string' } });
const cfg = {
  instances: Number(a.opts.instances ?? 3),
  sos: Number(a.opts.sos ?? (a.short ? 120 : 400)),
  loadSeconds: a.short ? 12 : 40,
};
const { rand, title } = a;

async function main() {
  const t0 = Date.now();
  const { creds, standin } = await standinHere({ callbackDelayMs: 100, seed: a.seed });
  const db = await scratchDatabase('mayday_chaos');
  const adminToken = newAdminToken();
  const dataDir = tempDir('mayday-chaos-multi-');

  const nodes: { child: Child; base: string; killed: boolean }[] = [];
  for (let i = 0; i < cfg.instances; i++) {
    const child = startMayday(`mayday-${i + 1}`, await freePort(), { databaseUrl: db.url, dataDir, adminToken, logLevel: a.logLevel, twilio: { creds, url: standin.url } });
    nodes.push({ child, base: child.base, killed: false });
  }
  const aliveCheck = () => assertRunning(nodes.filter((n) => !n.killed).map((n) => n.child));
  await Promise.all(nodes.map((n) => waitReady(n.child, '/readyz', AT_ONCE)));
  const sql = await openPool(db.url, { max: 4, app: 'mayday-chaos', what: 'close the chaos pool' });
  say(`${nodes.length} instances ready (started together) on ${nodes.map((n) => n.base).join(', ')}; ${db.label}`);

  const live = () => nodes.filter((n) => !n.killed).map((n) => n.base);
  let rr = 0;
  const { world, load, acker } = await startScenario({
    base: nodes[0].base, adminToken, sql, standin, creds, rand, n: cfg.sos, targets: () => nodes.map((n) => n.base), smsBase: () => live()[rr++ % live().length],
  });
  await sleep(2_200); // the other instances' zone caches (2 s) see the new zone

  const victim = nodes[1 % nodes.length];
  let killAt = 0;
  let sendingAtKill = -1;
  const killer = (async () => {
    await sleep(rand.between(0.2, 0.35) * cfg.loadSeconds * 1000); // early: its leases run out (20 s) while the run goes on
    // The moment Twilio (the stand-in, in this process) takes a page from it: it has sent the page
    // and not recorded it yet, so the page is left claimed, for lease expiry to settle.
    const from = standin.requests().length;
    const until = Date.now() + 5_000;
    while (Date.now() < until && !standin.requests(from).some((r) => r.outcome === 'accepted' && r.statusCallback?.startsWith(victim.base))) await sleep(1);
    victim.killed = true;
    killAt = Date.now();
    await killChild(victim.child);
    await sleep(300);
    [{ n: sendingAtKill }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE status = 'sending' AND lease_until > now()`;
    say(`${victim.child.name} killed (SIGKILL) ${((killAt - t0) / 1000).toFixed(1)} s into the run; ${sendingAtKill} pages in 'sending' just after`);
  })();
  await Promise.all([load.run(cfg.loadSeconds), killer]);
  aliveCheck();
  const loadEnd = Date.now();
  say(`load done: ${load.answers.length} answers; waiting for every incident to be acknowledged or exhausted`);
  const { open, waitedMs, end, drained } = await endRun({ sql, standin, acker, base: () => live()[0], lead: world.L1, ackMs: 60_000, drainMs: 45_000, alive: aliveCheck });

  const checks: Check[] = [];
  checks.push(await checkStored(sql, load));
  const { total, pages, checks: paging } = await pagingChecks(sql, standin, { open, waitedMs, end });
  checks.push(...paging);
  checks.push(await checkTimelines(sql));
  // Incidents opened at the victim before it died: escalated by the others afterwards.
  const victimIds = [...new Set(load.answers.filter((x) => x.target === victim.base && x.incidentId && x.sentAt < killAt).map((x) => x.incidentId!))];
  const [after] = await sql<{ n: number; stepped: number }[]>`
    SELECT count(*)::int AS n, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id
             AND e.type IN ('escalation.step', 'escalation.exhausted', 'incident.acknowledged') AND e.at > ${new Date(killAt)}))::int AS stepped
    FROM incidents i WHERE i.id = ANY(${victimIds}::uuid[])`;
  checks.push(check(`the killed instance's incidents went on escalating on the others`, victimIds.length > 0 && open.length === 0,
    `${victimIds.length} incidents opened at ${victim.child.name} before it died; ${after.stepped} of them escalated or acknowledged after its death`));

  const st = standin.stats();
  const perTarget = nodes.map((n) => `${n.child.name}${n.killed ? ' (killed)' : ''}: ${load.answers.filter((x) => x.target === n.base && (x.status === 201 || x.status === 200)).length}`);
  const ev = await outcomes(sql);
  const facts = [
    `database: ${db.label}; ${nodes.length} instances started together (migrations under the advisory lock)`,
    `SOS: ${cfg.sos} over ${cfg.loadSeconds} s, round-robin; answers: ${tally(load.answers.map((x) => x.status ?? x.error))}; 201/200 by instance: ${perTarget.join(', ')}`,
    `${victim.child.name} SIGKILLed at ${((killAt - t0) / 1000).toFixed(1)} s with ${sendingAtKill} pages in 'sending' (all instances); ${pages.unknownByLease} pages settled by lease expiry`,
    `incidents: ${total}; acknowledged by a person ${ev.sms + ev.voice} (sms ${ev.sms}, voice ${ev.voice}); exhausted ${ev.exhausted}; resolved through the API at the end ${end.resolved} (${end.open} of them unacknowledged)`,
    ackerFact(acker),
    `stand-in: ${st.received} requests, ${st.accepted} accepted; ${st.callbacks.sent} callbacks taken, ${st.callbacks.failed} failed (to the dead instance)`,
    pagesFact(pages.byStatus),
    runFact(t0, loadEnd, waitedMs, drained.waitedMs),
  ];
  const ok = report(title, facts, checks);
  await Promise.all(nodes.filter((n) => !n.killed).map((n) => stopChild(n.child)));
  process.exitCode = ok ? 0 : 1;
}

runChaos('chaos:multi', title, main);
