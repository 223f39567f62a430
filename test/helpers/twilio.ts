/**
 * A mock Twilio for tests (msw intercepts the adapter's requests to Twilio's REST API): it records every message
 * and call, can be told to answer the next requests with errors or hang, and signs callbacks
 * and replies the way Twilio does. `expectNothingElse()` fails on any message a test did not
 * expect, so a page that should not have gone out cannot go unnoticed.
 */
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import twilio from 'twilio';
import { afterAll, beforeAll, expect } from 'vitest';
import type { TwilioConfig } from '../../src/adapters/twilio/twilio';
import { PUBLIC_BASE_URL, type TestApp } from './app';

export const TWILIO: TwilioConfig = {
  accountSid: 'AC' + '0'.repeat(31) + '1',
  authToken: 'test-auth-token-primary',
  secondaryAuthToken: 'test-auth-token-secondary',
  fromNumber: '+15550009999',
  apiBaseUrl: 'https://api.twilio.com',
  timeoutMs: 3_000,
};

/** How long a 'hang' fault holds its answer: longer than a short client timeout a test sets. */
export const HANG_MS = 1_500;

export interface Sent {
  kind: 'sms' | 'call';
  sid: string;
  to: string;
  body: string;
  /** The page id from the StatusCallback URL. */
  pageId: string;
  params: Record<string, string>;
}

/**
 * A fault answer: a status (and Twilio error code), 'hang' (an answer without a sid after
 * HANG_MS), 'reset' (the connection fails), or `{ slowMs }` (taken, but answered that late).
 */
type Fault = { status: number; code?: number; message?: string } | 'hang' | 'reset' | { slowMs: number };

let seq = 0;

export function mockTwilio() {
  const accepted: Sent[] = [];
  /** Every request, with when it arrived (performance.now()). */
  const requests: { kind: 'sms' | 'call'; to: string; pageId: string; at: number }[] = [];
  let unseen: Sent[] = [];
  const faults: { kind: 'sms' | 'call' | 'any'; to?: string; fault: Fault }[] = [];
  const ignored = new Set<string>();
  let answerAfterMs = 0;
  let counted = new Set<string>();
  let open = 0;
  let peak = 0;

  const handle = (kind: 'sms' | 'call') => async ({ request }: { request: Request }) => {
    // Only requests to the phones answerAfter() named count: an earlier test's request still
    // hanging in this file's mock must not.
    const counts = counted.size > 0 && counted.has(new URLSearchParams(await request.clone().text()).get('To') ?? '');
    if (counts) peak = Math.max(peak, ++open);
    try {
      if (answerAfterMs) await delay(answerAfterMs);
      return await answer(kind, request);
    } finally {
      if (counts) open--;
    }
  };
  const answer = async (kind: 'sms' | 'call', request: Request) => {
    const params = Object.fromEntries(new URLSearchParams(await request.text()));
    const pageId = new URL(params.StatusCallback ?? 'http://x/').searchParams.get('page') ?? '';
    requests.push({ kind, to: params.To, pageId, at: performance.now() });
    const i = faults.findIndex((f) => (f.kind === 'any' || f.kind === kind) && (!f.to || f.to === params.To));
    if (i >= 0) {
      const [{ fault }] = faults.splice(i, 1);
      if (fault === 'hang') {
        await delay(HANG_MS);
        return HttpResponse.json({}, { status: 201 });
      }
      if (fault === 'reset') return HttpResponse.error();
      if ('slowMs' in fault) {
        await delay(fault.slowMs);
        return accept(kind, params, pageId);
      }
      return HttpResponse.json({ code: fault.code ?? fault.status * 100, message: fault.message ?? 'fault', status: fault.status }, { status: fault.status });
    }
    return accept(kind, params, pageId);
  };
  const accept = (kind: 'sms' | 'call', params: Record<string, string>, pageId: string) => {
    const sid = (kind === 'sms' ? 'SM' : 'CA') + String(++seq).padStart(32, '0');
    const sent: Sent = { kind, sid, to: params.To, body: params.Body ?? params.Twiml ?? '', pageId, params };
    accepted.push(sent);
    if (!ignored.has(sent.to)) unseen.push(sent);
    return HttpResponse.json({ sid, status: 'queued', to: params.To, from: params.From, account_sid: TWILIO.accountSid }, { status: 201 });
  };

  const server = setupServer(
    http.post('https://api.twilio.com/2010-04-01/Accounts/:sid/Messages.json', handle('sms')),
    http.post('https://api.twilio.com/2010-04-01/Accounts/:sid/Calls.json', handle('call')),
  );
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());

  const take = (kind: 'sms' | 'call', to: string) => {
    const i = unseen.findIndex((m) => m.kind === kind && m.to === to);
    expect(i, `expected a${kind === 'sms' ? 'n SMS' : ' call'} to ${to}; unseen: ${describe(unseen)}`).toBeGreaterThanOrEqual(0);
    return unseen.splice(i, 1)[0];
  };

  return {
    accepted,
    requests,
    /** The next matching request(s) get this answer instead of success. */
    fail(kind: 'sms' | 'call' | 'any', fault: Fault, to?: string) {
      faults.push({ kind, to, fault });
    },
    expectSms(to: string, match?: RegExp): Sent {
      const m = take('sms', to);
      if (match) expect(m.body).toMatch(match);
      return m;
    },
    expectCall(to: string, match?: RegExp): Sent {
      const m = take('call', to);
      if (match) expect(m.body).toMatch(match);
      return m;
    },
    /** Fails if anything was sent that the test has not taken with expectSms / expectCall. */
    expectNothingElse() {
      const left = unseen;
      unseen = [];
      expect(left, `unexpected: ${describe(left)}`).toEqual([]);
    },
    forget() {
      unseen = [];
    },
    /** Messages to this phone are recorded (in `accepted`) but not expected one by one. */
    ignore(phone: string) {
      ignored.add(phone);
    },
    /** Everything accepted for one phone, oldest first. */
    to(phone: string) {
      return accepted.filter((m) => m.to === phone);
    },
    /** Answer every request `ms` late (0: at once), and count how many to `phones` were open at once. */
    answerAfter(ms: number, phones: string[] = []) {
      answerAfterMs = ms;
      counted = new Set(phones);
      peak = 0;
    },
    /** The most requests to answerAfter()'s phones open at once since it was called. */
    peakOpen: () => peak,
  };
}

/** The stand-in one test file sets up with mockTwilio(). */
export type MockTwilio = ReturnType<typeof mockTwilio>;

const describe = (ms: Sent[]) => ms.map((m) => `${m.kind} to ${m.to}`).join(', ') || 'nothing';

/** POST a form to one of Mayday's Twilio webhooks, signed with `token` as Twilio would. */
export async function postSigned(t: TestApp, pathAndQuery: string, params: Record<string, string>, token = TWILIO.authToken) {
  const url = `${PUBLIC_BASE_URL}${pathAndQuery}`;
  const signature = twilio.getExpectedTwilioSignature(token, url, params);
  const res = await t.app.request(pathAndQuery, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, text: await res.text() };
}

/** A responder's phone texts Mayday. */
export const smsFrom = (t: TestApp, from: string, body: string) =>
  postSigned(t, '/webhooks/twilio/sms', { From: from, To: TWILIO.fromNumber, Body: body, MessageSid: `SM${Date.now()}`, AccountSid: TWILIO.accountSid });

/** Twilio reports a message's status. */
export const messageStatus = (t: TestApp, m: Sent, status: string, extra: Record<string, string> = {}) =>
  postSigned(t, `/webhooks/twilio/status?page=${m.pageId}`, { MessageSid: m.sid, MessageStatus: status, AccountSid: TWILIO.accountSid, To: m.to, ...extra });

/** Twilio reports a call's status. */
export const callStatus = (t: TestApp, m: Sent, status: string, extra: Record<string, string> = {}) =>
  postSigned(t, `/webhooks/twilio/voice/status?page=${m.pageId}`, { CallSid: m.sid, CallStatus: status, AccountSid: TWILIO.accountSid, To: m.to, ...extra });

/** Twilio's asynchronous answering-machine detection result. */
export const amd = (t: TestApp, m: Sent, answeredBy: string) =>
  postSigned(t, `/webhooks/twilio/voice/amd?page=${m.pageId}`, { CallSid: m.sid, AnsweredBy: answeredBy, AccountSid: TWILIO.accountSid });

/** The person on a page call presses digits (Twilio requests the <Gather> action). */
export const press = (t: TestApp, m: Sent, digits: string) =>
  postSigned(t, `/webhooks/twilio/voice/gather?page=${m.pageId}`, { CallSid: m.sid, Digits: digits, AccountSid: TWILIO.accountSid });
