/**
 * A Twilio stand-in for loopback use (benchmarks, chaos scripts): the two REST calls Mayday
 * makes and the status callbacks Twilio sends back, signed as Twilio signs them.
 *
 *   POST /2010-04-01/Accounts/:sid/Messages.json  and  .../Calls.json   (form-encoded, Basic auth
 *        account sid + auth token, else 401) -> 201 {sid: SM…/CA…, status: 'queued', to, from, …}
 *   GET  /_standin/stats[?pages=false]    counts (callbacks and acks failed, by status or 'error'), peaks,
 *                                         per page id how often it was accepted, its clock
 *   GET  /_standin/requests?since=<seq>   every authenticated request after sequence number <seq>
 *                                         (arrival `at`, outcome, and when it was answered or aborted)
 *
 * Callbacks go to the StatusCallback URL (form-encoded, X-Twilio-Signature): messages `sent`
 * then `delivered`; calls, as Twilio does, only the events their `StatusCallbackEvent`
 * parameters ask for (Twilio's default: `completed` only): `initiated`, `ringing`, and for
 * `answered` CallStatus `in-progress` (AnsweredBy=human). The stand-in's calls are answered and
 * never end, so `completed` never comes. One after another, `callbackDelayMs` apart. With
 * `autoAck` a call is then answered by pressing 1 (a POST to the <Gather> action of its TwiML)
 * and an SMS by the reply "ACK <code>" (to `smsWebhookUrl`, default <StatusCallback
 * origin>/webhooks/twilio/sms).
 * `invalidNumbers` are refused with 400/21211 (not a valid number), as Twilio refuses them.
 * Chaos, all off by default and deterministic for a given `seed` and arrival order: `faults`
 * answers a fraction of requests 500/503/429 (not taken) or 'hang' (taken, but answered only
 * after `hangMs`, past the client's timeout: the sender cannot know it went out);
 * `duplicateCallbacks` sends that fraction of callbacks twice; `shuffleCallbacks` sends each
 * page's callbacks in random order; a large `callbackDelayMs` makes them late, and `lateCallbacks`
 * holds back every callback of that fraction of pages by `delayMs` (past the client's timeout,
 * a hung request's callbacks then come after the sender recorded its outcome as unknown).
 *
 * CLI: TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… tsx scripts/twilio-standin.ts --port 4010
 *      [--host 127.0.0.1] [--callback-delay-ms 100] [--no-callbacks] [--fault-rate 0.1]
 *      [--fault-kinds 500,503,429,hang] [--hang-ms 15000] [--duplicate-callbacks 0.2]
 *      [--shuffle-callbacks] [--late-callbacks 0.2:11000] [--invalid-numbers +1555…,+1555…] [--auto-ack] [--sms-webhook-url URL] [--seed 1] [--stdin-lifeline]
 * (--stdin-lifeline: exit when stdin closes, for a parent process that holds it open.)
 */
import { serve, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Server, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import twilio from 'twilio';
import { prng } from './lib/random';
import { now } from './lib/run';

export type FaultKind = '500' | '503' | '429' | 'hang';
export interface StandinOptions {
  port?: number;
  host?: string;
  accountSid: string;
  authToken: string;
  faults?: { rate: number; kinds: FaultKind[] };
  hangMs?: number;
  callbacks?: boolean;
  callbackDelayMs?: number;
  /** Fraction (0..1; true = 1) of callbacks sent twice. */
  duplicateCallbacks?: number | boolean;
  shuffleCallbacks?: boolean;
  /** Numbers Twilio refuses as not valid: 400 with error 21211 (a permanent failure), for both channels. */
  invalidNumbers?: string[];
  /** That fraction of pages (0..1) has all its callbacks held back by `delayMs` first. */
  lateCallbacks?: { rate: number; delayMs: number };
  autoAck?: boolean;
  smsWebhookUrl?: string;
  seed?: number;
}
export interface StandinRequest {
  seq: number;
  kind: 'sms' | 'call';
  to: string;
  from: string;
  statusCallback: string | null;
  /** The `page` query parameter of the StatusCallback URL. */
  pageId: string | null;
  /** When it arrived: epoch milliseconds with sub-ms precision (performance.timeOrigin + now()). */
  at: number;
  outcome: 'accepted' | 'invalid' | FaultKind;
  sid: string | null;
  /** Connection number (one per TCP connection) and requests in progress here on arrival. */
  conn: number;
  inflight: number;
  /**
   * When its answer was written out in full (same clock as `at`), or null: not yet, or never
   * because the client went away first (`abortedAt`: the connection closed before the answer,
   * e.g. the client's timeout or a process killed mid-request). The chaos scripts read these to
   * know when a request was in flight.
   */
  answeredAt: number | null;
  abortedAt: number | null;
}
export interface Standin {
  url: string;
  stats(): ReturnType<typeof statsOf>;
  requests(since?: number): StandinRequest[];
  /** Answer the next `times` requests to `to` with `fault` (tests: one 429, then success). */
  refuseNext(to: string, fault: FaultKind, times?: number): void;
  close(): Promise<void>;
}

/** The `page` query parameter of a StatusCallback URL. */
function pageIdOf(cb: string | null): string | null {
  try {
    return cb ? new URL(cb).searchParams.get('page') : null;
  } catch {
    return null; // not a URL
  }
}
/** Callbacks sent per turn of the event loop at most (see turn()). */
const CALLBACK_SLICE = 16;
const ERRORS = { '500': [20500, 'Internal Server Error'], '503': [20503, 'Service Unavailable'], '429': [20429, 'Too Many Requests'] } as const;

const counters = () => ({ received: 0, accepted: 0, /** Accepted requests whose callbacks (and auto-ack) are still to come. */ pendingCallbacks: 0, unauthorized: 0, invalid: 0, faults: { '500': 0, '503': 0, '429': 0, hang: 0 } as Record<FaultKind, number>,
  callbacks: { sent: 0, failed: 0, why: {} as Record<string, number>, lastError: '' }, acks: { sent: 0, failed: 0, why: {} as Record<string, number>, lastError: '' }, inflight: 0, maxInflight: 0, openConnections: 0, maxOpenConnections: 0, connections: 0 });
function statsOf(c: ReturnType<typeof counters>, pages: Map<string, number>, withPages = true) {
  const duplicates = [...pages].filter(([, n]) => n > 1).map(([id, n]) => ({ pageId: id, accepted: n }));
  return { ...c, pages: withPages ? Object.fromEntries(pages) : undefined, duplicates, now: now() };
}

export async function startStandin(o: StandinOptions): Promise<Standin> {
  const rand = prng(o.seed ?? 1);
  const c = counters();
  const log: StandinRequest[] = [];
  const pages = new Map<string, number>();
  const refusals = new Map<string, { fault: FaultKind; times: number }>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const connOf = new WeakMap<Socket, number>();
  const dupRate = o.duplicateCallbacks === true ? 1 : Number(o.duplicateCallbacks || 0);
  const delayMs = o.callbackDelayMs ?? 100;
  const basic = 'Basic ' + Buffer.from(`${o.accountSid}:${o.authToken}`).toString('base64');
  let closed = false;
  const later = (ms: number) => new Promise<void>((r) => {
    const t = setTimeout(() => (timers.delete(t), r()), ms);
    timers.add(t);
  });
  /**
   * A turn for one callback: at most CALLBACK_SLICE go out per turn of the event loop. Callbacks
   * fall due in bursts (250 ms after a burst of requests), and run all at once their signing and
   * sending held this one thread for 50–150 ms, during which no request was read: a fan-out's
   * requests reached the stand-in in bursts with gaps, and the stand-in seemed slower to the
   * service than to autocannon, whose burst ends before its callbacks begin. Twilio does not stop
   * taking requests while its webhooks go out; between slices, requests waiting are read.
   */
  const waiting: (() => void)[] = [];
  const slice = () => {
    for (const r of waiting.splice(0, CALLBACK_SLICE)) r();
    if (waiting.length) setImmediate(slice);
  };
  const turn = () => new Promise<void>((r) => {
    if (waiting.push(r) === 1) setImmediate(slice);
  });

  /** POST a form to one of the service's webhooks, signed as Twilio does (node:http: a fraction of fetch's CPU). */
  type Tally = { sent: number; failed: number; why: Record<string, number>; lastError: string };
  const agent = new http.Agent({ keepAlive: true });
  async function post(url: string, params: Record<string, string>, tally: Tally) {
    if (closed) return;
    const body = new URLSearchParams(params).toString();
    const once = (fresh = false) => new Promise<number | string>((resolve) => {
      // The retry goes on a new connection of its own: the pool's next idle one may have been closed too.
      const req = http.request(url, { method: 'POST', agent: fresh ? false : agent, timeout: 15_000, headers: { 'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body), 'x-twilio-signature': twilio.getExpectedTwilioSignature(o.authToken, url, params) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0)).on('error', (e) => resolve(e.message));
      });
      // A connection reset (a kept-alive one the server closed meanwhile, or a new one reset under
      // load): tried once more on a fresh connection, as Twilio retries a failed callback once by
      // default (twilio-notes.md, "Delivery").
      req.on('timeout', () => req.destroy(new Error('timed out after 15 s')))
        .on('error', (e: NodeJS.ErrnoException) => resolve(!fresh && e.code === 'ECONNRESET' ? 'retry' : e.message));
      req.end(body);
    });
    let status = await once();
    if (status === 'retry') {
      status = await once(true);
      if (typeof status === 'string') status = `reset, then on a new connection: ${status}`;
    }
    if (typeof status === 'number' && status >= 200 && status < 300) return void tally.sent++;
    const why = typeof status === 'number' ? String(status) : 'error';
    tally.why[why] = (tally.why[why] ?? 0) + 1;
    tally.lastError = `${status} (${url})`;
    tally.failed++;
  }

  /** The call statuses a call's StatusCallbackEvent parameters ask for, in Twilio's order. */
  function callEvents(f: URLSearchParams): string[] {
    const asked = new Set(f.getAll('StatusCallbackEvent').flatMap((v) => v.split(/[\s,]+/)).filter(Boolean));
    return (['initiated', 'ringing', 'answered'] as const).filter((e) => asked.has(e)).map((e) => (e === 'answered' ? 'in-progress' : e));
  }

  async function afterAccept(kind: 'sms' | 'call', sid: string, f: URLSearchParams) {
    const to = f.get('To')!, from = f.get('From') ?? '', cb = f.get('StatusCallback');
    const base = { AccountSid: o.accountSid, From: from, To: to, ApiVersion: '2010-04-01' };
    let events: Record<string, string>[] = kind === 'sms'
      ? ['sent', 'delivered'].map((s) => ({ ...base, MessageSid: sid, SmsSid: sid, MessageStatus: s, SmsStatus: s }))
      : callEvents(f).map((s, i) => ({ ...base, CallSid: sid, CallStatus: s, Direction: 'outbound-api', SequenceNumber: String(i),
          CallbackSource: 'call-progress-events', ...(s === 'in-progress' ? { AnsweredBy: 'human' } : {}) }));
    if (o.shuffleCallbacks) for (let i = events.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [events[i], events[j]] = [events[j], events[i]]; }
    if (dupRate > 0) events = events.flatMap((e) => (rand() < dupRate ? [e, e] : [e]));
    if (o.lateCallbacks && rand() < o.lateCallbacks.rate) await later(o.lateCallbacks.delayMs);
    if (cb && o.callbacks !== false) for (const e of events) (await later(delayMs), await turn(), await post(cb, e, c.callbacks));
    if (!o.autoAck || closed) return;
    await later(delayMs);
    await turn();
    if (kind === 'call') {
      const action = /<Gather\b[^>]*\baction="([^"]+)"/.exec(f.get('Twiml') ?? '')?.[1]?.replace(/&amp;/g, '&');
      if (action) await post(action, { ...base, CallSid: sid, CallStatus: 'in-progress', Direction: 'outbound-api', Digits: '1' }, c.acks);
    } else {
      const code = /\bACK (\d+)/.exec(f.get('Body') ?? '')?.[1];
      const url = o.smsWebhookUrl ?? (cb ? new URL('/webhooks/twilio/sms', cb).toString() : undefined);
      if (code && url) await post(url, { ...base, MessageSid: sid, SmsSid: sid, From: to, To: from, Body: `ACK ${code}`, NumMedia: '0' }, c.acks);
    }
  }

  /** Stamp a logged request's answeredAt when its response is written, or abortedAt when the connection closes first. */
  const timeAnswer = (r: StandinRequest, ctx: Context<{ Bindings: HttpBindings }>) => {
    const res = ctx.env.outgoing;
    res.once('finish', () => void (r.answeredAt = now()));
    res.once('close', () => void (r.answeredAt === null && !res.writableFinished && (r.abortedAt = now())));
  };

  const app = new Hono<{ Bindings: HttpBindings }>();
  const create = (kind: 'sms' | 'call') => async (ctx: Context<{ Bindings: HttpBindings }>) => {
    const at = now();
    c.received++;
    if (ctx.req.header('authorization') !== basic || ctx.req.param('sid') !== o.accountSid) {
      c.unauthorized++;
      return ctx.json({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 }, 401);
    }
    c.maxInflight = Math.max(c.maxInflight, ++c.inflight);
    try {
      const f = new URLSearchParams(await ctx.req.text());
      const missing = !f.get('To') ? 'To' : kind === 'call' && !f.get('From') ? 'From'
        : kind === 'sms' && !f.get('Body') && !f.get('MediaUrl') ? 'Body' : kind === 'call' && !f.get('Twiml') && !f.get('Url') ? 'Url' : null;
      if (missing) {
        c.invalid++;
        return ctx.json({ code: 21604, message: `A '${missing}' parameter is required.`, status: 400 }, 400);
      }
      if (o.invalidNumbers?.includes(f.get('To')!)) {
        c.invalid++;
        log.push({ seq: log.length + 1, kind, to: f.get('To')!, from: f.get('From') ?? '', statusCallback: f.get('StatusCallback'), pageId: pageIdOf(f.get('StatusCallback')),
          at, outcome: 'invalid', sid: null, conn: connOf.get(ctx.env.incoming.socket) ?? 0, inflight: c.inflight, answeredAt: null, abortedAt: null });
        timeAnswer(log[log.length - 1], ctx);
        return ctx.json({ code: 21211, message: `The 'To' number ${f.get('To')} is not a valid phone number.`, more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 }, 400);
      }
      const forced = refusals.get(f.get('To')!);
      if (forced && --forced.times <= 0) refusals.delete(f.get('To')!);
      const fault: FaultKind | undefined = forced?.fault ??
        (o.faults && o.faults.kinds.length && rand() < o.faults.rate ? o.faults.kinds[Math.floor(rand() * o.faults.kinds.length)] : undefined);
      const cb = f.get('StatusCallback');
      const pageId = pageIdOf(cb);
      const taken = !fault || fault === 'hang';
      const sid = taken ? (kind === 'sms' ? 'SM' : 'CA') + randomBytes(16).toString('hex') : null;
      log.push({ seq: log.length + 1, kind, to: f.get('To')!, from: f.get('From') ?? '', statusCallback: cb, pageId, at, outcome: fault ?? 'accepted', sid,
        conn: connOf.get(ctx.env.incoming.socket) ?? 0, inflight: c.inflight, answeredAt: null, abortedAt: null });
      timeAnswer(log[log.length - 1], ctx);
      if (fault) c.faults[fault]++;
      if (fault && fault !== 'hang') {
        const [code, message] = ERRORS[fault];
        return ctx.json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status: Number(fault) }, Number(fault) as 500);
      }
      c.accepted++;
      if (pageId) pages.set(pageId, (pages.get(pageId) ?? 0) + 1);
      c.pendingCallbacks++;
      void afterAccept(kind, sid!, f).finally(() => c.pendingCallbacks--);
      if (fault === 'hang') await later(o.hangMs ?? 15_000);
      const created = new Date().toUTCString();
      const path = `/2010-04-01/Accounts/${o.accountSid}/${kind === 'sms' ? 'Messages' : 'Calls'}/${sid}.json`;
      return ctx.json({ sid, account_sid: o.accountSid, status: 'queued', to: f.get('To'), from: f.get('From'), direction: 'outbound-api', api_version: '2010-04-01',
        date_created: created, date_updated: created, uri: path, error_code: null, error_message: null, price: null,
        ...(kind === 'sms' ? { body: f.get('Body'), num_segments: '1', num_media: '0', messaging_service_sid: null } : { parent_call_sid: null, answered_by: null }) }, 201);
    } finally {
      c.inflight--;
    }
  };
  app.post('/2010-04-01/Accounts/:sid/Messages.json', create('sms'));
  app.post('/2010-04-01/Accounts/:sid/Calls.json', create('call'));
  app.get('/_standin/stats', (ctx) => ctx.json(statsOf(c, pages, ctx.req.query('pages') !== 'false')));
  app.get('/_standin/requests', (ctx) => {
    const since = Number(ctx.req.query('since') ?? 0) || 0;
    const requests = log.slice(Math.max(0, since));
    return ctx.json({ requests, next: log.length });
  });
  app.notFound((ctx) => ctx.json({ code: 20404, message: 'The requested resource was not found', status: 404 }, 404));

  const host = o.host ?? '127.0.0.1';
  const server = await new Promise<Server>((res) => {
    const s = serve({ fetch: app.fetch, port: o.port ?? 0, hostname: host }, () => res(s as Server));
  });
  server.on('connection', (sock: Socket) => {
    connOf.set(sock, ++c.connections);
    c.maxOpenConnections = Math.max(c.maxOpenConnections, ++c.openConnections);
    sock.once('close', () => c.openConnections--);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${host}:${port}`,
    stats: () => statsOf(c, pages),
    requests: (since = 0) => log.slice(Math.max(0, since)),
    refuseNext: (to, fault, times = 1) => void refusals.set(to, { fault, times }),
    async close() {
      closed = true;
      agent.destroy();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((res) => {
        server.close(() => res());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

async function cli() {
  const { values: v } = parseArgs({ options: {
    port: { type: 'string', default: '4010' }, host: { type: 'string' }, 'callback-delay-ms': { type: 'string' }, 'no-callbacks': { type: 'boolean' },
    'fault-rate': { type: 'string' }, 'fault-kinds': { type: 'string', default: '500,503,429,hang' }, 'hang-ms': { type: 'string' },
    'duplicate-callbacks': { type: 'string' }, 'shuffle-callbacks': { type: 'boolean' }, 'late-callbacks': { type: 'string' }, 'invalid-numbers': { type: 'string' }, 'auto-ack': { type: 'boolean' },
    'sms-webhook-url': { type: 'string' }, seed: { type: 'string' }, 'stdin-lifeline': { type: 'boolean' } } });
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const accountSid = process.env.TWILIO_ACCOUNT_SID, authToken = process.env.TWILIO_AUTH_TOKEN;
  if (!accountSid || !authToken) throw new Error('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required');
  const lateOf = (x: string | undefined) => {
    if (!x) return undefined;
    const [rate, delayMs] = x.split(':').map(Number);
    if (!(rate >= 0 && rate <= 1) || !(delayMs >= 0)) throw new Error(`--late-callbacks: <fraction>:<ms>, e.g. 0.2:11000 (got ${x})`);
    return { rate, delayMs };
  };
  const kinds = v['fault-kinds']!.split(',').map((k) => k.trim()).filter(Boolean) as FaultKind[];
  if (kinds.some((k) => !['500', '503', '429', 'hang'].includes(k))) throw new Error(`--fault-kinds: one of 500, 503, 429, hang (got ${v['fault-kinds']})`);
  const s = await startStandin({ port: num(v.port), host: v.host, accountSid, authToken, callbacks: !v['no-callbacks'], callbackDelayMs: num(v['callback-delay-ms']),
    faults: v['fault-rate'] ? { rate: Number(v['fault-rate']), kinds } : undefined, hangMs: num(v['hang-ms']), duplicateCallbacks: num(v['duplicate-callbacks']),
    shuffleCallbacks: v['shuffle-callbacks'], lateCallbacks: lateOf(v['late-callbacks']),
    invalidNumbers: v['invalid-numbers']?.split(',').map((x) => x.trim()).filter(Boolean), autoAck: v['auto-ack'], smsWebhookUrl: v['sms-webhook-url'], seed: num(v.seed) });
  process.stdout.write(`twilio-standin listening on ${s.url}\n`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (v['stdin-lifeline']) process.stdin.on('end', stop).on('error', stop).resume();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli().catch((e) => {
    process.stderr.write(`twilio-standin: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
