import type { Deps } from '../deps';
import { openedAtOfPage, recordKeypress } from './store';

export interface KeypressOutcome {
  result: 'acknowledged' | 'already' | 'ignored' | 'unknown';
  say: string;
}

/** A digit pressed on a page call: 1 acknowledges, anything else is not an acknowledgement. */
export async function onKeypress(deps: Deps, pageId: string, digits: string, sid: string | null = null): Promise<KeypressOutcome> {
  const r = await recordKeypress(deps.sql, pageId, digits, sid);
  if (r === 'open' && deps.metrics) {
    const openedAt = await openedAtOfPage(deps.sql, pageId);
    if (openedAt) deps.metrics.acknowledged((Date.now() - openedAt.getTime()) / 1000, 'voice');
  }
  if (r === 'open') return { result: 'acknowledged', say: 'Acknowledged. The incident is yours. Details are in your text messages. Goodbye.' };
  if (r === 'ignored') return { result: 'ignored', say: 'That was not 1. The incident is not acknowledged. Mayday will call again.' };
  if (r === 'unknown page') return { result: 'unknown', say: 'This call is not known to Mayday. Goodbye.' };
  return { result: 'already', say: 'This incident was already acknowledged or closed. Thank you. Goodbye.' };
}
