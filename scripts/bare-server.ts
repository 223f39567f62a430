/**
 * The references of `npm run bench:intake`: the same stack as Mayday (hono, @hono/node-server,
 * postgres.js through src/db/client with Mayday's pool size) doing the least an intake can do.
 *
 *   POST /bare     {any JSON}  -> 201 {"id": <bigint as string>}: one INSERT ... RETURNING, one round trip
 *   POST /durable  an SOS body -> 201 {"id": <uuid>}: the durable minimum, one statement (one commit)
 *                  inserting an incident row, its incident.opened event and its first two pages (SMS
 *                  and call) into tables shaped like Mayday's (lib/db.ts createDurableTables), no chain
 *   GET  /healthz              -> 200
 *
 * Env: DATABASE_URL (required; the tables bench_bare and bench_incidents, bench_incident_events,
 * bench_pages must exist), PORT (required).
 * Started as a child process by bench-intake.ts and bench-paging.ts; stops on SIGTERM/SIGINT or when its
 * parent goes away (stdin closes).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import { connect } from '../src/db/client';
import { insertDurableSos } from './lib/durable';

/** Mayday's pool size: see src/entry/node.ts. */
export const POOL_MAX = 20;

const url = process.env.DATABASE_URL;
const port = Number(process.env.PORT);
if (!url || !Number.isInteger(port) || port <= 0) {
  process.stderr.write('bare-server: DATABASE_URL and PORT are required\n');
  process.exit(2);
}

const sql = connect(url, { max: POOL_MAX, applicationName: 'mayday-bench-bare' });
const app = new Hono();

app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.post('/bare', async (c) => {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: { code: 'bad_request', message: 'body is not JSON' } }, 400);
  }
  const [row] = await sql<{ id: string }[]>`INSERT INTO bench_bare (payload) VALUES (${sql.json(body as never)}) RETURNING id`;
  return c.json({ id: row.id }, 201);
});
// No authentication and no zone lookup: one driver and one on-call responder, made up here.
const driver = randomUUID();
const oncall = { id: randomUUID(), phone: '+15550000001' };
const SEVERE = new Set(['robbery', 'shooting', 'assault']);

app.post('/durable', async (c) => {
  let b: { clientRequestId?: string; kind?: string; location?: { lat?: number; lng?: number; accuracyM?: number } };
  try {
    b = await c.req.json();
  } catch {
    return c.json({ error: { code: 'bad_request', message: 'body is not JSON' } }, 400);
  }
  const loc = b.location ?? {};
  if (!b.clientRequestId || !b.kind || typeof loc.lat !== 'number' || typeof loc.lng !== 'number') {
    return c.json({ error: { code: 'bad_request', message: 'clientRequestId, kind and location are required' } }, 400);
  }
  const severity = SEVERE.has(b.kind) ? 'critical' : 'high';
  const id = await insertDurableSos(sql, {
    driver, oncall, clientRequestId: b.clientRequestId, kind: b.kind, severity, lat: loc.lat, lng: loc.lng, accuracyM: loc.accuracyM ?? null,
  });
  return c.json({ id }, 201);
});
app.onError((err, c) => {
  process.stderr.write(`bare-server: ${err.message}\n`);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
});

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => process.stdout.write(`bare-server listening on ${port}\n`));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await new Promise<void>((res) => {
    server.close(() => res());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  await sql.end({ timeout: 2 });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The benchmark holds our stdin open; if it dies without cleaning up, do not linger.
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.stdin.resume();
