import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { AppError, notFound } from '../errors';
import type { Kind } from '../incidents/schemas';
import { openSos } from '../incidents/service';
import { lastKnownFix } from '../incidents/store';
import { readsAsEmergency } from './emergency';
import type { Category, PromotionReason, SupportRequest } from './schemas';
import * as store from './store';

/** The incident note of a promoted request: what the driver wrote (and what the agent read). */
const MAX_NOTE = 2000;
function incidentNote(r: { category: Category; text: string }, agentNote?: string): string {
  const note = `Support request (${r.category}): ${r.text}${agentNote ? `\nAgent: ${agentNote}` : ''}`;
  return note.length > MAX_NOTE ? `${note.slice(0, MAX_NOTE - 1)}…` : note;
}

/**
 * Run `fn` in one transaction with deps whose `sql` is that transaction, so the SOS intake,
 * the request and the support.linked event commit together or not at all.
 */
function inTransaction<T>(deps: Deps, fn: (tx: Deps) => Promise<T>): Promise<T> {
  return store.inOneTransaction(deps.sql, (tx) => fn({ ...deps, sql: tx, intakeSql: tx }));
}

/** Open the incident for a request through the one SOS intake, at the driver's last known fix. */
async function promote(
  tx: Deps,
  driver: Principal,
  r: { category: Category; text: string },
  kind: Kind,
  agentNote?: string,
): Promise<string> {
  const location = await lastKnownFix(tx.sql, driver.id);
  const { incident } = await openSos(tx, driver, { clientRequestId: null, kind, location, note: incidentNote(r, agentNote), source: 'support' }, { claim: false });
  return incident.id;
}

/**
 * A driver files a request. Category `safety`, or text that reads as an emergency, is promoted
 * at once: the incident (its first pages queued with it), the request stored as `promoted` and
 * the incident's support.linked event, in one transaction. Anything else waits for a tier-1 agent.
 */
export async function fileRequest(
  deps: Deps,
  driver: Principal,
  body: { category: Category; text: string },
): Promise<{ supportRequest: SupportRequest; incidentId?: string }> {
  const hit = readsAsEmergency(body.text);
  if (body.category !== 'safety' && !hit) {
    const row = await store.insertRequest(deps.sql, { driverId: driver.id, ...body });
    return { supportRequest: store.toSupportRequest(row) };
  }
  // The category alone would have done it, so it is the reason; a keyword found is noted either way.
  const reason: PromotionReason = body.category === 'safety' ? 'category' : 'keyword';
  const row = await inTransaction(deps, async (tx) => {
    const incidentId = await promote(tx, driver, body, hit?.kind ?? 'other');
    const r = await store.insertRequest(tx.sql, { driverId: driver.id, ...body, promoted: { incidentId, reason } });
    await store.appendLinkedEvent(tx.sql, incidentId, 'system', { supportRequestId: r.id, category: r.category, reason, keyword: hit?.keyword });
    return r;
  });
  deps.pager.queued({ incidentId: row.incident_id! }); // the first pages were queued in the intake's transaction
  return { supportRequest: store.toSupportRequest(row), incidentId: row.incident_id! };
}

/** The oldest open request of the agent's tier, now claimed by it; undefined when there is none. */
export async function claim(deps: Deps, agent: Principal): Promise<SupportRequest | undefined> {
  const row = await store.claimOldest(deps.sql, agent.id);
  return row && store.toSupportRequest(row);
}

/**
 * Resolve, or move to a higher tier, a request the agent has claimed. 404 unknown; 409 when it
 * is promoted, resolved, open (claim it first) or claimed by another agent; 422 when the tier
 * does not go up.
 */
export async function updateRequest(
  deps: Deps,
  agent: Principal,
  id: string,
  body: { status?: 'resolved'; tier?: number },
): Promise<SupportRequest> {
  const change = body.status === 'resolved' ? ({ resolve: true } as const) : { tier: body.tier! };
  const row = await store.updateClaimed(deps.sql, agent.id, id, change);
  if (row) return store.toSupportRequest(row);
  // Nothing changed: say why.
  const now = await store.getRequestFor(deps.sql, agent, id);
  if (!now) throw notFound('support request');
  if (now.status === 'promoted') throw promotedConflict(now.incident_id!);
  if (now.status === 'resolved') throw new AppError('conflict', 'the support request is already resolved');
  if (now.status === 'open') throw new AppError('conflict', 'the support request is not claimed: claim it first');
  if (now.claimed_by !== agent.id) throw new AppError('conflict', 'the support request is claimed by another agent');
  throw new AppError('validation_failed', `tier must be higher than the current tier ${now.tier}`);
}

const promotedConflict = (incidentId: string) =>
  new AppError('conflict', `the support request was already promoted to incident ${incidentId}`, { incidentId });

/**
 * An agent reads danger in a request and promotes it to an incident: one call, no approval,
 * whatever the request's state or tier (a resolved request too) except already promoted (409,
 * with that incidentId in the message and details).
 */
export async function escalate(deps: Deps, agent: Principal, id: string, note?: string): Promise<{ incidentId: string }> {
  const incidentId = await inTransaction(deps, async (tx) => {
    const r = await store.lockRequest(tx.sql, id);
    if (!r) throw notFound('support request');
    if (r.status === 'promoted') throw promotedConflict(r.incident_id!);
    const driver = await store.driverOf(tx.sql, r.driver_id);
    const hit = readsAsEmergency(note ? `${r.text}\n${note}` : r.text);
    const incidentId = await promote(tx, driver, r, hit?.kind ?? 'other', note || undefined);
    await store.markPromoted(tx.sql, r.id, incidentId, 'agent', agent.id);
    await store.appendLinkedEvent(tx.sql, incidentId, actorOf(agent), {
      supportRequestId: r.id, category: r.category, reason: 'agent', keyword: hit?.keyword, note: note || undefined,
    });
    return incidentId;
  });
  deps.pager.queued({ incidentId });
  return { incidentId };
}

export async function getRequest(deps: Deps, p: Principal, id: string): Promise<SupportRequest> {
  const row = await store.getRequestFor(deps.sql, p, id);
  if (!row) throw notFound('support request');
  return store.toSupportRequest(row);
}
