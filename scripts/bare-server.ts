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
 *   POST /paged/status?page=<id>  Twilio's status callback: its signature checked (the twilio
 *                  library, as Mayday checks it), the status recorded, then -> 204
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
import http from 'node:http';
import twilio from 'twilio';
import { connect } from '../src/db/client';
import { createServer } from '../src/entry/node-server';
import { Coalescer } from '../src/paging/coalesce';
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

// The paged floor: Twilio as Mayday reaches it (form posts, Basic auth, one kept-alive pool).
const tw = { url: process.env.TWILIO_API_URL, sid: process.env.TWILIO_ACCOUNT_SID ?? '', token: process.env.TWILIO_AUTH_TOKEN ?? '' };
const twAgent = new http.Agent({ keepAlive: true, maxSockets: 50 });
const ownBase = `http://127.0.0.1:${port}`;

function twilioPost(resource: 'Messages' | 'Calls', params: Record<string, string>): Promise<string | undefined> {
  const body = new URLSearchParams({ From: '+15550100000', ...params }).toString();
  return new Promise((resolve) => {
    const req = http.request(`${tw.url}/2010-04-01/Accounts/${tw.sid}/${resource}.json`, {
      method: 'POST', agent: twAgent, timeout: 10_000,
      headers: { authorization: 'Basic ' + Buffer.from(`${tw.sid}:${tw.token}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
        try {
          resolve(res.statusCode === 201 ? (JSON.parse(text) as { sid?: string }).sid : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy()).on('error', () => resolve(undefined));
    req.end(body);
  });
}

/** Records (page id, value) pairs in `column`, what arrives together in one UPDATE. */
const recorder = (column: 'sid' | 'twilio_status') => {
  const write = async (items: { id: string; value: string | null }[]) => {
    const ids = items.map((i) => i.id);
    const values = items.map((i) => i.value);
    if (column === 'sid') {
      await sql`UPDATE bench_pages p SET sid = v.value, status = 'sent', sent_at = now()
                FROM unnest(${ids}::uuid[], ${values}::text[]) AS v(id, value) WHERE p.id = v.id`;
    } else {
      await sql`UPDATE bench_pages p SET twilio_status = v.value
                FROM unnest(${ids}::uuid[], ${values}::text[]) AS v(id, value) WHERE p.id = v.id`;
    }
    return items.map(() => undefined);
  };
  return new Coalescer<{ id: string; value: string | null }, void>(write, async (i) => void (await write([i])), { maxItems: 50, maxInFlight: 3, lingerMs: 10 });
};
const sids = recorder('sid');
const statuses = recorder('twilio_status');

async function sendPages(pages: { sms: string; voice: string }, to: string): Promise<void> {
  const cb = (id: string) => `${ownBase}/paged/status?page=${id}`;
  const send = async (id: string, sid: Promise<string | undefined>) => {
    const value = await sid;
    if (value !== undefined) await sids.add({ id, value });
  };
  await Promise.all([
    send(pages.sms, twilioPost('Messages', { To: to, Body: 'SOS: a driver needs help. Reply ACK 1234.', StatusCallback: cb(pages.sms) })),
    send(pages.voice, twilioPost('Calls', { To: to, Twiml: '<Response><Say>A driver needs help.</Say></Response>', StatusCallback: cb(pages.voice),
      StatusCallbackEvent: 'answered completed' })),
  ]);
}

app.post('/paged', async (c) => {
  if (!tw.url) return c.json({ error: { code: 'bad_request', message: 'TWILIO_API_URL is not set' } }, 400);
  const sos = await durableSos(c);
  if (sos instanceof Response) return sos;
  const r = await insertDurableSosPages(sql, sos);
  sendPages(r, oncall.phone).catch((e: Error) => process.stderr.write(`bare-server: paging failed: ${e.message}\n`));
  return c.json({ id: r.id }, 201);
});

app.post('/paged/status', async (c) => {
  const form = Object.fromEntries(new URLSearchParams(await c.req.text()));
  const url = `${ownBase}/paged/status?page=${c.req.query('page') ?? ''}`;
  if (!twilio.validateRequest(tw.token, c.req.header('x-twilio-signature') ?? '', url, form)) return c.body(null, 403);
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
