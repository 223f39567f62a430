import type { Sql } from '../db/client';
import type { Language } from '../i18n/catalogue';

export interface Recipient { id: string; phone: string | null; language: Language }

export interface DueReadiness {
  check_id: string;
  /** ask: text the responder coming on call; missed: page the zone's safety leads. */
  action: 'ask' | 'missed';
  code: number;
  zone_name: string;
  shift_start: Date;
  shift_end: Date | null;
  asked_at: Date | null;
  responder_name: string;
  recipients: Recipient[];
}

/**
 * Claim the readiness work due as of `at` (null: the database's now), at most `limit` checks
 * (readiness_due(): new shifts get their check, due checks are leased for `leaseSeconds`).
 */
export function claimReadiness(sql: Sql, at: Date | null, limit: number, leaseSeconds: number): Promise<DueReadiness[]> {
  return sql<DueReadiness[]>`
    SELECT check_id, action, code, zone_name, shift_start, shift_end, asked_at, responder_name, recipients
    FROM readiness_due(coalesce(${at}::timestamptz, now()), ${limit}, ${leaseSeconds})`;
}

/**
 * The responder was asked (`via` the channel that took it, 'none' when neither did): the check is
 * next due when the zone's grace is over, or at once when nothing reached them. A check confirmed
 * meanwhile stays settled.
 */
export async function recordAsked(sql: Sql, checkId: string, at: Date | null, via: 'sms' | 'voice' | 'none') {
  await sql`
    UPDATE readiness_checks c
    SET asked_at = coalesce(${at}::timestamptz, now()), asked_via = ${via},
        due_at = CASE WHEN c.confirmed_at IS NOT NULL THEN NULL
                      WHEN ${via} = 'none' THEN coalesce(${at}::timestamptz, now())
                      ELSE coalesce(${at}::timestamptz, now()) + make_interval(secs => z.readiness_grace_seconds) END
    FROM zones z
    WHERE z.id = c.zone_id AND c.id = ${checkId}`;
}

/**
 * The text asking a responder failed after it was taken: the check moves to voice, once (null
 * when it already has, was confirmed, or is unknown). Answers what the call needs.
 */
export async function takeFailedText(sql: Sql, checkId: string) {
  const [row] = await sql<{ code: number; zone_name: string; shift_end: Date | null; responder_id: string; phone: string | null; language: Language }[]>`
    UPDATE readiness_checks c SET asked_via = 'voice'
    FROM zones z, users u
    WHERE c.id = ${checkId} AND c.asked_via = 'sms' AND c.confirmed_at IS NULL AND z.id = c.zone_id AND u.id = c.responder_id
    RETURNING c.code, z.name AS zone_name, c.shift_end, c.responder_id, u.phone, u.language`;
  return row;
}

/** The safety leads were paged about a check nobody confirmed (missed_at stays the first time it was missed). */
export async function recordMissed(sql: Sql, checkId: string, at: Date | null) {
  await sql`
    UPDATE readiness_checks SET missed_at = coalesce(missed_at, ${at}::timestamptz, now()), due_at = NULL
    WHERE id = ${checkId} AND confirmed_at IS NULL`;
}

/**
 * The check is missed but no page about it got through: it is due again after a backoff (twice the
 * time since it was first missed, from 15 s up to 5 minutes) until the shift is over. Answers when
 * it is due again (null: the shift is over, nobody will be paged about it any more).
 */
export async function recordMissedUnpaged(sql: Sql, checkId: string, at: Date | null): Promise<Date | null> {
  const [row] = await sql<{ due_at: Date | null }[]>`
    WITH t AS (SELECT coalesce(${at}::timestamptz, now()) AS at)
    UPDATE readiness_checks c
    SET missed_at = coalesce(c.missed_at, t.at),
        due_at = CASE WHEN c.shift_end IS NOT NULL AND c.shift_end <= t.at THEN NULL
                      ELSE t.at + least(interval '5 minutes', greatest(interval '15 seconds', t.at - coalesce(c.missed_at, t.at))) END
    FROM t
    WHERE c.id = ${checkId} AND c.confirmed_at IS NULL
    RETURNING c.due_at`;
  return row?.due_at ?? null;
}

export type Confirmation =
  | { result: 'confirmed' | 'already' | 'late'; code: number; zoneName: string; shiftEnd: Date | null }
  | { result: 'none' | 'ambiguous' | 'unknown' };

/**
 * A responder's OK: `code` names their check; null means the one check they were asked and have
 * not confirmed, whose shift is not over (none, or more than one: nothing is confirmed). An OK
 * after the check was missed (the safety leads paged) or after its shift ended is late: it
 * confirms nothing, so a shift never counts as both confirmed and missed.
 */
export async function confirmReadiness(sql: Sql, responderId: string, code: number | null): Promise<Confirmation> {
  const candidates = await sql<{ id: string; confirmed_at: Date | null }[]>`
    SELECT id, confirmed_at FROM readiness_checks
    WHERE responder_id = ${responderId} AND asked_at IS NOT NULL
      ${code === null ? sql`AND confirmed_at IS NULL AND (shift_end IS NULL OR shift_end > now())` : sql`AND code = ${code}`}
    ORDER BY shift_start DESC LIMIT 2`;
  if (candidates.length === 0) return { result: code === null ? 'none' : 'unknown' };
  if (candidates.length > 1) return { result: 'ambiguous' };
  // One statement, so that a miss recorded at the same moment is either before it (late) or after it (confirmed, and recordMissed() leaves it).
  const [row] = await sql<{ code: number; zone_name: string; shift_end: Date | null; was: Date | null; confirmed: boolean }[]>`
    WITH before AS (SELECT confirmed_at FROM readiness_checks WHERE id = ${candidates[0].id}),
         done AS (UPDATE readiness_checks SET confirmed_at = now(), due_at = NULL
                  WHERE id = ${candidates[0].id} AND confirmed_at IS NULL AND missed_at IS NULL
                    AND (shift_end IS NULL OR shift_end > now())
                  RETURNING id)
    SELECT c.code, z.name AS zone_name, c.shift_end, (SELECT confirmed_at FROM before) AS was,
           EXISTS (SELECT 1 FROM done) AS confirmed
    FROM readiness_checks c JOIN zones z ON z.id = c.zone_id
    WHERE c.id = ${candidates[0].id}`;
  if (!row) return { result: 'unknown' };
  const result = row.was ? 'already' : row.confirmed ? 'confirmed' : 'late';
  return { result, code: row.code, zoneName: row.zone_name, shiftEnd: row.shift_end };
}

export interface ZoneReadiness {
  zoneId: string;
  zoneName: string;
  responderName: string | null;
  state: 'confirmed' | 'waiting' | 'missed' | 'unchecked';
  askedAt: string | null;
  confirmedAt: string | null;
  missedAt: string | null;
  shiftEnd: string | null;
}

/** Every zone's readiness now: the check of the shift under way (unchecked when there is none). */
export async function zonesReadiness(sql: Sql): Promise<ZoneReadiness[]> {
  const rows = await sql<{ zone_id: string; zone_name: string; responder_name: string | null; asked_at: Date | null; confirmed_at: Date | null; missed_at: Date | null; shift_end: Date | null; checked: boolean }[]>`
    SELECT z.id AS zone_id, z.name AS zone_name, u.name AS responder_name, c.asked_at, c.confirmed_at, c.missed_at, c.shift_end,
           c.id IS NOT NULL AS checked
    FROM zones z
    LEFT JOIN LATERAL (
      SELECT * FROM readiness_checks c
      WHERE c.zone_id = z.id AND c.shift_start <= now() AND (c.shift_end IS NULL OR c.shift_end > now())
      ORDER BY c.shift_start DESC LIMIT 1) c ON true
    LEFT JOIN users u ON u.id = c.responder_id
    ORDER BY z.name, z.id`;
  return rows.map((r) => ({
    zoneId: r.zone_id,
    zoneName: r.zone_name,
    responderName: r.responder_name,
    state: !r.checked ? 'unchecked' : r.confirmed_at ? 'confirmed' : r.missed_at ? 'missed' : 'waiting',
    askedAt: r.asked_at?.toISOString() ?? null,
    confirmedAt: r.confirmed_at?.toISOString() ?? null,
    missedAt: r.missed_at?.toISOString() ?? null,
    shiftEnd: r.shift_end?.toISOString() ?? null,
  }));
}

export interface ReadinessWeek {
  zoneId: string;
  zoneName: string;
  /** The ISO week of the shifts' starts (UTC), like 2026-W49. */
  week: string;
  shifts: number;
  confirmed: number;
  /** Seconds from the check to the OK, the median of the confirmed shifts; null when none was. */
  medianSecondsToConfirm: number | null;
  missed: number;
}

/**
 * Per zone and ISO week (UTC) of the shifts that began in [from, to): how many were checked, how
 * many confirmed, the median time from the check to the OK, and how many were missed (the safety
 * leads paged).
 */
export async function readinessReport(sql: Sql, range: { from: Date; to: Date }): Promise<ReadinessWeek[]> {
  const rows = await sql<{ zone_id: string; zone_name: string; week: string; shifts: number; confirmed: number; median: number | null; missed: number }[]>`
    SELECT c.zone_id, z.name AS zone_name, to_char(c.shift_start AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week,
           count(*)::int AS shifts, count(c.confirmed_at)::int AS confirmed,
           (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.confirmed_at - c.asked_at))
              FILTER (WHERE c.confirmed_at IS NOT NULL AND c.asked_at IS NOT NULL))::float8 AS median,
           count(c.missed_at)::int AS missed
    FROM readiness_checks c JOIN zones z ON z.id = c.zone_id
    WHERE c.shift_start >= ${range.from} AND c.shift_start < ${range.to}
    GROUP BY c.zone_id, z.name, week
    ORDER BY z.name, c.zone_id, week`;
  return rows.map((r) => ({
    zoneId: r.zone_id,
    zoneName: r.zone_name,
    week: r.week,
    shifts: r.shifts,
    confirmed: r.confirmed,
    medianSecondsToConfirm: r.median === null ? null : Math.round(r.median * 1000) / 1000,
    missed: r.missed,
  }));
}
