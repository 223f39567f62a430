import type { Deps } from '../deps';
import type { StatusReport } from './store';


/** A status callback (from Twilio's webhook or the simulator): the stored status only moves forward. */
export async function onStatus(deps: Deps, r: StatusReport): Promise<string> {
  const result = await deps.pager.recordStatus(r);
  deps.log.debug({ pageId: r.pageId, status: r.status, answeredBy: r.answeredBy, result }, 'page status');
  // A failover page (other channel, now) or a retry may have been queued: only a failure, the
  // end of a call or an answering machine can do that (page_callback() in sql/). The rest of the
  // callbacks (most of them) need no look at the outbox.
  if (mayQueue(r)) deps.pager.queued({ pageId: r.pageId });
  return result;
}

/**
 * Several status reports of one send at once, in order (the phone simulator's: a Twilio callback
 * arrives alone and goes through onStatus()). They go through the same group commit as
 * Twilio's callbacks, usually in one transaction with other pages' reports; each has the same
 * effect as through onStatus(), one after the other.
 */
export async function onStatuses(
  deps: Deps,
  r: { pageId: string; sid: string | null; steps: { status: string | null; answeredBy: string | null }[] },
): Promise<string[]> {
  const results = await Promise.all(r.steps.map((s) => deps.pager.recordStatus({ pageId: r.pageId, sid: r.sid, status: s.status, answeredBy: s.answeredBy, errorCode: null })));
  deps.log.debug({ pageId: r.pageId, statuses: r.steps.map((s) => s.status), results }, 'page statuses');
  if (r.steps.some(mayQueue)) deps.pager.queued({ pageId: r.pageId });
  return results;
}

const QUEUEING_STATUSES = new Set(['undelivered', 'failed', 'canceled', 'busy', 'no-answer', 'completed']);

/** Whether a status callback can have queued a page: the statuses after which page_callback() may fail over or retry. */
export function mayQueue(r: Pick<StatusReport, 'status' | 'answeredBy'>): boolean {
  if (r.status !== null && QUEUEING_STATUSES.has(r.status)) return true;
  return r.answeredBy !== null && (r.answeredBy.startsWith('machine') || r.answeredBy === 'fax');
}
