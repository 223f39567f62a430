/**
 * Emergency dispatch: a responder asks for police, fire or medical services for an incident and
 * Mayday opens an alarm at the dispatch center (Noonlight, or the built-in simulator) through the
 * port in ./center.ts, then keeps it current: new fixes, the driver's cancel, the center's events.
 *
 * The request is recorded (dispatch.requested) before the center is called and its outcome
 * (dispatch.created or dispatch.failed) after, so a crash in between shows on the timeline. A
 * failure pages every safety lead at once ("call 911 yourself"): never silence.
 */
import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { AppError, forbidden, notFound } from '../errors';
import type { Logger } from '../log';
import type { CenterFailure, Services } from './center';
import type { DispatchEvent } from './webhook';
import * as store from './store';
import type { AlarmFacts, DispatchRef, ServiceName } from './store';
import { newAlarmPin } from './pin';

export interface DispatchRequest {
  services: ServiceName[];
  note?: string;
}

const center = (deps: Deps) => {
  if (!deps.dispatch) throw new AppError('unavailable', 'emergency dispatch is not configured');
  return deps.dispatch;
};

/** The instruction the dispatcher reads: what the incident is (kind, code, the notes). */
export function instructionsOf(a: AlarmFacts): string {
  const parts = [`Mayday incident #${a.code}: ${a.kind} reported by delivery driver ${a.driverName}.`];
  if (a.incidentNote) parts.push(`Driver's note: ${a.incidentNote}.`);
  if (a.note) parts.push(`Responder's note: ${a.note}.`);
  if (a.accuracyM !== null) parts.push(`Location accuracy about ${Math.ceil(a.accuracyM)} m.`);
  return parts.join(' ').slice(0, 1000);
}

const servicesOf = (names: ServiceName[]): Services => ({ police: names.includes('police'), fire: names.includes('fire'), medical: names.includes('medical') });
const failureData = (f: CenterFailure) => ({ kind: f.kind, status: f.status, message: f.message, attempts: f.attempts, ambiguous: f.ambiguous });

/**
 * Ask for emergency services. The admin, a safety lead, a supervisor of the incident's zone or the
 * supervisor who acknowledged it may; `pagedFor` (an SMS `911 <code>` from a responder paged for
 * it) is enough too, judged in the request's own round trip (dispatch_request()). Answers the
 * dispatch and whether this call made it (false: a dispatch was already live, and that one is
 * answered). A failure is answered too (status `failed`): the request was taken, the center did
 * not take it, and the safety leads are paged.
 */
export async function requestDispatch(
  deps: Deps,
  p: Principal,
  incidentId: string,
  req: DispatchRequest,
  via: 'api' | 'console' | 'sms',
  o: { pagedFor?: boolean } = {},
): Promise<{ created: boolean; dispatch: DispatchRef }> {
  const d = center(deps);
  const services = [...new Set(req.services)].sort() as ServiceName[];
  const pin = newAlarmPin();
  const record = async () => store.recordRequest(deps.sql, {
    incidentId, services, note: req.note?.trim() || null, pinSealed: await d.seal.seal(pin), by: actorOf(p), via, center: d.center.kind,
    asker: { role: p.role, id: p.id }, pagedFor: o.pagedFor === true,
  });
  let r = await record();
  // A request still `requested` past the longest one can take was cut short: it is failed (and
  // paged) here rather than answered as "already requested", and this request is made anew.
  if (r.result === 'existing' && r.dispatch.status === 'requested' && r.ageSeconds > STALE_REQUEST_SECONDS) {
    await failInterrupted(deps, { id: r.dispatch.id, incident_id: incidentId });
    r = await record();
  }
  if (r.result === 'missing') throw notFound('incident');
  if (r.result === 'forbidden') throw forbidden('only the acknowledging supervisor, a supervisor of the zone, a safety lead or the admin may request dispatch');
  if (r.result === 'resolved') throw new AppError('conflict', 'the incident is resolved');
  if (r.result === 'existing') return { created: false, dispatch: r.dispatch };
  const log = deps.log.child({ incidentId, dispatchId: r.dispatch.id });
  log.info({ services, via }, 'dispatch requested');
  const a = r.alarm;
  const res = await d.center
    .createAlarm({
      name: a.driverName,
      phone: a.driverPhone ?? '',
      pin,
      location: a.lat === null || a.lng === null ? null : { lat: a.lat, lng: a.lng, accuracy: a.accuracyM ?? 0 },
      services: servicesOf(services),
      instructions: instructionsOf(a),
      incidentId,
    })
    .catch((e: unknown): CenterFailure => ({ ok: false, kind: 'unknown', message: e instanceof Error ? e.message : 'the center failed', attempts: 1, ambiguous: true }));
  if (res.ok) {
    const granted = (Object.keys(res.services) as ServiceName[]).filter((k) => res.services[k]).sort();
    const missing = services.filter((s) => !res.services[s]);
    const status = await store.recordCreated(deps.sql, {
      dispatchId: r.dispatch.id, alarmId: res.alarmId, services: granted, missing, ambiguous: res.ambiguous, attempts: res.attempts, locationAt: a.locationAt,
    });
    if (missing.length) {
      log.warn({ alarmId: res.alarmId, missing }, 'dispatch created without every service asked: safety leads paged');
      await failurePaged(deps, log, incidentId, r.dispatch.id);
    } else log.info({ alarmId: res.alarmId, attempts: res.attempts, ambiguous: res.ambiguous }, 'dispatch created');
    return { created: true, dispatch: { ...r.dispatch, status } };
  }
  const status = await store.recordFailed(deps.sql, r.dispatch.id, failureData(res));
  log.error({ kind: res.kind, status: res.status, attempts: res.attempts, ambiguous: res.ambiguous }, 'dispatch FAILED: safety leads paged');
  if (status === 'failed') await failurePaged(deps, log, incidentId, r.dispatch.id);
  return { created: true, dispatch: { ...r.dispatch, status } };
}

/**
 * A dispatch.failed was recorded with its pages (dispatch_page_leads()): send them now. Nobody
 * to page at all (no safety lead, and nobody of the zone with a phone) is logged as an error.
 */
async function failurePaged(deps: Deps, log: Logger, incidentId: string, dispatchId: string): Promise<void> {
  deps.pager.queued({ incidentId });
  const paged = await store.pagedForFailure(deps.sql, incidentId, dispatchId);
  if (paged === 0) log.error('dispatch FAILED and NOBODY could be paged: no safety lead, and nobody of the zone with a phone');
}

/**
 * Alarms whose forwarding is running in this process, so the sweep and a new fix never send at
 * once (a fix that arrives meanwhile is the sweep's, within a second).
 */
const forwarding = new Set<string>();

/**
 * Alarms whose forwards got no answer at all (a timeout, a reset): the sweep waits before trying
 * again, longer after each miss, so a center that hangs is not asked every second.
 */
const forwardBackoff = new Map<string, { misses: number; until: number }>();
const FORWARD_BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

async function forward(deps: Deps, a: store.LiveAlarm, log: Logger): Promise<void> {
  if (!deps.dispatch || a.lat === null || a.lng === null || a.location_at === null) return;
  if (a.location_sent_at !== null && a.location_at <= a.location_sent_at) return;
  if (forwarding.has(a.dispatch_id)) return;
  forwarding.add(a.dispatch_id);
  try {
    const res = await deps.dispatch.center.addLocation(a.alarm_id, { lat: a.lat, lng: a.lng, accuracy: a.accuracy_m ?? 0 });
    // A refusal (the alarm closed at the center, a location it will not take) is not sent again:
    // the next fix is tried. No answer is tried again by the sweep.
    if (res.ok) await store.markLocationSent(deps.sql, a.dispatch_id, a.location_at);
    else if (res.kind === 'refused') await store.recordLocationRefused(deps.sql, a.dispatch_id, a.location_at, { status: res.status, message: res.message });
    if (!res.ok && res.kind === 'unknown' && res.status === undefined) {
      const misses = (forwardBackoff.get(a.dispatch_id)?.misses ?? 0) + 1;
      forwardBackoff.set(a.dispatch_id, { misses, until: Date.now() + FORWARD_BACKOFF_MS[Math.min(misses, FORWARD_BACKOFF_MS.length) - 1] });
    } else forwardBackoff.delete(a.dispatch_id);
    if (!res.ok) log.warn({ dispatchId: a.dispatch_id, alarmId: a.alarm_id, kind: res.kind, status: res.status }, 'a new location did not reach the alarm');
  } finally {
    forwarding.delete(a.dispatch_id);
  }
}

/**
 * A new fix for the incident: forward it to the live alarm, if any, in the background (the
 * location POST answers without waiting). One that fails is sent again by the engine's sweep
 * (forwardDueLocations), which finds every alarm behind its incident's newest fix.
 */
export function locationChanged(deps: Deps, incidentId: string): void {
  if (!deps.dispatch) return;
  const log = deps.log.child({ incidentId });
  void (async () => {
    const a = await store.liveAlarmOf(deps.sql, incidentId);
    if (a) await forward(deps, a, log);
  })().catch((e: unknown) => log.warn({ err: e }, 'forwarding a location to the alarm failed; the engine tries again'));
}

/**
 * The engine's sweep: every live alarm behind its incident's newest fix gets that fix, but for one
 * whose last forward got no answer, until its backoff is over. The engine runs it in the background.
 */
export async function forwardDueLocations(deps: Deps): Promise<void> {
  if (!deps.dispatch) return;
  const now = Date.now();
  const behind = (await store.alarmsBehind(deps.sql)).filter((a) => (forwardBackoff.get(a.dispatch_id)?.until ?? 0) <= now);
  await Promise.all(behind.map((a) => forward(deps, a, deps.log.child({ incidentId: a.incident_id })).catch((e: unknown) => deps.log.warn({ err: e }, 'forwarding a location failed'))));
}

/**
 * How long a dispatch may stay `requested`: the longest a request to the center can take (its
 * last attempt starts at most 3 s after the first and has 5 s), with 2 s for the records around
 * it. One older was cut short, by a crash between its record and the center's answer.
 */
export const STALE_REQUEST_SECONDS = 10;

/** A request cut short: `dispatch.failed` (reason interrupted, ambiguous), paged at once. */
async function failInterrupted(deps: Deps, d: { id: string; incident_id: string }): Promise<void> {
  const status = await store.recordFailed(deps.sql, d.id, {
    reason: 'interrupted', kind: 'unknown', message: 'the request was cut short before the dispatch center answered', attempts: 0, ambiguous: true,
  });
  if (status !== 'failed') return;
  const log = deps.log.child({ incidentId: d.incident_id, dispatchId: d.id });
  log.error('dispatch request interrupted: recorded as FAILED, safety leads paged');
  await failurePaged(deps, log, d.incident_id, d.id);
}

/**
 * The engine's sweep (every tick, the first after a start included): a request cut short is a
 * failure like any other (the alarm may or may not exist), so it is recorded as `dispatch.failed`
 * and the safety leads are paged; it also frees the incident for a new request.
 */
export async function failInterruptedRequests(deps: Deps): Promise<void> {
  if (!deps.dispatch) return;
  for (const d of await store.staleRequests(deps.sql, STALE_REQUEST_SECONDS)) await failInterrupted(deps, d);
}

/** Alarms whose cancel is running in this process, so the sweep and the cancel's own attempt never both send it. */
const cancelling = new Set<string>();

/** Cancel one alarm with its own PIN and record the outcome (dispatch_canceled()). */
async function cancelAlarmOf(deps: Deps, a: { dispatch_id: string; alarm_id: string; incident_id: string }, actor: string): Promise<void> {
  const d = deps.dispatch;
  if (!d || cancelling.has(a.dispatch_id)) return;
  cancelling.add(a.dispatch_id);
  const log = deps.log.child({ incidentId: a.incident_id, dispatchId: a.dispatch_id, alarmId: a.alarm_id });
  try {
    const sealed = await store.sealedPinOf(deps.sql, a.dispatch_id);
    // The duress PIN came after the cancel PIN: the alarm is left going.
    if (sealed && !sealed.wanted) return;
    const res = sealed === undefined
      ? ({ ok: false, kind: 'refused', message: 'no PIN kept for the alarm', attempts: 0, ambiguous: false } as CenterFailure)
      : await d.center.cancelAlarm(a.alarm_id, await d.seal.open(sealed.pinSealed));
    await store.recordCanceled(deps.sql, a.dispatch_id, actor, res.ok, res.ok ? null : failureData(res));
    // A cancel that went through while the duress PIN was entered pages the leads to request again (dispatch_canceled()).
    if (res.ok) deps.pager.queued({ incidentId: a.incident_id });
    if (res.ok) log.info('alarm cancelled after the driver cancelled');
    else log.warn({ kind: res.kind }, 'the alarm could not be cancelled');
  } finally {
    cancelling.delete(a.dispatch_id);
  }
}

/**
 * The driver cancelled with the cancel PIN (cancel_incident() marked the live dispatch): its alarm
 * is cancelled too, with the alarm's own PIN. Never called for the duress PIN. Runs in the
 * background, so the cancel answers in the same time whichever PIN it was; the engine's sweep
 * (cancelsDue) finishes what this could not (a restart, an alarm still being created).
 */
export function driverCancelled(deps: Deps, incidentId: string, actor: string): void {
  if (!deps.dispatch) return;
  void (async () => {
    const a = await store.liveAlarmOf(deps.sql, incidentId);
    if (a) await cancelAlarmOf(deps, { ...a, incident_id: incidentId }, actor);
  })().catch((e: unknown) => deps.log.error({ err: e, incidentId }, 'cancelling the alarm failed; the engine tries again'));
}

/** How long the cancel's own attempt has before the engine's sweep tries it. */
export const CANCEL_SWEEP_AFTER_SECONDS = 2;

/** The engine's sweep: every live alarm the driver's cancel PIN asked to cancel, and still not cancelled. */
export async function cancelDueAlarms(deps: Deps): Promise<void> {
  if (!deps.dispatch) return;
  const due = await store.cancelsDue(deps.sql, CANCEL_SWEEP_AFTER_SECONDS);
  await Promise.all(due.map((a) => cancelAlarmOf(deps, a, 'system').catch((e: unknown) => deps.log.warn({ err: e, incidentId: a.incident_id }, 'cancelling an alarm failed'))));
}

/**
 * Events from the center (its webhook, or the simulator), each kept once by its id. The first
 * psap_contacted texts the acknowledging supervisor. Answers how many were new. An event for an
 * alarm Mayday does not know while some dispatch is still `requested` may be that alarm's, ahead
 * of its dispatch_created(): 503 (after the others are recorded) so that the center delivers it
 * again; with none requested it is logged and answered.
 */
export async function centerEvents(deps: Deps, events: DispatchEvent[], actor: string): Promise<{ recorded: number; duplicates: number; unknown: number }> {
  const counts = { recorded: 0, duplicates: 0, unknown: 0 };
  for (const e of events) {
    const { outcome, incidentId } = await store.recordCenterEvent(deps.sql, {
      eventId: e.eventId, type: e.type, centerType: e.noonlightType, at: e.at, alarmId: e.alarmId, actor,
    });
    if (outcome === 'recorded') counts.recorded++;
    else if (outcome === 'duplicate') counts.duplicates++;
    else if (outcome === 'unknown_alarm') {
      counts.unknown++;
      // An alarm whose id Mayday never learnt (its creation's answer was lost): its dispatch.failed says ambiguous.
      deps.log.warn({ alarmId: e.alarmId, type: e.type }, 'dispatch center event for an alarm Mayday does not know');
    }
    if (outcome === 'recorded' && incidentId) {
      if (e.type === 'psap_contacted') deps.pager.queued({ incidentId });
      deps.log.info({ incidentId, alarmId: e.alarmId, type: e.type }, 'dispatch center event');
    }
  }
  if (counts.unknown > 0 && (await store.anyRequested(deps.sql))) {
    throw new AppError('unavailable', 'an event for an alarm not known yet, while a dispatch is being requested: deliver it again');
  }
  return counts;
}

/**
 * The dispatch-center simulator plays the dispatcher on the incident's live alarm ("911
 * contacted", "closed", "canceled by the person"), or refuses the next alarm asked of it. 404
 * when Noonlight is configured; 409 when there is no live alarm to act on.
 */
export async function playSimulatedDispatch(deps: Deps, incidentId: string, action: 'psap_contacted' | 'closed' | 'canceled' | 'refused'): Promise<{ alarmId: string | null }> {
  const sim = deps.dispatch?.simulator;
  if (!sim) throw new AppError('not_found', 'the dispatch-center simulator is off: NOONLIGHT_SERVER_TOKEN is configured');
  if (action === 'refused') {
    sim.refuseNext(incidentId);
    return { alarmId: null };
  }
  const d = await store.latestDispatch(deps.sql, incidentId);
  if (!d?.alarmId || (d.status !== 'active' && d.status !== 'psap_contacted')) throw new AppError('conflict', 'the incident has no live alarm');
  await sim.play(d.alarmId, action);
  return { alarmId: d.alarmId };
}

/** Whether `p` may request dispatch for the incident (the console shows the form only then). */
export async function mayRequestDispatch(deps: Deps, p: Principal, incidentId: string): Promise<boolean> {
  return !!deps.dispatch && (p.role === 'admin' || p.role === 'safety_lead' || (p.role === 'supervisor' && (await store.mayRequest(deps.sql, p.id, incidentId))));
}

export { latestDispatch, latestDispatches } from './store';
