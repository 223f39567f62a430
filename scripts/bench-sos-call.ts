/**
 * `npm run bench:sos-call`: the SOS's database call alone, as it is (sql/011: the SOS and the claim
 * of its first pages in one transaction) against sql/009's version (the SOS committed, then the
 * claim in a second transaction), alternated on one scratch database so both see the same server,
 * tables and load. No HTTP, no sender: this measures the one round trip on the path of every SOS.
 *
 * Env: BENCH_CALLS (per version, default 1000), BENCH_CONCURRENCY (calls at once, default 1),
 * DATABASE_URL (a scratch database is made on that server; else the embedded PostgreSQL).
 * 200 drivers in turn, each SOS a new clientRequestId, inside the demo zone, two first pages each.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO, seedDemo } from '../src/demo/seed';
import { openPool, scratchDatabase } from './lib/db';
import { cleanup, intEnv, REPO, say } from './lib/run';
import { codeVersion, fmt, pct, pctTable } from './lib/stats';

const calls = intEnv('BENCH_CALLS', 1000);
const concurrency = intEnv('BENCH_CONCURRENCY', 1);

try {
  const db = await scratchDatabase('mayday_bench_call');
  const sql = await openPool(db.url, { migrated: true });
  await seedDemo(sql);
  const [{ id: zone }] = await sql<{ id: string }[]>`SELECT id FROM zones LIMIT 1`;
  // sql/009's procedure under another name: committed SOS, then the claim in a second transaction.
  const v009 = readFileSync(join(REPO, 'sql/009_intake_claims.sql'), 'utf8')
    .replace('CREATE PROCEDURE sos_open_and_claim(', 'CREATE PROCEDURE sos_open_and_claim_009(');
  await sql.unsafe(v009);
  const drivers = await sql<{ id: string }[]>`
    INSERT INTO users (role, name, phone, cancel_pin_hash, duress_pin_hash)
    SELECT 'driver', 'Driver ' || i, '+1555030' || lpad(i::text, 4, '0'), 'unused', 'unused' FROM generate_series(1, 200) i
    RETURNING id`;
  let turn = 0;
  const one = async (proc: string) => {
    const driver = drivers[turn++ % drivers.length].id;
    const t = performance.now();
    await sql.unsafe(
      `CALL ${proc}($1, $2, 'app', 'robbery', 'critical', $3, 'inside', $4, $5, 10, now(), NULL, $6, 30, 2, NULL, NULL, NULL)`,
      [driver, randomUUID(), zone, DEMO.here.lat, DEMO.here.lng, `driver:${driver}`],
    );
    return performance.now() - t;
  };
  const ms: Record<string, number[]> = { sos_open_and_claim: [], sos_open_and_claim_009: [] };
  const order = Object.keys(ms);
  say(`${calls} calls of each version, ${concurrency} at once, alternating`);
  for (let i = 0; i * concurrency < calls; i++) {
    for (const proc of i % 2 ? order : [...order].reverse()) {
      ms[proc].push(...(await Promise.all(Array.from({ length: concurrency }, () => one(proc)))));
    }
  }
  const { head, row } = pctTable({ labelWidth: 34 });
  const [now, before] = [ms.sos_open_and_claim, ms.sos_open_and_claim_009];
  process.stdout.write([
    '',
    `The SOS call alone: ${calls} of each version, ${concurrency} at once, alternating (${db.label}; code ${codeVersion()})`,
    head('version'),
    row('one transaction (sql/011)', now),
    row('two transactions (sql/009)', before),
    `ratio now / before: p50 ${fmt(pct(now, 50) / pct(before, 50), 2)}, p99 ${fmt(pct(now, 99) / pct(before, 99), 2)}`,
    '',
  ].join('\n'));
  await sql.end({ timeout: 5 });
} finally {
  await cleanup();
}
