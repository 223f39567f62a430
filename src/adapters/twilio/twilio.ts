/**
 * Twilio, the same code on Node and on Cloudflare Workers.
 *
 * - Messages and calls go to Twilio's REST API as form-encoded POSTs to
 *   `/2010-04-01/Accounts/{sid}/Messages.json` and `Calls.json` (Basic auth), as the twilio SDK
 *   sends them: through `fetch` on Workers, through Node's http client on Node (a cheaper
 *   transport, ./node-transport.ts; both give the same answers). The SDK's own REST client is built on axios and Node's http and weighs ~8 MiB in
 *   a Worker bundle; two endpoints do not need it.
 * - TwiML and webhook signatures come from the twilio library itself, imported by deep path
 *   (`twilio/lib/twiml/*`, `twilio/lib/webhooks/webhooks`): those modules need only xmlbuilder and
 *   node:crypto, which Workers provide under `nodejs_compat`.
 *
 * TWILIO_API_BASE_URL points every request at a Twilio-compatible endpoint (staging, the
 * benchmarks' stand-in).
 */
import MessagingResponse from 'twilio/lib/twiml/MessagingResponse';
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse';
import { validateRequest } from 'twilio/lib/webhooks/webhooks';
import type { CallRequest, SendResult, SmsRequest, Telephony, TwimlBuilder } from '../../paging/telephony';

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  secondaryAuthToken?: string;
  fromNumber: string;
  apiBaseUrl: string;
  timeoutMs?: number;
  /** How a POST reaches Twilio: `fetch` unless given (Node passes node-transport.ts). */
  transport?: TwilioTransport;
}

/**
 * One form POST to Twilio: the status and body text of its answer, or a throw shaped like
 * fetch's (a system `code` on the error or its `cause`; a timeout named `TimeoutError`).
 */
export type TwilioTransport = (url: string, init: { headers: Record<string, string>; body: string; timeoutMs: number }) => Promise<{ status: number; text: string }>;

/** The default transport: `fetch`, which both runtimes have. */
export const fetchTransport: TwilioTransport = async (url, init) => {
  const res = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(init.timeoutMs) });
  return { status: res.status, text: await res.text() };
};

/** Network failures that happen before a request could reach Twilio: safe to send again. */
const NOT_SENT_NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

type Failure = Extract<SendResult, { ok: false }>;
type TwilioAnswer = { sid?: unknown; code?: unknown; message?: unknown };

/**
 * What an error answer from Twilio means for a retry. 429 (Twilio: "never processed and is
 * always safe to retry") and 503 (the service did not take the request) are sent again as the
 * same attempt. Any other 5xx may come after the message or call was created: its outcome is
 * unknown, so the pager records it as such and a new attempt follows, which a late status callback
 * of this one cancels — never the same attempt twice. Other 4xx will never succeed.
 */
export function classifyTwilioAnswer(status: number, body: { code?: unknown; message?: unknown } | null): Failure {
  const code = body?.code === undefined || body?.code === null ? undefined : String(body.code);
  const message = String(body?.message ?? `HTTP ${status}`).slice(0, 300);
  if (status === 429 || code === '20429' || status === 503) return { ok: false, kind: 'retry', status, code, message };
  if (status >= 500) return { ok: false, kind: 'unknown', status, code, message };
  return { ok: false, kind: 'permanent', status, code, message };
}

/** What a thrown fetch means: refused before sending → retry; a timeout or a reset → unknown (Twilio may have it). */
export function classifyFetchError(e: unknown): Failure {
  const err = e as { name?: string; message?: string; code?: unknown; cause?: { code?: unknown; message?: string } };
  const code = [err?.cause?.code, err?.code].find((c): c is string => typeof c === 'string');
  const message = String(err?.cause?.message ?? err?.message ?? e).slice(0, 300);
  if (code && NOT_SENT_NETWORK.has(code)) return { ok: false, kind: 'retry', code, message };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return { ok: false, kind: 'unknown', code: 'timeout', message };
  return { ok: false, kind: 'unknown', code, message };
}

/** Form-encode like Twilio's SDK: arrays become repeated keys, undefined is left out. */
function form(params: Record<string, string | number | string[] | undefined>): URLSearchParams {
  const f = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) f.append(k, String(item));
  }
  return f;
}

export function twilioTelephony(cfg: TwilioConfig): Telephony {
  const base = `${cfg.apiBaseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(cfg.accountSid)}`;
  const authorization = `Basic ${btoa(`${cfg.accountSid}:${cfg.authToken}`)}`;
  const tokens = [cfg.authToken, cfg.secondaryAuthToken].filter((t): t is string => !!t);
  const timeoutMs = cfg.timeoutMs ?? 10_000;

  const transport = cfg.transport ?? fetchTransport;
  const headers = { authorization, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };

  async function create(resource: 'Messages' | 'Calls', params: URLSearchParams): Promise<SendResult> {
    let res: { status: number; text: string };
    try {
      res = await transport(`${base}/${resource}.json`, { headers, body: params.toString(), timeoutMs });
    } catch (e) {
      return classifyFetchError(e);
    }
    const ok = res.status >= 200 && res.status < 300;
    let body: TwilioAnswer | null = null;
    try {
      body = JSON.parse(res.text) as TwilioAnswer;
    } catch (e) {
      // A 2xx whose body was lost: Twilio took the request, but we cannot name the message.
      if (ok) return { ok: false, kind: 'unknown', status: res.status, message: `answer unreadable: ${String((e as Error)?.message ?? e).slice(0, 200)}` };
    }
    if (ok) {
      if (typeof body?.sid === 'string') return { ok: true, sid: body.sid };
      return { ok: false, kind: 'unknown', status: res.status, message: 'answer without a sid' };
    }
    return classifyTwilioAnswer(res.status, body);
  }

  return {
    kind: 'twilio',
    sendSms(req: SmsRequest) {
      return create('Messages', form({ To: req.to, From: cfg.fromNumber, Body: req.body, StatusCallback: req.statusCallback }));
    },
    placeCall(req: CallRequest) {
      return create('Calls', form({
        To: req.to,
        From: cfg.fromNumber,
        Twiml: req.twiml,
        StatusCallback: req.statusCallback,
        // Only the events Mayday acts on: `answered` (CallStatus in-progress: delivered) and
        // `completed` (busy, no-answer, failed, or ended without a keypress: voicemail). The
        // `initiated` and `ringing` callbacks changed nothing but a rank, and cost two signed
        // requests and two database updates per call.
        StatusCallbackEvent: ['answered', 'completed'],
        MachineDetection: 'Enable',
        AsyncAmd: 'true',
        AsyncAmdStatusCallback: req.amdCallback,
        Timeout: 30,
      }));
    },
    validateSignature(url, params, signature) {
      if (!signature) return false;
      return tokens.some((t) => validateRequest(t, signature, url, params));
    },
  };
}

type SayAttributes = VoiceResponse.SayAttributes;

/**
 * The voice each locale is spoken with. Twilio's default voice speaks English; Spanish takes an
 * Amazon Polly voice of Twilio's for Mexican Spanish, since a voice that does not speak the
 * locale asked for fails the <Say>.
 */
const VOICES: Record<string, SayAttributes['voice']> = { 'es-MX': 'Polly.Mia' };

/** A <Say>'s attributes for `language` (en-US, es-MX). */
const sayIn = (language: string): SayAttributes => {
  const voice = VOICES[language];
  return { language: language as SayAttributes['language'], ...(voice ? { voice } : {}) };
};

/** TwiML from the twilio library. */
export const twiml: TwimlBuilder = {
  message(text) {
    const r = new MessagingResponse();
    if (text) r.message(text);
    return r.toString();
  },
  say(text, language) {
    const r = new VoiceResponse();
    r.say(sayIn(language), text);
    return r.toString();
  },
  pageCall({ script, noKey, language, gatherAction }) {
    const r = new VoiceResponse();
    const g = r.gather({ numDigits: 1, action: gatherAction, method: 'POST', timeout: 8, actionOnEmptyResult: false });
    g.say({ loop: 3, ...sayIn(language) }, script);
    r.say(sayIn(language), noKey);
    return r.toString();
  },
};
