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
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect, type Sql } from '../src/db/client';
import { startStandin } from './twilio-standin';
import { freePort, onCleanup, scratchDatabase, startChild, stopChild, type Child } from './bench/harness';
import {
  Acker, args, buildWorld, check, checkAckOrExhaustion, checkExactlyOnce, checkPages, checkStored, checkTimelines, closeAll, drain, maydayEnv,
  prng, readyAt, report, say, sleep, SosLoad, tally, twilioCreds, waitAckOrExhaustion, type Check, runChaos,
} from './chaos/lib';

const a = args({ sos: { type: 'string' }, instances: { type: 'string' } });
const cfg = {
  instances: Number(a.opts.instances ?? 3),
  sos: Number(a.opts.sos ?? (a.short ? 120 : 400)),
  loadSeconds: a.short ? 12 : 40,
};
const rand = prng(a.seed);
const title = `chaos:multi${a.short ? ' --short' : ''} (seed ${a.seed})`;

async function main() {
  const t0 = Date.now();
  const creds = twilioCreds();
  const standin = await startStandin({ accountSid: creds.sid, authToken: creds.token, callbackDelayMs: 100, seed: a.seed });
  onCleanup('close the stand-in', () => standin.close());
  const db = await scratchDatabase('mayday_chaos');
  const adminToken = randomBytes(24).toString('base64url');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'mayday-chaos-multi-'));
  onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));

  const nodes: { child: Child; base: string; killed: boolean }[] = [];
  for (let i = 0; i < cfg.instances; i++) {
    const port = await freePort();
    const child = startChild(`mayday-${i + 1}`, 'src/entry/node.ts', port,
      maydayEnv({ port, databaseUrl: db.url, dataDir, adminToken, creds, standinUrl: standin.url, logLevel: a.logLevel }));
    nodes.push({ child, base: `http://127.0.0.1:${port}`, killed: false });
  }
  const died = (n: (typeof nodes)[number]) => (n.child.exited && !n.killed ? `${n.child.name} exited (${n.child.exitInfo}); its output ends:\n${n.child.tail()}` : undefined);
  const aliveCheck = () => {
    for (const n of nodes) {
      const d = died(n);
      if (d) throw new Error(d);
    }
  };
  await Promise.all(nodes.map((n) => readyAt(n.base, () => died(n))));
  const sql: Sql = connect(db.url, { max: 4, applicationName: 'mayday-chaos' });
  onCleanup('close the chaos pool', () => sql.end({ timeout: 2 }));
  say(`${nodes.length} instances ready (started together) on ${nodes.map((n) => n.base).join(', ')}; ${db.label}`);

  const world = await buildWorld(nodes[0].base, adminToken, sql, cfg.sos);
  await sleep(2_200); // the other instances' zone caches (2 s) see the new zone
  const live = () => nodes.filter((n) => !n.killed).map((n) => n.base);
  let rr = 0;
  const load = new SosLoad(world, cfg.sos, rand, () => nodes.map((n) => n.base));
  const acker = new Acker({ standin, sql, creds, load, world, rand, smsBase: () => live()[rr++ % live().length] });
  acker.start();

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
    process.kill(-victim.child.proc.pid!, 'SIGKILL');
    while (!victim.child.exited) await sleep(10);
    await sleep(300);
    [{ n: sendingAtKill }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages WHERE status = 'sending' AND lease_until > now()`;
    say(`${victim.child.name} killed (SIGKILL) ${((killAt - t0) / 1000).toFixed(1)} s into the run; ${sendingAtKill} pages in 'sending' just after`);
  })();
  await Promise.all([load.run(cfg.loadSeconds), killer]);
  aliveCheck();
  const loadEnd = Date.now();
  say(`load done: ${load.answers.length} answers; waiting for every incident to be acknowledged or exhausted`);
  const { open, waitedMs } = await waitAckOrExhaustion(sql, 60_000, aliveCheck);
  const end = await closeAll(sql, () => live()[0], world.L1);
  const drained = await drain(sql, standin, 45_000, 1_500, aliveCheck);
  await acker.stop();
  aliveCheck();

  const checks: Check[] = [];
  checks.push(await checkStored(sql, load));
  const [{ n: total }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM incidents`;
  checks.push(checkAckOrExhaustion(total, open, waitedMs));
  checks.push(checkExactlyOnce(standin));
  const pages = await checkPages(sql, standin, end.stuck);
  checks.push(...pages.checks);
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
  const [ev] = await sql<{ exhausted: number; sms: number; voice: number }[]>`
    SELECT count(*) FILTER (WHERE exhausted_at IS NOT NULL)::int AS exhausted,
           count(*) FILTER (WHERE ack_via = 'sms')::int AS sms, count(*) FILTER (WHERE ack_via = 'voice')::int AS voice FROM incidents`;
  const facts = [
    `database: ${db.label}; ${nodes.length} instances started together (migrations under the advisory lock)`,
    `SOS: ${cfg.sos} over ${cfg.loadSeconds} s, round-robin; answers: ${tally(load.answers.map((x) => x.status ?? x.error))}; 201/200 by instance: ${perTarget.join(', ')}`,
    `${victim.child.name} SIGKILLed at ${((killAt - t0) / 1000).toFixed(1)} s with ${sendingAtKill} pages in 'sending' (all instances); ${pages.unknownByLease} pages settled by lease expiry`,
    `incidents: ${total}; acknowledged by a person ${ev.sms + ev.voice} (sms ${ev.sms}, voice ${ev.voice}); exhausted ${ev.exhausted}; resolved through the API at the end ${end.resolved} (${end.open} of them unacknowledged)`,
    `acker: ${acker.stats.sms} SMS replies + ${acker.stats.voice} keypresses, ${acker.stats.ok} taken, ${acker.stats.failed} failed`,
    `stand-in: ${st.received} requests, ${st.accepted} accepted; ${st.callbacks.sent} callbacks taken, ${st.callbacks.failed} failed (to the dead instance)`,
    `pages: ${Object.entries(pages.byStatus).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `run: load ${((loadEnd - t0) / 1000).toFixed(0)} s, ${(waitedMs / 1000).toFixed(1)} s to ack/exhaustion, ${(drained.waitedMs / 1000).toFixed(1)} s drain; total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  ];
  const ok = report(title, facts, checks);
  await Promise.all(nodes.filter((n) => !n.killed).map((n) => stopChild(n.child)));
  process.exitCode = ok ? 0 : 1;
}

runChaos('chaos:multi', title, main);
