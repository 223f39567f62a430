import type { Sql } from '../db/client';
import type { Language } from '../i18n/catalogue';
import type { Kind, Severity } from '../incidents/schemas';

/** A page claimed for sending, with what its message needs to say. */
export interface ClaimedPage {
  id: string;
  incident_id: string;
  recipient_id: string;
  phone: string;
  channel: 'sms' | 'voice';
  purpose: 'page' | 'failover' | 'retry' | 'repage' | 'duress' | 'notice' | 'checkin' | 'dispatch';
  note: string | null;
  step: number;
  round: number;
  attempt: number;
  tries: number;
  code: number;
  kind: Kind;
  severity: Severity;
  incident_status: string;
  lat: number | null;
  lng: number | null;
  accuracy_m: number | null;
  location_at: Date | null;
  driver_name: string;
  zone_name: string | null;
  recipient_name: string;
  /** The language every text of this page is written in: its recipient's. */
  recipient_language: Language;
}

/** Claimed pages as a database function answers them in JSON (claim_incident_pages()). */
export type ClaimedPageJson = Omit<ClaimedPage, 'location_at'> & { location_at: string | null };
export const claimedFromJson = (rows: ClaimedPageJson[]): ClaimedPage[] =>
  rows.map((p) => ({ ...p, location_at: p.location_at === null ? null : new Date(p.location_at) }));

/** Tell every instance (listening with onPagesAnnounced()) that pages were queued. */
export async function announcePages(sql: Sql): Promise<void> {
  await sql`SELECT pg_notify('mayday_pages', '')`;
}

/** Call `fn` whenever any instance announces pages; resolves to a function that stops listening. */
export async function onPagesAnnounced(sql: Sql, fn: () => void): Promise<() => Promise<void>> {
  const listener = await sql.listen('mayday_pages', fn);
  return () => listener.unlisten();
}

/**
 * Lease up to `limit` due pages to this sender. A lease that runs out (the sender died
 * mid-send) is later turned into an 'unknown' outcome by expireLeases(), never re-sent as is.
 */
export async function claimPages(sql: Sql, asOf: Date | null, limit: number, leaseSeconds: number): Promise<ClaimedPage[]> {
  return sql<ClaimedPage[]>`
    WITH c AS (
      SELECT id FROM pages
      WHERE status = 'queued' AND not_before <= coalesce(${asOf}::timestamptz, now())
      ORDER BY not_before
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE pages p SET status = 'sending', tries = p.tries + 1,
             lease_until = now() + make_interval(secs => ${leaseSeconds}),
             lease_owner = nullif(current_setting('mayday.sender', true), '')::uuid
      FROM c WHERE p.id = c.id
      RETURNING p.*
    )
    SELECT claimed.id, claimed.incident_id, claimed.recipient_id, claimed.phone, claimed.channel, claimed.purpose, claimed.note,
           claimed.step, claimed.round, claimed.attempt, claimed.tries,
           i.code, i.kind, i.severity, i.status AS incident_status, i.lat, i.lng, i.accuracy_m, i.location_at,
           d.name AS driver_name, z.name AS zone_name, r.name AS recipient_name, r.language AS recipient_language
    FROM claimed
    JOIN incidents i ON i.id = claimed.incident_id
    JOIN users d ON d.id = i.driver_id
    JOIN users r ON r.id = claimed.recipient_id
    LEFT JOIN zones z ON z.id = i.zone_id`;
}

/** A send Twilio took, and when its answer came (the page's sent_at, whenever the record is written). */
export type SentPage = { pageId: string; sid: string; takenAt: Date };

export async function markSent(sql: Sql, p: SentPage) {
  await sql`SELECT page_sent(${p.pageId}, ${p.sid}, ${p.takenAt})`;
}

/** Several sends at once, in one transaction (see page_sent_many()). */
export async function markSentMany(sql: Sql, items: SentPage[]) {
  await sql`SELECT page_sent_many(${items.map((i) => i.pageId)}::uuid[], ${items.map((i) => i.sid)}::text[], ${items.map((i) => i.takenAt.toISOString())}::timestamptz[])`;
}

export async function requeue(sql: Sql, pageId: string, delayMs: number, error: string) {
  await sql`SELECT page_requeue(${pageId}, ${Math.round(delayMs)}, ${error})`;
}

export async function markFailed(sql: Sql, pageId: string, code: string | null, error: string) {
  await sql`SELECT page_failed(${pageId}, ${code}, ${error})`;
}

/** Why a page is sent again (page.resent's reason). */
export type ResendReason = 'twilio_5xx' | 'timeout' | 'reset' | 'sender_stopped';

/** The send ended without a clear answer: page_unknown(), its next attempt after `retryDelaySeconds`. */
export async function markUnknown(sql: Sql, pageId: string, error: string, retryDelaySeconds: number, maxAttempts: number, reason: ResendReason) {
  await sql`SELECT page_unknown(${pageId}, ${error}, ${retryDelaySeconds}, ${maxAttempts}, ${reason})`;
}

/** Twilio has not answered a send yet: its next attempt goes now, while the first still waits (page_resend()). */
export async function hedgePage(sql: Sql, pageId: string, maxAttempts: number): Promise<string | null> {
  const [row] = await sql<{ id: string | null }[]>`SELECT page_resend(${pageId}, 'timeout', 0, ${maxAttempts}) AS id`;
  return row.id;
}

/** Keep this sender's leases on the pages it is still sending (a heartbeat). */
export async function renewLeases(sql: Sql, pageIds: string[], leaseSeconds: number): Promise<void> {
  await sql`
    UPDATE pages SET lease_until = now() + make_interval(secs => ${leaseSeconds})
    WHERE id = ANY(${pageIds}::uuid[]) AND status = 'sending'`;
}

/**
 * Hold this sender's advisory lock (sender_lock_key()) on a connection of its own for as long as
 * the process lives: other instances then know at once, from the lock's absence, that pages it
 * leased were left by a sender that died. `held()` takes the lock again if its connection was
 * lost (the database restarted) and answers whether it is held.
 */
export async function holdSenderLock(sql: Sql, senderId: string) {
  let conn: Awaited<ReturnType<Sql['reserve']>> | undefined;
  const take = async () => {
    conn?.release(); // a connection that failed: postgres.js drops it
    conn = await sql.reserve();
    await conn`SELECT pg_advisory_lock(19801, sender_lock_key(${senderId}))`;
  };
  await take();
  return {
    async held(): Promise<boolean> {
      try {
        await conn!`SELECT 1`;
        return true;
      } catch {
        await take().catch(() => undefined);
        return false;
      }
    },
    /** Let the lock go (the engine stops) and give the connection back. */
    async release() {
      const c = conn;
      conn = undefined;
      if (!c) return;
      await c`SELECT pg_advisory_unlock_all()`.catch(() => undefined);
      c.release();
    },
  };
}

export async function cancelPage(sql: Sql, pageId: string) {
  await sql`UPDATE pages SET status = 'canceled', lease_until = NULL WHERE id = ${pageId} AND status = 'sending'`;
}

/**
 * Pages whose sender died holding them: their outcome is unknown. Answers how many. Leases are
 * real time (the database's clock), whatever time a test asks the engine to act as of.
 */
export async function expireLeases(sql: Sql, retryDelaySeconds: number, maxAttempts: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT expire_leases(${retryDelaySeconds}, ${maxAttempts}) AS n`;
  return row.n;
}

/** A status callback, from Twilio's webhook or the simulator. */
export interface StatusReport {
  pageId: string;
  sid: string | null;
  /** MessageStatus or CallStatus; null for an answering-machine report alone. */
  status: string | null;
  answeredBy: string | null;
  errorCode: string | null;
}

export interface CallbackOutcome { result: string }

export async function recordCallback(
  sql: Sql,
  p: StatusReport,
  retryDelaySeconds: number,
  maxAttempts: number,
): Promise<string> {
  const [row] = await sql<{ r: string }[]>`
    SELECT page_callback(${p.pageId}, ${p.sid}, ${p.status}, ${p.answeredBy}, ${p.errorCode}, ${retryDelaySeconds}, ${maxAttempts}) AS r`;
  return row.r;
}

/** Several status callbacks (of any pages) in one transaction (see page_callback_many()); one result each, in order. */
export async function recordCallbackMany(
  sql: Sql,
  items: { pageId: string; sid: string | null; status: string | null; answeredBy: string | null; errorCode: string | null }[],
  retryDelaySeconds: number,
  maxAttempts: number,
): Promise<string[]> {
  const [row] = await sql<{ r: string[] }[]>`
    SELECT page_callback_many(${items.map((i) => i.pageId)}::uuid[], ${items.map((i) => i.sid)}::text[],
                              ${items.map((i) => i.status)}::text[], ${items.map((i) => i.answeredBy)}::text[],
                              ${items.map((i) => i.errorCode)}::text[], ${retryDelaySeconds}, ${maxAttempts}) AS r`;
  return row.r;
}

export interface PageView {
  id: string;
  recipientId: string;
  recipientName: string;
  channel: string;
  purpose: string;
  step: number;
  round: number;
  attempt: number;
  status: string;
  twilioStatus: string | null;
  answeredBy: string | null;
  sid: string | null;
  error: string | null;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
}

export async function listPages(sql: Sql, incidentId: string): Promise<PageView[]> {
  const rows = await sql`
    SELECT p.*, u.name AS recipient_name FROM pages p JOIN users u ON u.id = p.recipient_id
    WHERE p.incident_id = ${incidentId} ORDER BY p.created_at, p.channel`;
  return rows.map((r) => ({
    id: r.id,
    recipientId: r.recipient_id,
    recipientName: r.recipient_name,
    channel: r.channel,
    purpose: r.purpose,
    step: r.step,
    round: r.round,
    attempt: r.attempt,
    status: r.status,
    twilioStatus: r.twilio_status,
    answeredBy: r.answered_by,
    sid: r.sid,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    sentAt: r.sent_at?.toISOString() ?? null,
    deliveredAt: r.delivered_at?.toISOString() ?? null,
  }));
}
