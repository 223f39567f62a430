/**
 * The texts of pages, by SMS and by voice, in the recipient's language (src/i18n). Every SMS fits
 * in two segments whatever the names (up to 200 characters, accents, emoji), the code and the
 * fix: when the full text does not, its variable parts are shortened until it does.
 */
import { SPEECH_LOCALE, t, type Language } from '../i18n/catalogue';
import { firstThatFits, isGsm7, plainName, truncate } from './segments';
import type { ClaimedPage } from './store';

function age(from: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - from.getTime()) / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}min`;
  return `${Math.round(s / 3600)}h`;
}

/**
 * How much of a page's variable parts an SMS keeps. The ladder below goes from everything to
 * the least that still says what, who, where and "ACK <code>"; the first rung that fits is sent.
 */
interface Shape {
  /** The fix's decimal coordinates as text (the map link always carries them). */
  coordinates: boolean;
  /** Names in GSM-7 where they can be (plainName()): María → Maria costs less than a cut. */
  plain: boolean;
  /** Names cut to this many characters. */
  nameMax: number;
  zone: boolean;
  /** The page's short form (smsShort), for names that keep the text in UCS-2 (70 units a segment). */
  short: boolean;
  /** Why it is paged again ("driver asks for HELP"...). */
  again: boolean;
  /** The fix as its map link alone, without its accuracy and age. */
  bareFix: boolean;
}

const FULL: Shape = { coordinates: true, plain: false, nameMax: Infinity, zone: true, short: false, again: true, bareFix: false };
const CUT: Shape = { ...FULL, coordinates: false, plain: true };
const SHORT: Shape = { ...CUT, short: true };
const LADDER: Shape[] = [
  FULL,
  { ...FULL, coordinates: false },
  CUT,
  ...[60, 40, 24, 16].map((nameMax) => ({ ...CUT, nameMax })),
  { ...SHORT, nameMax: 16 },
  { ...SHORT, nameMax: 10, zone: false },
  { ...SHORT, nameMax: 10, zone: false, again: false },
  { ...SHORT, nameMax: 10, zone: false, again: false, bareFix: true },
  { ...SHORT, nameMax: 8, zone: false, again: false, bareFix: true },
  { ...SHORT, nameMax: 4, zone: false, again: false, bareFix: true },
  { ...SHORT, nameMax: 2, zone: false, again: false, bareFix: true },
];

/**
 * The first rung of the ladder whose text fits. Names cut end in "..." in a GSM-7 text and in
 * "…" in a UCS-2 one, where it costs one unit and "..." three.
 */
function fitted(build: (shape: Shape, name: (n: string) => string) => string): string {
  return firstThatFits(
    (function* () {
      for (const shape of LADDER) {
        const named = (gsm: boolean) => (n: string) => {
          const plain = shape.plain ? plainName(n) : n;
          return Number.isFinite(shape.nameMax) ? truncate(plain, shape.nameMax, gsm) : plain;
        };
        const text = build(shape, named(true));
        yield isGsm7(text) ? text : build(shape, named(false));
      }
    })(),
  );
}

function fixText(p: ClaimedPage, lang: Language, shape: Shape, now: Date): string {
  if (p.lat === null || p.lng === null || p.location_at === null) return t(lang, 'phone.fix.unknown');
  const coordinates = `${p.lat.toFixed(5)},${p.lng.toFixed(5)}`;
  const link = `https://maps.google.com/?q=${coordinates}`;
  if (shape.bareFix) return link;
  const params = {
    coordinates,
    accuracy: p.accuracy_m === null ? '' : t(lang, 'phone.fix.accuracy', { meters: Math.round(p.accuracy_m) }),
    age: age(p.location_at, now),
    link,
  };
  return t(lang, shape.coordinates ? 'phone.fix.full' : 'phone.fix.short', params);
}

/** Why the page is sent again, as the SMS says it after the code; empty for a first page. */
function againText(p: ClaimedPage, lang: Language): string {
  if (p.purpose === 'repage') {
    if (p.note === 'need_help') return t(lang, 'phone.page.needHelp');
    if (p.note === 'checkin_missed') return t(lang, 'phone.page.checkinMissed');
    return t(lang, 'phone.page.again');
  }
  if (p.round > 0) return t(lang, 'phone.page.reminder', { round: p.round });
  return p.purpose === 'retry' ? t(lang, 'phone.page.again') : '';
}

/** The SMS a page of any purpose sends, in its recipient's language. */
export function smsFor(p: ClaimedPage, now = new Date()): string {
  const lang = p.recipient_language;
  switch (p.purpose) {
    case 'checkin':
      return t(lang, 'phone.checkin.sms', { code: p.code });
    case 'notice':
      return fitted((_, name) => t(lang, 'phone.notice.sms', { code: p.code, driver: name(p.driver_name) }));
    case 'dispatch':
      if (p.note === 'psap_contacted') return fitted((_, name) => t(lang, 'phone.dispatch.psapContacted', { code: p.code, driver: name(p.driver_name) }));
      if (p.note === 'canceled_then_duress') {
        return fitted((shape, name) =>
          t(lang, shape.short ? 'phone.dispatch.canceledThenDuressShort' : 'phone.dispatch.canceledThenDuress', { code: p.code, driver: name(p.driver_name), fix: fixText(p, lang, shape, now) }),
        );
      }
      return fitted((shape, name) =>
        t(lang, shape.short ? 'phone.dispatch.failedShort' : 'phone.dispatch.failed', { code: p.code, driver: name(p.driver_name), fix: fixText(p, lang, shape, now) }),
      );
    case 'duress':
      return fitted((shape, name) =>
        t(lang, shape.short ? 'phone.duress.smsShort' : 'phone.duress.sms', { code: p.code, driver: name(p.driver_name), fix: fixText(p, lang, shape, now) }),
      );
    default:
      return pageSms(p, now);
  }
}

/**
 * The SMS a responder gets. It always carries the literal words "ACK <code>", so the reply the
 * person types is the one the service understands, and the latest fix with its age and accuracy.
 */
export function pageSms(p: ClaimedPage, now = new Date()): string {
  const lang = p.recipient_language;
  const again = againText(p, lang);
  return fitted((shape, name) =>
    t(lang, shape.short ? 'phone.page.smsShort' : 'phone.page.sms', {
      code: p.code,
      again: shape.again ? again : '',
      kind: t(lang, `phone.kind.${p.kind}`),
      driver: name(p.driver_name),
      where: p.zone_name && shape.zone ? t(lang, 'phone.page.inZone', { zone: name(p.zone_name) }) : '',
      fix: fixText(p, lang, shape, now),
    }),
  );
}

/** What the page call says (Twilio's <Say>), then gathers one digit: 1 acknowledges. */
export function pageScript(p: ClaimedPage): string {
  const lang = p.recipient_language;
  const code = String(p.code).split('').join(' ');
  if (p.purpose === 'duress') return t(lang, 'phone.duress.voice', { driver: p.driver_name, code });
  if (p.purpose === 'dispatch') return t(lang, 'phone.dispatch.failedVoice', { driver: p.driver_name, code });
  return t(lang, 'phone.page.voice', {
    kind: t(lang, `phone.kindSpoken.${p.kind}`),
    driver: p.driver_name,
    where: p.zone_name ? t(lang, 'phone.page.inZone', { zone: p.zone_name }) : '',
    code,
  });
}

/** Everything a page call's TwiML says, and the locale it is spoken in. */
export function pageCall(p: ClaimedPage): { script: string; noKey: string; language: string } {
  return { script: pageScript(p), noKey: t(p.recipient_language, 'phone.call.noKey'), language: SPEECH_LOCALE[p.recipient_language] ?? SPEECH_LOCALE.en };
}
