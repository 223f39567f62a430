import type { Sql } from '../db/client';

/**
 * When an incident next needs the engine: its next escalation step (while nobody has
 * acknowledged), its next check-in request or check-in deadline (until resolved; never after a
 * duress PIN), a page waiting to be sent (a retry after backoff, voicemail or an unknown outcome;
 * one just queued and due at once is given 5 s to be taken by the request that queued it) or a page whose sender's
 * lease runs out. The same deadlines the Node engine's timer follows
 * for all incidents at once (Engine.tick); a Worker keeps one per incident, as a Durable
 * Object alarm (src/entry/worker.ts).
 */
export async function nextDeadline(sql: Sql, incidentId: string): Promise<{ at: Date | null; inMs: number; active: boolean } | null> {
  const [r] = await sql<{ at: Date | null; in_ms: number | null; active: boolean }[]>`
    SELECT d.at, greatest(0, extract(epoch FROM d.at - now()) * 1000)::float8 AS in_ms, d.active
    FROM (SELECT least(
             CASE WHEN i.status = 'open' THEN i.esc_next_at END,
             CASE WHEN i.status IN ('open', 'acknowledged') AND i.duress_at IS NULL THEN least(i.checkin_next_at, i.checkin_due_at) END,
             -- A page just queued, due at once, is being sent by whoever queued it: look only if
             -- it still waits 5 s after it was queued. Any other (a retry) is due at its time.
             (SELECT min(CASE WHEN p.status = 'sending' THEN p.lease_until
                              WHEN p.tries = 0 AND p.not_before <= p.created_at + interval '1 second'
                                   AND p.created_at > now() - interval '5 seconds' THEN p.created_at + interval '5 seconds'
                              ELSE p.not_before END)
              FROM pages p WHERE p.incident_id = i.id AND p.status IN ('queued', 'sending'))) AS at,
           i.status <> 'resolved' AS active
    FROM incidents i WHERE i.id = ${incidentId}) d`;
  return r ? { at: r.at, inMs: r.in_ms ?? 0, active: r.active } : null;
}

/** Active incidents with something due within `seconds` (or overdue): a cron's safety net re-arms their alarms. */
export async function incidentsDueWithin(sql: Sql, seconds: number, limit = 1000): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT i.id FROM incidents i
    WHERE i.status <> 'resolved'
      AND (   (i.status = 'open' AND i.esc_next_at < now() + make_interval(secs => ${seconds}))
           OR (i.duress_at IS NULL AND least(i.checkin_next_at, i.checkin_due_at) < now() + make_interval(secs => ${seconds}))
           OR EXISTS (SELECT 1 FROM pages p WHERE p.incident_id = i.id AND p.status IN ('queued', 'sending')))
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
