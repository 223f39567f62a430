import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { locateZone } from '../zones/locate';
import { SEVERITY_OF_KIND, type Incident, type Kind, type LocationInput } from './schemas';
import type { ClaimedPage } from '../paging/store';
import * as store from './store';
import type { OpenSos } from './store';

export interface SosInput {
  clientRequestId: string | null;
  kind: Kind;
  /** The fix with the report; null when there is none (an SMS SOS with no fix on record). */
  location: LocationInput | null;
  note?: string;
  source: 'app' | 'sms' | 'support';
}

type Opened = { incident: Incident; created: boolean };

/**
 * The one intake for every emergency: geo-tag, grade, and store the incident with its opening
 * event and first pages in one round trip (the store's openSos()). From the app or a text
 * message, the same call and transaction also claims the first pages for this instance's sender,
 * as many as it has room for, and they are sent at once, without a second claim through the
 * sender; pages it could not claim are announced (Pager.queued). A promoted support request and
 * the console's demo pass `{ claim: false }`: the support request opens it inside its own
 * transaction, whose commit the sender must not run ahead of.
 *
 * For a bearer token not yet looked up (not in the token cache), pass `{ tokenHash }`: the token
 * is judged in the same call. `user` is then the token's holder, undefined for an unknown or
 * revoked token; `opened` is set only when the holder is a driver.
 */
export async function openSos(deps: Deps, driver: Principal, input: SosInput, o?: { claim?: boolean }): Promise<Opened>;
export async function openSos(deps: Deps, token: { tokenHash: string }, input: SosInput): Promise<{ user?: Principal; opened?: Opened }>;
export async function openSos(
  deps: Deps,
  who: Principal | { tokenHash: string },
  input: SosInput,
  o: { claim?: boolean } = {},
): Promise<Opened | { user?: Principal; opened?: Opened }> {
  const sql = deps.intakeSql ?? deps.sql;
  const sos = await placed(deps, input);
  if ('tokenHash' in who) {
    let user: Principal | undefined;
    const opened = await claiming(deps, async (claim) => {
      const r = await store.openSos(sql, { ...sos, tokenHash: who.tokenHash }, claim);
      user = r.user;
      return r.opened;
    });
    return { user, opened: opened && { incident: opened.incident, created: opened.created } };
  }
  const full = { ...sos, driverId: who.id, actor: actorOf(who) };
  const { incident, created } = o.claim === false ? await store.openSos(sql, full) : await claiming(deps, (claim) => store.openSos(sql, full, claim));
  return { incident, created };
}

/**
 * Room an SOS reserves in the sender for the first pages its call claims: a first step of up to
 * five people on both channels. A bigger first step's other pages stay queued and the sender,
 * woken at once, claims them. (Reserving the sender's whole claim batch, as an SOS did, left no
 * room for the SOS calls running beside it: under a burst most SOS claimed nothing and their
 * pages waited for the sender's claim, a round trip more.)
 */
const SOS_CLAIM_MAX = 10;

/** Run `open` with room reserved in the sender for the pages it claims; send them, and announce the rest. */
async function claiming<T extends { incident: { id: string }; created: boolean; claimed: ClaimedPage[] } | undefined>(
  deps: Deps,
  open: (claim: { leaseSeconds: number; max: number }) => Promise<T>,
): Promise<T> {
  const room = deps.pager.reserveRoom(SOS_CLAIM_MAX, { sos: true });
  let opened: T;
  try {
    opened = await open({ leaseSeconds: deps.pager.options.leaseSeconds, max: room });
    // Sending before the room is released: the claimed pages take their places first.
    if (opened?.created) deps.pager.sendClaimed(opened.claimed);
  } finally {
    deps.pager.releaseRoom(room, { sos: true });
  }
  if (opened?.created) {
    const { incident, claimed } = opened;
    // The sender looks for pages still queued: those beyond the room it had, and all of them when
    // the call claimed none (its claim failed and the SOS was stored all the same, or there were none).
    deps.pager.queued({ incidentId: incident.id }, { claimed: claimed.length > 0 && claimed.length < room });
  }
  return opened;
}

/** The SOS as stored, but for whose it is: its zone (resolved here), severity, fix and note. */
async function placed(deps: Deps, input: SosInput): Promise<Omit<OpenSos, 'driverId' | 'actor'>> {
  const { zoneId, rule } = locateZone(await deps.zones.get(), input.location);
  return {
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
  };
}
