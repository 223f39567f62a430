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
  const opened = { kind: s.kind, severity: s.severity, source: 'app', zoneRule: 'inside', clientRequestId: s.clientRequestId, location: { accuracyM: s.accuracyM } };
  const [row] = await sql<{ id: string }[]>`
    WITH i AS (
      INSERT INTO bench_incidents (driver_id, client_request_id, kind, severity, zone_rule, lat, lng, accuracy_m, location_at)
      VALUES (${s.driver}, ${s.clientRequestId}, ${s.kind}, ${s.severity}, 'inside', ${s.lat}, ${s.lng}, ${s.accuracyM}, now())
      RETURNING id, opened_at),
    e AS (
      INSERT INTO bench_incident_events (incident_id, seq, type, at, actor, data, prev_hash, hash)
      SELECT id, 1, 'incident.opened', opened_at, ${'driver:' + s.driver}, ${sql.json(opened)}, '', '' FROM i),
    p AS (
      INSERT INTO bench_pages (incident_id, recipient_id, phone, channel, step)
      SELECT i.id, ${s.oncall.id}, ${s.oncall.phone}, ch, 0 FROM i, unnest(ARRAY['sms', 'voice']) ch)
    SELECT id FROM i`;
  return row.id;
}
