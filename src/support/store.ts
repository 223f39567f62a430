import type { Principal } from '../auth/principal';
import type { Sql } from '../db/client';
import type { Category, PromotionReason, SupportRequest, SupportStatus } from './schemas';
import { storableText } from '../incidents/text';

/** A row of `support_requests`. */
export interface SupportRow {
  id: string;
  driver_id: string;
  category: Category;
  text: string;
  tier: number;
  status: SupportStatus;
  claimed_by: string | null;
  claimed_at: Date | null;
  incident_id: string | null;
  promoted_reason: PromotionReason | null;
  created_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
}

const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

export function toSupportRequest(r: SupportRow): SupportRequest {
  return {
    id: r.id,
    driverId: r.driver_id,
    category: r.category,
    text: r.text,
    tier: r.tier,
    status: r.status,
    claimedBy: r.claimed_by,
    claimedAt: isoOrNull(r.claimed_at),
    incidentId: r.incident_id,
    promotedReason: r.promoted_reason,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    resolvedAt: isoOrNull(r.resolved_at),
  };
}

const COLUMNS = 'id, driver_id, category, text, tier, status, claimed_by, claimed_at, incident_id, promoted_reason, created_at, updated_at, resolved_at';

/** Store a new request: open in the tier-1 queue, or already promoted to `promoted.incidentId`. */
export async function insertRequest(
  sql: Sql,
  r: { driverId: string; category: Category; text: string; promoted?: { incidentId: string; reason: PromotionReason } },
): Promise<SupportRow> {
  const p = r.promoted;
  const [row] = await sql<SupportRow[]>`
    INSERT INTO support_requests (driver_id, category, text, status, incident_id, promoted_reason, promoted_at)
    VALUES (${r.driverId}, ${r.category}, ${storableText(r.text).text}, ${p ? 'promoted' : 'open'}, ${p?.incidentId ?? null}, ${p?.reason ?? null},
            ${p ? sql`now()` : null})
    RETURNING ${sql.unsafe(COLUMNS)}`;
  return row;
}

/** The request `p` may see: a driver its own, an agent or the administrator any. */
export async function getRequestFor(sql: Sql, p: Principal, id: string): Promise<SupportRow | undefined> {
  const visible = p.role === 'driver' ? sql`driver_id = ${p.id}` : p.role === 'agent' || p.role === 'admin' ? sql`true` : sql`false`;
  const [row] = await sql<SupportRow[]>`SELECT ${sql.unsafe(COLUMNS)} FROM support_requests WHERE id = ${id} AND ${visible}`;
  return row;
}

/** The request, locked until the end of the transaction (escalation takes it one at a time). */
export async function lockRequest(sql: Sql, id: string): Promise<SupportRow | undefined> {
  const [row] = await sql<SupportRow[]>`SELECT ${sql.unsafe(COLUMNS)} FROM support_requests WHERE id = ${id} FOR UPDATE`;
  return row;
}

/**
 * Claim the oldest open request of the agent's tier. SKIP LOCKED: agents claiming at once each
 * take a different one, and nobody waits on a request another transaction holds.
 */
export async function claimOldest(sql: Sql, agentId: string): Promise<SupportRow | undefined> {
  const [row] = await sql<SupportRow[]>`
    WITH next AS (
      SELECT s.id FROM support_requests s
      WHERE s.status = 'open' AND s.tier = (SELECT u.tier FROM users u WHERE u.id = ${agentId} AND u.role = 'agent')
      ORDER BY s.created_at, s.id
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    UPDATE support_requests s
    SET status = 'claimed', claimed_by = ${agentId}, claimed_at = now(), updated_at = now()
    FROM next WHERE s.id = next.id
    RETURNING ${sql.unsafe(COLUMNS.split(', ').map((c) => `s.${c}`).join(', '))}`;
  return row;
}

/**
 * Resolve, or move to a higher tier (back to the queue, open for that tier), a request the agent
 * holds. Answers the row changed, or undefined when it was not claimed by this agent or the tier
 * would not go up; the caller reads the row again to say why.
 */
export async function updateClaimed(
  sql: Sql,
  agentId: string,
  id: string,
  change: { resolve: true } | { tier: number },
): Promise<SupportRow | undefined> {
  const set =
    'resolve' in change
      ? sql`status = 'resolved', resolved_by = ${agentId}, resolved_at = now()`
      : sql`status = 'open', tier = ${change.tier}, claimed_by = NULL, claimed_at = NULL`;
  const tierUp = 'tier' in change ? sql`AND tier < ${change.tier}` : sql``;
  const [row] = await sql<SupportRow[]>`
    UPDATE support_requests SET ${set}, updated_at = now()
    WHERE id = ${id} AND status = 'claimed' AND claimed_by = ${agentId} ${tierUp}
    RETURNING ${sql.unsafe(COLUMNS)}`;
  return row;
}

/** Mark a request (locked by lockRequest) promoted to `incidentId`. */
export async function markPromoted(sql: Sql, id: string, incidentId: string, reason: PromotionReason, by: string | null): Promise<SupportRow> {
  const [row] = await sql<SupportRow[]>`
    UPDATE support_requests
    SET status = 'promoted', incident_id = ${incidentId}, promoted_reason = ${reason}, promoted_by = ${by}, promoted_at = now(),
        updated_at = now()
    WHERE id = ${id}
    RETURNING ${sql.unsafe(COLUMNS)}`;
  return row;
}

/** The incident's timeline notes the request it came from (the chain trigger fills seq and hashes). */
export async function appendLinkedEvent(
  sql: Sql,
  incidentId: string,
  actor: string,
  data: { supportRequestId: string; category: Category; reason: PromotionReason; keyword?: string; note?: string },
): Promise<void> {
  await sql`
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (${incidentId}, 'support.linked', ${actor}, jsonb_strip_nulls(${sql.json((data.note ? { ...data, note: storableText(data.note).text } : data) as never)}::jsonb))`;
}

/** The driver a request belongs to, as the principal the SOS intake expects. */
export async function driverOf(sql: Sql, driverId: string): Promise<Principal> {
  const [row] = await sql<{ id: string; name: string }[]>`SELECT id, name FROM users WHERE id = ${driverId} AND role = 'driver'`;
  if (!row) throw new Error(`support request of unknown driver ${driverId}`);
  return { id: row.id, role: 'driver', name: row.name };
}

/**
 * Run `fn` in one transaction, given that transaction as a client: what it stores commits
 * together or not at all. (postgres.js types a transaction apart from a pool only by the
 * pool-level calls - begin, reserve, end - which nothing run in it makes.)
 */
export function inOneTransaction<T>(sql: Sql, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return sql.begin((tx) => fn(tx as unknown as Sql)) as Promise<T>;
}
