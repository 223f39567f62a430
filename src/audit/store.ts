/**
 * The audit's SQL: export batches, bulk verification, the response-time report, the audit log,
 * legal holds and retention. (The only place in src/audit with SQL.)
 */
import type { Sql, TxSql } from '../db/client';
import type { TimelineEvent } from '../timeline/schemas';
import { toEvent } from '../timeline/store';
import { REPORT_BREACH_LIMIT } from './schemas';

export interface Range {
  from: Date;
  to: Date;
}

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

// ---------------------------------------------------------------------------------------------
// Audit log

export type AuditAction = 'export' | 'verify' | 'report' | 'legal_hold' | 'legal_hold_release' | 'retention' | 'enrollment' | 'device_revoked';

/** Append to the audit log (chained and append-only in the database: audit_log_chain()). */
export async function recordAudit(sql: Sql | TxSql, actor: string, action: AuditAction, params: Record<string, unknown>) {
  const [row] = await sql<{ seq: string; at: Date }[]>`
    INSERT INTO audit_log (actor, action, params) VALUES (${actor}, ${action}, ${sql.json(params as never)}) RETURNING seq, at`;
  return { seq: Number(row.seq), at: row.at.toISOString() };
}

export async function listAudit(sql: Sql, range: Range, limit: number) {
  const rows = await sql<{ seq: string; at: Date; actor: string; action: AuditAction; params: Record<string, unknown>; prev_hash: string; hash: string }[]>`
    SELECT seq, at, actor, action, params, prev_hash, hash FROM audit_log
    WHERE at >= ${range.from} AND at < ${range.to} ORDER BY seq LIMIT ${limit}`;
  const [chain] = await sql<{ valid: boolean; entry_count: string; head_hash: string | null }[]>`SELECT * FROM audit_log_verify()`;
  return {
    entries: rows.map((r) => ({ seq: Number(r.seq), at: r.at.toISOString(), actor: r.actor, action: r.action, params: r.params, prevHash: r.prev_hash, hash: r.hash })),
    chain: { valid: chain.valid, entryCount: Number(chain.entry_count), headHash: chain.head_hash },
  };
}

// ---------------------------------------------------------------------------------------------
// Export

export interface ExportLocation {
  id: number;
  lat: number;
  lng: number;
  accuracyM: number | null;
  capturedAt: string;
  coarsened: boolean;
}

export interface ExportIncident {
  incident: {
    id: string;
    code: number;
    status: 'open' | 'acknowledged' | 'cancel_requested' | 'resolved';
    kind: 'robbery' | 'shooting' | 'assault' | 'harassment' | 'crash' | 'medical' | 'other';
    severity: 'critical' | 'high' | 'medium';
    driverId: string;
    zoneId: string | null;
    zoneName: string | null;
    source: string;
    note: string | null;
    openedAt: string;
    acknowledgedAt: string | null;
    acknowledgedBy: string | null;
    resolvedAt: string | null;
    resolvedBy: string | null;
    disposition: 'resolved_safe' | 'police_dispatched' | 'medical_dispatched' | 'false_alarm' | 'driver_cancelled' | 'duplicate' | 'other' | null;
    resolutionNote: string | null;
    duressAt: string | null;
    legalHold: boolean;
    coarsenedAt: string | null;
  };
  /** The trail in the order the fixes were taken. */
  locations: ExportLocation[];
  /** The id of the first stored trail point (the opening location), if any. */
  openingLocationId: number | null;
  events: TimelineEvent[];
  headHash: string | null;
  /** The heads of this timeline that signed checkpoints covered, oldest first. */
  checkpointed: { seq: number; hash: string; checkpointSeq: number }[];
}

/** Where the next batch starts: after this (opened_at, id). opened_at is kept as PostgreSQL text, exact to the microsecond. */
export interface ExportCursor {
  openedAt: string;
  id: string;
}

/**
 * Half the diagonal of a 0.01° x 0.01° cell at the equator (~1113 m x 1113 m): the worst error a
 * coarsened point adds. Exports give a coarsened point at least this accuracy.
 */
export const COARSENED_ACCURACY_M = 786;

interface IncidentExportRow {
  id: string;
  code: number;
  status: ExportIncident['incident']['status'];
  kind: ExportIncident['incident']['kind'];
  severity: ExportIncident['incident']['severity'];
  driver_id: string;
  zone_id: string | null;
  zone_name: string | null;
  source: string;
  note: string | null;
  opened_at: Date;
  opened_key: string;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  disposition: ExportIncident['incident']['disposition'];
  resolution_note: string | null;
  duress_at: Date | null;
  legal_hold: boolean;
  coarsened_at: Date | null;
}

/** A connection of its own holding one read-only snapshot, for an export's batches. */
export interface Snapshot {
  tx: Awaited<ReturnType<Sql['reserve']>>;
  /** End the transaction (COMMIT or ROLLBACK) and give the connection back; never throws. */
  end(commit: boolean): Promise<void>;
}

/**
 * Open a REPEATABLE READ, READ ONLY transaction on a reserved connection, so that every batch of
 * an export sees the same data. The server itself ends it if left idle `serverIdleMs`.
 */
export async function openSnapshot(sql: Sql, serverIdleMs: number): Promise<Snapshot> {
  const tx = await sql.reserve();
  const end = async (commit: boolean) => {
    try {
      await tx.unsafe(commit ? 'COMMIT' : 'ROLLBACK');
    } catch {
      /* the connection is gone; nothing to end */
    } finally {
      tx.release();
    }
  };
  try {
    await tx.unsafe('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await tx.unsafe(`SET LOCAL idle_in_transaction_session_timeout = '${Math.round(serverIdleMs)}ms'`);
  } catch (e) {
    await end(false);
    throw e;
  }
  return { tx, end };
}

/**
 * One batch of the export: up to `limit` incidents opened in the range after `after`, oldest
 * first, each with its trail and whole timeline. Three queries whatever the batch size (no
 * query per incident). Run it on one transaction's connection so every batch sees the same snapshot.
 */
export async function exportBatch(
  tx: Sql | TxSql,
  range: Range,
  after: ExportCursor | null,
  limit: number,
  needs: { events: boolean; locations: boolean } = { events: true, locations: true },
): Promise<{ incidents: ExportIncident[]; next: ExportCursor | null }> {
  const keyset = after ? tx`AND i.opened_at >= ${after.openedAt}::timestamptz AND (i.opened_at, i.id) > (${after.openedAt}::timestamptz, ${after.id}::uuid)` : tx``;
  const rows = await tx<IncidentExportRow[]>`
    SELECT i.id, i.code, i.status, i.kind, i.severity, i.driver_id, i.zone_id, z.name AS zone_name, i.source, i.note,
           i.opened_at, i.opened_at::text AS opened_key, i.acknowledged_at, i.acknowledged_by, i.resolved_at, i.resolved_by,
           i.disposition, i.resolution_note, i.duress_at, i.legal_hold, i.coarsened_at
    FROM incidents i LEFT JOIN zones z ON z.id = i.zone_id
    WHERE i.opened_at >= ${range.from} AND i.opened_at < ${range.to} ${keyset}
    ORDER BY i.opened_at, i.id
    LIMIT ${limit}`;
  if (rows.length === 0) return { incidents: [], next: null };
  const ids = rows.map((r) => r.id);
  const [events, locations, checkpointed] = await Promise.all([
    needs.events
      ? tx<(Parameters<typeof toEvent>[0] & { incident_id: string })[]>`
          SELECT incident_id, seq, type, at, actor, data, prev_hash, hash FROM incident_events
          WHERE incident_id = ANY(${tx.array(ids)}::uuid[]) ORDER BY incident_id, seq`
      : [],
    needs.locations
      ? tx<{ incident_id: string; id: string; lat: number; lng: number; accuracy_m: number | null; captured_at: Date; coarsened_at: Date | null }[]>`
          SELECT incident_id, id, lat, lng, accuracy_m, captured_at, coarsened_at FROM incident_locations
          WHERE incident_id = ANY(${tx.array(ids)}::uuid[]) ORDER BY incident_id, captured_at, id`
      : [],
    needs.events
      ? tx<{ incident_id: string; seq: number; hash: string; checkpoint_seq: string }[]>`
          SELECT incident_id, seq, hash, checkpoint_seq FROM timeline_checkpoint_heads
          WHERE incident_id = ANY(${tx.array(ids)}::uuid[]) ORDER BY incident_id, seq`
      : [],
  ]);
  const byIncident = new Map<string, ExportIncident>();
  const out = rows.map((r): ExportIncident => {
    const x: ExportIncident = {
      incident: {
        id: r.id,
        code: r.code,
        status: r.status,
        kind: r.kind,
        severity: r.severity,
        driverId: r.driver_id,
        zoneId: r.zone_id,
        zoneName: r.zone_name,
        source: r.source,
        note: r.note,
        openedAt: iso(r.opened_at),
        acknowledgedAt: isoOrNull(r.acknowledged_at),
        acknowledgedBy: r.acknowledged_by,
        resolvedAt: isoOrNull(r.resolved_at),
        resolvedBy: r.resolved_by,
        disposition: r.disposition,
        resolutionNote: r.resolution_note,
        duressAt: isoOrNull(r.duress_at),
        legalHold: r.legal_hold,
        coarsenedAt: isoOrNull(r.coarsened_at),
      },
      locations: [],
      openingLocationId: null,
      events: [],
      headHash: null,
      checkpointed: [],
    };
    byIncident.set(r.id, x);
    return x;
  });
  for (const e of events) byIncident.get(e.incident_id)?.events.push(toEvent(e));
  for (const k of checkpointed) byIncident.get(k.incident_id)?.checkpointed.push({ seq: k.seq, hash: k.hash, checkpointSeq: Number(k.checkpoint_seq) });
  for (const l of locations) {
    const x = byIncident.get(l.incident_id);
    if (!x) continue;
    const id = Number(l.id);
    const coarsened = l.coarsened_at !== null;
    x.locations.push({
      id,
      lat: l.lat,
      lng: l.lng,
      accuracyM: coarsened ? Math.max(l.accuracy_m ?? 0, COARSENED_ACCURACY_M) : l.accuracy_m,
      capturedAt: iso(l.captured_at),
      coarsened,
    });
    if (x.openingLocationId === null || id < x.openingLocationId) x.openingLocationId = id;
  }
  for (const x of out) x.headHash = x.events.length ? x.events[x.events.length - 1].hash : null;
  const last = rows[rows.length - 1];
  return { incidents: out, next: rows.length < limit ? null : { openedAt: last.opened_key, id: last.id } };
}

// ---------------------------------------------------------------------------------------------
// Bulk verification

export interface RangeVerification {
  valid: boolean;
  checked: number;
  broken: string[];
  problems: { incidentId: string; problem: 'chain' | 'location' | 'row' | 'checkpoint'; locationId?: number; columns?: string[]; seqs?: number[] }[];
}

export const VERIFY_BATCH = 2000;

interface VerifyBatchRow {
  checked: number;
  last_key: string | null;
  last_id: string | null;
  chain: string[] | null;
  locations: { incidentId: string; locationIds: (number | string)[] }[] | null;
  rows: { incidentId: string; columns: string[] }[] | null;
  checkpoints: { incidentId: string; seqs: number[] }[] | null;
  first_checkpoint: string | null;
}

/**
 * Every timeline of the incidents opened in the range, recomputed in the database (the same
 * checks as timeline_verify(), plus: an incident with no timeline at all is broken, a trail
 * point whose salt is still kept must still match the digest its event recorded, the incident's
 * row must agree with its events (incident_row_disagreements()), and every checkpointed head must
 * still be its event's hash). VERIFY_BATCH incidents a query, by keyset; each incident's events
 * are read through the primary key (a lateral join), so the work grows with the range, not with
 * the whole table. Nothing per incident comes back but the broken ones, and the first checkpoint
 * that covered any of them (whose chain to the newest the caller checks).
 */
export async function verifyRangeRows(sql: Sql, range: Range, batch = VERIFY_BATCH): Promise<RangeVerification & { firstCheckpointSeq: number | null }> {
  let checked = 0;
  const chain: string[] = [];
  const locations: { incidentId: string; locationId: number }[] = [];
  const rowProblems: { incidentId: string; columns: string[] }[] = [];
  const checkpointProblems: { incidentId: string; seqs: number[] }[] = [];
  let firstCheckpointSeq: number | null = null;
  let after: ExportCursor | null = null;
  for (;;) {
    const cur: ExportCursor | null = after;
    const keyset = cur ? sql`AND i.opened_at >= ${cur.openedAt}::timestamptz AND (i.opened_at, i.id) > (${cur.openedAt}::timestamptz, ${cur.id}::uuid)` : sql``;
    const rows: VerifyBatchRow[] = await sql<VerifyBatchRow[]>`
      WITH inc AS MATERIALIZED (
        SELECT i.id, i.opened_at FROM incidents i
        WHERE i.opened_at >= ${range.from} AND i.opened_at < ${range.to} ${keyset}
        ORDER BY i.opened_at, i.id LIMIT ${batch}
      ), per AS (
        SELECT inc.id, inc.opened_at, c.ok, c.bad_locations,
               (SELECT h.seq = c.n AND h.hash = c.last_hash FROM timeline_heads h WHERE h.incident_id = inc.id) AS head_ok,
               incident_row_disagreements(inc.id) AS row_bad,
               cp.bad_seqs AS checkpoint_bad, cp.first_seq AS first_checkpoint
        FROM inc CROSS JOIN LATERAL (
          SELECT bool_and(x.ok) AS ok, count(*) AS n, (array_agg(x.hash ORDER BY x.seq DESC))[1] AS last_hash,
                 array_agg(x.location_id ORDER BY x.seq) FILTER (WHERE x.location_bad) AS bad_locations
          FROM (
            SELECT e.seq, e.hash,
                   e.seq = row_number() OVER w
                     AND e.prev_hash = coalesce(lag(e.hash) OVER w, repeat('0', 64))
                     AND e.hash = timeline_hash(e.prev_hash, e.incident_id, e.seq, e.type, e.at, e.actor, e.data) AS ok,
                   (e.data -> 'location' ->> 'id')::bigint AS location_id,
                   jsonb_typeof(e.data -> 'location') = 'object' AND e.data -> 'location' ? 'id' AND NOT EXISTS (
                     SELECT 1 FROM incident_locations l
                     WHERE l.id = (e.data -> 'location' ->> 'id')::bigint AND l.incident_id = e.incident_id
                       AND (l.salt IS NULL OR location_digest(l.lat, l.lng, l.accuracy_m, l.captured_at, l.salt) = e.data -> 'location' ->> 'digest')
                   ) AS location_bad
            FROM incident_events e WHERE e.incident_id = inc.id
            WINDOW w AS (ORDER BY e.seq)
          ) x
        ) c
        CROSS JOIN LATERAL (
          SELECT array_agg(k.seq ORDER BY k.seq) FILTER (WHERE e.hash IS DISTINCT FROM k.hash) AS bad_seqs, min(k.checkpoint_seq) AS first_seq
          FROM timeline_checkpoint_heads k LEFT JOIN incident_events e ON e.incident_id = k.incident_id AND e.seq = k.seq
          WHERE k.incident_id = inc.id
        ) cp
      )
      SELECT count(*)::int AS checked,
             (array_agg(per.opened_at::text ORDER BY per.opened_at DESC, per.id DESC))[1] AS last_key,
             (array_agg(per.id ORDER BY per.opened_at DESC, per.id DESC))[1] AS last_id,
             array_agg(per.id ORDER BY per.opened_at, per.id) FILTER (WHERE NOT (coalesce(per.ok, false) AND coalesce(per.head_ok, false))) AS chain,
             jsonb_agg(jsonb_build_object('incidentId', per.id, 'locationIds', per.bad_locations) ORDER BY per.opened_at, per.id)
               FILTER (WHERE per.bad_locations IS NOT NULL) AS locations,
             jsonb_agg(jsonb_build_object('incidentId', per.id, 'columns', per.row_bad) ORDER BY per.opened_at, per.id)
               FILTER (WHERE cardinality(per.row_bad) > 0) AS rows,
             jsonb_agg(jsonb_build_object('incidentId', per.id, 'seqs', per.checkpoint_bad) ORDER BY per.opened_at, per.id)
               FILTER (WHERE per.checkpoint_bad IS NOT NULL) AS checkpoints,
             min(per.first_checkpoint)::text AS first_checkpoint
      FROM per`;
    const row = rows[0];
    checked += row.checked;
    chain.push(...(row.chain ?? []));
    for (const l of row.locations ?? []) for (const id of l.locationIds) locations.push({ incidentId: l.incidentId, locationId: Number(id) });
    rowProblems.push(...(row.rows ?? []));
    checkpointProblems.push(...(row.checkpoints ?? []));
    if (row.first_checkpoint !== null) firstCheckpointSeq = Math.min(firstCheckpointSeq ?? Infinity, Number(row.first_checkpoint));
    if (row.checked < batch || !row.last_key || !row.last_id) break;
    after = { openedAt: row.last_key, id: row.last_id };
  }
  const problems: RangeVerification['problems'] = [
    ...chain.map((id) => ({ incidentId: id, problem: 'chain' as const })),
    ...rowProblems.map((r) => ({ incidentId: r.incidentId, problem: 'row' as const, columns: r.columns })),
    ...checkpointProblems.map((r) => ({ incidentId: r.incidentId, problem: 'checkpoint' as const, seqs: r.seqs })),
    ...locations.map((l) => ({ incidentId: l.incidentId, problem: 'location' as const, locationId: l.locationId })),
  ];
  const broken = [...new Set([...chain, ...rowProblems.map((r) => r.incidentId), ...checkpointProblems.map((r) => r.incidentId), ...locations.map((l) => l.incidentId)])];
  return { valid: broken.length === 0, checked, broken, problems, firstCheckpointSeq };
}

/** verifyRangeRows without the checkpoint span (the console's verdict; src/audit/verify.ts adds the signatures). */
export async function verifyRange(sql: Sql, range: Range, batch = VERIFY_BATCH): Promise<RangeVerification> {
  const { firstCheckpointSeq: _, ...r } = await verifyRangeRows(sql, range, batch);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Response times

interface MeasureRow {
  incidents: number;
  sent_n: number;
  sent_p: number[] | null;
  delivered_n: number;
  delivered_p: number[] | null;
  ack_n: number;
  ack_p: number[] | null;
  resolved_n: number;
  resolved_p: number[] | null;
  dispatch_n: number;
  dispatch_p: number[] | null;
  psap_n: number;
  psap_p: number[] | null;
  breach_count: number;
}

const round3 = (x: number | null | undefined) => (x === null || x === undefined ? null : Math.round(x * 1000) / 1000);
const pct = (n: number, p: number[] | null) => ({ count: n, p50: round3(p?.[0]), p90: round3(p?.[1]), p99: round3(p?.[2]) });
const measures = (r: MeasureRow) => ({
  incidents: r.incidents,
  firstPageSent: pct(r.sent_n, r.sent_p),
  firstDelivery: pct(r.delivered_n, r.delivered_p),
  acknowledgement: pct(r.ack_n, r.ack_p),
  resolution: pct(r.resolved_n, r.resolved_p),
  dispatchRequested: pct(r.dispatch_n, r.dispatch_p),
  psapContacted: pct(r.psap_n, r.psap_p),
  breachCount: r.breach_count,
});

/**
 * Per zone and kind (and over everything): continuous percentiles (p50, p90, p99) of seconds
 * from opening to the first page sent to a responder, the first delivery, the acknowledgement
 * and the resolution, to the first request for emergency dispatch and to the dispatcher's first
 * call to the 911 centre (Noonlight's event time), all taken from the timeline's events (a page
 * is sent when Twilio took it: page.sent's `takenAt`, when it has one); plus the incidents that breached
 * `targetSeconds` (see ReportQuery). One query; nothing per incident comes back but breaches.
 */
export async function responseTimes(sql: Sql, range: Range, targetSeconds: number) {
  const rows = await sql<(MeasureRow & { whole: boolean; zone_id: string | null; zone_name: string | null; kind: string | null; breaches: { incidentId: string; code: number; ackSeconds: number | null }[] | null })[]>`
    WITH inc AS (
      SELECT i.id, i.code, i.zone_id, i.kind, i.opened_at, i.resolved_at
      FROM incidents i WHERE i.opened_at >= ${range.from} AND i.opened_at < ${range.to}
    ), ev AS (
      SELECT e.incident_id,
             min(coalesce((e.data ->> 'takenAt')::timestamptz, e.at)) FILTER (WHERE e.type = 'page.sent') AS first_sent,
             min(e.at) FILTER (WHERE e.type = 'page.delivered') AS first_delivered,
             min(e.at) FILTER (WHERE e.type = 'incident.acknowledged') AS acked,
             min(e.at) FILTER (WHERE e.type = 'incident.resolved') AS resolved,
             min(e.at) FILTER (WHERE e.type = 'dispatch.requested') AS dispatch_requested,
             min(coalesce((e.data ->> 'at')::timestamptz, e.at)) FILTER (WHERE e.type = 'dispatch.psap_contacted') AS psap_contacted
      FROM incident_events e
      JOIN inc ON inc.id = e.incident_id
      LEFT JOIN pages p ON e.type IN ('page.sent', 'page.delivered') AND p.id = (e.data ->> 'pageId')::uuid
      WHERE e.type IN ('page.sent', 'page.delivered', 'incident.acknowledged', 'incident.resolved', 'dispatch.requested', 'dispatch.psap_contacted')
        -- pages to responders only: a check-in SMS to the driver or a notice is not a response
        AND (e.type NOT IN ('page.sent', 'page.delivered') OR p.purpose NOT IN ('checkin', 'notice', 'dispatch'))
      GROUP BY e.incident_id
    ), d AS (
      SELECT inc.id, inc.code, inc.zone_id, inc.kind,
             extract(epoch FROM ev.first_sent - inc.opened_at)::float8 AS sent_s,
             extract(epoch FROM ev.first_delivered - inc.opened_at)::float8 AS delivered_s,
             extract(epoch FROM ev.acked - inc.opened_at)::float8 AS ack_s,
             extract(epoch FROM ev.resolved - inc.opened_at)::float8 AS resolved_s,
             extract(epoch FROM ev.dispatch_requested - inc.opened_at)::float8 AS dispatch_s,
             extract(epoch FROM ev.psap_contacted - inc.opened_at)::float8 AS psap_s,
             extract(epoch FROM coalesce(ev.resolved, inc.resolved_at, now()) - inc.opened_at)::float8 AS unacked_s
      FROM inc LEFT JOIN ev ON ev.incident_id = inc.id
    ), b AS (
      SELECT d.*, (d.ack_s > ${targetSeconds} OR (d.ack_s IS NULL AND d.unacked_s > ${targetSeconds})) AS breach FROM d
    )
    SELECT GROUPING(b.zone_id, b.kind) <> 0 AS whole, b.zone_id, z.name AS zone_name, b.kind,
           count(*)::int AS incidents,
           count(b.sent_s)::int AS sent_n,
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY b.sent_s) AS sent_p,
           count(b.delivered_s)::int AS delivered_n,
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY b.delivered_s) AS delivered_p,
           count(b.ack_s)::int AS ack_n,
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY b.ack_s) AS ack_p,
           count(b.resolved_s)::int AS resolved_n,
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY b.resolved_s) AS resolved_p,
           count(b.dispatch_s)::int AS dispatch_n,
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY b.dispatch_s) AS dispatch_p,
           count(b.psap_s)::int AS psap_n,
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY b.psap_s) AS psap_p,
           (count(*) FILTER (WHERE b.breach))::int AS breach_count,
           CASE WHEN GROUPING(b.zone_id, b.kind) = 0 THEN
             (SELECT jsonb_agg(x.o ORDER BY x.ord) FROM (
                SELECT jsonb_build_object('incidentId', u.id, 'code', u.code, 'ackSeconds', round(u.ack_s::numeric, 3)) AS o,
                       row_number() OVER (ORDER BY u.ack_s DESC NULLS FIRST, u.code) AS ord
                FROM unnest(array_agg(b.id) FILTER (WHERE b.breach), array_agg(b.code) FILTER (WHERE b.breach),
                            array_agg(b.ack_s) FILTER (WHERE b.breach)) AS u(id, code, ack_s)
                ORDER BY ord LIMIT ${REPORT_BREACH_LIMIT}) x)
           END AS breaches
    FROM b LEFT JOIN zones z ON z.id = b.zone_id
    GROUP BY GROUPING SETS ((b.zone_id, z.name, b.kind), ())
    ORDER BY whole, z.name NULLS LAST, b.zone_id, b.kind`;
  const overall = rows.find((r) => r.whole);
  const empty: MeasureRow = { incidents: 0, sent_n: 0, sent_p: null, delivered_n: 0, delivered_p: null, ack_n: 0, ack_p: null, resolved_n: 0, resolved_p: null, dispatch_n: 0, dispatch_p: null, psap_n: 0, psap_p: null, breach_count: 0 };
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    targetSeconds,
    overall: measures(overall && overall.incidents > 0 ? overall : empty),
    groups: rows
      .filter((r) => !r.whole)
      .map((r) => ({
        zoneId: r.zone_id,
        zoneName: r.zone_name,
        kind: r.kind as ExportIncident['incident']['kind'],
        ...measures(r),
        breaches: (r.breaches ?? []).map((x) => ({ incidentId: x.incidentId, code: x.code, ackSeconds: x.ackSeconds === null ? null : Number(x.ackSeconds) })),
      })),
  };
}

// ---------------------------------------------------------------------------------------------
// Legal holds

export interface LegalHold {
  incidentId: string;
  legalHold: boolean;
  since: string | null;
  by: string | null;
  reason: string | null;
  coarsenedAt: string | null;
}

/**
 * Place (hold = true) or release a legal hold, with its audit log entry, in one transaction.
 * Placing a hold that is already in place changes nothing (the first one's time, holder and
 * reason stay). Answers undefined when there is no such incident.
 */
export async function setLegalHold(sql: Sql, id: string, hold: boolean, actor: string, reason: string | null): Promise<LegalHold | undefined> {
  return sql.begin(async (tx) => {
    const [cur] = await tx<{ legal_hold: boolean }[]>`SELECT legal_hold FROM incidents WHERE id = ${id} FOR NO KEY UPDATE`;
    if (!cur) return undefined;
    const changed = cur.legal_hold !== hold;
    if (changed) {
      await tx`
        UPDATE incidents
        SET legal_hold = ${hold},
            legal_hold_at = CASE WHEN ${hold}::boolean THEN now() END,
            legal_hold_by = CASE WHEN ${hold}::boolean THEN ${actor} END,
            legal_hold_reason = CASE WHEN ${hold}::boolean THEN ${reason}::text END
        WHERE id = ${id}`;
    }
    await recordAudit(tx, actor, hold ? 'legal_hold' : 'legal_hold_release', { incidentId: id, changed, ...(reason ? { reason } : {}) });
    const [r] = await tx<{ legal_hold: boolean; legal_hold_at: Date | null; legal_hold_by: string | null; legal_hold_reason: string | null; coarsened_at: Date | null }[]>`
      SELECT legal_hold, legal_hold_at, legal_hold_by, legal_hold_reason, coarsened_at FROM incidents WHERE id = ${id}`;
    return { incidentId: id, legalHold: r.legal_hold, since: isoOrNull(r.legal_hold_at), by: r.legal_hold_by, reason: r.legal_hold_reason, coarsenedAt: isoOrNull(r.coarsened_at) };
  }) as Promise<LegalHold | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Retention

/** One batch of retention_run(): the incidents coarsened and their trail points. */
export async function retentionBatch(sql: Sql, days: number, at: Date, limit: number) {
  return sql<{ incident_id: string; points: number }[]>`SELECT incident_id, points FROM retention_run(${days}, ${at}, ${limit})`;
}

/** Claim the daily run for the UTC day of `at`: true for the one caller that gets it. */
export async function claimRetentionDay(sql: Sql, at: Date, days: number): Promise<boolean> {
  const rows = await sql`
    INSERT INTO retention_runs (day, days) VALUES ((${at}::timestamptz AT TIME ZONE 'UTC')::date, ${days})
    ON CONFLICT (day) DO NOTHING RETURNING day`;
  return rows.length === 1;
}

export async function finishRetentionDay(sql: Sql, at: Date, outcome: { incidents: number; points: number } | { error: string }) {
  const ok = 'incidents' in outcome;
  await sql`
    UPDATE retention_runs SET finished_at = now(),
           incidents = ${ok ? outcome.incidents : null}, points = ${ok ? outcome.points : null}, error = ${ok ? null : outcome.error}
    WHERE day = (${at}::timestamptz AT TIME ZONE 'UTC')::date`;
}
