/**
 * Noonlight's dispatch API behind the dispatch-center port, the same code on Node and on
 * Cloudflare Workers (global `fetch`, JSON, bearer NOONLIGHT_SERVER_TOKEN against
 * NOONLIGHT_API_BASE_URL):
 *
 *   POST /dispatch/v1/alarms                 {name, phone, pin, location: {coordinates}, services, instructions: {entry}}
 *   POST /dispatch/v1/alarms/{id}/locations  {coordinates: {lat, lng, accuracy}}; on 400/422 once more flat
 *   POST /dispatch/v1/alarms/{id}/status     {status: "CANCELED", pin}
 *
 * Retries: only what was surely not processed (429, 503, a connection refused) and a connection
 * reset (which may have been processed: the result then says `ambiguous`), at most three
 * attempts, none started more than ~3 s after the first. Nothing secret is logged or returned:
 * no token, PIN or phone number, and digits in Noonlight's error messages are masked.
 */
import type { Logger } from '../log';
import type { AlarmRequest, AlarmStatus, CenterFailure, Coordinates, DispatchCenter, Services } from './center';

export interface NoonlightConfig {
  apiBaseUrl: string;
  serverToken: string;
  /** Each attempt's time limit. */
  attemptTimeoutMs?: number;
  maxAttempts?: number;
  /** No retry starts once this long has passed since the first attempt began. */
  retryBudgetMs?: number;
  /** The wait before the 2nd, 3rd… attempt (the last repeats; a 429's Retry-After is used instead). */
  backoffMs?: readonly number[];
  log?: Logger;
}

const DEFAULTS = { attemptTimeoutMs: 5_000, maxAttempts: 3, retryBudgetMs: 3_000, backoffMs: [200, 600] } as const;

/** Connection errors raised before the request could reach Noonlight: safe to send again. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** The connection broke while the request was out: Noonlight may have it. */
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

type Op = 'create' | 'location' | 'cancel';
type Sent = { ok: true; attempts: number; ambiguous: boolean; status: number; body: Record<string, unknown> | null };

/** Runs of digits long enough to be a phone number (or precise coordinates), masked: "+15550100010" → "+1…10". */
const maskDigits = (s: string) => s.replace(/\+?\d[\d\s().-]{5,}\d/g, (m) => `${m.slice(0, 2)}…${m.slice(-2)}`);

export function noonlightCenter(cfg: NoonlightConfig): DispatchCenter {
  const base = `${cfg.apiBaseUrl.replace(/\/+$/, '')}/dispatch/v1/alarms`;
  const o = {
    attemptTimeoutMs: cfg.attemptTimeoutMs ?? DEFAULTS.attemptTimeoutMs,
    maxAttempts: cfg.maxAttempts ?? DEFAULTS.maxAttempts,
    retryBudgetMs: cfg.retryBudgetMs ?? DEFAULTS.retryBudgetMs,
    backoffMs: cfg.backoffMs ?? DEFAULTS.backoffMs,
  };
  const headers = { authorization: `Bearer ${cfg.serverToken}`, accept: 'application/json', 'content-type': 'application/json' };
  /** Which form of a location Noonlight took last: nested until a flat one was taken after a nested one was refused. */
  let locationForm: 'nested' | 'flat' = 'nested';

  /** A message safe to log and record: Noonlight's words with the token, the PIN and any phone-like digits taken out. */
  const scrub = (text: string, secrets: string[]) => {
    let s = text;
    for (const x of [cfg.serverToken, ...secrets]) if (x) s = s.split(x).join('[redacted]');
    return maskDigits(s).slice(0, 300);
  };

  /** One POST with retries; `secrets` are the request's values that must not come back in a message. */
  async function post(op: Op, url: string, payload: unknown, secrets: string[], alarmId?: string): Promise<Sent | CenterFailure> {
    const body = JSON.stringify(payload);
    const started = Date.now();
    let ambiguous = false;
    for (let attempt = 1; ; attempt++) {
      let retry: { why: Omit<Extract<CenterFailure, { kind: 'unknown' }>, 'ok' | 'kind' | 'attempts' | 'ambiguous'>; afterMs?: number };
      try {
        const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(o.attemptTimeoutMs) });
        const text = await res.text();
        let json: Record<string, unknown> | null = null;
        try {
          const v: unknown = JSON.parse(text);
          if (v && typeof v === 'object' && !Array.isArray(v)) json = v as Record<string, unknown>;
        } catch {
          // Not JSON: an error page from a proxy, or an empty answer.
        }
        if (res.ok) return { ok: true, attempts: attempt, ambiguous, status: res.status, body: json };
        const said = json?.message ?? json?.error ?? json?.detail ?? (text.trim() || `HTTP ${res.status}`);
        const message = scrub(typeof said === 'string' ? said : JSON.stringify(said), secrets);
        if (res.status === 429 || res.status === 503) {
          // Retry-After in seconds (its HTTP-date form is not worth reading for a wait this short).
          const after = /^\s*\d+\s*$/.test(res.headers.get('retry-after') ?? '') ? Number(res.headers.get('retry-after')) * 1000 : undefined;
          retry = { why: { status: res.status, message }, afterMs: after };
        } else if (res.status < 500) {
          cfg.log?.warn({ op, alarmId, status: res.status, attempt }, 'noonlight refused the request');
          return { ok: false, kind: 'refused', status: res.status, message, attempts: attempt, ambiguous };
        } else {
          // Any other 5xx: the request reached Noonlight and its effect is unknown. Not sent again,
          // even for a creation, whose alarm may exist: a second alarm for one emergency would have two
          // dispatchers calling the driver, and the 500 users have met (a blank emergency contact on
          // the account) is a setting no retry fixes. The caller records dispatch.failed and pages.
          cfg.log?.warn({ op, alarmId, status: res.status, attempt }, 'noonlight answered with a server error');
          return { ok: false, kind: 'unknown', status: res.status, message, attempts: attempt, ambiguous: true };
        }
      } catch (e) {
        const err = e as { name?: string; message?: string; code?: unknown; cause?: { code?: unknown; message?: string } };
        const code = [err?.cause?.code, err?.code].find((c): c is string => typeof c === 'string');
        const message = scrub(String(err?.cause?.message ?? err?.message ?? e), secrets);
        if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
          // Sent, unanswered within the limit: it may be in progress. Not sent again (the same reasoning as a 5xx).
          cfg.log?.warn({ op, alarmId, attempt, timeoutMs: o.attemptTimeoutMs }, 'noonlight did not answer in time');
          return { ok: false, kind: 'unknown', code: 'timeout', message, attempts: attempt, ambiguous: true };
        }
        if (code && NOT_SENT.has(code)) retry = { why: { code, message } };
        else if (code && RESET.has(code)) {
          ambiguous = true;
          retry = { why: { code, message } };
        } else {
          cfg.log?.warn({ op, alarmId, code, attempt }, 'noonlight request failed');
          return { ok: false, kind: 'unknown', code, message, attempts: attempt, ambiguous: true };
        }
      }
      // A 429's or 503's Retry-After is obeyed: when it does not fit the budget, the call ends here.
      const wait = retry.afterMs ?? o.backoffMs[Math.min(attempt, o.backoffMs.length) - 1] ?? 0;
      if (attempt >= o.maxAttempts || Date.now() - started + wait > o.retryBudgetMs) {
        cfg.log?.warn({ op, alarmId, ...retry.why, message: undefined, attempt }, 'noonlight still unavailable after retries');
        return { ok: false, kind: 'unknown', ...retry.why, attempts: attempt, ambiguous };
      }
      cfg.log?.info({ op, alarmId, ...retry.why, message: undefined, attempt, waitMs: wait }, 'noonlight request retried');
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  const statusOf = (v: unknown, dflt: AlarmStatus): AlarmStatus =>
    v === 'ACTIVE' || v === 'CANCELED' || v === 'CLOSED' ? v : dflt;
  /** Noonlight keeps accuracy in whole metres; rounding up never claims a better fix than there was. */
  const coords = (c: Coordinates) => ({ lat: c.lat, lng: c.lng, accuracy: Math.max(1, Math.ceil(c.accuracy)) });

  return {
    kind: 'noonlight',

    async createAlarm(req: AlarmRequest) {
      if (!req.location) return { ok: false, kind: 'refused', message: 'no location to send: Noonlight needs one', attempts: 0, ambiguous: false };
      // Every service is sent explicitly, `other` too: an absent one is not a "no" Noonlight can be trusted to read.
      const services = { police: req.services.police, fire: req.services.fire, medical: req.services.medical };
      const r = await post('create', base, {
        name: req.name,
        // Noonlight's own examples write US numbers as digits only ("15554440003").
        phone: req.phone.replace(/^\+/, ''),
        pin: req.pin,
        location: { coordinates: coords(req.location) },
        services: { ...services, other: false },
        instructions: { entry: req.instructions },
      }, [req.pin, req.phone, req.phone.replace(/^\+/, '')]);
      if (!r.ok) return r;
      const id = r.body?.id;
      if (typeof id !== 'string' || !id) {
        // Taken (2xx), but we cannot name the alarm: it exists, and nothing can update or cancel it.
        cfg.log?.warn({ op: 'create', status: r.status }, 'noonlight created an alarm without an id in its answer');
        return { ok: false, kind: 'unknown', status: r.status, message: 'answer without an alarm id', attempts: r.attempts, ambiguous: true };
      }
      const said = r.body?.services as Partial<Record<keyof Services, unknown>> | undefined;
      const echoed = said && typeof said === 'object'
        ? { police: said.police === true, fire: said.fire === true, medical: said.medical === true }
        : services;
      return { ok: true, attempts: r.attempts, ambiguous: r.ambiguous, alarmId: id, status: statusOf(r.body?.status, 'ACTIVE'), services: echoed };
    },

    async addLocation(alarmId: string, at: Coordinates) {
      const url = `${base}/${encodeURIComponent(alarmId)}/locations`;
      const c = coords(at);
      const bodyOf = (form: 'nested' | 'flat') => (form === 'nested' ? { coordinates: c } : c);
      const first = locationForm;
      const r = await post('location', url, bodyOf(first), [], alarmId);
      if (r.ok) return { ok: true, attempts: r.attempts, ambiguous: r.ambiguous };
      // Which form Noonlight wants is not settled (its reference nests the coordinates, some
      // clients send them flat): a 400/422 to one form is tried once in the other, and the form
      // taken is kept for the next location.
      if (r.kind !== 'refused' || (r.status !== 400 && r.status !== 422)) return r;
      const other = first === 'nested' ? 'flat' : 'nested';
      const again = await post('location', url, bodyOf(other), [], alarmId);
      if (again.ok) {
        locationForm = other;
        return { ok: true, attempts: r.attempts + again.attempts, ambiguous: r.ambiguous || again.ambiguous };
      }
      return { ...again, attempts: r.attempts + again.attempts, ambiguous: r.ambiguous || again.ambiguous,
        message: `${first} form: ${r.message}; ${other} form: ${again.message}` };
    },

    async cancelAlarm(alarmId: string, pin: string) {
      const r = await post('cancel', `${base}/${encodeURIComponent(alarmId)}/status`, { status: 'CANCELED', pin }, [pin], alarmId);
      if (!r.ok) return r;
      return { ok: true, attempts: r.attempts, ambiguous: r.ambiguous, status: statusOf(r.body?.status, 'CANCELED') };
    },
  };
}
