/**
 * The references of `npm run bench:intake`: the same stack as Mayday (hono, @hono/node-server,
 * postgres.js through src/db/client with Mayday's pool size) doing the least an intake can do.
 *
 *   POST /bare     {any JSON}  -> 201 {"id": <bigint as string>}: one INSERT ... RETURNING, one round trip
 *   POST /durable  an SOS body -> 201 {"id": <uuid>}: the durable minimum, one statement (one commit)
 *                  inserting an incident row, its incident.opened event and its first two pages (SMS
 *                  and call) into tables shaped like Mayday's (lib/db.ts createDurableTables), no chain
 *   POST /paged    an SOS body -> 201 {"id": <uuid>}: an SOS with its paging as Mayday does it, but
 *                  without the hash chain, the escalation or anything else: the durable minimum's
 *                  statement, answered at once; then its two pages sent to Twilio (SMS and call, at
 *                  once, on kept-alive connections) and their sids recorded
 *   POST /paged/status?page=<id>  Twilio's status callback: its signature checked, the status
 *                  recorded, then -> 204
 *                  Twilio is reached, and its signatures checked, by Mayday's own adapter
 *                  (src/adapters/twilio over node:http), as Mayday does it.
 *                  Sids and statuses are recorded as Mayday's sender records them: what arrives
 *                  together (within 10 ms, up to 50) in one UPDATE (Mayday's Coalescer).
 *   GET  /healthz              -> 200
 *
 * Env: DATABASE_URL (required; the tables bench_bare and bench_incidents, bench_incident_events,
 * bench_pages must exist), PORT (required); for /paged, TWILIO_API_URL (the stand-in),
 * TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.
 * Started as a child process by bench-intake.ts and bench-paging.ts; stops on SIGTERM/SIGINT or when its
 * parent goes away (stdin closes).
 */
import { Hono, type Context } from 'hono';
import { randomUUID } from 'node:crypto';
import { nodeHttpTransport } from '../src/adapters/twilio/node-transport';
import { twilioTelephony } from '../src/adapters/twilio/twilio';
import { connect } from '../src/db/client';
import { createServer } from '../src/entry/node-server';
import { Coalescer } from '../src/paging/coalesce';
import type { SendResult, Telephony } from '../src/paging/telephony';
import { insertDurableSos, insertDurableSosPages, type DurableSos } from './lib/durable';

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

/** An SOS body as the durable minimum stores it, or the 400 to answer. */
async function durableSos(c: Context): Promise<DurableSos | Response> {
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
  return { driver, oncall, clientRequestId: b.clientRequestId, kind: b.kind, severity, lat: loc.lat, lng: loc.lng, accuracyM: loc.accuracyM ?? null };
}

app.post('/durable', async (c) => {
  const sos = await durableSos(c);
  if (sos instanceof Response) return sos;
  return c.json({ id: await insertDurableSos(sql, sos) }, 201);
});

// The paged floor reaches Twilio with Mayday's own client (its adapter over node:http).
const twilioUrl = process.env.TWILIO_API_URL;
const telephony = twilioUrl
  ? twilioTelephony({ accountSid: process.env.TWILIO_ACCOUNT_SID ?? '', authToken: process.env.TWILIO_AUTH_TOKEN ?? '', fromNumber: '+15550100000', apiBaseUrl: twilioUrl, transport: nodeHttpTransport() })
  : undefined;
const ownBase = `http://127.0.0.1:${port}`;

/** Records (page id, value) pairs with `update`, what arrives together in one statement. */
const recorder = (update: (ids: string[], values: (string | null)[]) => Promise<unknown>) => {
  const write = async (items: { id: string; value: string | null }[]) => {
    await update(items.map((i) => i.id), items.map((i) => i.value));
    return items.map(() => undefined);
  };
  return new Coalescer<{ id: string; value: string | null }, void>(write, async (i) => void (await write([i])), { maxItems: 50, maxInFlight: 3, lingerMs: 10 });
};
const sids = recorder((ids, values) => sql`UPDATE bench_pages p SET sid = v.value, status = 'sent', sent_at = now()
  FROM unnest(${ids}::uuid[], ${values}::text[]) AS v(id, value) WHERE p.id = v.id`);
const statuses = recorder((ids, values) => sql`UPDATE bench_pages p SET twilio_status = v.value
  FROM unnest(${ids}::uuid[], ${values}::text[]) AS v(id, value) WHERE p.id = v.id`);

async function sendPages(t: Telephony, pages: { sms: string; voice: string }, to: string): Promise<void> {
  const cb = (id: string) => `${ownBase}/paged/status?page=${id}`;
  const send = async (id: string, sent: Promise<SendResult>) => {
    const r = await sent;
    if (r.ok) await sids.add({ id, value: r.sid });
  };
  await Promise.all([
    send(pages.sms, t.sendSms({ pageId: pages.sms, to, body: 'SOS: a driver needs help. Reply ACK 1234.', statusCallback: cb(pages.sms) })),
    send(pages.voice, t.placeCall({ pageId: pages.voice, to, twiml: '<Response><Say>A driver needs help.</Say></Response>', script: 'A driver needs help.',
      statusCallback: cb(pages.voice), amdCallback: cb(pages.voice) })),
  ]);
}

app.post('/paged', async (c) => {
  if (!telephony) return c.json({ error: { code: 'bad_request', message: 'TWILIO_API_URL is not set' } }, 400);
  const sos = await durableSos(c);
  if (sos instanceof Response) return sos;
  const r = await insertDurableSosPages(sql, sos);
  sendPages(telephony, r, oncall.phone).catch((e: Error) => process.stderr.write(`bare-server: paging failed: ${e.message}\n`));
  return c.json({ id: r.id }, 201);
});

app.post('/paged/status', async (c) => {
  const form = Object.fromEntries(new URLSearchParams(await c.req.text()));
  const url = `${ownBase}/paged/status?page=${c.req.query('page') ?? ''}`;
  if (!telephony?.validateSignature(url, form, c.req.header('x-twilio-signature') ?? '')) return c.body(null, 403);
  const page = c.req.query('page');
  if (!page || !/^[0-9a-f-]{36}$/.test(page)) return c.body(null, 400);
  await statuses.add({ id: page, value: form.MessageStatus ?? form.CallStatus ?? null });
  return c.body(null, 204);
});

app.onError((err, c) => {
  process.stderr.write(`bare-server: ${err.message}\n`);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
});

// Mayday's own HTTP server (its timeouts: kept-alive connections live 65 s, not Node's 5 s, under
// which the stand-in's callbacks met connections being closed).
const server = createServer(app.fetch);
server.listen(port, '127.0.0.1', () => process.stdout.write(`bare-server listening on ${port}\n`));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await server.shutdown(2_000);
  await sql.end({ timeout: 2 });
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The benchmark holds our stdin open; if it dies without cleaning up, do not linger.
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.stdin.resume();
