/**
 * The driver app's SQL: enrollment codes and the device tokens they give, the driver's own
 * profile, the app's view of an incident, and the details a driver adds to one. (The only place
 * in src/enrollment with SQL.)
 */
import { recordAudit } from '../audit/store';
import type { Sql, TxSql } from '../db/client';
import type { DispatchStatus, ServiceName } from '../dispatch/store';
import type { IncidentRow } from '../incidents/store';
import type { Kind, Severity } from '../incidents/schemas';
import type { AppDriver, Device, Language } from './schemas';

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

/** Whether `id` is a driver: undefined when there is no such user, false for another role. */
export async function isDriver(sql: Sql, id: string): Promise<boolean | undefined> {
  const [row] = await sql<{ role: string }[]>`SELECT role FROM users WHERE id = ${id}`;
  return row && row.role === 'driver';
}

/**
 * A new enrollment code for a driver, good for `validSeconds` from now (the database's clock),
 * and its audit log entry, in one transaction. Undefined when `driverId` is not a driver.
 */
export async function createEnrollment(
  sql: Sql,
  e: { driverId: string; codeHash: string; actor: string; validSeconds: number; via?: string },
): Promise<{ id: string; expiresAt: string } | undefined> {
  return sql.begin(async (tx) => {
    // KEY SHARE: the driver cannot be deleted under the new row.
    const [driver] = await tx<{ id: string }[]>`SELECT id FROM users WHERE id = ${e.driverId} AND role = 'driver' FOR KEY SHARE`;
    if (!driver) return undefined;
    const [row] = await tx<{ id: string; expires_at: Date }[]>`
      INSERT INTO driver_enrollments (driver_id, code_hash, created_by, expires_at)
      VALUES (${e.driverId}, ${e.codeHash}, ${e.actor}, now() + make_interval(secs => ${e.validSeconds}))
      RETURNING id, expires_at`;
    await recordAudit(tx, e.actor, 'enrollment', {
      driverId: e.driverId, enrollmentId: row.id, expiresAt: iso(row.expires_at), ...(e.via ? { via: e.via } : {}),
    });
    return { id: row.id, expiresAt: iso(row.expires_at) };
  }) as Promise<{ id: string; expiresAt: string } | undefined>;
}

/**
 * Trade a code for a device token, in one statement: the code is stamped used only if it was
 * unused and unexpired, and the token is stored with it. Of two exchanges of one code, the second
 * waits for the first's row lock and then finds the code used, so exactly one wins. Undefined for
 * a used, expired or unknown code, whichever it was.
 */
export async function exchangeCode(sql: Sql, codeHash: string, tokenHash: string): Promise<{ enrollmentId: string; driver: AppDriver } | undefined> {
  const [row] = await sql<{ id: string; driver_id: string; name: string; language: Language }[]>`
    WITH e AS (
      UPDATE driver_enrollments d SET used_at = now()
      FROM users u
      WHERE d.code_hash = ${codeHash} AND d.used_at IS NULL AND d.expires_at > now()
        AND u.id = d.driver_id AND u.role = 'driver'
      RETURNING d.id, d.driver_id, u.name, u.language
    ), t AS (
      INSERT INTO tokens (token_hash, user_id, enrollment_id) SELECT ${tokenHash}, e.driver_id, e.id FROM e
    )
    SELECT id, driver_id, name, language FROM e`;
  if (!row) return undefined;
  return { enrollmentId: row.id, driver: { id: row.driver_id, name: row.name, language: row.language } };
}

type DeviceRow = { id: string; created_at: Date; used_at: Date; revoked_at: Date | null };
const toDevice = (r: DeviceRow): Device => ({ id: r.id, createdAt: iso(r.created_at), enrolledAt: iso(r.used_at), revokedAt: isoOrNull(r.revoked_at) });

/** A driver's devices: every enrollment that was exchanged for a token, newest first. */
export async function listDevices(sql: Sql, driverId: string): Promise<Device[]> {
  const rows = await sql<DeviceRow[]>`
    SELECT d.id, d.created_at, d.used_at, t.revoked_at
    FROM driver_enrollments d JOIN tokens t ON t.enrollment_id = d.id
    WHERE d.driver_id = ${driverId}
    ORDER BY d.used_at DESC, d.id`;
  return rows.map(toDevice);
}

/**
 * Sign one device of a driver out: its token is revoked (other instances hear of it by NOTIFY)
 * and the audit log says who did it, in one transaction. Undefined when the driver has no such
 * device; a device already signed out is answered as it is, and nothing is recorded again.
 */
export async function revokeDevice(sql: Sql, driverId: string, deviceId: string, actor: string, via?: string): Promise<Device | undefined> {
  return sql.begin(async (tx) => {
    const [cur] = await tx<(DeviceRow & { token_hash: string })[]>`
      SELECT d.id, d.created_at, d.used_at, t.revoked_at, t.token_hash
      FROM driver_enrollments d JOIN tokens t ON t.enrollment_id = d.id
      WHERE d.id = ${deviceId} AND d.driver_id = ${driverId}
      FOR UPDATE OF t`;
    if (!cur) return undefined;
    if (cur.revoked_at !== null) return toDevice(cur);
    const [r] = await tx<{ revoked_at: Date }[]>`
      UPDATE tokens SET revoked_at = now() WHERE token_hash = ${cur.token_hash} RETURNING revoked_at`;
    await tx`SELECT pg_notify('mayday_tokens', ${driverId})`;
    await recordAudit(tx, actor, 'device_revoked', { driverId, enrollmentId: deviceId, ...(via ? { via } : {}) });
    return toDevice({ ...cur, revoked_at: r.revoked_at });
  }) as Promise<Device | undefined>;
}

/**
 * The holder of a device token signs it out. 'revoked', or 'already' (revoked meanwhile), or
 * 'not_device' for a token no enrollment gave (one the administrator issued, and revokes).
 */
export async function revokeOwnToken(sql: Sql, driverId: string, tokenHash: string): Promise<'revoked' | 'already' | 'not_device'> {
  const [row] = await sql<{ enrollment_id: string | null; revoked: boolean }[]>`
    WITH r AS (
      UPDATE tokens SET revoked_at = now()
      WHERE token_hash = ${tokenHash} AND user_id = ${driverId} AND enrollment_id IS NOT NULL AND revoked_at IS NULL
      RETURNING enrollment_id
    )
    SELECT t.enrollment_id, EXISTS (SELECT 1 FROM r) AS revoked,
           (SELECT pg_notify('mayday_tokens', ${driverId}) WHERE EXISTS (SELECT 1 FROM r)) AS notified
    FROM tokens t WHERE t.token_hash = ${tokenHash} AND t.user_id = ${driverId}`;
  if (!row || row.enrollment_id === null) return 'not_device';
  return row.revoked ? 'revoked' : 'already';
}

/**
 * The events `e` after which a driver was told the incident is cancelled: the cancel PIN's, and
 * the duress PIN's unless cancelling was locked then (that answered "locked", as the cancel PIN does).
 */
const toldCancelled = (sql: Sql | TxSql) =>
  sql`(e.type = 'cancel.requested' OR (e.type = 'duress.triggered' AND NOT (e.data ->> 'cancelLocked')::boolean))`;

/** A driver as the app shows it, with the ids of its incidents still under way for it, newest first. */
export async function driverProfile(sql: Sql, driverId: string): Promise<{ driver: AppDriver; openIncidentIds: string[] } | undefined> {
  // Cancelled with either PIN is no longer under way for the app, whatever responders do after a
  // duress PIN (the same rule as appIncidentRow's cancelled_once).
  const [row] = await sql<{ id: string; name: string; language: Language; open_ids: string[] }[]>`
    SELECT u.id, u.name, u.language,
           coalesce((SELECT array_agg(i.id ORDER BY i.opened_at DESC, i.id) FROM incidents i
                     WHERE i.driver_id = u.id AND i.status NOT IN ('resolved', 'cancel_requested')
                       AND NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND ${toldCancelled(sql)})), '{}') AS open_ids
    FROM users u WHERE u.id = ${driverId} AND u.role = 'driver'`;
  if (!row) return undefined;
  return { driver: { id: row.id, name: row.name, language: row.language }, openIncidentIds: row.open_ids };
}

export async function setLanguage(sql: Sql, driverId: string, language: Language): Promise<void> {
  await sql`UPDATE users SET language = ${language} WHERE id = ${driverId} AND role = 'driver'`;
}

/** An incident row with what the app's view of it needs besides. */
export interface AppIncidentRow extends IncidentRow {
  checkin_seq: number;
  acknowledged_by_name: string | null;
  paged_at: Date | null;
  /** The driver was once told the incident is cancelled (toldCancelled); it may have been resolved since. */
  cancelled_once: boolean;
  /** The incident's newest emergency dispatch (from dispatches), or null. */
  dispatch: { status: DispatchStatus; services: ServiceName[]; requestedAt: string; psapContactedAt: string | null } | null;
}

/** One incident of one driver, for the app's view of it; undefined when it is not theirs. */
export async function appIncidentRow(sql: Sql, driverId: string, incidentId: string): Promise<AppIncidentRow | undefined> {
  const [row] = await sql<AppIncidentRow[]>`
    SELECT i.*, a.name AS acknowledged_by_name,
           (SELECT min(p.sent_at) FROM pages p
            WHERE p.incident_id = i.id AND p.purpose IN ('page', 'failover', 'retry', 'repage')) AS paged_at,
           EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND ${toldCancelled(sql)}) AS cancelled_once,
           (SELECT jsonb_build_object('status', d.status, 'services', to_jsonb(d.services), 'requestedAt', d.requested_at, 'psapContactedAt', d.psap_contacted_at)
            FROM dispatches d WHERE d.incident_id = i.id ORDER BY d.requested_at DESC, d.id DESC LIMIT 1) AS dispatch
    FROM incidents i LEFT JOIN users a ON a.id = i.acknowledged_by
    WHERE i.id = ${incidentId} AND i.driver_id = ${driverId}`;
  return row;
}

/**
 * What the driver says about an incident after the SOS: a kind that replaces the incident's (the
 * severity raised if the kind warrants it, never lowered) and a note, recorded as
 * incident.details, in one transaction. After a duress PIN the driver's own view (driver_view)
 * is refined the same way, so the answer stays the one a real cancel would give. 'missing' when
 * the incident is not the driver's; 'resolved' when it takes nothing more: resolved, and the
 * driver was never told it is cancelled. Once told so (either PIN), it records whatever happened
 * since, so a real cancel resolved by a responder answers as a duress incident still open does.
 */
export async function addDetails(
  sql: Sql,
  d: { incidentId: string; driverId: string; kind: Kind | null; severity: Severity | null; note: string | null; cleaned: boolean; actor: string },
): Promise<'ok' | 'missing' | 'resolved'> {
  return sql.begin(async (tx) => {
    const [inc] = await tx<{ status: string; told_cancelled: boolean }[]>`
      SELECT i.status, EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = i.id AND ${toldCancelled(tx)}) AS told_cancelled
      FROM incidents i WHERE i.id = ${d.incidentId} AND i.driver_id = ${d.driverId} FOR NO KEY UPDATE`;
    if (!inc) return 'missing';
    if (inc.status === 'resolved' && !inc.told_cancelled) return 'resolved';
    if (d.kind !== null) {
      await tx`
        UPDATE incidents SET kind = ${d.kind},
          driver_view = CASE WHEN driver_view IS NULL THEN NULL
            ELSE driver_view || jsonb_build_object('kind', ${d.kind}::text, 'severity',
              CASE WHEN severity_rank(${d.severity}) > severity_rank(driver_view ->> 'severity') THEN ${d.severity}::text
                   ELSE driver_view ->> 'severity' END) END
        WHERE id = ${d.incidentId}`;
    }
    const data = { kind: d.kind, note: d.note, ...(d.cleaned ? { cleaned: ['note'] } : {}) };
    await tx`
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (${d.incidentId}, 'incident.details', ${d.actor}, ${tx.json(data)}::jsonb)`;
    if (d.kind !== null) await tx`SELECT raise_severity(${d.incidentId}, ${d.severity}, ${`the driver said: ${d.kind}`}, ${d.actor})`;
    return 'ok' as const;
  }) as Promise<'ok' | 'missing' | 'resolved'>;
}
