/**
 * The Noonlight stand-in (scripts/noonlight-standin.ts) over real HTTP on loopback: it stores
 * alarms, their locations and cancels as the notes describe Noonlight; checks the bearer token;
 * sends webhooks a tiny local receiver checks with Mayday's own verifier; and answers with each
 * fault on demand. Mayday's adapter (src/dispatch/noonlight.ts) is the client where it can be,
 * so the two are seen to agree. No database.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { start, type Standin, type StandinOptions } from '../scripts/noonlight-standin';
import type { AlarmRequest } from '../src/dispatch/center';
import { noonlightCenter } from '../src/dispatch/noonlight';
import { parseNoonlightEvents, verifyNoonlightSignature } from '../src/dispatch/webhook';

const TOKEN = 'standin-server-token';
const SECRET = 'standin-webhook-secret';
const alarm: AlarmRequest = {
  name: 'Dana Kim', phone: '+15550100010', pin: '7302',
  location: { lat: 36.3729, lng: -94.2088, accuracy: 8 },
  services: { police: true, fire: true, medical: false },
  instructions: 'Robbery, incident #1042',
};

/** A webhook receiver: every POST it got (headers and raw body), answered with the next queued status (200 when none). */
type Got = { signature: string | undefined; contentType: string | undefined; body: string };
let receiver: Server;
let receiverUrl: string;
const got: Got[] = [];
const statuses: number[] = [];
beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d)).on('end', () => {
      got.push({ signature: req.headers['x-noonlight-signature'] as string | undefined, contentType: req.headers['content-type'], body });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/noonlight`;
});
afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

const running: Standin[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  got.length = 0;
  statuses.length = 0;
});
async function standin(o: Partial<StandinOptions> = {}) {
  const s = await start({ port: 0, token: TOKEN, secret: SECRET, webhookUrl: receiverUrl, webhookBackoffMs: 10, ...o });
  running.push(s);
  return s;
}
const center = (s: Standin, o: { attemptTimeoutMs?: number } = {}) => noonlightCenter({ apiBaseUrl: s.base, serverToken: TOKEN, backoffMs: [20, 40], ...o });
const post = (s: Standin, path: string, body: unknown, token = TOKEN) =>
  fetch(`${s.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const until = async (what: () => boolean, ms = 3_000) => {
  for (const end = Date.now() + ms; !what(); ) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('noonlight stand-in: the API', () => {
  it('creates an alarm from what the adapter sends, and answers with the alarm object', async () => {
    const s = await standin();
    const r = await center(s).createAlarm(alarm);
    expect(r).toMatchObject({ ok: true, status: 'ACTIVE', services: { police: true, fire: true, medical: false }, attempts: 1 });
    const a = s.alarms.get(r.ok ? r.alarmId : '')!;
    expect(a).toMatchObject({
      name: 'Dana Kim', phone: '15550100010', pin: '7302', status: 'ACTIVE', instructions: 'Robbery, incident #1042',
      services: { police: true, fire: true, medical: false, other: false },
      locations: [{ lat: 36.3729, lng: -94.2088, accuracy: 8, via: 'create' }],
    });
    const status = await fetch(`${s.base}/dispatch/v1/alarms/${a.id}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await status.json()).toEqual({ id: a.id, status: 'ACTIVE' });
    expect(s.requests.map((q) => [q.route, q.outcome, q.status])).toEqual([['create', 'ok', 201], ['status', 'ok', 200]]);
  });

  it('checks the bearer token: none or another is 401, and nothing is stored', async () => {
    const s = await standin();
    expect((await post(s, '/dispatch/v1/alarms', { name: 'x' }, 'wrong')).status).toBe(401);
    expect((await fetch(`${s.base}/dispatch/v1/alarms`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect(await noonlightCenter({ apiBaseUrl: s.base, serverToken: 'stolen' }).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'refused', status: 401 });
    expect(s.alarms.size).toBe(0);
    expect(s.requests.every((q) => q.outcome === 'unauthorized')).toBe(true);
  });

  it('refuses what Noonlight refuses: a ZIP+4, no location, coordinates out of range, no phone', async () => {
    const s = await standin();
    const base = { name: 'Dana Kim', phone: '15550100010' };
    const refused = async (body: object) => {
      const res = await post(s, '/dispatch/v1/alarms', body);
      return [res.status, ((await res.json()) as { message: string }).message];
    };
    expect(await refused({ ...base, location: { address: { line1: '1 Main St', city: 'Bentonville', state: 'AR', zip: '72712-1234' } } })).toEqual([400, 'Must provide valid location']);
    expect(await refused(base)).toEqual([400, 'Must provide valid location']);
    expect(await refused({ ...base, location: { coordinates: { lat: 136, lng: -94, accuracy: 5 } } })).toEqual([400, 'Must provide valid location']);
    expect(await refused({ name: 'Dana', location: { coordinates: { lat: 36, lng: -94, accuracy: 5 } } })).toEqual([400, 'Must provide a valid phone number']);
    expect((await post(s, '/dispatch/v1/alarms', { ...base, location: { address: { line1: '1 Main St', city: 'Bentonville', state: 'AR', zip: '72712' } } })).status).toBe(201);
    expect(s.alarms.size).toBe(1);
  });

  it('adds locations in either form by default, and keeps them in order', async () => {
    const s = await standin();
    const r = await center(s).createAlarm(alarm);
    const id = r.ok ? r.alarmId : '';
    expect(await center(s).addLocation(id, { lat: 36.374, lng: -94.21, accuracy: 6 })).toMatchObject({ ok: true, attempts: 1 });
    expect((await post(s, `/dispatch/v1/alarms/${id}/locations`, { lat: 36.375, lng: -94.211, accuracy: 4 })).status).toBe(201);
    expect(s.alarms.get(id)!.locations.map((l) => [l.lat, l.via])).toEqual([[36.3729, 'create'], [36.374, 'nested'], [36.375, 'flat']]);
    expect((await post(s, '/dispatch/v1/alarms/nope/locations', { coordinates: { lat: 1, lng: 1, accuracy: 1 } })).status).toBe(404);
  });

  it('when it takes only the flat form, the adapter’s nested location gets 400 and is sent again flat', async () => {
    const s = await standin({ locationForm: 'flat' });
    const r = await center(s).createAlarm(alarm);
    const id = r.ok ? r.alarmId : '';
    expect(await center(s).addLocation(id, { lat: 36.374, lng: -94.21, accuracy: 6 })).toMatchObject({ ok: true, attempts: 2 });
    expect(s.alarms.get(id)!.locations.map((l) => l.via)).toEqual(['create', 'flat']);
    expect(s.requests.filter((q) => q.route === 'location').map((q) => q.status)).toEqual([400, 201]);
  });

  it('cancels with the alarm’s PIN only; a cancelled alarm stays cancelled', async () => {
    const s = await standin();
    const r = await center(s).createAlarm(alarm);
    const id = r.ok ? r.alarmId : '';
    expect(await center(s).cancelAlarm(id, '0000')).toMatchObject({ ok: false, kind: 'refused', status: 400, message: 'Invalid PIN' });
    expect(s.alarms.get(id)!.status).toBe('ACTIVE');
    expect(await center(s).cancelAlarm(id, '7302')).toMatchObject({ ok: true, status: 'CANCELED' });
    expect(s.alarms.get(id)).toMatchObject({ status: 'CANCELED', canceledBy: 'api' });
    expect(await center(s).cancelAlarm(id, '7302')).toMatchObject({ ok: true, status: 'CANCELED' });
  });
});

describe('noonlight stand-in: webhooks', () => {
  it('sends a signed event array that Mayday’s verifier accepts and reads', async () => {
    const s = await standin();
    const r = await center(s).createAlarm(alarm);
    const id = r.ok ? r.alarmId : '';
    const [d] = await s.emit(id, 'psap_contacted');
    expect(d).toMatchObject({ answer: 200, tries: 1, types: ['psap_contacted'] });
    expect(got).toHaveLength(1);
    expect(got[0].contentType).toBe('application/json');
    expect(got[0].signature).toBe(createHmac('sha256', SECRET).update(got[0].body).digest('base64'));
    expect(await verifyNoonlightSignature(got[0].body, got[0].signature, SECRET)).toBe(true);
    const body = JSON.parse(got[0].body);
    expect(body).toEqual([{ event_id: d.eventIds[0], event_type: 'alarm.psap_contacted', event_time: expect.any(String), meta: { alarm_id: id } }]);
    expect(parseNoonlightEvents(got[0].body)).toEqual([{ eventId: d.eventIds[0], type: 'psap_contacted', noonlightType: 'alarm.psap_contacted', at: body[0].event_time, alarmId: id }]);
  });

  it('closed and canceled change the alarm as the dispatcher would', async () => {
    const s = await standin();
    const a = await center(s).createAlarm(alarm);
    const b = await center(s).createAlarm(alarm);
    await s.emit(a.ok ? a.alarmId : '', 'closed');
    await s.emit(b.ok ? b.alarmId : '', 'canceled');
    expect(s.alarms.get(a.ok ? a.alarmId : '')!.status).toBe('CLOSED');
    expect(s.alarms.get(b.ok ? b.alarmId : '')).toMatchObject({ status: 'CANCELED', canceledBy: 'person' });
    expect(got.map((g) => JSON.parse(g.body)[0].event_type)).toEqual(['alarm.closed', 'alarm.status.canceled']);
  });

  it('a duplicate is the same delivery twice: the same event_id, both signed', async () => {
    const s = await standin();
    const r = await center(s).createAlarm(alarm);
    await s.emit(r.ok ? r.alarmId : '', 'psap_contacted', { duplicate: true });
    expect(got).toHaveLength(2);
    expect(got[1].body).toBe(got[0].body);
    for (const g of got) expect(await verifyNoonlightSignature(g.body, g.signature, SECRET)).toBe(true);
    expect(parseNoonlightEvents(got[1].body)[0].eventId).toBe(parseNoonlightEvents(got[0].body)[0].eventId);
  });

  it('out of order: closed arrives before psap_contacted, whose event_time is the earlier', async () => {
    const s = await standin();
    const r = await center(s).createAlarm(alarm);
    await s.emitOutOfOrder(r.ok ? r.alarmId : '');
    const [first, second] = got.map((g) => parseNoonlightEvents(g.body)[0]);
    expect([first.type, second.type]).toEqual(['closed', 'psap_contacted']);
    expect(second.at < first.at).toBe(true);
  });

  it('a forged delivery carries a signature the verifier refuses', async () => {
    const s = await standin();
    const r = await center(s).createAlarm(alarm);
    statuses.push(403, 403, 403); // as Mayday answers a bad signature: retried, never taken
    const [d] = await s.emit(r.ok ? r.alarmId : '', 'closed', { forge: true });
    expect(d).toMatchObject({ answer: 403, tries: 3 });
    for (const g of got) expect(await verifyNoonlightSignature(g.body, g.signature, SECRET)).toBe(false);
  });

  it('retries a delivery that did not get a 2xx, as Noonlight does', async () => {
    const s = await standin({ webhookRetries: 2 });
    const r = await center(s).createAlarm(alarm);
    statuses.push(500, 503);
    const [d] = await s.emit(r.ok ? r.alarmId : '', 'psap_contacted');
    expect(d).toMatchObject({ answer: 200, tries: 3 });
    expect(new Set(got.map((g) => g.body)).size).toBe(1);
  });

  it('sends psap_contacted and then closed by itself on a schedule after each creation', async () => {
    const s = await standin({ schedule: { psapContactedAfterMs: 30, closedAfterMs: 120 } });
    const r = await center(s).createAlarm(alarm);
    await until(() => got.length >= 2);
    expect(got.map((g) => parseNoonlightEvents(g.body)[0]).map((e) => [e.type, e.alarmId])).toEqual([['psap_contacted', r.ok && r.alarmId], ['closed', r.ok && r.alarmId]]);
  });
});

describe('noonlight stand-in: faults on demand', () => {
  it('400 "Must provide valid location": the adapter reports it refused, at once', async () => {
    const s = await standin();
    s.fault('create', 400);
    expect(await center(s).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'refused', status: 400, message: 'Must provide valid location', attempts: 1 });
    expect(s.alarms.size).toBe(0);
    expect(await center(s).createAlarm(alarm)).toMatchObject({ ok: true }); // the fault was for one request
  });

  it('500: unknown and ambiguous; with taken, the alarm exists all the same', async () => {
    const s = await standin();
    s.fault('create', { kind: 'status', status: 500, taken: true });
    expect(await center(s).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'unknown', status: 500, ambiguous: true, attempts: 1 });
    expect(s.alarms.size).toBe(1);
    expect(s.requests.map((q) => q.outcome)).toEqual(['status 500']);
  });

  it('503 with Retry-After, and 429: retried, then created once', async () => {
    const s = await standin();
    s.fault('create', { kind: 'status', status: 503, retryAfter: 0 });
    s.fault('create', 429);
    expect(await center(s).createAlarm(alarm)).toMatchObject({ ok: true, attempts: 3, ambiguous: false });
    expect(s.alarms.size).toBe(1);
    expect(s.requests.map((q) => q.outcome)).toEqual(['status 503', 'status 429', 'ok']);
  });

  it('hang: never answered; the adapter times out (unknown), and the record says the client went away', async () => {
    const s = await standin();
    s.fault('create', 'hang');
    expect(await center(s, { attemptTimeoutMs: 200 }).createAlarm(alarm)).toMatchObject({ ok: false, kind: 'unknown', code: 'timeout', ambiguous: true });
    await until(() => s.requests[0].abortedAt !== null);
    expect(s.requests[0]).toMatchObject({ outcome: 'hang', answeredAt: null });
  });

  it('slow: answered after N ms, and taken', async () => {
    const s = await standin();
    s.fault('location', { kind: 'slow', ms: 250 });
    const r = await center(s).createAlarm(alarm);
    const t0 = Date.now();
    expect(await center(s).addLocation(r.ok ? r.alarmId : '', { lat: 36.38, lng: -94.2, accuracy: 5 })).toMatchObject({ ok: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    expect(s.requests[1]).toMatchObject({ outcome: 'slow', status: 201 });
  });

  it('reset: the adapter retries; when the reset request was taken, two alarms exist and the result says it may be so', async () => {
    const s = await standin();
    s.fault('create', { kind: 'reset', taken: true });
    expect(await center(s).createAlarm(alarm)).toMatchObject({ ok: true, attempts: 2, ambiguous: true });
    expect(s.alarms.size).toBe(2);
    expect(s.requests.map((q) => q.outcome)).toEqual(['reset', 'ok']);
  });

  it('a fault for any route, several times', async () => {
    const s = await standin();
    s.fault('any', 503, 2);
    expect(await center(s).cancelAlarm('x', '1')).toMatchObject({ ok: false, kind: 'refused', status: 404, attempts: 3 });
  });
});

describe('noonlight stand-in: as a child process', () => {
  it('runs from the command line, and is driven through /_standin', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/noonlight-standin.ts', '--port', '0', '--webhook-url', receiverUrl, '--stdin-lifeline'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...process.env, NOONLIGHT_SERVER_TOKEN: TOKEN, NOONLIGHT_WEBHOOK_SECRET: SECRET },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      await until(() => /listening on (http:\S+)/.test(out), 20_000);
      const base = /listening on (http:\S+)/.exec(out)![1];
      const api = noonlightCenter({ apiBaseUrl: base, serverToken: TOKEN, backoffMs: [10] });
      const control = (path: string, body?: object) =>
        fetch(`${base}/_standin${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});

      expect((await control('/faults', { route: 'create', fault: 400 })).status).toBe(204);
      expect(await api.createAlarm(alarm)).toMatchObject({ ok: false, kind: 'refused', status: 400 });
      const r = await api.createAlarm(alarm);
      expect(r).toMatchObject({ ok: true });
      const { alarms } = (await (await control('/alarms')).json()) as { alarms: { id: string; status: string }[] };
      expect(alarms.map((a) => a.id)).toEqual([r.ok && r.alarmId]);
      const { requests } = (await (await control('/requests?since=0')).json()) as { requests: { outcome: string }[] };
      expect(requests.map((q) => q.outcome)).toEqual(['status 400', 'ok']);

      expect((await control(`/alarms/${r.ok && r.alarmId}/events`, { type: 'psap_contacted', duplicate: true })).status).toBe(200);
      expect(got).toHaveLength(2);
      expect(await verifyNoonlightSignature(got[0].body, got[0].signature, SECRET)).toBe(true);
    } finally {
      child.stdin.end();
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))])).toBe(0);
    }
  });

  it('refuses to start without its token and secret', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/noonlight-standin.ts', '--port', '0'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...process.env, NOONLIGHT_SERVER_TOKEN: '', NOONLIGHT_WEBHOOK_SECRET: '' },
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    expect(await new Promise((r) => child.once('exit', r))).toBe(1);
    expect(err).toMatch(/NOONLIGHT_SERVER_TOKEN and NOONLIGHT_WEBHOOK_SECRET are required/);
  });
});
