import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { locateZone } from '../zones/locate';
import { SEVERITY_OF_KIND, type Kind, type LocationInput } from './schemas';
import { openIncident, type OpenIncident } from './store';

export interface SosInput {
  clientRequestId: string | null;
  kind: Kind;
  /** The fix with the report; null when there is none (an SMS SOS with no fix on record). */
  location: LocationInput | null;
  note?: string;
  source: 'app' | 'sms' | 'support';
}

/**
 * The one intake for every emergency: geo-tag, grade, and store the incident with its opening
 * event and first pages in one round trip. A promoted support request calls it inside its own
 * transaction; the app's SOS and a texted SOS go through openSos(), which also claims the pages.
 */
export async function intakeSos(deps: Deps, driver: Principal, input: SosInput) {
  const { incident, created } = await openIncident(deps.intakeSql ?? deps.sql, await intakeOf(deps, driver, input));
  return { incident, created };
}

/**
 * An SOS from outside any transaction (the app, a text message): intakeSos(), and in the same
 * call, once it has committed, its first pages claimed for this instance's sender, as many as it
 * has room for (sos_open_and_claim(), sql/009), and sent at once, without a second claim through
 * the sender. Other instances are told as always (Pager.queued).
 */
export async function openSos(deps: Deps, driver: Principal, input: SosInput) {
  const o = await intakeOf(deps, driver, input);
  const room = deps.pager.reserveRoom();
  let opened: Awaited<ReturnType<typeof openIncident>>;
  try {
    opened = await openIncident(deps.intakeSql ?? deps.sql, o, { leaseSeconds: deps.pager.options.leaseSeconds, max: room });
  } finally {
    deps.pager.releaseRoom(room);
  }
  const { incident, created, claimed } = opened;
  if (created) {
    deps.pager.sendClaimed(claimed);
    // The sender looks for pages still queued: those beyond the room it had, and all of them when
    // the call claimed none (its claim failed after the SOS committed, sql/009, or there were none).
    deps.pager.queued({ incidentId: incident.id }, { claimed: claimed.length > 0 && claimed.length < room });
  }
  return { incident, created };
}

async function intakeOf(deps: Deps, driver: Principal, input: SosInput): Promise<OpenIncident> {
  const { zoneId, rule } = locateZone(await deps.zones.get(), input.location);
  return {
    driverId: driver.id,
    clientRequestId: input.clientRequestId,
    source: input.source,
    kind: input.kind,
    severity: SEVERITY_OF_KIND[input.kind],
    zoneId,
    zoneRule: rule,
    lat: input.location?.lat ?? null,
    lng: input.location?.lng ?? null,
    accuracyM: input.location?.accuracyM ?? null,
    capturedAt: input.location?.capturedAt ?? null,
    note: input.note ?? null,
    actor: actorOf(driver),
  };
}
