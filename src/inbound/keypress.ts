import type { Deps } from '../deps';
import { SPEECH_LOCALE, t } from '../i18n/catalogue';
import { openedAtOfPage, recordKeypress } from './store';

export interface KeypressOutcome {
  result: 'acknowledged' | 'already' | 'ignored' | 'unknown';
  /** What the call says next, in the language of the person called. */
  say: string;
  /** The locale it is said in (TwiML <Say language>). */
  language: string;
}

/**
 * A digit pressed on a page call: 1 acknowledges, anything else is not an acknowledgement. A
 * press that names no page (`pageId` undefined) is told goodbye, in English.
 */
export async function onKeypress(deps: Deps, pageId: string | undefined, digits: string, sid: string | null = null): Promise<KeypressOutcome> {
  if (!pageId) return { result: 'unknown', say: t('en', 'phone.call.goodbye'), language: SPEECH_LOCALE.en };
  const { result: r, language } = await recordKeypress(deps.sql, pageId, digits, sid);
  const lang = language ?? 'en';
  const outcome = (result: KeypressOutcome['result'], key: 'acknowledged' | 'already' | 'notOne' | 'unknownCall'): KeypressOutcome =>
    ({ result, say: t(lang, `phone.call.${key}`), language: SPEECH_LOCALE[lang] ?? SPEECH_LOCALE.en });
  if (r === 'open' && deps.metrics) {
    const openedAt = await openedAtOfPage(deps.sql, pageId);
    if (openedAt) deps.metrics.acknowledged((Date.now() - openedAt.getTime()) / 1000, 'voice');
  }
  if (r === 'open') return outcome('acknowledged', 'acknowledged');
  if (r === 'ignored') return outcome('ignored', 'notOne');
  if (r === 'unknown page') return outcome('unknown', 'unknownCall');
  return outcome('already', 'already');
}
