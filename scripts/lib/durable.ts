/**
 * The durable minimum of an SOS (issue 21's reference): one statement inserting an incident, its
 * incident.opened event and its first two pages (SMS and call) into the bench_* tables of
 * lib/db.ts createDurableTables(), no chain. Served by bare-server.ts (POST /durable) and counted
 * by bench-wal.ts. No imports with side effects: bare-server loads it.
 */
import type { Sql } from '../../src/db/client';

export interface DurableSos {
  driver: string;
  oncall: { id: string; phone: string };
  clientRequestId: string;
  kind: string;
  severity: string;
  lat: number;
  lng: number;
  accuracyM: number | null;
}

/** Inserts it; answers the incident's id. */
export async function insertDurableSos(sql: Sql, s: DurableSos): Promise<string> {
  return (await insert(sql, s, false)).id;
}

/** The same statement, answering its two pages' ids too (SMS first), for a caller that sends them. */
export async function insertDurableSosPages(sql: Sql, s: DurableSos): Promise<{ id: string; sms: string; voice: string }> {
  const r = await insert(sql, s, true);
  return { id: r.id, sms: r.pages![0], voice: r.pages![1] };
}

async function insert(sql: Sql, s: DurableSos, pages: boolean): Promise<{ id: string; pages?: string[] }> {
  const opened = { kind: s.kind, severity: s.severity, source: 'app', zoneRule: 'inside', clientRequestId: s.clientRequestId, location: { accuracyM: s.accuracyM } };
  const [row] = await sql<{ id: string; pages?: string[] }[]>`
    WITH i AS (
      INSERT INTO bench_incidents (driver_id, client_request_id, kind, severity, zone_rule, lat, lng, accuracy_m, location_at)
      VALUES (${s.driver}, ${s.clientRequestId}, ${s.kind}, ${s.severity}, 'inside', ${s.lat}, ${s.lng}, ${s.accuracyM}, now())
      RETURNING id, opened_at),
    e AS (
      INSERT INTO bench_incident_events (incident_id, seq, type, at, actor, data, prev_hash, hash)
      SELECT id, 1, 'incident.opened', opened_at, ${'driver:' + s.driver}, ${sql.json(opened)}, '', '' FROM i),
    p AS (
      INSERT INTO bench_pages (incident_id, recipient_id, phone, channel, step)
      SELECT i.id, ${s.oncall.id}, ${s.oncall.phone}, ch, 0 FROM i, unnest(ARRAY['sms', 'voice']) ch
      ${pages ? sql`RETURNING id, channel` : sql``})
    SELECT id${pages ? sql`, (SELECT array_agg(p.id ORDER BY p.channel) FROM p) AS pages` : sql``} FROM i`;
  return row;
}
