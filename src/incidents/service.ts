import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { locateZone } from '../zones/locate';
import { SEVERITY_OF_KIND, type Kind, type LocationInput } from './schemas';
import { openIncident } from './store';

export interface SosInput {
  clientRequestId: string | null;
  kind: Kind;
  /** The fix with the report; null when there is none (an SMS SOS with no fix on record). */
  location: LocationInput | null;
  note?: string;
  source: 'app' | 'sms' | 'support';
}

/**
 * The one intake path for every emergency (app SOS, SMS SOS, promoted support request):
 * geo-tag, grade, and store the incident with its opening event in one round trip.
 */
export async function intakeSos(deps: Deps, driver: Principal, input: SosInput) {
  const { zoneId, rule } = locateZone(await deps.zones.get(), input.location);
  return openIncident(deps.intakeSql ?? deps.sql, {
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
  });
}
