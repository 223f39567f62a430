import type { Sql } from '../db/client';

/**
 * How many pages wait in the outbox, by status (only the statuses that have any): each counted
 * through its partial index (pages_due_idx, pages_lease_idx), so a scrape does not read every page
 * ever sent (`status IN (...)` matches neither index's predicate).
 */
export const OUTBOX_DEPTH_SQL = `
  SELECT * FROM (
    SELECT 'queued' AS status, count(*)::int AS n FROM pages WHERE status = 'queued'
    UNION ALL
    SELECT 'sending', count(*)::int FROM pages WHERE status = 'sending') x
  WHERE n > 0`;

export async function outboxDepth(sql: Sql): Promise<{ status: 'queued' | 'sending'; n: number }[]> {
  return await sql.unsafe<{ status: 'queued' | 'sending'; n: number }[]>(OUTBOX_DEPTH_SQL);
}
