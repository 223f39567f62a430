/**
 * Twilio through its official Node SDK: messages, calls, TwiML and webhook signatures.
 * TWILIO_API_BASE_URL points the SDK at a Twilio-compatible endpoint (staging, or the chaos
 * scripts' stand-in) by rewriting the host of every request it makes.
 */
import twilio from 'twilio';
import type { CallRequest, SendResult, SmsRequest, Telephony, TwimlBuilder } from './types';

const { RequestClient } = twilio;

class BaseUrlRequestClient extends RequestClient {
  constructor(
    private base: string,
    opts: ConstructorParameters<typeof RequestClient>[0],
  ) {
    super(opts);
  }
  override request<T>(opts: Parameters<InstanceType<typeof RequestClient>['request']>[0]) {
    opts.uri = opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.base);
    return super.request<T>(opts as never);
  }
}

const NOT_SENT_NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether trying again can help, from what the SDK threw. */
export function classifyTwilioError(e: unknown): Extract<SendResult, { ok: false }> {
  const err = e as { status?: number; code?: number | string; message?: string };
  const message = String(err?.message ?? e).slice(0, 300);
  if (typeof err?.status === 'number') {
    const code = err.code === undefined ? undefined : String(err.code);
    if (err.status === 429 || code === '20429') return { ok: false, kind: 'retry', status: err.status, code, message };
    if (err.status >= 500) return { ok: false, kind: 'retry', status: err.status, code, message };
    return { ok: false, kind: 'permanent', status: err.status, code, message };
  }
  if (typeof err?.code === 'string' && NOT_SENT_NETWORK.has(err.code)) return { ok: false, kind: 'retry', code: err.code, message };
  // Timeouts, resets, anything else: the request may have reached Twilio.
  return { ok: false, kind: 'unknown', code: typeof err?.code === 'string' ? err.code : undefined, message };
}

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  secondaryAuthToken?: string;
  fromNumber: string;
  apiBaseUrl: string;
  timeoutMs?: number;
}

export function twilioTelephony(cfg: TwilioConfig): Telephony {
  const httpClient = new BaseUrlRequestClient(cfg.apiBaseUrl, { timeout: cfg.timeoutMs ?? 10_000, keepAlive: true });
  const client = twilio(cfg.accountSid, cfg.authToken, { httpClient });
  const tokens = [cfg.authToken, cfg.secondaryAuthToken].filter((t): t is string => !!t);
  return {
    kind: 'twilio',
    async sendSms(req: SmsRequest): Promise<SendResult> {
      try {
        const m = await client.messages.create({ to: req.to, from: cfg.fromNumber, body: req.body, ...(req.statusCallback ? { statusCallback: req.statusCallback } : {}) });
        return { ok: true, sid: m.sid };
      } catch (e) {
        return classifyTwilioError(e);
      }
    },
    async placeCall(req: CallRequest): Promise<SendResult> {
      try {
        const call = await client.calls.create({
          to: req.to,
          from: cfg.fromNumber,
          twiml: req.twiml,
          statusCallback: req.statusCallback,
          statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
          machineDetection: 'Enable',
          asyncAmd: 'true',
          asyncAmdStatusCallback: req.amdCallback,
          timeout: 30,
        });
        return { ok: true, sid: call.sid };
      } catch (e) {
        return classifyTwilioError(e);
      }
    },
    validateSignature(url, params, signature) {
      if (!signature) return false;
      return tokens.some((t) => twilio.validateRequest(t, signature, url, params));
    },
  };
}

export const sdkTwiml: TwimlBuilder = {
  message(text) {
    const r = new twilio.twiml.MessagingResponse();
    if (text) r.message(text);
    return r.toString();
  },
  say(text) {
    const r = new twilio.twiml.VoiceResponse();
    r.say(text);
    return r.toString();
  },
  pageCall({ script, gatherAction }) {
    const r = new twilio.twiml.VoiceResponse();
    const g = r.gather({ numDigits: 1, action: gatherAction, method: 'POST', timeout: 8, actionOnEmptyResult: false });
    g.say({ loop: 3 }, script);
    r.say('No key was pressed. Mayday will call again.');
    return r.toString();
  },
};
