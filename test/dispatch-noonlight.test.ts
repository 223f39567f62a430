/**
 * The Noonlight adapter (src/dispatch/noonlight.ts) and the webhook reader (src/dispatch/webhook.ts),
 * with msw standing in for Noonlight's API: the requests it makes (paths, auth, bodies), which
 * answers it retries and which it reports at once, the flat-form fallback for locations, and
 * what a webhook signature accepts. A reset needs a real socket (msw's network error carries no
 * code), so those tests use a tiny node:http server on loopback. No database.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmRequest } from '../src/dispatch/center';
import { noonlightCenter, type NoonlightConfig } from '../src/dispatch/noonlight';
import { parseNoonlightEvents, verifyNoonlightSignature } from '../src/dispatch/webhook';
import { AppError } from '../src/errors';
import { createLogger } from '../src/log';

const BASE = 'https://noonlight.test';
const TOKEN = 'nl-server-token-5f2a9c';
const cfg: NoonlightConfig = { apiBaseUrl: BASE, serverToken: TOKEN, backoffMs: [20, 40] };

const alarm: AlarmRequest = {
  name: 'Dana Kim',
  phone: '+15550100010',
  pin: '4821',
  location: { lat: 36.3729, lng: -94.2088, accuracy: 7.2 },
  services: { police: true, fire: false, medical: true },
  instructions: 'Robbery, incident #1042. Driver pressed SOS.',
};

type Seen = { method: string; path: string; auth: string | null; contentType: string | null; body: any };
const seen: Seen[] = [];
/** Answers for the next requests, in order, per route; a route with none left answers as Noonlight does. */
type Answer = () => Response | Promise<Response>;
const queued: Record<'create' | 'location' | 'cancel', Answer[]> = { create: [], location: [], cancel: [] };

const record = (route: keyof typeof queued, ok: (body: any, id?: string) => Response) =>
  async ({ request, params }: { request: Request; params: Record<string, string | readonly string[] | undefined> }) => {
    const body = await request.json().catch(() => null);
    seen.push({ method: request.method, path: new URL(request.url).pathname, auth: request.headers.get('authorization'), contentType: request.headers.get('content-type'), body });
    const next = queued[route].shift();
    return next ? next() : ok(body, params.id as string | undefined);
  };

const server = setupServer(
  http.post(`${BASE}/dispatch/v1/alarms`, record('create', (b) => HttpResponse.json({
    id: 'alarm-1', status: 'ACTIVE', owner_id: 'owner-1', services: b.services, created_at: new Date().toISOString(),
    locations: { coordinates: [{ ...b.location.coordinates, created_at: new Date().toISOString() }] },
  }, { status: 201 }))),
  http.post(`${BASE}/dispatch/v1/alarms/:id/locations`, record('location', (b) => HttpResponse.json({ ...(b.coordinates ?? b), created_at: new Date().toISOString() }, { status: 201 }))),
  http.post(`${BASE}/dispatch/v1/alarms/:id/status`, record('cancel', () => HttpResponse.json({ status: 'CANCELED' }, { status: 201 }))),
);
// Loopback goes to the real network: the reset and refused-connection tests' own sockets.
beforeAll(() => server.listen({ onUnhandledRequest: (req, print) => (new URL(req.url).hostname === '127.0.0.1' ? undefined : print.error()) }));
afterEach(() => {
  seen.length = 0;
  for (const k of Object.keys(queued) as (keyof typeof queued)[]) queued[k].length = 0;
});
afterAll(() => server.close());

const answer = (route: keyof typeof queued, ...answers: Answer[]) => void queued[route].push(...answers);
const status = (s: number, body: Record<string, unknown> = { message: `HTTP ${s}` }, headers?: Record<string, string>): Answer => () => HttpResponse.json(body, { status: s, headers });

/** Every log line the adapter writes, at trace level. */
function capture() {
  const lines: string[] = [];
  const out = new Writable({ write(chunk, _e, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  return { lines, log: createLogger({ level: 'trace', destination: out }) };
}

describe('noonlight adapter: requests', () => {
  it('creates an alarm: POST /dispatch/v1/alarms with the bearer token, the driver, the PIN, the nested coordinates, every service and the instructions', async () => {
    const r = await noonlightCenter(cfg).createAlarm(alarm);
    expect(r).toEqual({ ok: true, attempts: 1, ambiguous: false, alarmId: 'alarm-1', status: 'ACTIVE', services: alarm.services });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/dispatch/v1/alarms', auth: `Bearer ${TOKEN}` });
    expect(seen[0].contentType).toMatch(/^application\/json/);
    expect(seen[0].body).toEqual({
      name: 'Dana Kim',
      phone: '15550100010',
      pin: '4821',
      location: { coordinates: { lat: 36.3729, lng: -94.2088, accuracy: 8 } },
      services: { police: true, fire: false, medical: true, other: false },
      instructions: { entry: 'Robbery, incident #1042. Driver pressed SOS.' },
    });
  });

  it('says which services Noonlight really gave the alarm, so a dropped one cannot go unnoticed', async () => {
    answer('create', () => HttpResponse.json({ id: 'alarm-2', status: 'ACTIVE', services: { police: true } }, { status: 201 }));
    const r = await noonlightCenter(cfg).createAlarm({ ...alarm, services: { police: true, fire: true, medical: false } });
    expect(r).toMatchObject({ ok: true, alarmId: 'alarm-2', services: { police: true, fire: false, medical: false } });
  });

  it('refuses, without a request, an alarm with no location: Noonlight needs one, and a human must act', async () => {
    expect(await noonlightCenter(cfg).createAlarm({ ...alarm, location: null })).toMatchObject({ ok: false, kind: 'refused', attempts: 0, ambiguous: false });
    expect(seen).toEqual([]);
  });

  it('a 2xx without an alarm id is unknown and ambiguous: an alarm exists that nothing can update or cancel', async () => {
    answer('create', () => new HttpResponse('<html>ok</html>', { status: 201 }));
    expect(await noonlightCenter(cfg).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'unknown', status: 201, ambiguous: true });
  });

  it('adds a location in the nested form: POST /dispatch/v1/alarms/{id}/locations {coordinates}', async () => {
    expect(await noonlightCenter(cfg).addLocation('alarm/1', { lat: 36.3731, lng: -94.2091, accuracy: 12 })).toEqual({ ok: true, attempts: 1, ambiguous: false });
    expect(seen).toEqual([expect.objectContaining({ path: '/dispatch/v1/alarms/alarm%2F1/locations', auth: `Bearer ${TOKEN}`,
      body: { coordinates: { lat: 36.3731, lng: -94.2091, accuracy: 12 } } })]);
  });

  it('sends the location again flat when the nested form gets 400, and keeps to the flat form after that', async () => {
    const center = noonlightCenter(cfg);
    answer('location', status(400, { message: 'coordinates is not allowed' }));
    expect(await center.addLocation('alarm-1', { lat: 36.1, lng: -94.1, accuracy: 5 })).toEqual({ ok: true, attempts: 2, ambiguous: false });
    expect(seen.map((s) => s.body)).toEqual([{ coordinates: { lat: 36.1, lng: -94.1, accuracy: 5 } }, { lat: 36.1, lng: -94.1, accuracy: 5 }]);
    seen.length = 0;
    expect(await center.addLocation('alarm-1', { lat: 36.2, lng: -94.2, accuracy: 5 })).toMatchObject({ ok: true, attempts: 1 });
    expect(seen.map((s) => s.body)).toEqual([{ lat: 36.2, lng: -94.2, accuracy: 5 }]);
  });

  it('a 422 also tries the other form once; refused in both, it says so for both', async () => {
    answer('location', status(422, { message: 'lat out of range' }), status(422, { message: 'Must provide valid location' }));
    const r = await noonlightCenter(cfg).addLocation('alarm-1', { lat: 36.1, lng: -94.1, accuracy: 5 });
    expect(r).toMatchObject({ ok: false, kind: 'refused', status: 422, attempts: 2 });
    expect(!r.ok && r.message).toMatch(/nested form: lat out of range; flat form: Must provide valid location/);
    expect(seen).toHaveLength(2);
  });

  it('does not change form on another refusal (404: no such alarm)', async () => {
    answer('location', status(404, { message: 'alarm not found' }));
    expect(await noonlightCenter(cfg).addLocation('nope', { lat: 36.1, lng: -94.1, accuracy: 5 })).toMatchObject({ ok: false, kind: 'refused', status: 404, attempts: 1 });
    expect(seen).toHaveLength(1);
  });

  it('cancels with the alarm’s PIN: POST /dispatch/v1/alarms/{id}/status {status: CANCELED, pin}', async () => {
    expect(await noonlightCenter(cfg).cancelAlarm('alarm-1', '4821')).toEqual({ ok: true, attempts: 1, ambiguous: false, status: 'CANCELED' });
    expect(seen).toEqual([expect.objectContaining({ path: '/dispatch/v1/alarms/alarm-1/status', auth: `Bearer ${TOKEN}`, body: { status: 'CANCELED', pin: '4821' } })]);
  });
});

describe('noonlight adapter: failures and retries', () => {
  it.each([503, 429])('retries a %i (not processed) and succeeds on the next attempt', async (s) => {
    answer('create', status(s));
    expect(await noonlightCenter(cfg).createAlarm(alarm)).toMatchObject({ ok: true, alarmId: 'alarm-1', attempts: 2, ambiguous: false });
    expect(seen).toHaveLength(2);
    expect(seen[1].body).toEqual(seen[0].body);
  });

  it('stops after three attempts, within the budget: unknown, with the last status, not ambiguous', async () => {
    answer('create', status(429), status(503), status(429), status(429));
    const t0 = Date.now();
    const r = await noonlightCenter({ apiBaseUrl: BASE, serverToken: TOKEN }).createAlarm(alarm);
    expect(r).toMatchObject({ ok: false, kind: 'unknown', status: 429, attempts: 3, ambiguous: false });
    expect(seen).toHaveLength(3);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('starts no retry past the budget, however many attempts are allowed', async () => {
    for (let i = 0; i < 10; i++) answer('create', status(503));
    const t0 = Date.now();
    const r = await noonlightCenter({ ...cfg, maxAttempts: 10, backoffMs: [150], retryBudgetMs: 400 }).createAlarm(alarm);
    expect(r).toMatchObject({ ok: false, kind: 'unknown', status: 503, attempts: 3 });
    expect(Date.now() - t0).toBeLessThan(400 + 200);
  });

  it('obeys a 429’s Retry-After, and gives up at once when it does not fit the budget', async () => {
    answer('cancel', status(429, { message: 'slow down' }, { 'retry-after': '0' }));
    expect(await noonlightCenter(cfg).cancelAlarm('alarm-1', '4821')).toMatchObject({ ok: true, attempts: 2 });
    seen.length = 0;
    answer('cancel', status(429, { message: 'slow down' }, { 'retry-after': '30' }));
    expect(await noonlightCenter(cfg).cancelAlarm('alarm-1', '4821')).toMatchObject({ ok: false, kind: 'unknown', status: 429, attempts: 1 });
    expect(seen).toHaveLength(1);
  });

  it.each([400, 401, 403, 404, 409])('never retries a %i: refused at once', async (s) => {
    answer('create', status(s, { message: 'Must provide valid location' }));
    expect(await noonlightCenter(cfg).createAlarm(alarm)).toEqual({ ok: false, kind: 'refused', status: s, message: 'Must provide valid location', attempts: 1, ambiguous: false });
    expect(seen).toHaveLength(1);
  });

  it.each([500, 502, 504])('never retries a %i on create: unknown and ambiguous (the alarm may exist)', async (s) => {
    answer('create', status(s, { message: 'An error occurred' }));
    expect(await noonlightCenter(cfg).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'unknown', status: s, attempts: 1, ambiguous: true });
    expect(seen).toHaveLength(1);
  });

  it('a timeout is unknown and ambiguous, and not sent again', async () => {
    answer('create', async () => (await delay(1_000), HttpResponse.json({ id: 'late' }, { status: 201 })));
    const t0 = Date.now();
    expect(await noonlightCenter({ ...cfg, attemptTimeoutMs: 150 }).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'unknown', code: 'timeout', attempts: 1, ambiguous: true });
    expect(Date.now() - t0).toBeLessThan(900);
    expect(seen).toHaveLength(1);
  });

  describe('over a real socket', () => {
    let sock: Server;
    let resets = 0;
    let got = 0;
    beforeAll(async () => {
      sock = createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d)).on('end', () => {
          got++;
          if (resets > 0) return void (resets--, req.socket.resetAndDestroy());
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'alarm-r', status: 'ACTIVE' }));
        });
      });
      await new Promise<void>((r) => sock.listen(0, '127.0.0.1', () => r()));
    });
    afterAll(() => new Promise<void>((r) => sock.close(() => r())));
    const local = () => ({ ...cfg, apiBaseUrl: `http://127.0.0.1:${(sock.address() as AddressInfo).port}` });

    it('retries a connection reset, and says the earlier attempt may have created an alarm too', async () => {
      resets = 1;
      got = 0;
      expect(await noonlightCenter(local()).createAlarm(alarm)).toMatchObject({ ok: true, alarmId: 'alarm-r', attempts: 2, ambiguous: true });
      expect(got).toBe(2);
    });

    it('resets on every attempt: unknown after three, ambiguous', async () => {
      resets = 3;
      got = 0;
      expect(await noonlightCenter(local()).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'unknown', code: 'ECONNRESET', attempts: 3, ambiguous: true });
      expect(got).toBe(3);
    });

    it('retries a refused connection (nothing sent), and reports it unknown but not ambiguous', async () => {
      const port = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const { port } = s.address() as AddressInfo;
          s.close(() => resolve(port));
        });
      });
      const r = await noonlightCenter({ ...cfg, apiBaseUrl: `http://127.0.0.1:${port}` }).cancelAlarm('alarm-1', '4821');
      expect(r).toMatchObject({ ok: false, kind: 'unknown', code: 'ECONNREFUSED', attempts: 3, ambiguous: false });
    });
  });

  it('keeps the token, the PIN and the phone out of its logs and of the messages it returns, even when Noonlight echoes them', async () => {
    const { lines, log } = capture();
    const center = noonlightCenter({ ...cfg, log });
    answer('create', status(503), status(400, { message: `phone +15550100010 / 15550100010 with pin 4821 and token ${TOKEN} refused` }));
    const r = await center.createAlarm(alarm);
    expect(r).toMatchObject({ ok: false, kind: 'refused', status: 400 });
    answer('cancel', status(500, { error: `bad pin 4821` }));
    const c = await center.cancelAlarm('alarm-1', '4821');
    expect(c).toMatchObject({ ok: false, kind: 'unknown', status: 500 });
    answer('create', async () => (await delay(500), HttpResponse.json({})));
    await noonlightCenter({ ...cfg, log, attemptTimeoutMs: 50 }).createAlarm(alarm);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const all = [...lines, JSON.stringify(r), JSON.stringify(c)].join('\n');
    for (const secret of [TOKEN, '4821', '15550100010', '5550100010', 'Dana']) expect(all).not.toContain(secret);
    expect(all).toContain('refused');
  });
});

// --- webhooks ---------------------------------------------------------------------------------

const SECRET = 'whsec-test-7d1e';
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');
const delivery = (events: object[]) => JSON.stringify(events);
const psap = { event_id: '5cbdfd07c062772f37d9aaae', event_type: 'alarm.psap_contacted', event_time: '2019-04-22T17:44:09.018Z', meta: { alarm_id: 'alarm-1' } };
const closed = { event_id: '5ca21e7b3634a40f00b94454', event_type: 'alarm.closed', event_time: '2019-04-22T17:45:03.092Z', meta: { alarm_id: 'alarm-1' } };
const canceled = { event_id: '5ca21e7b3634a40f00b94455', event_type: 'alarm.status.canceled', event_time: '2019-04-22T17:46:00Z', meta: { alarm_id: 'alarm-1', canceled_by: { phone: '15554440003' } } };

describe('noonlight webhooks: the signature', () => {
  it('accepts the HMAC-SHA256 of the raw body, in base64, made with the webhook secret', async () => {
    const body = delivery([psap]);
    expect(await verifyNoonlightSignature(body, sign(body), SECRET)).toBe(true);
    expect(await verifyNoonlightSignature(new TextEncoder().encode(body), sign(body), SECRET)).toBe(true);
  });

  it('also accepts the HMAC of the body serialized again, as Noonlight’s own example checks it', async () => {
    const pretty = JSON.stringify([psap], null, 2);
    expect(await verifyNoonlightSignature(pretty, sign(JSON.stringify(JSON.parse(pretty))), SECRET)).toBe(true);
  });

  it('refuses a forged signature: another secret, none, or not base64', async () => {
    const body = delivery([psap]);
    expect(await verifyNoonlightSignature(body, sign(body, 'guessed-secret'), SECRET)).toBe(false);
    expect(await verifyNoonlightSignature(body, undefined, SECRET)).toBe(false);
    expect(await verifyNoonlightSignature(body, '', SECRET)).toBe(false);
    expect(await verifyNoonlightSignature(body, '%%%not base64%%%', SECRET)).toBe(false);
    expect(await verifyNoonlightSignature(body, sign(body).slice(0, 20), SECRET)).toBe(false);
    expect(await verifyNoonlightSignature(body, sign(body), '')).toBe(false);
  });

  it('refuses a tampered body: another alarm, or another event, under the original signature', async () => {
    const body = delivery([psap]);
    const sig = sign(body);
    expect(await verifyNoonlightSignature(body.replace('alarm-1', 'alarm-2'), sig, SECRET)).toBe(false);
    expect(await verifyNoonlightSignature(body.replace('psap_contacted', 'closed'), sig, SECRET)).toBe(false);
    expect(await verifyNoonlightSignature(delivery([psap, closed]), sig, SECRET)).toBe(false);
  });
});

describe('noonlight webhooks: the events', () => {
  it('reads each event: its id, the type Mayday records, when, and the alarm', () => {
    expect(parseNoonlightEvents(delivery([psap, closed, canceled, { ...psap, event_id: 'x1', event_type: 'alarm.person.updated' }]))).toEqual([
      { eventId: psap.event_id, type: 'psap_contacted', noonlightType: 'alarm.psap_contacted', at: '2019-04-22T17:44:09.018Z', alarmId: 'alarm-1' },
      { eventId: closed.event_id, type: 'closed', noonlightType: 'alarm.closed', at: '2019-04-22T17:45:03.092Z', alarmId: 'alarm-1' },
      { eventId: canceled.event_id, type: 'canceled', noonlightType: 'alarm.status.canceled', at: '2019-04-22T17:46:00.000Z', alarmId: 'alarm-1' },
      { eventId: 'x1', type: 'other', noonlightType: 'alarm.person.updated', at: '2019-04-22T17:44:09.018Z', alarmId: 'alarm-1' },
    ]);
  });

  it('a delivery sent twice reads as the same event ids (the caller keeps each once); one repeated inside a delivery is read once', () => {
    const body = delivery([psap]);
    expect(parseNoonlightEvents(body)).toEqual(parseNoonlightEvents(body));
    expect(parseNoonlightEvents(delivery([psap, { ...psap, event_time: '2019-04-22T17:50:00Z' }])).map((e) => e.eventId)).toEqual([psap.event_id]);
  });

  it('keeps the order sent, even out of order (closed before psap_contacted): the times say which came first', () => {
    const events = parseNoonlightEvents(delivery([closed, psap]));
    expect(events.map((e) => e.type)).toEqual(['closed', 'psap_contacted']);
    expect(events[1].at < events[0].at).toBe(true);
  });

  it('reads a single event object as a delivery of one, and an empty array as none', () => {
    expect(parseNoonlightEvents(JSON.stringify(psap)).map((e) => e.eventId)).toEqual([psap.event_id]);
    expect(parseNoonlightEvents('[]')).toEqual([]);
  });

  it('never carries the canceller’s phone', () => {
    expect(JSON.stringify(parseNoonlightEvents(delivery([canceled])))).not.toContain('15554440003');
  });

  it.each([
    ['not JSON', '{"event_id":', 'malformed_json'],
    ['no alarm id', delivery([{ ...psap, meta: {} }]), 'validation_failed'],
    ['no event id', delivery([{ ...psap, event_id: '' }]), 'validation_failed'],
    ['a time that is no date', delivery([{ ...psap, event_time: 'yesterday' }]), 'validation_failed'],
    ['a string', '"alarm.closed"', 'validation_failed'],
  ])('refuses %s with a 4xx error code', (_what, body, code) => {
    let thrown: unknown;
    try {
      parseNoonlightEvents(body);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe(code);
    expect((thrown as AppError).status).toBeLessThan(500);
  });
});
