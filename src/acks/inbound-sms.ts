import type { Deps } from '../deps';
import { maskPhone } from '../log';

export const HELP_TEXT =
  'Mayday: reply ACK <number> (for example ACK 1042) to acknowledge an incident you were paged for, or ACK for the newest one.';
/** At most this many help texts to one number an hour, so two robots cannot text each other forever. */
export const HELP_PER_HOUR = 3;

/** "  ack   1042 " → "ACK 1042": case and spacing do not matter. */
export const normalize = (body: string) => body.normalize('NFKC').trim().replace(/\s+/g, ' ').toUpperCase();

async function helpText(deps: Deps, phone: string, text = HELP_TEXT): Promise<string | null> {
  const [row] = await deps.sql<{ n: number }[]>`
    WITH recent AS (SELECT count(*)::int AS n FROM sms_help_replies WHERE phone = ${phone} AND at > now() - interval '1 hour'),
         ins AS (INSERT INTO sms_help_replies (phone) SELECT ${phone} FROM recent WHERE n < ${HELP_PER_HOUR} RETURNING 1)
    SELECT n FROM recent`;
  return row.n < HELP_PER_HOUR ? text : null;
}

interface PagedIncident { incident_id: string; code: number; status: string; page_id: string; acked_by: string | null }

/**
 * An SMS to Mayday's number. From a responder: `ACK` or `1` acknowledges the newest open
 * incident paged to that phone; `ACK <code>` names one (it must have been paged to that phone).
 * Answers the reply to send back, or null for none.
 */
export async function handleInboundSms(deps: Deps, from: string, body: string): Promise<string | null> {
  const text = normalize(body);
  const [user] = await deps.sql<{ id: string; role: string; name: string }[]>`SELECT id, role, name FROM users WHERE phone = ${from}`;
  const log = deps.log.child({ from: maskPhone(from), role: user?.role });
  if (!user || (user.role !== 'supervisor' && user.role !== 'safety_lead')) {
    log.info('inbound sms from a number that is not a responder');
    return helpText(deps, from);
  }
  const named = /^ACK ?#?(\d{1,9})$/.exec(text);
  if (!named && text !== 'ACK' && text !== '1') return helpText(deps, from);
  const code = named ? Number(named[1]) : null;
  const [paged] = await deps.sql<PagedIncident[]>`
    SELECT p.incident_id, i.code, i.status, p.id AS page_id, a.name AS acked_by
    FROM pages p JOIN incidents i ON i.id = p.incident_id LEFT JOIN users a ON a.id = i.acknowledged_by
    WHERE p.recipient_id = ${user.id} ${code === null ? deps.sql`` : deps.sql`AND i.code = ${code}`}
    ORDER BY (i.status = 'open') DESC, p.created_at DESC
    LIMIT 1`;
  if (!paged) {
    log.info({ code }, 'ack for an incident not paged to this phone');
    return code === null
      ? 'Mayday: no incident was paged to you; nothing was acknowledged.'
      : `Mayday: you were not paged for #${code}; nothing was acknowledged.`;
  }
  const [r] = await deps.sql<{ r: string }[]>`SELECT ack_incident(${paged.incident_id}, ${user.id}, 'sms', ${paged.page_id}) AS r`;
  if (r.r === 'open') {
    log.info({ incidentId: paged.incident_id, code: paged.code }, 'acknowledged by sms');
    return `Mayday: #${paged.code} acknowledged. It is yours - further pages stopped.`;
  }
  return paged.acked_by
    ? `Mayday: #${paged.code} was already acknowledged by ${paged.acked_by}.`
    : `Mayday: #${paged.code} is ${r.r.replace('_', ' ')}; nothing changed.`;
}
