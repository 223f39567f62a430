import { verifyPin } from '../auth/crypto';
import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { driverCancelled } from '../dispatch/service';
import { AppError } from '../errors';
import { pinHashesOf } from '../users/store';
import { acknowledgeIncident, cancelIncident, getIncidentFor, receiveCheckIn, resolveIncident } from './store';

/** Acknowledge through the API: a responder who can see the incident. 409 unless it is open. */
export async function acknowledge(deps: Deps, p: Principal, incidentId: string) {
  await getIncidentFor(deps.sql, p, incidentId);
  const was = await acknowledgeIncident(deps.sql, incidentId, p.id, 'api');
  if (was !== 'open') throw new AppError('conflict', `the incident is ${was}, not open`);
  const incident = await getIncidentFor(deps.sql, p, incidentId);
  deps.metrics?.acknowledged((Date.now() - Date.parse(incident.openedAt)) / 1000, 'api');
  return incident;
}

/** Resolve with a disposition. 409 when it is already resolved (the first of two racers wins). */
export async function resolve(deps: Deps, p: Principal, incidentId: string, r: { disposition: string; note?: string }) {
  await getIncidentFor(deps.sql, p, incidentId);
  const was = await resolveIncident(deps.sql, incidentId, p.id, r.disposition, r.note ?? null);
  if (was === 'resolved') throw new AppError('already_resolved', 'the incident is already resolved');
  return getIncidentFor(deps.sql, p, incidentId);
}

/** The driver answers a check-in from the app: 409 once the incident is resolved. */
export async function checkIn(deps: Deps, driver: Principal, incidentId: string, c: { status: 'safe' | 'need_help'; note?: string }, via: 'app' | 'sms' = 'app') {
  await getIncidentFor(deps.sql, driver, incidentId);
  const status = await receiveCheckIn(deps.sql, incidentId, { status: c.status, via, note: c.note ?? null }, actorOf(driver));
  if (status === 'resolved') throw new AppError('already_resolved', 'the incident is resolved');
  if (c.status === 'need_help') deps.pager.queued({ incidentId });
  return { incidentId, status: c.status, receivedAt: new Date().toISOString() };
}

/**
 * Cancel with a PIN. Both stored hashes are always checked, so neither the answer nor its
 * timing tells a cancel PIN from the duress PIN. Throws for wrong / locked / already / resolved,
 * each with its own code (same HTTP status as the generic one), which the app switches on.
 */
export async function cancel(deps: Deps, driver: Principal, incidentId: string, pin: string) {
  await getIncidentFor(deps.sql, driver, incidentId);
  const u = await pinHashesOf(deps.sql, driver.id);
  const [isCancel, isDuress] = await Promise.all([verifyPin(pin, u.cancel_pin_hash), verifyPin(pin, u.duress_pin_hash)]);
  const outcome = isDuress ? 'duress' : isCancel ? 'cancel' : 'wrong';
  const answer = await cancelIncident(deps.sql, incidentId, outcome, actorOf(driver));
  deps.pager.queued({ incidentId }); // duress pages or cancel notices
  // The cancel PIN cancels a live alarm too (in the background, so both PINs answer alike); the duress PIN never does.
  if (outcome === 'cancel' && answer === 'cancelled') driverCancelled(deps, incidentId, actorOf(driver));
  // Log what the driver is told, never which PIN it was.
  deps.log.info({ incidentId, answer }, 'cancel request');
  switch (answer) {
    case 'cancelled':
      return getIncidentFor(deps.sql, driver, incidentId);
    case 'wrong':
      throw new AppError('wrong_pin', 'wrong PIN');
    case 'locked':
      throw new AppError('cancel_locked', 'cancellation is locked after too many wrong PINs; a responder will resolve the incident');
    case 'already':
      throw new AppError('already_cancelled', 'the incident is already cancelled');
    case 'resolved':
      throw new AppError('already_resolved', 'the incident is resolved');
  }
}
