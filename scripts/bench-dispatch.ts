/**
 * `npm run bench:dispatch`: dispatch requested → alarm created at the Noonlight stand-in, against
 * the same creation posted to the stand-in directly (the floor), alternating in one run.
 *
 * Mayday runs as a child process (phone simulator, no Twilio) with NOONLIGHT_* pointing at the
 * stand-in (scripts/noonlight-standin.ts, in this process, loopback). Each incident is opened and
 * acknowledged first (not measured); then, one at a time and alternating, `POST
 * /v1/incidents/{id}/dispatch` to Mayday and a bare `POST /dispatch/v1/alarms` to the stand-in,
 * both from this process with the same client. Each is timed from just before the request is sent
 * to the moment the stand-in received the alarm's creation (its own record, on this process's
 * clock): Mayday's path adds its HTTP layer, the request's record (one transaction) and the PIN's
 * seal. Goal (issue 20): Mayday's p99 ≤ 2× the floor's p99.
 *
 * Env: BENCH_DISPATCHES (each side, default 300), DATABASE_URL (a scratch database is made on that
 * server; else the embedded PostgreSQL).
 */
import { randomBytes } from 'node:crypto';
import { start as startNoonlight } from './noonlight-standin';
import { call, sosBody } from './lib/api';
import { buildWorld } from './lib/chaos';
import { openPool, scratchDatabase } from './lib/db';
import { runBench } from './lib/main';
import { AT_ONCE, freePort, maydayEnv, newAdminToken, startChild, stopChild, waitReady } from './lib/processes';
import { intEnv, now, onCleanup, say, sleep, tempDir } from './lib/run';
import { codeVersion, fmt, hardware, pct, pctTable } from './lib/stats';

const n = intEnv('BENCH_DISPATCHES', 300);

async function main() {
  const db = await scratchDatabase('mayday_bench_dispatch');
  const token = randomBytes(18).toString('base64url');
  const nl = await startNoonlight({ port: 0, token, secret: randomBytes(18).toString('base64url') });
  onCleanup('stop the Noonlight stand-in', () => nl.stop());
  const port = await freePort();
  const adminToken = newAdminToken();
  const child = startChild('mayday', 'src/entry/node.ts', port, {
    ...maydayEnv(port, { databaseUrl: db.url, dataDir: tempDir('mayday-bench-dispatch-'), adminToken, logLevel: 'silent' }),
    NOONLIGHT_API_BASE_URL: nl.base, NOONLIGHT_SERVER_TOKEN: token, NOONLIGHT_WEBHOOK_SECRET: randomBytes(18).toString('base64url'),
  });
  await waitReady(child, '/readyz', AT_ONCE);
  const sql = await openPool(db.url, { max: 2, app: 'mayday-bench', what: 'close the bench pool' });
  const world = await buildWorld(child.base, adminToken, sql, n);
  say(`opening and acknowledging ${n} incidents (not measured)`);
  const incidents: { id: string; code: number }[] = [];
  for (let i = 0; i < n; i++) {
    const sos = await call(child.base, 'POST', '/v1/sos', world.drivers[i].token, sosBody({ n: i }));
    const inc = JSON.parse(sos.text).incident as { id: string; code: number };
    await call(child.base, 'POST', `/v1/incidents/${inc.id}/ack`, world.S1.token);
    incidents.push(inc);
  }
  await sleep(2_000); // the first pages sent and settled

  const arrival = async (match: (instructions: string) => boolean) => {
    for (;;) {
      const al = [...nl.alarms.values()].find((x) => match(x.instructions ?? ''));
      if (al) return al.at;
      await sleep(1);
    }
  };
  const viaMayday: number[] = [];
  const direct: number[] = [];
  const oneMayday = async (inc: { id: string; code: number }) => {
    const t = now();
    const res = await call(child.base, 'POST', `/v1/incidents/${inc.id}/dispatch`, world.S1.token, { services: ['police'] });
    if (res.status !== 201) throw new Error(`dispatch answered ${res.status}: ${res.text.slice(0, 200)}`);
    viaMayday.push((await arrival((s) => s.startsWith(`Mayday incident #${inc.code}:`))) - t);
  };
  const oneDirect = async (i: number) => {
    const marker = `direct ${i}:`;
    const t = now();
    const res = await call(nl.base, 'POST', '/dispatch/v1/alarms', token, {
      name: 'Bench driver', phone: '15550100010', pin: '1234', location: { coordinates: { lat: 36.37, lng: -94.2, accuracy: 10 } },
      services: { police: true, fire: false, medical: false, other: false }, instructions: { entry: `${marker} robbery reported by a delivery driver` },
    });
    if (res.status !== 201) throw new Error(`the stand-in answered ${res.status}`);
    direct.push((await arrival((s) => s.startsWith(marker))) - t);
  };
  say(`${n} dispatches through Mayday and ${n} straight to the stand-in, one at a time, alternating`);
  for (let i = 0; i < n; i++) {
    if (i % 2) {
      await oneMayday(incidents[i]);
      await oneDirect(i);
    } else {
      await oneDirect(i);
      await oneMayday(incidents[i]);
    }
  }
  const { head, row } = pctTable({ labelWidth: 44, max: true });
  const ratio = pct(viaMayday, 99) / pct(direct, 99);
  process.stdout.write([
    '',
    `Dispatch requested → alarm created at the stand-in (${db.label}; ${hardware()}; code ${codeVersion()})`,
    head('path'),
    row('through Mayday (POST /v1/incidents/{id}/dispatch)', viaMayday),
    row('straight to the stand-in (the floor)', direct),
    `p99 ratio Mayday ÷ floor: ${fmt(ratio, 2)} (goal ≤ 2): ${ratio <= 2 ? 'met' : 'NOT met'}; p50 ratio ${fmt(pct(viaMayday, 50) / pct(direct, 50), 2)}`,
    '',
  ].join('\n'));
  await stopChild(child);
}

runBench(main);
