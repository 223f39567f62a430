import type { Sql } from '../db/client';
import type { Language } from '../i18n/catalogue';

/** Who texts from this phone, and the language to answer in: a driver, a responder, or nobody Mayday knows. */
export async function userByPhone(sql: Sql, phone: string) {
  const [user] = await sql<{ id: string; role: string; name: string; language: Language }[]>`
    SELECT id, role, name, language FROM users WHERE phone = ${phone}`;
  return user;
}

/**
 * Whether `key` may get one more help text this hour (at most `perHour`), counting this one when
 * it may: two robots texting each other cannot loop.
 */
export async function takeHelpReply(sql: Sql, key: string, perHour: number): Promise<boolean> {
  const [row] = await sql<{ n: number }[]>`
    WITH recent AS (SELECT count(*)::int AS n FROM sms_help_replies WHERE phone = ${key} AND at > now() - interval '1 hour'),
         ins AS (INSERT INTO sms_help_replies (phone) SELECT ${key} FROM recent WHERE n < ${perHour} RETURNING 1)
    SELECT n FROM recent`;
  return row.n < perHour;
}

export interface PagedIncident { incident_id: string; code: number; status: string; page_id: string; acked_by: string | null; opened_at: Date }

/** The incident a responder's ACK names: `code`, or the newest paged to them (open ones first); only one paged to them. */
export async function pagedIncident(sql: Sql, responderId: string, code: number | null): Promise<PagedIncident | undefined> {
  const [paged] = await sql<PagedIncident[]>`
    SELECT p.incident_id, i.code, i.status, p.id AS page_id, a.name AS acked_by, i.opened_at
    FROM pages p JOIN incidents i ON i.id = p.incident_id LEFT JOIN users a ON a.id = i.acknowledged_by
    WHERE p.recipient_id = ${responderId} ${code === null ? sql`` : sql`AND i.code = ${code}`}
    ORDER BY (i.status = 'open') DESC, p.created_at DESC
    LIMIT 1`;
  return paged;
}

/** The code of the incident a message already opened (Twilio retrying its webhook). */
export async function codeOfRequest(sql: Sql, driverId: string, clientRequestId: string): Promise<number | undefined> {
  const [opened] = await sql<{ code: number }[]>`
    SELECT code FROM incidents WHERE driver_id = ${driverId} AND client_request_id = ${clientRequestId}`;
  return opened?.code;
}

/**
 * The driver's newest incident that check-ins still answer: open or acknowledged, and no duress PIN
 * unless cancelling was locked (then the check-ins go on, as after the cancel PIN).
 */
export async function checkinIncident(sql: Sql, driverId: string) {
  const [open] = await sql<{ id: string; code: number }[]>`
    SELECT id, code FROM incidents
    WHERE driver_id = ${driverId} AND status IN ('open', 'acknowledged') AND (duress_at IS NULL OR cancel_locked_at IS NOT NULL)
    ORDER BY opened_at DESC LIMIT 1`;
  return open;
}

/**
 * A digit pressed on a page call (page_keypress()): 'open' when it acknowledged the incident, else
 * the status it already had; and the language of the person called (null for an unknown page).
 * `sid`, the call's, records the send if its own record never came.
 */
export async function recordKeypress(sql: Sql, pageId: string, digits: string, sid: string | null = null): Promise<{ result: string; language: Language | null }> {
  const [row] = await sql<{ r: string; language: Language | null }[]>`
    SELECT page_keypress(${pageId}, ${digits}, ${sid}::text) AS r,
           (SELECT u.language FROM pages p JOIN users u ON u.id = p.recipient_id WHERE p.id = ${pageId}) AS language`;
  return { result: row.r, language: row.language };
}

/** When the incident a page belongs to opened (for the time-to-acknowledge metric). */
export async function openedAtOfPage(sql: Sql, pageId: string): Promise<Date | undefined> {
  const [i] = await sql<{ opened_at: Date }[]>`SELECT i.opened_at FROM pages p JOIN incidents i ON i.id = p.incident_id WHERE p.id = ${pageId}`;
  return i?.opened_at;
}
