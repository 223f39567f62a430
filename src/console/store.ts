/**
 * The console's own reads: names and facts a page shows next to incidents it already got from
 * the incident store (which alone decides what a caller may see). Nothing here decides access:
 * every function takes ids the caller was already allowed to see.
 */
import type { Sql } from '../db/client';
import { DEMO } from '../demo/seed';

export interface IncidentFacts {
  id: string;
  zoneName: string | null;
  driverName: string;
  acknowledgedByName: string | null;
  /** When the duress PIN was entered: responders must see it; drivers never reach the console. */
  duressAt: string | null;
  lastCheckIn: { at: string; status: string } | null;
  resolutionNote: string | null;
  resolvedByName: string | null;
}

/** Zone, driver and acknowledger names, duress, and the newest check-in of each incident. */
export async function incidentFacts(sql: Sql, ids: string[]): Promise<Map<string, IncidentFacts>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<
    { id: string; zone_name: string | null; driver_name: string; ack_name: string | null; duress_at: Date | null;
      checkin_at: Date | null; checkin_status: string | null; resolution_note: string | null; resolved_by_name: string | null }[]
  >`
    SELECT i.id, z.name AS zone_name, d.name AS driver_name, a.name AS ack_name, i.duress_at,
           c.at AS checkin_at, CASE WHEN c.type = 'checkin.missed' THEN 'missed' ELSE c.data ->> 'status' END AS checkin_status, i.resolution_note, rb.name AS resolved_by_name
    FROM incidents i
    JOIN users d ON d.id = i.driver_id
    LEFT JOIN zones z ON z.id = i.zone_id
    LEFT JOIN users a ON a.id = i.acknowledged_by
    LEFT JOIN users rb ON rb.id = i.resolved_by
    LEFT JOIN LATERAL (
      SELECT e.at, e.type, e.data FROM incident_events e
      WHERE e.incident_id = i.id AND e.type IN ('checkin.received', 'checkin.missed') ORDER BY e.seq DESC LIMIT 1
    ) c ON true
    WHERE i.id = ANY(${ids}::uuid[])`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        zoneName: r.zone_name,
        driverName: r.driver_name,
        acknowledgedByName: r.ack_name,
        duressAt: r.duress_at?.toISOString() ?? null,
        lastCheckIn: r.checkin_at ? { at: r.checkin_at.toISOString(), status: r.checkin_status ?? 'unknown' } : null,
        resolutionNote: r.resolution_note,
        resolvedByName: r.resolved_by_name,
      },
    ]),
  );
}

export interface Fix {
  lat: number;
  lng: number;
  accuracyM: number | null;
  capturedAt: string;
}

/** The location trail of one incident, oldest first. */
export async function trail(sql: Sql, incidentId: string): Promise<Fix[]> {
  const rows = await sql<{ lat: number; lng: number; accuracy_m: number | null; captured_at: Date }[]>`
    SELECT lat, lng, accuracy_m, captured_at FROM incident_locations WHERE incident_id = ${incidentId} ORDER BY captured_at, id`;
  return rows.map((r) => ({ lat: r.lat, lng: r.lng, accuracyM: r.accuracy_m, capturedAt: r.captured_at.toISOString() }));
}

/** Names of the people an event or page names by id ("supervisor:<id>", recipientId...). */
export async function namesOf(sql: Sql, ids: string[]): Promise<Map<string, string>> {
  const uuids = [...new Set(ids)].filter((s) => /^[0-9a-f-]{36}$/i.test(s));
  if (uuids.length === 0) return new Map();
  const rows = await sql<{ id: string; name: string }[]>`SELECT id, name FROM users WHERE id = ANY(${uuids}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** The demo's driver, when the demo data is in this database. */
export async function demoDriver(sql: Sql): Promise<{ id: string; name: string } | undefined> {
  const [row] = await sql<{ id: string; name: string }[]>`
    SELECT id, name FROM users WHERE phone = ${DEMO.driver.phone} AND role = 'driver'`;
  return row;
}

export interface KnownPhone {
  phone: string;
  name: string | null;
  role: string | null;
  messages: number;
  lastAt: string | null;
}

/**
 * Every phone the simulator can play: the people Mayday has a number for (so a newcomer can
 * text SOS from the driver's phone before anything happened), and any other number that got or
 * sent something (from the simulator's own list).
 */
export async function knownPhones(sql: Sql, simulated: { phone: string; name: string | null; role: string | null; messages: number; lastAt: string }[]): Promise<KnownPhone[]> {
  const people = await sql<{ phone: string; name: string; role: string }[]>`
    SELECT phone, name, role FROM users WHERE phone IS NOT NULL ORDER BY role, name LIMIT 500`;
  const byPhone = new Map<string, KnownPhone>(simulated.map((p) => [p.phone, { ...p }]));
  for (const u of people) if (!byPhone.has(u.phone)) byPhone.set(u.phone, { phone: u.phone, name: u.name, role: u.role, messages: 0, lastAt: null });
  return [...byPhone.values()].sort((a, b) => (b.lastAt ?? '').localeCompare(a.lastAt ?? '') || (a.name ?? '').localeCompare(b.name ?? ''));
}

/** The live page call a simulated phone may answer, so press/hang-up forms can go back to the phone. */
export async function phoneOfCall(sql: Sql, sid: string): Promise<string | undefined> {
  const [row] = await sql<{ phone: string }[]>`SELECT phone FROM sim_messages WHERE sid = ${sid} AND kind = 'call'`;
  return row?.phone;
}

/**
 * One cheap version of what the board shows live, "<how many>:<sum of their timelines' lengths>"
 * for the active incidents (every change to one appends a timeline event), then the readiness
 * checks of the last two days: how many are under way and their latest change (made, asked,
 * confirmed or missed). Readiness is not on any timeline, so it is counted apart.
 */
export async function activeIncidentsVersion(sql: Sql): Promise<string> {
  const [[r], [c]] = await Promise.all([
    sql<{ n: number; v: string }[]>`
      SELECT count(*)::int AS n, coalesce(sum(h.seq), 0)::text AS v
      FROM incidents i JOIN timeline_heads h ON h.incident_id = i.id
      WHERE i.status <> 'resolved'`,
    sql<{ n: number; v: string }[]>`
      SELECT count(*) FILTER (WHERE shift_end IS NULL OR shift_end > now())::int AS n,
             coalesce((extract(epoch FROM max(greatest(created_at, asked_at, confirmed_at, missed_at))) * 1e6)::bigint, 0)::text AS v
      FROM readiness_checks WHERE shift_start > now() - interval '2 days'`,
  ]);
  return `${r.n}:${r.v}:${c.n}:${c.v}`;
}

export interface DriverRow {
  id: string;
  name: string;
  phone: string | null;
  language: string;
  /** Devices signed in to the driver app now. */
  devices: number;
}

/** Every driver, by name, with how many of their devices are signed in to the app. */
export async function listDrivers(sql: Sql, limit = 1000): Promise<DriverRow[]> {
  return sql<DriverRow[]>`
    SELECT u.id, u.name, u.phone, u.language,
           (SELECT count(*)::int FROM tokens t WHERE t.user_id = u.id AND t.enrollment_id IS NOT NULL AND t.revoked_at IS NULL) AS devices
    FROM users u WHERE u.role = 'driver'
    ORDER BY u.name, u.id LIMIT ${limit}`;
}

/** One driver, or undefined when `id` is not a driver's. */
export async function driverById(sql: Sql, id: string): Promise<Omit<DriverRow, 'devices'> | undefined> {
  const [row] = await sql<Omit<DriverRow, 'devices'>[]>`SELECT id, name, phone, language FROM users WHERE id = ${id} AND role = 'driver'`;
  return row;
}

/** The short codes of incidents, by id. */
export async function codesOf(sql: Sql, ids: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ id: string; code: number }[]>`SELECT id, code FROM incidents WHERE id = ANY(${ids}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r.code]));
}

// ---------------------------------------------------------------------------------------------
// Console sessions (sql/017): only a hash of the session id is stored.

export interface SessionRow {
  token_hash: string;
  user_id: string | null;
}

/** A new session; sessions unused for `idleSeconds` or older than `maxSeconds` are deleted on the way. */
export async function createSession(sql: Sql, idHash: string, tokenHash: string, userId: string | null, idleSeconds: number, maxSeconds: number): Promise<void> {
  await sql`DELETE FROM console_sessions
            WHERE last_seen_at < now() - make_interval(secs => ${idleSeconds}) OR created_at < now() - make_interval(secs => ${maxSeconds})`;
  await sql`INSERT INTO console_sessions (id_hash, token_hash, user_id) VALUES (${idHash}, ${tokenHash}, ${userId})`;
}

/**
 * The live session with this id hash, or undefined when it is unknown, idle for `idleSeconds` or
 * older than `maxSeconds`. Its last use is written at most every 15 s, not on every request.
 */
export async function liveSession(sql: Sql, idHash: string, idleSeconds: number, maxSeconds: number): Promise<SessionRow | undefined> {
  const [row] = await sql<(SessionRow & { stale: boolean })[]>`
    WITH s AS (
      SELECT id_hash, token_hash, user_id, last_seen_at < now() - interval '15 seconds' AS stale FROM console_sessions
      WHERE id_hash = ${idHash}
        AND last_seen_at > now() - make_interval(secs => ${idleSeconds})
        AND created_at > now() - make_interval(secs => ${maxSeconds})
    ), touched AS (
      UPDATE console_sessions c SET last_seen_at = now() FROM s WHERE c.id_hash = s.id_hash AND s.stale RETURNING 1
    )
    SELECT token_hash, user_id, stale FROM s`;
  return row ? { token_hash: row.token_hash, user_id: row.user_id } : undefined;
}

/** Sign-out: the session is gone. */
export async function deleteSession(sql: Sql, idHash: string): Promise<void> {
  await sql`DELETE FROM console_sessions WHERE id_hash = ${idHash}`;
}
