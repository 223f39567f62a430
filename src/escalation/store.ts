import type { Sql } from '../db/client';
import type { ClaimedPageJson } from '../paging/store';

export type Escalated = { incident_id: string; late_ms: number | null; failed: boolean; pages: ClaimedPageJson[]; unclaimed: boolean };

/**
 * Start the escalation step of up to `limit` incidents whose deadline passed as of `at` (null:
 * the database's now), claiming up to `claimMax` of their new pages for this sender in the same
 * transaction (escalate_due_and_claim()).
 */
export function escalateDue(sql: Sql, at: Date | null, limit: number, leaseSeconds: number, claimMax: number): Promise<Escalated[]> {
  return sql<Escalated[]>`
    SELECT incident_id, late_ms, failed, pages, unclaimed
    FROM escalate_due_and_claim(coalesce(${at}::timestamptz, now()), ${limit}, ${leaseSeconds}, ${claimMax})`;
}

/** Ask for or record as missed up to `limit` check-ins due as of `at` (checkins_due()); how many. */
export async function checkinsDue(sql: Sql, at: Date | null, limit: number): Promise<number> {
  const rows = await sql`SELECT incident_id FROM checkins_due(coalesce(${at}::timestamptz, now()), ${limit})`;
  return rows.length;
}

/**
 * The next deadline of any incident (next_due()), whether it has come as of `at`, and how far off
 * it is in the database's time (negative when overdue).
 */
export async function nextDueOfAll(sql: Sql, at: Date | null): Promise<{ at: Date | null; due: boolean; inMs: number | null }> {
  const [r] = await sql<{ at: Date | null; due: boolean | null; in_ms: number | null }[]>`
    SELECT d.at, d.at <= coalesce(${at}::timestamptz, now()) AS due, (extract(epoch FROM d.at - now()) * 1000)::float8 AS in_ms
    FROM (SELECT next_due() AS at) d`;
  return { at: r.at, due: r.due === true, inMs: r.in_ms };
}

/**
 * One incident's next deadline (next_due()), with how far off it is in the database's time, and
 * whether the incident is still active; null for an incident that does not exist.
 */
export async function nextDue(sql: Sql, incidentId: string): Promise<{ at: Date | null; inMs: number; active: boolean } | null> {
  const [r] = await sql<{ at: Date | null; in_ms: number | null; active: boolean }[]>`
    SELECT d.at, greatest(0, extract(epoch FROM d.at - now()) * 1000)::float8 AS in_ms, d.active
    FROM (SELECT next_due(i.id) AS at, i.status <> 'resolved' AS active FROM incidents i WHERE i.id = ${incidentId}) d`;
  return r ? { at: r.at, inMs: r.in_ms ?? 0, active: r.active } : null;
}

/** Active incidents with something due within `seconds` (or overdue): a cron's safety net re-arms their alarms. */
export async function incidentsDueWithin(sql: Sql, seconds: number, limit = 1000): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT i.id FROM incidents i
    WHERE i.status <> 'resolved' AND next_due(i.id) < now() + make_interval(secs => ${seconds})
    ORDER BY i.opened_at
    LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

/** The incident a page belongs to (a status callback names only its page). */
export async function incidentOfPage(sql: Sql, pageId: string): Promise<string | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(pageId)) return undefined;
  const [r] = await sql<{ incident_id: string }[]>`SELECT incident_id FROM pages WHERE id = ${pageId}`;
  return r?.incident_id;
}
