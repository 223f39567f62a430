/**
 * `npm run chaos:dispatch [-- --short] [--seed N]`: emergency dispatch while Mayday is killed.
 *
 * Mayday (a child process, phone simulator, no Twilio) dispatches through the Noonlight stand-in
 * (scripts/noonlight-standin.ts, in this process, real HTTP), which sends its signed webhooks
 * (911 contacted, closed; each delivered twice) back and retries them while Mayday is down. Flows
 * run as a client would, retrying every request until it is answered: an SOS, the on-call's
 * acknowledgement, then POST /v1/incidents/{id}/dispatch. Meanwhile Mayday is SIGKILLed and
 * restarted several times: at random moments (between an acknowledgement and its dispatch's
 * record, between the record and the center's answer...), and, a few times, while the stand-in
 * holds a creation it has already made the alarm for (a hang: Mayday can never learn its id).
 *
 * Properties (exit 1 when any is violated): every flow's dispatch request is answered; no
 * dispatch is left `requested` (one cut short becomes `dispatch.failed`, interrupted, within the
 * engine's 10 s); no alarm exists at the center without the timeline saying so (its id in a
 * dispatch.created, or its incident has a dispatch.failed marked ambiguous); every failure paged
 * the safety lead; each webhook event of a known alarm that the stand-in saw taken is on the
 * timeline once; every timeline verifies.
 * Database: a scratch database on DATABASE_URL's server, else an embedded PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { start as startNoonlight, type Standin } from './noonlight-standin';
import { call, sosBody } from './lib/api';
import { args, buildWorld } from './lib/chaos';
import { check, checkTimelines, loadFact, report, type Check } from './lib/checks';
import { openPool, scratchDatabase } from './lib/db';
import { runChaos } from './lib/main';
import { AT_ONCE, freePort, killChild, maydayEnv, newAdminToken, startChild, waitReady, type Child } from './lib/processes';
import { onCleanup, say, sleep, tempDir } from './lib/run';

const a = args('chaos:dispatch', { flows: { type: 'string' }, kills: { type: 'string' } });
const cfg = {
  flows: Number(a.opts.flows ?? (a.short ? 24 : 120)),
  kills: Number(a.opts.kills ?? (a.short ? 4 : 12)),
  loadSeconds: a.short ? 12 : 45,
};
const { rand, title } = a;

async function main() {
  const t0 = Date.now();
  const db = await scratchDatabase('mayday_chaos');
  const adminToken = newAdminToken();
  const dataDir = tempDir('mayday-chaos-dispatch-');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const token = randomBytes(18).toString('base64url');
  const secret = randomBytes(18).toString('base64url');
  const nl: Standin = await startNoonlight({
    port: 0, token, secret, webhookUrl: `${base}/webhooks/noonlight`,
    schedule: { psapContactedAfterMs: 300, closedAfterMs: 1_500, duplicate: true }, webhookRetries: 10, webhookBackoffMs: 250,
  });
  onCleanup('stop the Noonlight stand-in', () => nl.stop());
  const env = {
    ...maydayEnv(port, { databaseUrl: db.url, dataDir, adminToken, logLevel: a.logLevel }),
    PUBLIC_BASE_URL: base, NOONLIGHT_API_BASE_URL: nl.base, NOONLIGHT_SERVER_TOKEN: token, NOONLIGHT_WEBHOOK_SECRET: secret,
  };
  let restarts = 0;
  let child: Child = startChild('mayday', 'src/entry/node.ts', port, env);
  await waitReady(child, '/readyz', AT_ONCE);
  const sql = await openPool(db.url, { max: 3, app: 'mayday-chaos', what: 'close the chaos pool' });
  const world = await buildWorld(base, adminToken, sql, cfg.flows);
  say(`Mayday ready on ${base}, the Noonlight stand-in on ${nl.base}; ${db.label}`);

  /** A request retried (network errors, 5xx) until it is answered, as a client would. */
  const ask = async (method: string, path: string, who: string, body: unknown) => {
    for (let tries = 0; ; tries++) {
      try {
        const r = await call(base, method, path, who, body, 10_000);
        if (r.status < 500) return r;
      } catch {
        // Mayday is down or restarting: try again.
      }
      if (tries > 2_000) throw new Error(`${method} ${path}: no answer after ${tries} tries`);
      await sleep(50);
    }
  };

  const answers: { incidentId: string; code: number; dispatch: number }[] = [];
  const flow = async (i: number) => {
    await sleep((i / cfg.flows) * cfg.loadSeconds * 1000);
    const d = world.drivers[i];
    const body = sosBody({ n: i, random: rand, uuid: rand.uuid });
    const sos = await ask('POST', '/v1/sos', d.token, body);
    if (sos.status !== 201 && sos.status !== 200) throw new Error(`SOS answered ${sos.status}: ${sos.text.slice(0, 200)}`);
    const inc = JSON.parse(sos.text).incident as { id: string; code: number };
    const ack = await ask('POST', `/v1/incidents/${inc.id}/ack`, world.S1.token, undefined);
    if (ack.status !== 200 && ack.status !== 409) throw new Error(`ack answered ${ack.status}: ${ack.text.slice(0, 200)}`);
    const dispatch = await ask('POST', `/v1/incidents/${inc.id}/dispatch`, world.S1.token, { services: ['police'] });
    answers.push({ incidentId: inc.id, code: inc.code, dispatch: dispatch.status });
  };

  let hangs = 0;
  const killer = async () => {
    for (let k = 0; k < cfg.kills; k++) {
      await sleep(rand.between(0.4, 1.2) * (cfg.loadSeconds * 1000) / cfg.kills);
      if (k % 2 === 1) {
        // The center makes the alarm and never answers: kill Mayday while it waits.
        const from = nl.requests.length;
        nl.fault('create', { kind: 'hang', taken: true });
        const until = Date.now() + 3_000;
        while (Date.now() < until && !nl.requests.slice(from).some((r) => r.route === 'create' && r.outcome === 'hang')) await sleep(5);
        if (nl.requests.slice(from).some((r) => r.route === 'create' && r.outcome === 'hang')) hangs++;
      }
      await killChild(child);
      restarts++;
      child = startChild(`mayday (restart ${restarts})`, 'src/entry/node.ts', port, env);
      await waitReady(child, '/readyz', AT_ONCE);
    }
  };
  await Promise.all([Promise.all(Array.from({ length: cfg.flows }, (_, i) => flow(i))), killer()]);
  say(`${answers.length} flows answered; ${restarts} kills (${hangs} while the center held a creation); waiting for every dispatch to settle`);

  // A request cut short is failed by the engine 10 s after it was recorded; webhooks are retried.
  const settleUntil = Date.now() + 60_000;
  for (;;) {
    const [{ n }] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM dispatches WHERE status = 'requested'`;
    if (n === 0 || Date.now() > settleUntil) break;
    await sleep(500);
  }
  await sleep(4_000); // the last webhooks and pages

  const checks: Check[] = [];
  const unanswered = answers.filter((x) => x.dispatch !== 201 && x.dispatch !== 200);
  checks.push(check('every flow’s dispatch request was answered 201/200', answers.length === cfg.flows && unanswered.length === 0,
    `${answers.length}/${cfg.flows} answered; ${unanswered.length} with another status`, unanswered.map((x) => `#${x.code}: ${x.dispatch}`)));

  const rows = await sql<{ id: string; incident_id: string; status: string; alarm_id: string | null }[]>`SELECT id, incident_id, status, alarm_id FROM dispatches`;
  const stuck = rows.filter((r) => r.status === 'requested');
  const without = answers.filter((x) => !rows.some((r) => r.incident_id === x.incidentId));
  checks.push(check('no dispatch left requested, none lost: every flow’s incident has a dispatch with an outcome', stuck.length === 0 && without.length === 0,
    `${rows.length} dispatches: ${Object.entries(rows.reduce<Record<string, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {})).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    [...stuck.map((r) => `dispatch ${r.id} still requested`), ...without.map((x) => `#${x.code}: no dispatch`)]));

  const events = await sql<{ incident_id: string; type: string; data: any }[]>`
    SELECT incident_id, type, data FROM incident_events WHERE type LIKE 'dispatch.%'`;
  const codes = new Map((await sql<{ id: string; code: number }[]>`SELECT id, code FROM incidents`).map((r) => [r.code, r.id]));
  const known = new Set(events.filter((e) => e.type === 'dispatch.created').map((e) => String(e.data.alarmId)));
  const saidAmbiguous = new Set(events.filter((e) => e.type === 'dispatch.failed' && e.data.ambiguous === true).map((e) => e.incident_id));
  const alarms = [...nl.alarms.values()];
  const silent = alarms.filter((al) => {
    if (known.has(al.id)) return false;
    const code = Number(/#(\d+)/.exec(al.instructions ?? '')?.[1]);
    return !saidAmbiguous.has(codes.get(code) ?? '');
  });
  checks.push(check('no alarm at the center without the timeline saying so (its id recorded, or an ambiguous failure)', silent.length === 0,
    `${alarms.length} alarms at the stand-in: ${alarms.filter((al) => known.has(al.id)).length} recorded by id, ${alarms.length - silent.length - alarms.filter((al) => known.has(al.id)).length} covered by an ambiguous dispatch.failed, ${silent.length} silent`,
    silent.map((al) => `alarm ${al.id} (${al.instructions?.slice(0, 40)}) unknown to the timeline`)));

  const failures = events.filter((e) => e.type === 'dispatch.failed' && e.data.reason !== 'cancel');
  const unpaged = failures.filter((e) => !Array.isArray(e.data.paged) || !e.data.paged.includes(world.L1.id));
  const [{ pages }] = await sql<{ pages: number }[]>`SELECT count(*)::int AS pages FROM pages WHERE purpose = 'dispatch' AND note = 'failed' AND recipient_id = ${world.L1.id}`;
  checks.push(check('every failure paged the safety lead', unpaged.length === 0 && (failures.length === 0 || pages >= failures.length),
    `${failures.length} dispatch.failed (${failures.filter((e) => e.data.reason === 'interrupted').length} interrupted), ${pages} pages to the safety lead`,
    unpaged.map((e) => `incident ${e.incident_id}: dispatch.failed without the safety lead paged`)));

  // Each event id the stand-in delivered with a 2xx, of an alarm Mayday knows, is on the timeline
  // exactly once (an alarm whose id Mayday never learnt is covered by its ambiguous failure).
  const delivered = new Set(nl.webhooks.filter((w) => typeof w.answer === 'number' && w.answer < 300 && known.has(w.alarmId)).flatMap((w) => w.eventIds));
  const recorded = events.filter((e) => e.data.eventId).map((e) => String(e.data.eventId));
  const twice = recorded.filter((id, i) => recorded.indexOf(id) !== i);
  const missing = [...delivered].filter((id) => !recorded.includes(id));
  checks.push(check('each webhook event taken is on the timeline once', twice.length === 0 && missing.length === 0,
    `${delivered.size} event ids of known alarms taken (each delivered twice), ${recorded.length} recorded`, [...twice.map((id) => `${id} twice`), ...missing.map((id) => `${id} taken but not recorded`)]));
  checks.push(await checkTimelines(sql));

  const facts = [
    `database: ${db.label}; ${cfg.flows} flows over ${cfg.loadSeconds} s; ${restarts} SIGKILLs and restarts, ${hangs} of them while the center held a creation it had made`,
    `center: ${nl.requests.length} requests (${nl.requests.filter((r) => r.route === 'create').length} creations), ${alarms.length} alarms, ${nl.webhooks.length} webhook deliveries`,
    `run: ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    loadFact(),
  ];
  const ok = report(title, facts, checks);
  process.exitCode = ok ? 0 : 1;
}

runChaos('chaos:dispatch', title, main);
