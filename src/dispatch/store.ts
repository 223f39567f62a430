/**
 * The dispatches and their timeline events (SQL functions in sql/functions/dispatch/). The
 * alarm's sealed PIN is read only by sealedPinOf(), for a cancel; nothing else selects it.
 */
import type { Sql } from '../db/client';
import type { Kind } from '../incidents/schemas';

export const SERVICES = ['police', 'fire', 'medical'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const DISPATCH_STATUSES = ['requested', 'active', 'psap_contacted', 'closed', 'canceled', 'failed'] as const;
export type DispatchStatus = (typeof DISPATCH_STATUSES)[number];

export interface DispatchRef {
  id: string;
  status: DispatchStatus;
  services: ServiceName[];
}

/** What the center is told about the incident when the alarm is created. */
export interface AlarmFacts {
  driverName: string;
  driverPhone: string | null;
  lat: number | null;
  lng: number | null;
  accuracyM: number | null;
  locationAt: string | null;
  kind: Kind;
  code: number;
  note: string | null;
  incidentNote: string | null;
}

export type RequestResult =
  | { result: 'created'; dispatch: DispatchRef; alarm: AlarmFacts }
  | { result: 'existing'; dispatch: DispatchRef; alarm: AlarmFacts; ageSeconds: number }
  | { result: 'resolved' }
  | { result: 'missing' }
  | { result: 'forbidden' };

/**
 * Record a request (dispatch_request()), or find the live dispatch it joins; who may ask (`asker`)
 * is judged in the same round trip. `pagedFor`: the caller checked the asker was paged for it.
 */
export async function recordRequest(
  sql: Sql,
  r: {
    incidentId: string; services: ServiceName[]; note: string | null; pinSealed: string; by: string; via: 'api' | 'console' | 'sms'; center: string;
    asker: { role: string; id: string }; pagedFor: boolean;
  },
): Promise<RequestResult> {
  const [row] = await sql<{ r: RequestResult }[]>`
    SELECT dispatch_request(${r.incidentId}, ${r.services}::text[], ${r.note}, ${r.pinSealed}, ${r.by}, ${r.via}, ${r.center},
                            ${r.asker.role}, ${r.asker.id}, ${r.pagedFor}) AS r`;
  return row.r;
}

export async function recordCreated(
  sql: Sql,
  d: { dispatchId: string; alarmId: string; services: ServiceName[]; missing: ServiceName[]; ambiguous: boolean; attempts: number; locationAt: string | null },
): Promise<DispatchStatus> {
  const [row] = await sql<{ r: DispatchStatus }[]>`
    SELECT dispatch_created(${d.dispatchId}, ${d.alarmId}, ${d.services}::text[], ${d.missing}::text[], ${d.ambiguous}, ${d.attempts}, ${d.locationAt}::timestamptz) AS r`;
  return row.r;
}

export async function recordFailed(sql: Sql, dispatchId: string, failure: Record<string, unknown>): Promise<DispatchStatus> {
  const [row] = await sql<{ r: DispatchStatus }[]>`SELECT dispatch_failed(${dispatchId}, ${sql.json(failure as never)}) AS r`;
  return row.r;
}

export async function recordCanceled(sql: Sql, dispatchId: string, actor: string, ok: boolean, failure: Record<string, unknown> | null): Promise<DispatchStatus> {
  const [row] = await sql<{ r: DispatchStatus }[]>`
    SELECT dispatch_canceled(${dispatchId}, ${actor}, ${ok}, ${failure === null ? null : sql.json(failure as never)}) AS r`;
  return row.r;
}

export type WebhookOutcome = 'recorded' | 'duplicate' | 'unknown_alarm' | 'ignored';

/** One center event, kept once by its id (dispatch_webhook()). */
export async function recordCenterEvent(
  sql: Sql,
  e: { eventId: string; type: string; centerType: string; at: string; alarmId: string; actor: string },
): Promise<{ outcome: WebhookOutcome; incidentId: string | null }> {
  const [row] = await sql<{ r: WebhookOutcome; incident_id: string | null }[]>`
    SELECT dispatch_webhook(${e.eventId}, ${e.type}, ${e.centerType}, ${e.at}::timestamptz, ${e.alarmId}, ${e.actor}) AS r,
           (SELECT incident_id FROM dispatches WHERE alarm_id = ${e.alarmId}) AS incident_id`;
  return { outcome: row.r, incidentId: row.incident_id };
}

/** Whether any dispatch is still `requested` (its center's answer not yet recorded). */
export async function anyRequested(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ any: boolean }[]>`SELECT EXISTS (SELECT 1 FROM dispatches WHERE status = 'requested') AS any`;
  return row.any;
}

/** How many people the dispatch's newest dispatch.failed paged. */
export async function pagedForFailure(sql: Sql, incidentId: string, dispatchId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT jsonb_array_length(coalesce(data -> 'paged', '[]'::jsonb))::int AS n FROM incident_events
    WHERE incident_id = ${incidentId} AND type = 'dispatch.failed' AND data ->> 'dispatchId' = ${dispatchId}
    ORDER BY seq DESC LIMIT 1`;
  return row?.n ?? 0;
}

/** An incident's live dispatch that has an alarm, with the incident's newest fix (for forwarding and cancels). */
export interface LiveAlarm {
  dispatch_id: string;
  alarm_id: string;
  center: string;
  lat: number | null;
  lng: number | null;
  accuracy_m: number | null;
  location_at: Date | null;
  location_sent_at: Date | null;
}

export async function liveAlarmOf(sql: Sql, incidentId: string): Promise<LiveAlarm | undefined> {
  const [row] = await sql<LiveAlarm[]>`
    SELECT d.id AS dispatch_id, d.alarm_id, d.center, i.lat, i.lng, i.accuracy_m, i.location_at, d.location_sent_at
    FROM dispatches d JOIN incidents i ON i.id = d.incident_id
    WHERE d.incident_id = ${incidentId} AND d.status IN ('active', 'psap_contacted') AND d.alarm_id IS NOT NULL`;
  return row;
}

/** Live alarms whose incident has a fix newer than the last one forwarded. */
export async function alarmsBehind(sql: Sql, limit = 50): Promise<(LiveAlarm & { incident_id: string })[]> {
  return sql<(LiveAlarm & { incident_id: string })[]>`
    SELECT d.id AS dispatch_id, d.incident_id, d.alarm_id, d.center, i.lat, i.lng, i.accuracy_m, i.location_at, d.location_sent_at
    FROM dispatches d JOIN incidents i ON i.id = d.incident_id
    WHERE d.status IN ('active', 'psap_contacted') AND d.alarm_id IS NOT NULL
      AND i.lat IS NOT NULL AND i.location_at > coalesce(d.location_sent_at, '-infinity')
    LIMIT ${limit}`;
}

/** Dispatches still `requested` this long after they were asked for: their request was cut short (a crash). */
export async function staleRequests(sql: Sql, olderThanSeconds: number): Promise<{ id: string; incident_id: string }[]> {
  return sql<{ id: string; incident_id: string }[]>`
    SELECT id, incident_id FROM dispatches
    WHERE status = 'requested' AND requested_at < now() - make_interval(secs => ${olderThanSeconds})
    LIMIT 50`;
}

/**
 * The center refused the fix taken at `at` (the alarm closed there, a location it will not take):
 * it is not sent again, and the timeline says so (dispatch.location_failed).
 */
export async function recordLocationRefused(sql: Sql, dispatchId: string, at: Date, f: { status?: number; message: string }): Promise<void> {
  await sql`
    WITH m AS (
      UPDATE dispatches SET location_sent_at = greatest(coalesce(location_sent_at, '-infinity'), ${at}) WHERE id = ${dispatchId}
      RETURNING incident_id, alarm_id)
    INSERT INTO incident_events (incident_id, type, actor, data)
    SELECT incident_id, 'dispatch.location_failed', 'system', jsonb_strip_nulls(jsonb_build_object(
      'dispatchId', ${dispatchId}::uuid, 'alarmId', alarm_id, 'locationAt', ${at}::timestamptz, 'status', ${f.status ?? null}::int, 'message', ${f.message}::text))
    FROM m`;
}

/** The fix taken at `at` reached the alarm; an older one arriving late never moves it back. */
export async function markLocationSent(sql: Sql, dispatchId: string, at: Date): Promise<void> {
  await sql`UPDATE dispatches SET location_sent_at = greatest(coalesce(location_sent_at, '-infinity'), ${at}) WHERE id = ${dispatchId}`;
}

/**
 * Live alarms the driver's cancel PIN asked to cancel at least `afterSeconds` ago (the request's
 * own attempt had that long): their cancel is (re)tried, including an alarm made after the cancel.
 */
export async function cancelsDue(sql: Sql, afterSeconds: number): Promise<{ dispatch_id: string; incident_id: string; alarm_id: string }[]> {
  return sql<{ dispatch_id: string; incident_id: string; alarm_id: string }[]>`
    SELECT id AS dispatch_id, incident_id, alarm_id FROM dispatches
    WHERE cancel_wanted_at < now() - make_interval(secs => ${afterSeconds})
      AND status IN ('active', 'psap_contacted') AND alarm_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = dispatches.incident_id AND i.duress_at IS NOT NULL)
    LIMIT 50`;
}

/**
 * The sealed PIN of a dispatch's alarm, only for cancelling it (never returned or logged), and
 * whether its cancel is still wanted: not once the duress PIN was entered (the dispatch goes on).
 */
export async function sealedPinOf(sql: Sql, dispatchId: string): Promise<{ pinSealed: string; wanted: boolean } | undefined> {
  const [row] = await sql<{ pin_sealed: string; wanted: boolean }[]>`
    SELECT d.pin_sealed, d.cancel_wanted_at IS NOT NULL AND i.duress_at IS NULL AS wanted
    FROM dispatches d JOIN incidents i ON i.id = d.incident_id WHERE d.id = ${dispatchId}`;
  return row && { pinSealed: row.pin_sealed, wanted: row.wanted };
}

/** Whether the responder supervises the incident's zone, or acknowledged it. */
export async function mayRequest(sql: Sql, responderId: string, incidentId: string): Promise<boolean> {
  const [row] = await sql<{ ok: boolean }[]>`
    SELECT EXISTS (
      SELECT 1 FROM incidents i
      WHERE i.id = ${incidentId}
        AND (i.acknowledged_by = ${responderId}
             OR i.zone_id IN (SELECT zone_id FROM responder_zones WHERE responder_id = ${responderId}))) AS ok`;
  return row.ok;
}

/** What a reader sees of a dispatch (the API, the console, the driver app). No PIN. */
export interface DispatchView {
  id: string;
  incidentId: string;
  status: DispatchStatus;
  services: ServiceName[];
  alarmId: string | null;
  center: string;
  requestedBy: string;
  requestedAt: string;
  createdAt: string | null;
  psapContactedAt: string | null;
  closedAt: string | null;
  canceledAt: string | null;
  failedAt: string | null;
}

const VIEW_COLUMNS = (sql: Sql) => sql`
  d.id, d.incident_id, d.status, d.services, d.alarm_id, d.center, d.requested_by, d.requested_at, d.created_at,
  d.psap_contacted_at, d.closed_at, d.canceled_at, d.failed_at`;

type ViewRow = {
  id: string; incident_id: string; status: DispatchStatus; services: ServiceName[]; alarm_id: string | null; center: string; requested_by: string;
  requested_at: Date; created_at: Date | null; psap_contacted_at: Date | null; closed_at: Date | null; canceled_at: Date | null; failed_at: Date | null;
};
const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const toView = (r: ViewRow): DispatchView => ({
  id: r.id, incidentId: r.incident_id, status: r.status, services: r.services, alarmId: r.alarm_id, center: r.center, requestedBy: r.requested_by,
  requestedAt: r.requested_at.toISOString(), createdAt: iso(r.created_at), psapContactedAt: iso(r.psap_contacted_at), closedAt: iso(r.closed_at),
  canceledAt: iso(r.canceled_at), failedAt: iso(r.failed_at),
});

/** The incident's newest dispatch, or undefined. */
export async function latestDispatch(sql: Sql, incidentId: string): Promise<DispatchView | undefined> {
  const [row] = await sql<ViewRow[]>`
    SELECT ${VIEW_COLUMNS(sql)} FROM dispatches d WHERE d.incident_id = ${incidentId} ORDER BY d.requested_at DESC, d.id DESC LIMIT 1`;
  return row && toView(row);
}

/** The newest dispatch of each of these incidents (the board). */
export async function latestDispatches(sql: Sql, incidentIds: string[]): Promise<Map<string, DispatchView>> {
  if (incidentIds.length === 0) return new Map();
  const rows = await sql<ViewRow[]>`
    SELECT DISTINCT ON (d.incident_id) ${VIEW_COLUMNS(sql)} FROM dispatches d
    WHERE d.incident_id = ANY (${incidentIds}::uuid[]) ORDER BY d.incident_id, d.requested_at DESC, d.id DESC`;
  return new Map(rows.map((r) => [r.incident_id, toView(r)]));
}
