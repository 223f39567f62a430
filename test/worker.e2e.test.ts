/**
 * Mayday on Cloudflare Workers, end to end: `wrangler dev` (workerd from npm) on loopback, this
 * file's own PostgreSQL database through the Hyperdrive binding's local connection string, and
 * the Twilio stand-in (scripts/twilio-standin.ts: real HTTP, no msw) that the Worker's fetch-based
 * Twilio client sends to and that calls the Worker's webhooks back, signed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../scripts/twilio-standin';
import type { Sql } from '../src/db/client';
import { ADMIN_TOKEN as ADMIN, type TestApp } from './helpers/app';
import { freshDatabase } from './helpers/db';
import { square, world, type Person } from './helpers/world';
import { freePort } from './helpers/ports';
import { until as waitUntil } from './helpers/wait';

const TW = { accountSid: 'AC' + 'e'.repeat(32), authToken: 'worker-auth-token', from: '+15550009999' };

let sql: Sql;
let standin: Standin;
let wrangler: ChildProcess;
let base: string;
let output = '';
let persist: string;


/** The same builders as the in-process tests, over real HTTP to the Worker. */
function http(): TestApp {
  const req = async (method: string, path: string, opts: { token?: string; body?: unknown } = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
  return {
    req: (m: string, p: string, o?: { token?: string; body?: unknown }) => req(m, p, o),
    get: (p: string, token?: string) => req('GET', p, { token }),
    post: (p: string, body: unknown, token?: string) => req('POST', p, { token, body }),
    put: (p: string, body: unknown, token?: string) => req('PUT', p, { token, body }),
  } as unknown as TestApp;
}

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 15_000) =>
  waitUntil(what, fn, ms, { pollMs: 50, more: () => `--- wrangler dev said:\n${output.slice(-4000)}` });

beforeAll(async () => {
  const db = await freshDatabase();
  sql = db.sql;
  // Hyperdrive's local connection string must name a password (a trusting server ignores it).
  const u = new URL(db.url);
  if (!u.password) u.password = 'unused';
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  standin = await startStandin({ accountSid: TW.accountSid, authToken: TW.authToken, callbackDelayMs: 10 });
  persist = mkdtempSync(join(tmpdir(), 'mayday-wrangler-'));
  const vars = {
    PUBLIC_BASE_URL: base,
    ADMIN_TOKEN: ADMIN,
    TWILIO_ACCOUNT_SID: TW.accountSid,
    TWILIO_AUTH_TOKEN: TW.authToken,
    TWILIO_FROM_NUMBER: TW.from,
    TWILIO_API_BASE_URL: standin.url,
    LOG_LEVEL: 'info',
  };
  wrangler = spawn(
    join(process.cwd(), 'node_modules/.bin/wrangler'),
    ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort()), '--test-scheduled',
      '--persist-to', persist, ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: u.toString(),
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
        NO_COLOR: '1',
      },
    },
  );
  wrangler.stdout!.on('data', (d) => (output += d));
  wrangler.stderr!.on('data', (d) => (output += d));
  await until('wrangler dev to serve /readyz', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 90_000);
}, 120_000);

afterAll(async () => {
  if (wrangler?.pid) {
    try {
      process.kill(-wrangler.pid, 'SIGTERM');
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
    try {
      process.kill(-wrangler.pid, 'SIGKILL');
    } catch {}
  }
  await standin?.close();
  if (persist) rmSync(persist, { recursive: true, force: true });
});

interface Scene { w: ReturnType<typeof world>; zone: { id: string }; a: Person; b: Person; driver: Person; sos(): ReturnType<ReturnType<typeof world>['sos']> }

let scenes = 0;
/** A zone of its own (all scenes share one database) whose rotation has A on call, a second supervisor B, and a driver. */
async function scene(policy: unknown): Promise<Scene> {
  const w = world(http());
  const lat = 30 + scenes++;
  const zone = await w.zone(`Zone ${randomUUID().slice(0, 8)}`, square(lat, -94.2), { checkInGraceSeconds: 86_400 });
  const a = await w.responder('supervisor', [zone.id], 'Ava');
  const b = await w.responder('supervisor', [zone.id], 'Ben');
  const driver = await w.driver('Dana');
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  expect((await http().put(`/v1/zones/${zone.id}/rotation`, { responderIds: [a.id], shiftMinutes: 600, startsAt }, w.admin)).status).toBe(200);
  expect((await http().put(`/v1/zones/${zone.id}/escalation-policy`, policy, w.admin)).status).toBe(200);
  return { w, zone, a, b, driver, sos: () => w.sos(driver, { location: { lat, lng: -94.2, accuracyM: 10 } }) };
}

const sentTo = (phone: string, kind?: 'sms' | 'call') => standin.requests().filter((r) => r.to === phone && r.outcome === 'accepted' && (!kind || r.kind === kind));
const events = (incidentId: string, type: string) =>
  sql<{ at: Date; data: any }[]>`SELECT at, data FROM incident_events WHERE incident_id = ${incidentId} AND type = ${type} ORDER BY seq`;

describe('Mayday on Workers (wrangler dev, Hyperdrive to PostgreSQL, the Twilio stand-in)', () => {
  it('answers with the one error body and serves the same API as on Node', async () => {
    const res = await fetch(`${base}/v1/nope`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.requestId).toBeTruthy();
    const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toContain('/v1/sos');
    // What differs from Node answers with the same error body.
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(metrics.status).toBe(404);
    expect(((await metrics.json()) as { error: { message: string } }).error.message).toMatch(/not kept by this runtime/);
  });

  it('/__scheduled runs the cron sweep: an overdue step nobody armed is taken at once', async () => {
    const s = await scene({ steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 3_600, notify: ['zone_supervisors'], channels: ['sms'] }] });
    const res = await s.sos();
    const inc = res.body.incident as { id: string };
    await until('the first page', async () => sentTo(s.a.phone, 'sms').length > 0);
    // Its status callbacks done (each one arms the incident's alarm from what the database says).
    await until('the page delivered', async () => (await events(inc.id, 'page.delivered')).length > 0 && standin.stats().pendingCallbacks === 0);
    await new Promise((r) => setTimeout(r, 200));
    // Behind the Worker's back the incident is made an hour older, so its step-2 deadline (an hour
    // after it opened) has passed. The incident's alarm is
    // seconds away (its first check-in, or a look at its pages) and no other incident exists yet
    // (this test runs first: every alarm's tick does all that is due), so only the sweep can take it now.
    await sql`UPDATE incidents SET opened_at = opened_at - interval '3601 seconds', esc_next_at = now() - interval '1 second' WHERE id = ${inc.id}`;
    await new Promise((r) => setTimeout(r, 300));
    expect(await events(inc.id, 'escalation.step')).toHaveLength(1);
    const before = output.length;
    const cron = await fetch(`${base}/__scheduled?cron=${encodeURIComponent('* * * * *')}`);
    expect(cron.status).toBe(200);
    await until('the sweep to log what it did', async () => output.slice(before).includes('"msg":"cron sweep"'), 5_000);
    expect(output.slice(before)).toMatch(/"escalated":1,[^\n]*"msg":"cron sweep"/);
    expect(await events(inc.id, 'escalation.step')).toHaveLength(2);
    await until('the step-2 SMS to B', async () => sentTo(s.b.phone, 'sms').length > 0, 5_000);
  });

  it('SOS → SMS and call sent by the SOS request itself → an ACK reply (signed webhook) → acknowledged', async () => {
    const s = await scene({ steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms', 'voice'] }, { afterSeconds: 600, notify: ['zone_supervisors'], channels: ['sms'] }] });
    const sent = Date.now();
    const res = await s.sos();
    expect(res.status).toBe(201);
    const inc = res.body.incident as { id: string; code: number };
    // No timer is involved: the request's waitUntil sends the first pages.
    const [sms] = await until('the SMS to the on-call', async () => sentTo(s.a.phone, 'sms').length > 0 && sentTo(s.a.phone, 'sms'));
    await until('the call to the on-call', async () => sentTo(s.a.phone, 'call').length > 0);
    expect(sms.at - sent).toBeLessThan(1_000);
    await until('page.sent recorded with the SID', async () => (await events(inc.id, 'page.sent')).length >= 2);
    // Delivery callbacks from the stand-in reach the Worker's webhooks and pass its signature check.
    await until('page.delivered from the signed status callback', async () => (await events(inc.id, 'page.delivered')).length >= 1);

    const url = `${base}/webhooks/twilio/sms`;
    const params = { From: s.a.phone, To: TW.from, Body: `ack ${inc.code}`, MessageSid: `SM${randomUUID().replace(/-/g, '')}`, AccountSid: TW.accountSid };
    const forged = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'forged' }, body: new URLSearchParams(params) });
    expect(forged.status).toBe(403);
    const ack = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TW.authToken, url, params) },
      body: new URLSearchParams(params),
    });
    expect(ack.status).toBe(200);
    expect(await ack.text()).toMatch(/<Message>[^<]*acknowledged/i);
    const got = await http().get(`/v1/incidents/${inc.id}`, s.w.admin);
    expect(got.body.incident.status).toBe('acknowledged');
    const [acked] = await events(inc.id, 'incident.acknowledged');
    expect(acked.data).toMatchObject({ via: 'sms' });
  });

  it('an unanswered incident escalates through its Durable Object alarm within a second of its deadline', async () => {
    const s = await scene({ steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 3, notify: ['zone_supervisors'], channels: ['sms'] }] });
    const res = await s.sos();
    expect(res.status).toBe(201);
    const inc = res.body.incident as { id: string };
    const [{ esc_next_at: deadline }] = await sql<{ esc_next_at: Date }[]>`SELECT esc_next_at FROM incidents WHERE id = ${inc.id}`;
    // Nothing else runs on a timer here: wrangler dev never fires the cron by itself.
    const steps = await until('escalation step 2', async () => {
      const e = await events(inc.id, 'escalation.step');
      return e.length >= 2 && e;
    }, 10_000);
    const late = steps[1].at.getTime() - deadline.getTime();
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1_000);
    const [page] = await until('the step-2 SMS to B', async () => sentTo(s.b.phone, 'sms').length > 0 && sentTo(s.b.phone, 'sms'));
    expect(page.at - deadline.getTime()).toBeLessThan(1_000);
  });

  it('a page Twilio refuses with 429 is sent again within a second, by its incident’s alarm once the request is over', async () => {
    const s = await scene({ steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 600, notify: ['zone_supervisors'], channels: ['sms'] }] });
    standin.refuseNext(s.a.phone, '429');
    const res = await s.sos();
    expect(res.status).toBe(201);
    const [accepted] = await until('the SMS taken on the second try', async () => sentTo(s.a.phone, 'sms').length > 0 && sentTo(s.a.phone, 'sms'), 10_000);
    const tries = standin.requests().filter((r) => r.to === s.a.phone);
    expect(tries.map((r) => r.outcome)).toEqual(['429', 'accepted']);
    expect(tries[1].pageId).toBe(tries[0].pageId); // the same attempt: 429 was never processed
    expect(accepted.at - tries[0].at).toBeLessThan(1_000);
  });

  it('the Worker runs on-call readiness in the same tick (cron and alarms): an override that has begun gets its check', async () => {
    const w = world(http());
    const zone = await w.zone(`Zone ${randomUUID().slice(0, 8)}`, square(60, -94.2));
    const cy = await w.responder('supervisor', [zone.id], 'Cy');
    const [from, to] = [new Date(Date.now() - 60_000).toISOString(), new Date(Date.now() + 3_600_000).toISOString()];
    expect((await http().post(`/v1/zones/${zone.id}/overrides`, { responderId: cy.id, from, to }, w.admin)).status).toBe(201);
    expect((await fetch(`${base}/__scheduled?cron=${encodeURIComponent('* * * * *')}`)).status).toBe(200);
    await until('the readiness check sent', async () => sentTo(cy.phone, 'sms').length > 0, 5_000);
    await until('the check recorded', async () => (await sql`SELECT 1 FROM readiness_checks WHERE zone_id = ${zone.id} AND asked_via = 'sms'`).length === 1, 5_000);
  });

  it('logs JSON lines with secrets and phone numbers redacted', () => {
    expect(output).toContain('"msg":"page sent"');
    expect(output).not.toContain(TW.authToken);
    expect(output).not.toContain(ADMIN);
    expect(output).not.toMatch(/\+1555\d{7}/);
  });
});
