/**
 * On-call readiness: when a shift begins, the responder coming on call is texted "You are on call
 * for <zone> until <time>. Reply OK <code>" (called with the same words when Twilio refuses the
 * text), and when nobody confirms within the zone's grace its safety leads are paged. The engine's
 * tick(asOf) runs runReadiness(); what is due is SQL (readiness_due(), counted in next_due()).
 */
import type { Deps } from '../deps';
import { SPEECH_LOCALE, t, type Language } from '../i18n/catalogue';
import { maskPhone } from '../log';
import type { SendResult } from '../paging/telephony';
import { firstThatFits, isGsm7, plainName, truncate } from '../paging/segments';
import { claimReadiness, confirmReadiness, recordAsked, recordMissed, recordMissedUnpaged, takeFailedText, type DueReadiness, type Recipient } from './store';

export type ReadinessDeps = Pick<Deps, 'sql' | 'log' | 'telephony' | 'twiml' | 'publicBaseUrl'>;

/** Checks handled per claim: a handful of zones change shift at the same moment. */
const BATCH = 50;
/** A claimed check not recorded after this long (its instance died mid-send) is due again. */
export const LEASE_SECONDS = 30;

/** A time as every message writes it, the same in every zone and language: "2026-12-07 16:00 UTC". */
export const utcText = (d: Date) => `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;

/**
 * The text, within two segments: names as they are, else in plain GSM-7 letters, else cut
 * ("..." in GSM-7, "…" otherwise).
 */
function fitted(build: (names: (n: string) => string) => string): string {
  const cut = (max: number) => (n: string) => {
    const plain = plainName(n);
    return truncate(plain, max, isGsm7(plain));
  };
  return firstThatFits([build((n) => n), build(plainName), build(cut(40)), build(cut(20)), build(cut(10))]);
}

export function askText(lang: Language, r: Pick<DueReadiness, 'zone_name' | 'shift_end' | 'code'>): string {
  const until = r.shift_end ? utcText(r.shift_end) : t(lang, 'phone.readiness.untilFurtherNotice');
  return fitted((n) => t(lang, 'phone.readiness.ask', { zone: n(r.zone_name), until, code: r.code }));
}

export function missedText(lang: Language, r: Pick<DueReadiness, 'zone_name' | 'responder_name' | 'asked_at' | 'code'>): string {
  const asked = utcText(r.asked_at ?? new Date());
  return fitted((n) => t(lang, 'phone.readiness.missed', { zone: n(r.zone_name), name: n(r.responder_name), asked, code: r.code }));
}

/**
 * Attempts at one channel: of a readiness check while Twilio's answer is unknown (a 500, a reset,
 * a timeout); of a missed-check page while it is unknown or "not taken" (a 429, a 503).
 */
const PAGE_ATTEMPTS = 3;
/** The wait before the next attempt: well within the second the contract allows. */
const PAGE_RESEND_MS = 200;
/**
 * No new attempt starts this long after the first attempt of the text (a timeout takes Twilio's
 * 10 s): a slow text gives way to the call, and text and call end within the check's 30 s lease.
 */
const PAGE_BUDGET_MS = 8_000;

/**
 * Send once, and again every PAGE_RESEND_MS while `again` says so of Twilio's answer, up to
 * PAGE_ATTEMPTS and within PAGE_BUDGET_MS of `started`. Answers the last answer.
 */
async function sendAgain(deps: ReadinessDeps, checkId: string, to: string, channel: 'sms' | 'voice', send: () => Promise<SendResult>, again: (r: SendResult & { ok: false }) => boolean, started = performance.now()): Promise<SendResult> {
  for (let i = 1; ; i++) {
    const r = await send().catch((e: Error): SendResult => ({ ok: false, kind: 'unknown', message: e.message }));
    if (r.ok) return r;
    deps.log.warn({ checkId, to: maskPhone(to), channel, attempt: i, kind: r.kind, status: r.status, code: r.code }, 'readiness text or call not seen taken');
    if (!again(r) || i >= PAGE_ATTEMPTS || performance.now() - started > PAGE_BUDGET_MS) return r;
    await new Promise((ok) => setTimeout(ok, PAGE_RESEND_MS));
  }
}

/** A timeout: Twilio may or may not have taken it. Sent again within the second, so that a check never rests on an answer nobody saw. */
const whileUnknown = (r: SendResult & { ok: false }) => r.kind === 'unknown';
/** Anything but a permanent refusal: the page about a missed check tries its channel again. */
const notRefused = (r: SendResult & { ok: false }) => r.kind !== 'permanent';

/** Call one person with `voice`, again while `again` says so of Twilio's answer. Answers the last answer. */
function call(deps: ReadinessDeps, checkId: string, phone: string, language: Language, voice: string, again: (r: SendResult & { ok: false }) => boolean, started = performance.now()): Promise<SendResult> {
  const base = deps.publicBaseUrl;
  return sendAgain(deps, checkId, phone, 'voice', () => deps.telephony.placeCall({
    pageId: checkId,
    to: phone,
    twiml: deps.twiml.say(voice, SPEECH_LOCALE[language] ?? SPEECH_LOCALE.en),
    script: voice,
    // No page has this id: the status webhooks acknowledge these callbacks and change nothing.
    statusCallback: `${base}/webhooks/twilio/voice/status?readiness=${checkId}`,
    amdCallback: `${base}/webhooks/twilio/voice/amd?readiness=${checkId}`,
  }), again, started);
}

/**
 * The channel a readiness check went out on: a call Twilio took, or may have (its answer stayed
 * unknown: the grace then runs as for a call seen taken, and a later OK still confirms), is
 * 'voice'; a call refused or not taken is 'none', and the check is due at once.
 */
function askedBy(deps: ReadinessDeps, checkId: string, phone: string, r: SendResult): 'voice' | 'none' {
  if (r.ok) return 'voice';
  if (r.kind === 'unknown') {
    deps.log.warn({ checkId, to: maskPhone(phone), status: r.status, code: r.code }, 'readiness call: Twilio\'s answer stayed unknown; it may have rung');
    return 'voice';
  }
  deps.log.error({ checkId, to: maskPhone(phone), kind: r.kind, status: r.status, code: r.code }, 'readiness call not taken');
  return 'none';
}

/**
 * Text one person, again within the second while Twilio's answer is unknown; when the text is
 * refused (an invalid number; a 429 or 503: not taken) or no attempt was seen taken, call them
 * with `voice`, text and call within one budget. With `reportFailure`, Twilio's status callback
 * says whether the text failed later (onReadinessTextFailed()). Answers the channel that took it
 * (or may have), or 'none'.
 */
async function reach(deps: ReadinessDeps, checkId: string, to: Recipient, sms: string, voice: string, reportFailure = false): Promise<'sms' | 'voice' | 'none'> {
  if (!to.phone) return 'none';
  const phone = to.phone;
  const statusCallback = reportFailure ? `${deps.publicBaseUrl}/webhooks/twilio/status?readiness=${checkId}` : undefined;
  const started = performance.now();
  const text = await sendAgain(deps, checkId, phone, 'sms', () => deps.telephony.sendSms({ to: phone, body: sms, statusCallback }), whileUnknown, started);
  if (text.ok) return 'sms';
  deps.log.warn({ checkId, to: maskPhone(phone), kind: text.kind, status: text.status, code: text.code }, 'readiness text not seen taken; calling instead');
  return askedBy(deps, checkId, phone, await call(deps, checkId, phone, to.language, voice, whileUnknown, started));
}

/**
 * Twilio reports that the readiness text to the responder failed or was undelivered: they are
 * called with the same words, once (a repeated callback finds the check already moved to voice).
 * A call refused too makes the check due at once, so the safety leads are paged.
 */
export async function onReadinessTextFailed(deps: ReadinessDeps, checkId: string): Promise<void> {
  const c = await takeFailedText(deps.sql, checkId);
  if (!c?.phone) return;
  const until = c.shift_end ? utcText(c.shift_end) : t(c.language, 'phone.readiness.untilFurtherNotice');
  const via = askedBy(deps, checkId, c.phone, await call(deps, checkId, c.phone, c.language, t(c.language, 'phone.readiness.voice', { zone: c.zone_name, until, code: c.code }), whileUnknown));
  if (via === 'none') await recordAsked(deps.sql, checkId, null, 'none');
  deps.log.info({ checkId, code: c.code, via }, 'readiness text failed; called instead');
}

/**
 * Page one person about a missed check: by SMS, sent again while Twilio's answer is unknown; when
 * the text is refused or never seen taken, by voice the same way. Answers the channel Twilio took
 * it on, or 'none'.
 */
async function page(deps: ReadinessDeps, checkId: string, to: Recipient, sms: string, voice: string): Promise<'sms' | 'voice' | 'none'> {
  if (!to.phone) return 'none';
  const phone = to.phone;
  const started = performance.now();
  const text = await sendAgain(deps, checkId, phone, 'sms', () => deps.telephony.sendSms({ to: phone, body: sms }), notRefused, started);
  if (text.ok) return 'sms';
  return (await call(deps, checkId, phone, to.language, voice, notRefused, started)).ok ? 'voice' : 'none';
}

async function handle(deps: ReadinessDeps, at: Date | null, r: DueReadiness): Promise<void> {
  if (r.action === 'ask') {
    const [to] = r.recipients;
    const until = r.shift_end ? utcText(r.shift_end) : t(to.language, 'phone.readiness.untilFurtherNotice');
    const via = await reach(deps, r.check_id, to, askText(to.language, r), t(to.language, 'phone.readiness.voice', { zone: r.zone_name, until, code: r.code }), true);
    await recordAsked(deps.sql, r.check_id, at, via);
    deps.log.info({ checkId: r.check_id, code: r.code, via }, 'readiness check sent');
    return;
  }
  if (r.recipients.length === 0) {
    deps.log.error({ checkId: r.check_id, code: r.code }, 'readiness check missed and there is no safety lead nor other zone supervisor to page');
    await recordMissed(deps.sql, r.check_id, at);
    return;
  }
  const reached = await Promise.all(
    r.recipients.map((lead) => page(deps, r.check_id, lead, missedText(lead.language, r),
      t(lead.language, 'phone.readiness.missedVoice', { zone: r.zone_name, name: r.responder_name }))),
  );
  if (reached.some((v) => v !== 'none')) {
    await recordMissed(deps.sql, r.check_id, at);
    deps.log.warn({ checkId: r.check_id, code: r.code, paged: r.recipients.length, reached: reached.filter((v) => v !== 'none').length }, 'readiness check missed; safety leads paged');
    return;
  }
  // Nobody took the page: it stays due, with a backoff, until someone does or the shift is over.
  const again = await recordMissedUnpaged(deps.sql, r.check_id, at);
  deps.log.error({ checkId: r.check_id, code: r.code, paged: r.recipients.length, dueAgain: again?.toISOString() ?? null }, 'readiness check missed and nobody could be reached');
}

/**
 * Everything readiness has due as of `at` (null: now): checks to send at a shift's start, and
 * safety leads to page for checks unconfirmed after the grace. Answers how many checks it handled.
 */
export async function runReadiness(deps: ReadinessDeps, at: Date | null): Promise<number> {
  let handled = 0;
  for (;;) {
    const rows = await claimReadiness(deps.sql, at, BATCH, LEASE_SECONDS);
    const results = await Promise.allSettled(rows.map((r) => handle(deps, at, r)));
    for (const x of results) if (x.status === 'rejected') deps.log.error({ err: x.reason }, 'readiness check failed; it is due again after its lease');
    handled += rows.length;
    if (rows.length < BATCH) return handled;
  }
}

/** A responder's text "OK" or "OK <code>": confirms their readiness check; answers the reply, in their language. */
export async function confirmByText(deps: Pick<Deps, 'sql' | 'log'>, responderId: string, lang: Language, code: number | null): Promise<string> {
  const r = await confirmReadiness(deps.sql, responderId, code);
  deps.log.info({ responderId, code, result: r.result }, 'readiness reply');
  switch (r.result) {
    case 'confirmed': {
      const until = r.shiftEnd ? utcText(r.shiftEnd) : t(lang, 'phone.readiness.untilFurtherNotice');
      return fitted((n) => t(lang, 'phone.readiness.confirmed', { zone: n(r.zoneName), until }));
    }
    case 'already':
      return t(lang, 'phone.readiness.already', { code: r.code });
    case 'late':
      return t(lang, 'phone.readiness.late', { code: r.code });
    case 'ambiguous':
      return t(lang, 'phone.readiness.which');
    case 'unknown':
      return t(lang, 'phone.readiness.unknown', { code: code ?? '' });
    default:
      return t(lang, 'phone.readiness.none');
  }
}
