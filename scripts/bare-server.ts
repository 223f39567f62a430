/**
 * The "bare" baseline of `npm run bench:intake`: the same stack as Mayday (hono,
 * @hono/node-server, postgres.js through src/db/client with Mayday's pool size) doing the least a
 * durable intake can do: parse a JSON body and INSERT one row, one round trip.
 *
 *   POST /bare   {any JSON}  -> 201 {"id": <bigint as string>}
 *   GET  /healthz            -> 200
 *
 * Env: DATABASE_URL (required; the table bench_bare must exist), PORT (required).
 * Started as a child process by bench-intake.ts and bench-paging.ts; stops on SIGTERM/SIGINT or when its
 * parent goes away (stdin closes).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { connect } from '../src/db/client';

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
