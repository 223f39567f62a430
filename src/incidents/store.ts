import type { Sql } from '../db/client';
import type { Principal } from '../auth/principal';
import { notFound } from '../errors';
import { claimedFromJson, type ClaimedPage, type ClaimedPageJson } from '../paging/store';
import type { Incident, Kind, LocationInput, Severity } from './schemas';
import { storableText } from './text';

/** A row of `incidents` as SQL or to_jsonb() gives it (timestamps as Date or as text). */
export interface IncidentRow {
  id: string;
  code: number;
  status: Incident['status'];
  kind: Kind;
  severity: Severity;
  driver_id: string;
  zone_id: string | null;
  zone_rule: Incident['zoneRule'];
  source: Incident['source'];
  note: string | null;
  opened_at: Date | string;
  lat: number | null;
  lng: number | null;
  accuracy_m: number | null;
  location_at: Date | string | null;
  acknowledged_at: Date | string | null;
  acknowledged_by: string | null;
  resolved_at: Date | string | null;
  disposition: Incident['disposition'];
  checkin_due_at?: Date | string | null;
  duress_at?: Date | string | null;
  cancel_locked_at?: Date | string | null;
  driver_view?: IncidentRow | null;
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();
const isoOrNull = (v: Date | string | null) => (v === null ? null : iso(v));

export function toIncident(r: IncidentRow): Incident {
  return {
    id: r.id,
    code: r.code,
    status: r.status,
    kind: r.kind,
    severity: r.severity,
    driverId: r.driver_id,
    zoneId: r.zone_id,
    zoneRule: r.zone_rule,
    source: r.source,
    note: r.note,
    openedAt: iso(r.opened_at),
    location: r.lat === null || r.lng === null || r.location_at === null
      ? null
      : { lat: r.lat, lng: r.lng, accuracyM: r.accuracy_m, capturedAt: iso(r.location_at) },
    acknowledgedAt: isoOrNull(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    resolvedAt: isoOrNull(r.resolved_at),
    disposition: r.disposition,
    checkInDueAt: isoOrNull(r.checkin_due_at ?? null),
  };
}

/**
 * The incident as `p` may see it. After a duress PIN the driver keeps seeing what a real
 * cancel would have shown (until it is resolved, then "resolved, driver_cancelled"): no trace
 * of the duress, the raised severity or anyone acting on it.
 */
export function viewFor(p: Principal, r: IncidentRow): Incident {
  return p.role === 'driver' ? driverSees(r) : toIncident(r);
}

/**
 * The incident as its driver sees it (viewFor() for the driver). The position is the live row's
 * in every case: the app streams fixes after either PIN, and a real cancel shows each new one.
 * A duress PIN entered while cancelling was locked answered "locked", as the cancel PIN does, so
 * the incident goes on for the driver as after a locked cancel: the live row, with the severity
 * the driver's own view holds (the duress raised the real one).
 */
function driverSees(r: IncidentRow): Incident {
  const live = toIncident(r);
  const view = r.driver_view;
  if (!view) return live;
  if (view.cancel_locked_at != null) return { ...live, severity: view.severity };
  const shown = { ...toIncident(view), location: live.location };
  if (r.status === 'resolved') return { ...shown, status: 'resolved', resolvedAt: isoOrNull(r.resolved_at), disposition: 'driver_cancelled' };
  return shown;
}

/**
 * What an SOS answers: a new incident as stored; an earlier press's (a retry, 200) as its driver
 * sees it, so a retry after a duress PIN shows what one after a cancel PIN does.
 */
const answered = (r: IncidentRow, created: boolean) => (created ? toIncident(r) : driverSees(r));

/** An SOS as openSos() stores it: whose, its zone (already resolved), severity, fix and note. */
export interface OpenSos {
  driverId: string;
  clientRequestId: string | null;
  source: Incident['source'];
  kind: Kind;
  severity: Severity;
  zoneId: string | null;
  zoneRule: Incident['zoneRule'];
  lat: number | null;
  lng: number | null;
  accuracyM: number | null;
  capturedAt: string | null;
  note: string | null;
  actor: string;
}

/**
 * A fix "taken" after it reached Mayday (a device clock running ahead, or a hostile client)
 * counts as taken on arrival: since an older fix never replaces a newer one, a timestamp in the
 * future would otherwise pin the incident's location for good.
 */
/**
 * A device clock is not to be trusted: a fix dated in the future, or before 2000 (a phone that
 * lost its clock, a year the database cannot store), counts as taken when it arrived. An SOS is
 * never lost to a broken clock.
 */
function trustedTime(capturedAt: string | null): string | null {
  if (capturedAt === null) return null;
  const t = Date.parse(capturedAt);
  return Number.isFinite(t) && t <= Date.now() && t >= EARLIEST_FIX ? capturedAt : new Date().toISOString();
}
const EARLIEST_FIX = Date.UTC(2000, 0, 1);

type Opened = { incident: Incident; created: boolean; claimed: ClaimedPage[] };
type Claim = { leaseSeconds: number; max: number };

/**
 * Store an SOS in one round trip (sos_open()): the incident, its opening event and its first
 * pages. With `claim`, up to `claim.max` of those pages are also claimed for this instance's
 * sender under a lease of `claim.leaseSeconds`, in the same transaction (sos_open_and_claim(); a
 * claim that fails leaves them queued and the SOS stored); without, they stay queued for any
 * sender. For the holder of a bearer token not yet looked up (`{ tokenHash }`), the token's user is
 * found in the same call (sos_open_by_token()) and the SOS is stored only for a driver: `user` is
 * undefined for an unknown or revoked token, `opened` unless `user` is a driver.
 */
export async function openSos(sql: Sql, o: OpenSos, claim?: Claim): Promise<Opened>;
export async function openSos(
  sql: Sql,
  o: Omit<OpenSos, 'driverId' | 'actor'> & { tokenHash: string },
  claim: Claim,
): Promise<{ user?: Principal; opened?: Opened }>;
export async function openSos(
  sql: Sql,
  o: OpenSos | (Omit<OpenSos, 'driverId' | 'actor'> & { tokenHash: string }),
  claim?: Claim,
): Promise<Opened | { user?: Principal; opened?: Opened }> {
  // What the note held that PostgreSQL cannot store is replaced, and incident.opened says so.
  const note = o.note === null ? null : storableText(o.note);
  o = { ...o, note: note?.text ?? null };
  const cleaned = note?.cleaned ? ['note'] : null;
  if ('tokenHash' in o) {
    type Row = { o_user: Principal | null } & { [K in keyof ClaimRow]: ClaimRow[K] | null };
    const [row] = await sql<Row[]>`
      CALL sos_open_by_token(${o.tokenHash}, ${placedArgs(sql, o)}, ${claim!.leaseSeconds}::int, ${claim!.max}::int, NULL, NULL, NULL, NULL, ${cleaned}::text[])`;
    if (!row.o_user) return {};
    if (!row.o_incident) return { user: row.o_user };
    return { user: row.o_user, opened: { incident: answered(row.o_incident, row.o_created === true), created: row.o_created === true, claimed: claimedFromJson(row.o_pages ?? []) } };
  }
  const args = sql`${o.driverId}, ${placedArgs(sql, o)}, ${o.actor}`;
  if (!claim) {
    const [row] = await sql<{ incident: IncidentRow; created: boolean }[]>`SELECT incident, created FROM sos_open(${args}, ${cleaned}::text[])`;
    return { incident: answered(row.incident, row.created), created: row.created, claimed: [] };
  }
  const [row] = await sql<ClaimRow[]>`CALL sos_open_and_claim(${args}, ${claim.leaseSeconds}::int, ${claim.max}::int, NULL, NULL, NULL, ${cleaned}::text[])`;
  return { incident: answered(row.o_incident, row.o_created), created: row.o_created, claimed: claimedFromJson(row.o_pages) };
}

/** The arguments of sos_open() between the driver and the actor, in its order. */
const placedArgs = (sql: Sql, o: Omit<OpenSos, 'driverId' | 'actor'>) => sql`
  ${o.clientRequestId}, ${o.source}, ${o.kind}, ${o.severity}, ${o.zoneId}, ${o.zoneRule},
  ${o.lat}, ${o.lng}, ${o.accuracyM}, ${trustedTime(o.capturedAt)}, ${o.note}`;

type ClaimRow = { o_incident: IncidentRow; o_created: boolean; o_pages: ClaimedPageJson[] };

/** The SQL condition under which `p` may see an incident aliased `i`. */
function visibleTo(sql: Sql, p: Principal) {
  switch (p.role) {
    case 'admin':
    case 'safety_lead':
    case 'auditor':
      return sql`true`;
    case 'driver':
      return sql`i.driver_id = ${p.id}`;
    case 'supervisor':
      // Its zones' incidents, and any it was paged for.
      return sql`(i.zone_id IN (SELECT zone_id FROM responder_zones WHERE responder_id = ${p.id})
                  OR EXISTS (SELECT 1 FROM pages pg WHERE pg.incident_id = i.id AND pg.recipient_id = ${p.id}))`;
    default:
      return sql`false`;
  }
}

export async function getIncidentFor(sql: Sql, p: Principal, id: string): Promise<Incident> {
  const [row] = await sql<IncidentRow[]>`SELECT i.* FROM incidents i WHERE i.id = ${id} AND ${visibleTo(sql, p)}`;
  if (!row) throw notFound('incident');
  return viewFor(p, row);
}

export async function listIncidentsFor(sql: Sql, p: Principal, q: { status?: string; limit: number }): Promise<Incident[]> {
  // A driver filters on what it sees (a duress incident looks cancel_requested to it, unless the
  // duress PIN came while cancelling was locked: then it goes on as after a locked cancel).
  const st = p.role === 'driver'
    ? sql`CASE WHEN i.driver_view ->> 'cancel_locked_at' IS NULL THEN coalesce(i.driver_view ->> 'status', i.status) ELSE i.status END`
    : sql`i.status`;
  const status =
    q.status === undefined ? sql`true` : q.status === 'active' ? sql`i.status <> 'resolved'` : sql`${st} = ${q.status} AND i.status <> 'resolved'`;
  const resolvedFilter = q.status === 'resolved' ? sql`i.status = 'resolved'` : status;
  const rows = await sql<IncidentRow[]>`
    SELECT i.* FROM incidents i WHERE ${resolvedFilter} AND ${visibleTo(sql, p)}
    ORDER BY i.opened_at DESC, i.id LIMIT ${q.limit}`;
  return rows.map((r) => viewFor(p, r));
}

/**
 * Add a fix to the trail. It becomes the incident's location only if it is newer than the
 * current one; an older fix is kept in the trail but never replaces it.
 */
export async function addLocation(
  sql: Sql,
  incidentId: string,
  loc: { lat: number; lng: number; accuracyM: number | null; capturedAt: string | null },
  actor: string,
): Promise<{ current: boolean } | 'resolved'> {
  const [row] = await sql<{ result: string }[]>`
    SELECT location_add(${incidentId}, ${loc.lat}, ${loc.lng}, ${loc.accuracyM}, ${trustedTime(loc.capturedAt)}, ${actor}) AS result`;
  if (row.result === 'resolved') return 'resolved';
  return { current: row.result === 'current' };
}

/**
 * The driver's last known fix: the newest point of any of its incidents' trails that retention
 * has not coarsened, or null. Where an SMS SOS or a promoted support request is placed.
 */
export async function lastKnownFix(sql: Sql, driverId: string): Promise<LocationInput | null> {
  const [row] = await sql<{ lat: number; lng: number; accuracy_m: number | null; captured_at: Date }[]>`
    SELECT l.lat, l.lng, l.accuracy_m, l.captured_at
    FROM incidents i JOIN incident_locations l ON l.incident_id = i.id
    WHERE i.driver_id = ${driverId} AND l.coarsened_at IS NULL
    ORDER BY l.captured_at DESC, l.id DESC
    LIMIT 1`;
  if (!row) return null;
  return { lat: row.lat, lng: row.lng, accuracyM: row.accuracy_m ?? undefined, capturedAt: row.captured_at.toISOString() };
}

/**
 * Acknowledge through ack_incident(), from the API or a responder's reply to `pageId`; answers
 * the incident's status before ('open' when this acknowledged it).
 */
export async function acknowledgeIncident(sql: Sql, incidentId: string, responderId: string, via: 'api' | 'sms', pageId: string | null = null): Promise<string> {
  const [row] = await sql<{ r: string }[]>`SELECT ack_incident(${incidentId}, ${responderId}, ${via}, ${pageId}) AS r`;
  return row.r;
}

/** Resolve through resolve_incident(); answers the incident's status before ('resolved' when it already was). */
export async function resolveIncident(sql: Sql, incidentId: string, by: string, disposition: string, note: string | null): Promise<string> {
  const [row] = await sql<{ r: string }[]>`
    SELECT resolve_incident(${incidentId}, ${by}, ${disposition}, ${note}) AS r`;
  return row.r;
}

/** A check-in answer through checkin_receive(); answers the incident's status ('resolved' when it no longer takes one). */
export async function receiveCheckIn(
  sql: Sql,
  incidentId: string,
  c: { status: 'safe' | 'need_help'; via: 'app' | 'sms'; note: string | null },
  actor: string,
): Promise<string> {
  const note = c.note === null ? null : storableText(c.note); // cleaned as an SOS's note is
  const [row] = await sql<{ r: string }[]>`
    SELECT checkin_receive(${incidentId}, ${c.status}, ${c.via}, ${note?.text ?? null}, ${actor}, ${note?.cleaned ? ['note'] : null}::text[]) AS r`;
  return row.r;
}

export type CancelOutcome = 'cancelled' | 'wrong' | 'locked' | 'already' | 'resolved';

/** A cancel request through cancel_incident(), with what the PIN turned out to be; answers what the driver is told. */
export async function cancelIncident(sql: Sql, incidentId: string, pin: 'duress' | 'cancel' | 'wrong', actor: string): Promise<CancelOutcome> {
  const [row] = await sql<{ r: CancelOutcome }[]>`SELECT cancel_incident(${incidentId}, ${pin}, ${actor}) AS r`;
  return row.r;
}
