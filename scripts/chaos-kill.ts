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
 *    that ready time, p100 ≤ 1 s.
 * At the end (once every incident was acknowledged or exhausted) pages stuck past their time are
 * noted, every incident is resolved through the API (paging and check-ins stop), the run drains,
 * the checks run, and Mayday stops with SIGTERM.
 */
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect, type Sql } from '../src/db/client';
import { startStandin } from './twilio-standin';
import { freePort, onCleanup, scratchDatabase, startChild, stopChild, type Child } from './bench/harness';
import {
  Acker, args, buildWorld, check, checkAckOrExhaustion, checkExactlyOnce, checkPages, checkStored, checkTimelines, closeAll, drain, maydayEnv,
  ms, pct, prng, readyAt, report, retrying, say, sleep, SosLoad, tally, twilioCreds, waitAckOrExhaustion, type Check, runChaos,
} from './chaos/lib';

const a = args({ embedded: { type: 'boolean', default: false }, sos: { type: 'string' }, kills: { type: 'string' } });
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
};
const rand = prng(a.seed);
const title = `chaos:kill${a.short ? ' --short' : ''}${embedded ? ' --embedded' : ''} (seed ${a.seed})`;

interface Snapshot { at: number; sending: number; sendingTaken: number; rows: { id: string; esc_next_at: Date; seq: number }[] }
interface Restart { n: number; killAt: number; spawnAt: number; readyAt: number; startupKills: number; pgKilled: boolean; snapshot?: Snapshot }

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

async function main() {
  const t0 = Date.now();
  const creds = twilioCreds();
  const standin = await startStandin({ accountSid: creds.sid, authToken: creds.token, callbackDelayMs: 100, seed: a.seed });
  onCleanup('close the stand-in', () => standin.close());
  const adminToken = randomBytes(24).toString('base64url');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'mayday-chaos-kill-'));
  onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  const postmaster = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) || undefined : undefined);
  if (embedded) {
    onCleanup('stop the embedded PostgreSQL left behind', async () => {
      const pid = postmaster();
      if (!pid || !alive(pid)) return;
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 200 && alive(pid); i++) await sleep(50);
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
  const env = maydayEnv({ port, databaseUrl: dbUrl, dataDir, adminToken, creds, standinUrl: standin.url, logLevel: a.logLevel });

  let generation = 0;
  let current!: Child;
  let killing = false;
  const unexpected: string[] = [];
  const spawn = () => {
    const c = startChild(`mayday#${++generation}`, 'src/entry/node.ts', port, env);
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
  const exitedInfo = () => (current.exited ? current.exitInfo ?? 'exited' : undefined);
  spawn();
  await readyAt(base, exitedInfo);
  say(`Mayday ready on ${base} (${dbLabel}); stand-in ${standin.url}`);

  if (embedded) {
    const state = JSON.parse(readFileSync(join(dataDir, 'embedded-pg.json'), 'utf8')) as { port: number; password: string };
    dbUrl = `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/mayday`;
  }
  const sql: Sql = connect(dbUrl!, { max: 4, applicationName: 'mayday-chaos' });
  onCleanup('close the chaos pool', () => sql.end({ timeout: 2 }));

  const world = await buildWorld(base, adminToken, sql, cfg.sos);
  const load = new SosLoad(world, cfg.sos, rand, () => [base]);
  const acker = new Acker({ standin, sql, creds, load, world, rand });
  acker.start();
  say(`world ready; ${cfg.sos} SOS over ${cfg.loadSeconds} s, ${cfg.kills} kills`);

  // --- the killer -------------------------------------------------------------------------------
  const restarts: Restart[] = [];
  let kills = 0;
  let pgKills = 0;
  const killMayday = async () => {
    const c = current;
    killing = true;
    try {
      process.kill(-c.proc.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    while (!c.exited) await sleep(10);
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
    const pid = postmaster();
    if (!pid || !alive(pid)) return false;
    try {
      process.kill(-pid, 'SIGKILL'); // the postmaster and its backends: a crash, not a shutdown
    } catch {
      process.kill(pid, 'SIGKILL');
    }
    while (alive(pid)) await sleep(10);
    pgKills++;
    return true;
  };

  let loadDone = false;
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
      const ready = await readyAt(base, exitedInfo);
      restarts.push({ n: restarts.length + 1, killAt, spawnAt, readyAt: ready, startupKills, pgKilled, snapshot: snap });
      say(`restart ${restarts.length} (${kills}/${cfg.kills} kills): down ${((ready - killAt) / 1000).toFixed(1)} s (start ${((ready - spawnAt) / 1000).toFixed(1)} s), ${snap ? `${snap.sending} pages left sending (${snap.sendingTaken} of them taken by Twilio)` : '? pages left sending'}${startupKills ? `, killed ${startupKills}× while starting` : ''}` +
        `${pgKilled ? ', PostgreSQL SIGKILLed too' : ''}; ${snap?.rows.filter((r) => r.esc_next_at.getTime() <= ready).length ?? '?'} escalations overdue at ready`);
    }
  })();
  await Promise.all([load.run(cfg.loadSeconds).then(() => (loadDone = true)), killer]);
  void loadDone;
  if (unexpected.length) throw new Error(unexpected.join('\n'));
  const loadEnd = Date.now();
  say(`load done: ${load.answers.length} answers; waiting for every incident to be acknowledged or exhausted`);

  const { open, waitedMs } = await waitAckOrExhaustion(sql, 60_000);
  const end = await closeAll(sql, () => base, world.L1);
  const drained = await drain(sql, standin, 45_000);
  say(`resolved the ${end.resolved} incidents left (${end.open} unacknowledged); drained in ${(drained.waitedMs / 1000).toFixed(1)} s`);
  await acker.stop();

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
  const [{ n: total }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM incidents`;
  checks.push(checkAckOrExhaustion(total, open, waitedMs));
  checks.push(checkExactlyOnce(standin));
  const pages = await checkPages(sql, standin, end.stuck);
  checks.push(...pages.checks);
  checks.push(await checkTimelines(sql));
  checks.push(check(`killed at least ${cfg.kills} times, restarted every time`, kills >= cfg.kills && restarts.length > 0,
    `${kills} SIGKILLs (${restarts.reduce((x, r) => x + r.startupKills, 0)} while starting${embedded ? `; PostgreSQL SIGKILLed ${pgKills}×` : ''}), ${restarts.length} restarts`));
  checks.push(check('overdue escalations fire within 1 s of the restarted service being ready', late.length === 0 && deltas.length > 0,
    `${deltas.length} overdue escalations after ${restarts.length} restarts: next escalation.step − ready p50 ${ms(pct(deltas, 50))}, p100 ${ms(Math.max(...deltas))} ` +
    `(budget ${cfg.overdueBudgetMs} ms; − process start p100 ${ms(Math.max(...fromSpawn))}); ${ackedFirst} acknowledged first; ` +
    `its first page at Twilio − ready p50 ${ms(pct(toTwilio, 50))}, p100 ${ms(Math.max(...toTwilio))}`, late));

  const [ev] = await sql<{ exhausted: number; acked: number; sms: number; voice: number }[]>`
    SELECT count(*) FILTER (WHERE exhausted_at IS NOT NULL)::int AS exhausted, count(*) FILTER (WHERE ack_via IN ('sms', 'voice'))::int AS acked,
           count(*) FILTER (WHERE ack_via = 'sms')::int AS sms, count(*) FILTER (WHERE ack_via = 'voice')::int AS voice FROM incidents`;
  const st = standin.stats();
  const downs = restarts.map((r) => r.readyAt - r.killAt);
  const starts = restarts.map((r) => r.readyAt - r.spawnAt);
  const facts = [
    `database: ${dbLabel}; Mayday on ${base}, restarted ${restarts.length}×, down p50 ${ms(pct(downs, 50))}, max ${ms(Math.max(...downs))} ` +
      `(of which start → ready p50 ${ms(pct(starts, 50))}, max ${ms(Math.max(...starts))}); pages left sending by a kill (taken by Twilio): ${restarts.map((r) => (r.snapshot ? `${r.snapshot.sending} (${r.snapshot.sendingTaken})` : '?')).join(', ')}`,
    `SOS: ${cfg.sos} over ${cfg.loadSeconds} s; answers: ${tally(load.answers.map((x) => x.status ?? x.error))}`,
    `plans: ${tally(load.flows.map((f) => f.plan))}; acknowledged by a person ${ev.acked} (sms ${ev.sms}, voice ${ev.voice}); exhausted ${ev.exhausted}; ` +
      `resolved through the API at the end ${end.resolved} (${end.open} of them unacknowledged)`,
    `acker: ${acker.stats.sms} SMS replies + ${acker.stats.voice} keypresses, ${acker.stats.ok} taken, ${acker.stats.failed} failed (${tally(Object.entries(acker.stats.why).flatMap(([k, n]) => Array(n).fill(k))) || '-'})`,
    `stand-in: ${st.received} requests, ${st.accepted} accepted; ${st.callbacks.sent} callbacks taken, ${st.callbacks.failed} failed (Mayday down)`,
    `pages: ${Object.entries(pages.byStatus).map(([k, n]) => `${k} ${n}`).join(', ')}; ${pages.unknownByLease} settled by lease expiry`,
    `run: load ${((loadEnd - t0) / 1000).toFixed(0)} s, then ${(waitedMs / 1000).toFixed(1)} s to ack/exhaustion, ${(drained.waitedMs / 1000).toFixed(1)} s drain; total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  ];
  if (process.env.CHAOS_DUMP) writeFileSync(process.env.CHAOS_DUMP, JSON.stringify({ t0, restarts, acks: acker.log, answers: load.answers }));
  stopping = true;
  const ok = report(title, facts, checks);
  await stopChild(current!);
  process.exitCode = ok ? 0 : 1;
}

runChaos('chaos:kill', title, main);
