/**
 * The driver app's side of Mayday: a phone enrolls with a single-use code and gets a device
 * token of its own (signed out alone, by the driver or an admin); the app reads its driver and
 * its incidents in words it can show, and adds what the driver says after an SOS.
 */
import { hashToken, newToken } from '../auth/crypto';
import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { AppError, conflict, notFound } from '../errors';
import { SEVERITY_OF_KIND } from '../incidents/schemas';
import { getIncidentFor, toIncident, viewFor } from '../incidents/store';
import { storableText } from '../incidents/text';
import { ENROLLMENT_SECONDS, type AppIncident, type AppMe, type DetailsInput, type Device, type Language } from './schemas';
import * as store from './store';

/** 24 random bytes (192 bits) as base64url: 32 characters that fit a URL and a QR code. */
function newCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Where a phone enrolls: the code goes in the fragment, which browsers never send to a server. */
export const enrollmentUrl = (publicBaseUrl: string, code: string) => `${publicBaseUrl}/app/enroll#${code}`;

/**
 * A new enrollment code for a driver (404 for anyone else). Only its hash is stored; the code
 * itself is in the answer and nowhere else. Recorded in the audit log.
 */
export async function createEnrollment(deps: Deps, by: Principal, driverId: string, via?: 'console') {
  const code = newCode();
  const made = await store.createEnrollment(deps.sql, { driverId, codeHash: await hashToken(code), actor: actorOf(by), validSeconds: ENROLLMENT_SECONDS, via });
  if (!made) throw notFound('driver');
  deps.log.info({ driverId, enrollmentId: made.id, via }, 'enrollment code created');
  return { code, url: enrollmentUrl(deps.publicBaseUrl, code), expiresAt: made.expiresAt };
}

/** One answer for a used, expired and unknown code alike: it says nothing of whether a driver exists. */
const badCode = () => new AppError('unauthorized', 'this enrollment link is used, expired or unknown: ask your safety lead for a new one');

/** Trade a code for a device token (401 for any code that is not live). */
export async function enroll(deps: Deps, code: string) {
  const token = newToken('drv');
  const done = await store.exchangeCode(deps.sql, await hashToken(code), await hashToken(token));
  if (!done) throw badCode();
  deps.log.info({ driverId: done.driver.id, enrollmentId: done.enrollmentId }, 'device enrolled');
  return { token, driver: done.driver };
}

async function mustBeDriver(deps: Deps, driverId: string) {
  if (!(await store.isDriver(deps.sql, driverId))) throw notFound('driver');
}

export async function devicesOf(deps: Deps, driverId: string): Promise<Device[]> {
  await mustBeDriver(deps, driverId);
  return store.listDevices(deps.sql, driverId);
}

/** Sign one of a driver's devices out: its next request answers 401. Recorded in the audit log. */
export async function signOutDevice(deps: Deps, by: Principal, driverId: string, deviceId: string, via?: 'console'): Promise<Device> {
  await mustBeDriver(deps, driverId);
  const device = await store.revokeDevice(deps.sql, driverId, deviceId, actorOf(by), via);
  if (!device) throw notFound('device');
  deps.auth.forgetUser(driverId);
  deps.log.info({ driverId, enrollmentId: deviceId, via }, 'device signed out');
  return device;
}

/**
 * The app signs itself out: the caller's own device token is revoked. A token no enrollment gave
 * (one the administrator issued) is not the app's to revoke: 409.
 */
export async function signOutSelf(deps: Deps, driver: Principal, tokenHash: string): Promise<void> {
  const r = await store.revokeOwnToken(deps.sql, driver.id, tokenHash);
  if (r === 'not_device') throw conflict('this token was not issued to a device by an enrollment: an administrator revokes it');
  deps.auth.forgetUser(driver.id);
  deps.log.info({ driverId: driver.id }, 'device signed itself out');
}

export async function appMe(deps: Deps, driver: Principal): Promise<AppMe> {
  const me = await store.driverProfile(deps.sql, driver.id);
  if (!me) throw notFound('driver');
  return { driver: me.driver, textSosTo: deps.smsNumber ?? null, openIncidentIds: me.openIncidentIds };
}

export async function setAppLanguage(deps: Deps, driver: Principal, language: Language): Promise<AppMe> {
  await store.setLanguage(deps.sql, driver.id, language);
  return appMe(deps, driver);
}

const isoOrNull = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

/**
 * The incident as the app shows it. Once the driver has cancelled, with either PIN, the answer is
 * the same fixed "cancelled" view whatever happens after (a duress incident acknowledged or
 * resolved by responders, a real cancel resolved): nothing in it can tell the two PINs apart.
 * It is built from what the driver's reads show (viewFor()), in one field order. A duress PIN
 * entered while cancelling was locked answered "locked", as the cancel PIN does: the incident
 * goes on, and so does its view (from the row itself, which viewFor() would mask as cancelled).
 */
export function appView(p: Principal, r: store.AppIncidentRow): AppIncident {
  if (r.status === 'cancel_requested' || r.cancelled_once) {
    const shown = viewFor(p, r);
    return {
      incident: { id: shown.id, code: shown.code, status: 'cancel_requested', kind: shown.kind, openedAt: shown.openedAt },
      state: 'cancelled', pagedAt: null, acknowledgedBy: null, acknowledgedAt: null, checkIn: null, dispatch: null, location: null,
    };
  }
  const shown = toIncident(r);
  const live = r.status === 'open' || r.status === 'acknowledged';
  return {
    incident: { id: shown.id, code: shown.code, status: shown.status, kind: shown.kind, openedAt: shown.openedAt },
    state: r.status === 'open' ? 'paging' : r.status === 'acknowledged' ? 'acknowledged' : 'resolved',
    pagedAt: isoOrNull(r.paged_at),
    acknowledgedBy: r.acknowledged_at === null ? null : r.acknowledged_by_name,
    acknowledgedAt: isoOrNull(r.acknowledged_at),
    checkIn: live && r.checkin_due_at ? { seq: r.checkin_seq, dueAt: isoOrNull(r.checkin_due_at)! } : null,
    dispatch: r.dispatch && {
      status: r.dispatch.status, services: r.dispatch.services, requestedAt: isoOrNull(r.dispatch.requestedAt)!, psapContactedAt: isoOrNull(r.dispatch.psapContactedAt),
    },
    location: r.location_at === null ? null : { at: isoOrNull(r.location_at)! },
  };
}

/** The driver's own incident as the app shows it (404 for another driver's). */
export async function appIncident(deps: Deps, driver: Principal, incidentId: string): Promise<AppIncident> {
  const row = await store.appIncidentRow(deps.sql, driver.id, incidentId);
  if (!row) throw notFound('incident');
  return appView(driver, row);
}

/**
 * What the driver says after the SOS: the kind refines the incident's (severity raised as at
 * intake), the note is cleaned as an SOS's note is; both go on the timeline as incident.details.
 * After a cancel with either PIN it still records, and answers as the driver's reads show it.
 */
export async function addDetails(deps: Deps, driver: Principal, incidentId: string, input: DetailsInput) {
  const note = input.note === undefined ? null : storableText(input.note);
  const kind = input.kind ?? null;
  const r = await store.addDetails(deps.sql, {
    incidentId, driverId: driver.id, kind, severity: kind && SEVERITY_OF_KIND[kind], note: note?.text ?? null, cleaned: !!note?.cleaned, actor: actorOf(driver),
  });
  if (r === 'missing') throw notFound('incident');
  if (r === 'resolved') throw new AppError('already_resolved', 'the incident is resolved');
  deps.log.info({ incidentId, kind }, 'incident details from the driver');
  return getIncidentFor(deps.sql, driver, incidentId);
}
