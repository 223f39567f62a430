import type { Sql } from '../db/client';
import type { TimelineEvent } from './schemas';

interface EventRow {
  seq: number;
  type: TimelineEvent['type'];
  at: Date;
  actor: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export const toEvent = (r: EventRow): TimelineEvent => ({
  seq: r.seq,
  type: r.type,
  at: r.at.toISOString(),
  actor: r.actor,
  data: r.data,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export async function listEvents(sql: Sql, incidentId: string): Promise<TimelineEvent[]> {
  const rows = await sql<EventRow[]>`
    SELECT seq, type, at, actor, data, prev_hash, hash FROM incident_events WHERE incident_id = ${incidentId} ORDER BY seq`;
  return rows.map(toEvent);
}

/** Recompute the chain in the database (see timeline_verify() in sql/). */
export async function verifyTimeline(sql: Sql, incidentId: string) {
  const [row] = await sql<{ valid: boolean; event_count: number; head_hash: string | null }[]>`
    SELECT valid, event_count, head_hash FROM timeline_verify(${incidentId})`;
  return { valid: row.valid, eventCount: row.event_count, headHash: row.head_hash };
}
