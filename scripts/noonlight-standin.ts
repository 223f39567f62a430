/**
 * A Noonlight stand-in for loopback use (tests, chaos scripts, benchmarks): the dispatch API
 * Mayday calls, and the signed webhooks Noonlight sends back, written from
 * /work/shared/noonlight-notes.md and Noonlight's public reference. Real HTTP (node:http).
 *
 *   POST /dispatch/v1/alarms                {name, phone, pin?, location: {coordinates | address}, services?, instructions?}
 *                                           -> 201 the alarm {id, owner_id, status: ACTIVE, services, locations, created_at}
 *   POST /dispatch/v1/alarms/:id/locations  {coordinates: {lat, lng, accuracy}} (or flat: see locationForm) -> 201
 *   POST /dispatch/v1/alarms/:id/status     {status: "CANCELED", pin} -> 201 the alarm (a wrong PIN: 400)
 *   GET  /dispatch/v1/alarms/:id/status     -> 200 {id, status}
 * Every one needs `Authorization: Bearer <token>` (else 401). A location that is not one (a
 * ZIP+4, as Noonlight refuses it, or coordinates out of range) is 400 "Must provide valid location".
 *
 * Webhooks go to `webhookUrl` as Noonlight sends them: a JSON array of {event_id, event_type,
 * event_time, meta: {alarm_id}}, `X-Noonlight-Signature` the base64 HMAC-SHA256 of the body with
 * the webhook secret, retried with backoff on anything but a 2xx. They are sent on demand
 * (`emit`), and after each creation on a `schedule` if given.
 *
 * Faults, on demand and one request at a time (`fault(route, what, times)`): an answer with a
 * status (400 "Must provide valid location", 500, 503 with Retry-After...), `hang` (never
 * answered until stop), `slow` (answered after N ms), `reset` (the connection reset after the
 * request was read); `taken: true` has the request done first (the alarm exists) whatever the
 * answer. Webhook faults are `emit` options: `duplicate` (the same event_id twice), `forge` (a
 * wrong signature), and `emitOutOfOrder` (closed delivered before psap_contacted).
 *
 * Control for a stand-in run as a child process, unauthenticated (loopback only):
 *   GET /_standin/alarms · GET /_standin/requests?since=<seq> · GET /_standin/webhooks
 *   POST /_standin/faults {route, fault, times?} · POST /_standin/alarms/:id/events {type, duplicate?, forge?} or {outOfOrder: true}
 *
 * CLI: NOONLIGHT_SERVER_TOKEN=… NOONLIGHT_WEBHOOK_SECRET=… tsx scripts/noonlight-standin.ts --port 4020
 *      [--host 127.0.0.1] [--webhook-url http://127.0.0.1:3000/webhooks/noonlight] [--psap-contacted-after-ms 3000]
 *      [--closed-after-ms 10000] [--duplicate-webhooks] [--out-of-order] [--location-form nested|flat|either] [--stdin-lifeline]
 * (--stdin-lifeline: exit when stdin closes, for a parent process that holds it open.)
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { now, sleep } from './lib/run';

export type Route = 'create' | 'location' | 'cancel' | 'status';
export type EventType = 'psap_contacted' | 'closed' | 'canceled';
export type Fault =
  | { kind: 'status'; status: number; message?: string; retryAfter?: number; taken?: boolean }
  | { kind: 'hang'; taken?: boolean }
  | { kind: 'slow'; ms: number }
  | { kind: 'reset'; taken?: boolean };
/** A status alone, 'hang' or 'reset' are short for the fault with no more to it. */
export type FaultSpec = Fault | number | 'hang' | 'reset';

export interface StandinOptions {
  port?: number;
  host?: string;
  /** The bearer token Mayday must send (NOONLIGHT_SERVER_TOKEN). */
  token: string;
  /** The webhook secret (NOONLIGHT_WEBHOOK_SECRET). */
  secret: string;
  /** Where webhooks go (Mayday's /webhooks/noonlight); none are sent without it. */
  webhookUrl?: string;
  /** Events sent by themselves after each creation; `outOfOrder` sends both at closedAfterMs, closed first. */
  schedule?: { psapContactedAfterMs?: number; closedAfterMs?: number; duplicate?: boolean; outOfOrder?: boolean };
  /** The body /locations takes: `{coordinates: {…}}`, the fields flat, or either (which one Noonlight wants is unsettled). */
  locationForm?: 'nested' | 'flat' | 'either';
  /** Tries of a webhook that did not get a 2xx, after the first, and the first wait (doubling). */
  webhookRetries?: number;
  webhookBackoffMs?: number;
}

export interface StandinLocation { lat: number; lng: number; accuracy: number; createdAt: string; via: 'create' | 'nested' | 'flat' }
export interface StandinAlarm {
  id: string;
  ownerId: string;
  name: string;
  phone: string;
  pin: string | null;
  services: { police: boolean; fire: boolean; medical: boolean; other: boolean };
  instructions: string | null;
  address: Record<string, string> | null;
  locations: StandinLocation[];
  status: 'ACTIVE' | 'CANCELED' | 'CLOSED';
  /** Who cancelled: Mayday through the API, or the person with the dispatcher (a `canceled` webhook). */
  canceledBy: 'api' | 'person' | null;
  createdAt: string;
  /** When its creation arrived (epoch ms with sub-ms precision, scripts/lib/run's clock). */
  at: number;
  /** Every event sent for it, in the order sent. */
  events: { eventId: string; type: EventType; eventTime: string }[];
}
export interface StandinRequest {
  seq: number;
  route: Route | 'unknown';
  alarmId: string | null;
  at: number;
  /** 'ok', 'unauthorized', 'invalid' (a 4xx of its own), or the fault applied. */
  outcome: 'ok' | 'unauthorized' | 'invalid' | 'hang' | 'slow' | 'reset' | `status ${number}`;
  status: number | null;
  answeredAt: number | null;
  abortedAt: number | null;
}
export interface Delivery {
  alarmId: string;
  eventIds: string[];
  types: EventType[];
  /** The receiver's last answer (a status, or the network error), and how many tries it took. */
  answer: number | string;
  tries: number;
  sentAt: number;
}
export interface Standin {
  base: string;
  alarms: Map<string, StandinAlarm>;
  requests: StandinRequest[];
  webhooks: Delivery[];
  /** The next `times` requests to `route` ('any': every route) get `what` instead of the usual answer. */
  fault(route: Route | 'any', what: FaultSpec, times?: number): void;
  /** Send one signed event for the alarm (two deliveries of it with `duplicate`); resolves once delivered or given up. */
  emit(alarmId: string, type: EventType, opts?: { duplicate?: boolean; forge?: boolean; eventTime?: string }): Promise<Delivery[]>;
  /** `closed` delivered before `psap_contacted`, whose event_time is the earlier (a retried delivery overtaken). */
  emitOutOfOrder(alarmId: string): Promise<Delivery[]>;
  stop(): Promise<void>;
}

const NOONLIGHT_TYPE: Record<EventType, string> = { psap_contacted: 'alarm.psap_contacted', closed: 'alarm.closed', canceled: 'alarm.status.canceled' };
const MESSAGES: Record<number, string> = { 400: 'Must provide valid location', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 500: 'An error occurred', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
const hex = (n: number) => randomBytes(n).toString('hex');
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/** Coordinates Noonlight would take, or null. */
function coordinatesOf(v: unknown): { lat: number; lng: number; accuracy: number } | null {
  const c = obj(v);
  if (!c || !isNum(c.lat) || !isNum(c.lng) || !isNum(c.accuracy)) return null;
  if (Math.abs(c.lat) > 90 || Math.abs(c.lng) > 180 || c.accuracy < 0) return null;
  return { lat: c.lat, lng: c.lng, accuracy: c.accuracy };
}
/** A US address with a five-digit ZIP (a ZIP+4 is refused, as users of the API have met), or null. */
function addressOf(v: unknown): Record<string, string> | null {
  const a = obj(v);
  if (!a || typeof a.line1 !== 'string' || typeof a.city !== 'string' || typeof a.state !== 'string' || typeof a.zip !== 'string' || !/^\d{5}$/.test(a.zip)) return null;
  return Object.fromEntries(Object.entries(a).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function normalize(f: FaultSpec): Fault {
  if (typeof f === 'number') return { kind: 'status', status: f };
  if (f === 'hang' || f === 'reset') return { kind: f };
  return f;
}

export async function start(o: StandinOptions): Promise<Standin> {
  const alarms = new Map<string, StandinAlarm>();
  const requests: StandinRequest[] = [];
  const webhooks: Delivery[] = [];
  const faults: { route: Route | 'any'; fault: Fault; times: number }[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const hung = new Set<http.ServerResponse>();
  let stopped = false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => (timers.delete(t), fn()), ms);
    timers.add(t);
  };

  /** The alarm as Noonlight answers with it. */
  const view = (a: StandinAlarm) => ({
    id: a.id, owner_id: a.ownerId, status: a.status, services: a.services, created_at: a.createdAt,
    locations: {
      coordinates: a.locations.map((l) => ({ lat: l.lat, lng: l.lng, accuracy: l.accuracy, created_at: l.createdAt })),
      addresses: a.address ? [{ ...a.address, created_at: a.createdAt }] : [],
    },
  });

  // --- webhooks -------------------------------------------------------------------------------

  function postOnce(url: string, body: string, signature: string | null): Promise<number | string> {
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      if (signature !== null) headers['x-noonlight-signature'] = signature;
      const req = http.request(url, { method: 'POST', agent: false, timeout: 10_000, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0)).on('error', (e) => resolve(e.message));
      });
      req.on('timeout', () => req.destroy(new Error('timed out after 10 s'))).on('error', (e) => resolve(e.message));
      req.end(body);
    });
  }

  async function deliver(alarmId: string, events: { eventId: string; type: EventType; eventTime: string }[], forge = false): Promise<Delivery> {
    const body = JSON.stringify(events.map((e) => ({ event_id: e.eventId, event_type: NOONLIGHT_TYPE[e.type], event_time: e.eventTime, meta: { alarm_id: alarmId } })));
    const signature = createHmac('sha256', forge ? `not-${o.secret}` : o.secret).update(body).digest('base64');
    const d: Delivery = { alarmId, eventIds: events.map((e) => e.eventId), types: events.map((e) => e.type), answer: 'not sent: no webhookUrl', tries: 0, sentAt: now() };
    webhooks.push(d);
    if (!o.webhookUrl) return d;
    const retries = o.webhookRetries ?? 2;
    for (let i = 0; i <= retries && !stopped; i++) {
      if (i > 0) await sleep((o.webhookBackoffMs ?? 200) * 2 ** (i - 1));
      d.tries++;
      d.answer = await postOnce(o.webhookUrl, body, signature);
      if (typeof d.answer === 'number' && d.answer >= 200 && d.answer < 300) break;
    }
    return d;
  }

  /** An event for the alarm: recorded on it, with what it does to its status. */
  function record(a: StandinAlarm, type: EventType, eventTime = new Date().toISOString()) {
    const e = { eventId: hex(12), type, eventTime };
    a.events.push(e);
    if (type === 'closed' && a.status === 'ACTIVE') a.status = 'CLOSED';
    if (type === 'canceled' && a.status === 'ACTIVE') {
      a.status = 'CANCELED';
      a.canceledBy = 'person';
    }
    return e;
  }

  const alarmOf = (id: string) => {
    const a = alarms.get(id);
    if (!a) throw new Error(`no alarm ${id} at the stand-in`);
    return a;
  };

  async function emit(alarmId: string, type: EventType, opts: { duplicate?: boolean; forge?: boolean; eventTime?: string } = {}) {
    const e = record(alarmOf(alarmId), type, opts.eventTime);
    const out = [await deliver(alarmId, [e], opts.forge)];
    if (opts.duplicate) out.push(await deliver(alarmId, [e], opts.forge));
    return out;
  }

  async function emitOutOfOrder(alarmId: string) {
    const a = alarmOf(alarmId);
    const t = Date.now();
    const psap = record(a, 'psap_contacted', new Date(t - 1_000).toISOString());
    const closed = record(a, 'closed', new Date(t).toISOString());
    // Delivered in the opposite order of their times; the alarm's own record keeps the real one.
    return [await deliver(alarmId, [closed]), await deliver(alarmId, [psap])];
  }

  function scheduleFor(a: StandinAlarm) {
    const s = o.schedule;
    if (!s || !o.webhookUrl) return;
    const live = () => !stopped && a.status !== 'CANCELED';
    if (s.outOfOrder && s.closedAfterMs !== undefined) {
      later(s.closedAfterMs, () => void (live() && emitOutOfOrder(a.id)));
      return;
    }
    if (s.psapContactedAfterMs !== undefined) later(s.psapContactedAfterMs, () => void (live() && emit(a.id, 'psap_contacted', { duplicate: s.duplicate })));
    if (s.closedAfterMs !== undefined) later(s.closedAfterMs, () => void (live() && emit(a.id, 'closed', { duplicate: s.duplicate })));
  }

  // --- the API --------------------------------------------------------------------------------

  type Answer = { status: number; body?: unknown };
  const invalid = (status: number, message: string): Answer => ({ status, body: { message } });

  /** What Noonlight does with an authenticated request; `undefined` body means no JSON could be read. */
  function handle(route: Route, alarmId: string | null, body: Record<string, unknown> | null): Answer {
    if (route === 'create') {
      if (!body) return invalid(400, 'Invalid JSON');
      if (typeof body.name !== 'string' || !body.name.trim()) return invalid(400, 'Must provide a name');
      if (typeof body.phone !== 'string' || !/^\+?\d{10,15}$/.test(body.phone)) return invalid(400, 'Must provide a valid phone number');
      const loc = obj(body.location);
      const coords = coordinatesOf(loc?.coordinates);
      const address = coords ? null : addressOf(loc?.address);
      if (!coords && !address) return invalid(400, 'Must provide valid location');
      const s = obj(body.services);
      const services = s
        ? { police: s.police === true, fire: s.fire === true, medical: s.medical === true, other: s.other === true }
        : { police: true, fire: false, medical: false, other: false };
      const createdAt = new Date().toISOString();
      const a: StandinAlarm = {
        id: hex(12), ownerId: hex(12), name: body.name, phone: body.phone,
        pin: typeof body.pin === 'string' || typeof body.pin === 'number' ? String(body.pin) : null,
        services, instructions: typeof obj(body.instructions)?.entry === 'string' ? (obj(body.instructions)!.entry as string) : null,
        address, locations: coords ? [{ ...coords, createdAt, via: 'create' }] : [],
        status: 'ACTIVE', canceledBy: null, createdAt, at: now(), events: [],
      };
      alarms.set(a.id, a);
      scheduleFor(a);
      return { status: 201, body: view(a) };
    }
    const a = alarmId ? alarms.get(alarmId) : undefined;
    if (!a) return invalid(404, 'Alarm not found');
    if (route === 'status') return { status: 200, body: { id: a.id, status: a.status } };
    if (!body) return invalid(400, 'Invalid JSON');
    if (route === 'location') {
      const form = o.locationForm ?? 'either';
      const nested = form !== 'flat' ? coordinatesOf(body.coordinates) : null;
      const flat = !nested && form !== 'nested' ? coordinatesOf(body) : null;
      const c = nested ?? flat;
      if (!c) return invalid(400, 'Must provide valid location');
      const l: StandinLocation = { ...c, createdAt: new Date().toISOString(), via: nested ? 'nested' : 'flat' };
      a.locations.push(l);
      return { status: 201, body: { lat: l.lat, lng: l.lng, accuracy: l.accuracy, created_at: l.createdAt } };
    }
    // cancel
    if (body.status !== 'CANCELED') return invalid(400, 'status must be CANCELED');
    if (a.status !== 'ACTIVE') return { status: 201, body: view(a) };
    if (a.pin !== null && String(body.pin ?? '') !== a.pin) return invalid(400, 'Invalid PIN');
    a.status = 'CANCELED';
    a.canceledBy = 'api';
    return { status: 201, body: view(a) };
  }

  function routeOf(method: string, path: string): { route: Route; alarmId: string | null } | null {
    if (method === 'POST' && path === '/dispatch/v1/alarms') return { route: 'create', alarmId: null };
    const m = /^\/dispatch\/v1\/alarms\/([^/]+)\/(locations|status)$/.exec(path);
    if (!m) return null;
    const alarmId = decodeURIComponent(m[1]);
    if (method === 'POST' && m[2] === 'locations') return { route: 'location', alarmId };
    if (method === 'POST' && m[2] === 'status') return { route: 'cancel', alarmId };
    if (method === 'GET' && m[2] === 'status') return { route: 'status', alarmId };
    return null;
  }

  const json = (res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    if (body === undefined) return void res.writeHead(status, headers).end();
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };

  /** The /_standin control endpoints. */
  async function control(method: string, path: string, url: URL, body: Record<string, unknown> | null, res: http.ServerResponse) {
    if (method === 'GET' && path === '/_standin/alarms') return json(res, 200, { alarms: [...alarms.values()] });
    if (method === 'GET' && path === '/_standin/webhooks') return json(res, 200, { webhooks });
    if (method === 'GET' && path === '/_standin/requests') {
      const since = Math.max(0, Number(url.searchParams.get('since') ?? 0) || 0);
      return json(res, 200, { requests: requests.slice(since), next: requests.length });
    }
    if (method === 'POST' && path === '/_standin/faults' && body) {
      self.fault((body.route ?? 'any') as Route | 'any', body.fault as FaultSpec, Number(body.times ?? 1));
      return json(res, 204);
    }
    const m = /^\/_standin\/alarms\/([^/]+)\/events$/.exec(path);
    if (method === 'POST' && m && body && alarms.has(decodeURIComponent(m[1]))) {
      const id = decodeURIComponent(m[1]);
      const deliveries = body.outOfOrder ? await emitOutOfOrder(id)
        : await emit(id, body.type as EventType, { duplicate: body.duplicate === true, forge: body.forge === true });
      return json(res, 200, { deliveries });
    }
    return json(res, 404, { message: 'Not Found' });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65_536) chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://standin');
        const method = req.method ?? 'GET';
        let body: Record<string, unknown> | null = null;
        try {
          body = size > 65_536 ? null : obj(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          body = null;
        }
        if (url.pathname.startsWith('/_standin/')) return control(method, url.pathname, url, body, res);

        const r = routeOf(method, url.pathname);
        const entry: StandinRequest = { seq: requests.length + 1, route: r?.route ?? 'unknown', alarmId: r?.alarmId ?? null, at: now(), outcome: 'ok', status: null, answeredAt: null, abortedAt: null };
        requests.push(entry);
        res.once('finish', () => void (entry.answeredAt = now()));
        res.once('close', () => void (entry.answeredAt === null && !res.writableFinished && (entry.abortedAt = now())));
        const answer = (a: Answer, headers?: Record<string, string>) => {
          entry.status = a.status;
          json(res, a.status, a.body, headers);
        };

        if (req.headers.authorization !== `Bearer ${o.token}`) {
          entry.outcome = 'unauthorized';
          return answer(invalid(401, 'Unauthorized'));
        }
        if (!r) {
          entry.outcome = 'invalid';
          return answer(invalid(404, 'Not Found'));
        }
        const i = faults.findIndex((f) => f.route === 'any' || f.route === r.route);
        const fault = i >= 0 ? faults[i].fault : undefined;
        if (i >= 0 && --faults[i].times <= 0) faults.splice(i, 1);

        const done = () => handle(r.route, r.alarmId, body);
        if (!fault) {
          const a = done();
          if (a.status >= 400) entry.outcome = 'invalid';
          return answer(a);
        }
        if (fault.kind === 'slow') {
          entry.outcome = 'slow';
          const a = done();
          return later(fault.ms, () => answer(a));
        }
        if (fault.taken) done();
        if (fault.kind === 'reset') {
          entry.outcome = 'reset';
          return void req.socket.resetAndDestroy();
        }
        if (fault.kind === 'hang') {
          entry.outcome = 'hang';
          hung.add(res);
          return void res.once('close', () => hung.delete(res));
        }
        entry.outcome = `status ${fault.status}`;
        answer(invalid(fault.status, fault.message ?? MESSAGES[fault.status] ?? `HTTP ${fault.status}`),
          fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : undefined);
      })().catch((e) => {
        if (!res.headersSent) json(res, 500, { message: `stand-in: ${(e as Error).message}` });
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  const self: Standin = {
    base: `http://${o.host ?? '127.0.0.1'}:${port}`,
    alarms,
    requests,
    webhooks,
    fault(route, what, times = 1) {
      faults.push({ route, fault: normalize(what), times });
    },
    emit,
    emitOutOfOrder,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const res of hung) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return self;
}

async function cli() {
  const { values: v } = parseArgs({ options: {
    port: { type: 'string', default: '4020' }, host: { type: 'string' }, 'webhook-url': { type: 'string' },
    'psap-contacted-after-ms': { type: 'string' }, 'closed-after-ms': { type: 'string' }, 'duplicate-webhooks': { type: 'boolean' },
    'out-of-order': { type: 'boolean' }, 'location-form': { type: 'string' }, 'stdin-lifeline': { type: 'boolean' } } });
  const token = process.env.NOONLIGHT_SERVER_TOKEN, secret = process.env.NOONLIGHT_WEBHOOK_SECRET;
  if (!token || !secret) throw new Error('NOONLIGHT_SERVER_TOKEN and NOONLIGHT_WEBHOOK_SECRET are required');
  const ms = (name: string, s: string | undefined) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: milliseconds, an integer >= 0 (got ${s})`);
    return n;
  };
  const form = v['location-form'];
  if (form !== undefined && !['nested', 'flat', 'either'].includes(form)) throw new Error(`--location-form: nested, flat or either (got ${form})`);
  const psap = ms('psap-contacted-after-ms', v['psap-contacted-after-ms']), closed = ms('closed-after-ms', v['closed-after-ms']);
  const s = await start({
    port: ms('port', v.port), host: v.host, token, secret, webhookUrl: v['webhook-url'], locationForm: form as StandinOptions['locationForm'],
    schedule: psap !== undefined || closed !== undefined
      ? { psapContactedAfterMs: psap, closedAfterMs: closed, duplicate: v['duplicate-webhooks'], outOfOrder: v['out-of-order'] }
      : undefined,
  });
  process.stdout.write(`noonlight-standin listening on ${s.base}\n`);
  const stop = () => void s.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (v['stdin-lifeline']) process.stdin.on('end', stop).on('error', stop).resume();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli().catch((e) => {
    process.stderr.write(`noonlight-standin: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
