import type { Sql } from '../db/client';

/** How many pages wait in the outbox, by status (only the statuses that have any). */
export async function outboxDepth(sql: Sql): Promise<{ status: 'queued' | 'sending'; n: number }[]> {
  return await sql<{ status: 'queued' | 'sending'; n: number }[]>`
        SELECT queue_state AS status, count(*)::int AS n FROM pages WHERE queue_state IS NOT NULL GROUP BY queue_state`;
}
