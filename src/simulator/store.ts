/** The phone simulator's messages and calls (`sim_messages`), shared by every instance. */
import type { Sql } from '../db/client';

export interface SimMessage {
  sid: string;
  kind: 'sms' | 'call';
  direction: 'to_phone' | 'from_phone';
  phone: string;
  body: string;
  pageId: string | null;
  status: string;
  digits: string | null;
  createdAt: string;
  endedAt: string | null;
}

/** A row of `sim_messages`. */
export interface SimMessageRow {
  sid: string;
  kind: 'sms' | 'call';
  direction: 'to_phone' | 'from_phone';
  phone: string;
  body: string;
  page_id: string | null;
  status: string;
  digits: string | null;
  created_at: Date;
  ended_at: Date | null;
}

const toMessage = (r: SimMessageRow): SimMessage => ({
  sid: r.sid, kind: r.kind, direction: r.direction, phone: r.phone, body: r.body, pageId: r.page_id,
  status: r.status, digits: r.digits, createdAt: r.created_at.toISOString(), endedAt: r.ended_at?.toISOString() ?? null,
});

/** A message or call to a phone, as Mayday sent it. */
export interface Outgoing {
  sid: string;
  kind: 'sms' | 'call';
  phone: string;
  body: string;
  pageId: string | null;
  status: string;
}

/** Store messages and calls to phones in one insert. */
export async function insertOutgoing(sql: Sql, ms: Outgoing[]): Promise<void> {
  await sql`INSERT INTO sim_messages (sid, kind, direction, phone, body, page_id, status)
                     SELECT m.sid, m.kind, 'to_phone', m.phone, m.body, m.page_id, m.status
                     FROM unnest(${ms.map((m) => m.sid)}::text[], ${ms.map((m) => m.kind)}::text[], ${ms.map((m) => m.phone)}::text[],
                                 ${ms.map((m) => m.body)}::text[], ${ms.map((m) => m.pageId)}::uuid[], ${ms.map((m) => m.status)}::text[])
                          AS m(sid, kind, phone, body, page_id, status)`;
}

/** Everything one phone sent and got, oldest first. */
export async function messagesOf(sql: Sql, phone: string): Promise<SimMessage[]> {
  return (await sql<SimMessageRow[]>`SELECT * FROM sim_messages WHERE phone = ${phone} ORDER BY created_at, sid`).map(toMessage);
}

/** Every phone that sent or got something, with whose it is, newest activity first. */
export async function phonesWithMessages(sql: Sql): Promise<{ phone: string; name: string | null; role: string | null; messages: number; lastAt: string }[]> {
  const rows = await sql<{ phone: string; name: string | null; role: string | null; messages: number; last_at: Date }[]>`
      SELECT m.phone, u.name, u.role, count(*)::int AS messages, max(m.created_at) AS last_at
      FROM sim_messages m LEFT JOIN users u ON u.phone = m.phone
      GROUP BY m.phone, u.name, u.role ORDER BY max(m.created_at) DESC`;
  return rows.map((r) => ({ phone: r.phone, name: r.name, role: r.role, messages: r.messages, lastAt: r.last_at.toISOString() }));
}

/** An SMS a simulated phone sent to Mayday. */
export async function insertTextFromPhone(sql: Sql, sid: string, phone: string, body: string): Promise<void> {
  await sql`INSERT INTO sim_messages (sid, kind, direction, phone, body, status) VALUES (${sid}, 'sms', 'from_phone', ${phone}, ${body}, 'received')`;
}

/** Mayday's SMS reply to a simulated phone's text (delivered at once). */
export async function insertReplyToPhone(sql: Sql, sid: string, phone: string, body: string): Promise<void> {
  await sql`INSERT INTO sim_messages (sid, kind, direction, phone, body, status) VALUES (${sid}, 'sms', 'to_phone', ${phone}, ${body}, 'delivered')`;
}

/** A simulated call by its sid, whatever its status. */
export async function callBySid(sql: Sql, sid: string): Promise<SimMessageRow | undefined> {
  const [call] = await sql<SimMessageRow[]>`SELECT * FROM sim_messages WHERE sid = ${sid} AND kind = 'call'`;
  return call;
}

/** A simulated call ends, with the digits pressed (null when none were). */
export async function endCall(sql: Sql, sid: string, digits: string | null): Promise<void> {
  await sql`UPDATE sim_messages SET status = 'completed', digits = ${digits}, ended_at = now() WHERE sid = ${sid}`;
}

/** Up to 100 calls still ringing `ringSeconds` after they started (as of `asOf`, or now). */
export async function unansweredCalls(sql: Sql, asOf: Date | null, ringSeconds: number): Promise<{ sid: string; page_id: string | null }[]> {
  return await sql<{ sid: string; page_id: string | null }[]>`
      SELECT sid, page_id FROM sim_messages
      WHERE kind = 'call' AND status = 'in-progress'
        AND created_at < coalesce(${asOf}::timestamptz, now()) - make_interval(secs => ${ringSeconds})
      LIMIT 100`;
}

/** The phone number of a person (null for the administrator, who has no row, or no number). */
export async function phoneOfUser(sql: Sql, userId: string): Promise<string | null> {
  if (!/^[0-9a-f-]{36}$/i.test(userId)) return null;
  const [row] = await sql<{ phone: string | null }[]>`SELECT phone FROM users WHERE id = ${userId}`;
  return row?.phone ?? null;
}

/** The incident a page belongs to. */
export async function incidentOfPage(sql: Sql, pageId: string): Promise<string | undefined> {
  const [row] = await sql<{ incident_id: string }[]>`SELECT incident_id FROM pages WHERE id = ${pageId}`;
  return row?.incident_id;
}

/** What someone signed in did through the simulator, on the incident it concerns (the chain trigger fills seq and hashes). */
export async function appendSimulatorAction(sql: Sql, incidentId: string, actor: string, data: Record<string, string>): Promise<void> {
  await sql`
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (${incidentId}, 'simulator.action', ${actor}, ${sql.json(data)}::jsonb)`;
}
