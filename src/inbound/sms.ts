import { sha256Hex } from '../auth/crypto';
import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { t, type Language } from '../i18n/catalogue';
import { requestDispatch } from '../dispatch/service';
import { AppError } from '../errors';
import { openSos } from '../incidents/service';
import { acknowledgeIncident, lastKnownFix, receiveCheckIn } from '../incidents/store';
import { maskPhone } from '../log';
import { isGsm7, truncate } from '../paging/segments';
import { confirmByText } from '../readiness/service';
import { ackOf, dispatchOf, driverWord, okOf } from './keywords';
import { checkinIncident, codeOfRequest, pagedIncident, takeHelpReply, userByPhone } from './store';

export { normalize } from './keywords';

/** At most this many help texts to one number an hour, so two robots cannot text each other forever. */
export const HELP_PER_HOUR = 3;

/** A name quoted in a reply is cut to this, so the reply stays within two segments. */
const NAME_MAX = 40;

const STATUS_KEY = { acknowledged: 'acknowledged', cancel_requested: 'cancelRequested', resolved: 'resolved' } as const;

async function helpText(deps: Deps, key: string, text: string): Promise<string | null> {
  return (await takeHelpReply(deps.sql, key, HELP_PER_HOUR)) ? text : null;
}

/**
 * An SMS to Mayday's number. From a responder: `ACK` or `1` acknowledges the newest open
 * incident paged to that phone; `ACK <code>` names one (it must have been paged to that phone);
 * `OK` or `OK <code>` confirms an on-call readiness check.
 * Answers the reply to send back, in the sender's language (English to a number Mayday does not
 * know), or null for none.
 */
export async function handleInboundSms(deps: Deps, from: string, body: string, messageSid?: string): Promise<string | null> {
  const user = await userByPhone(deps.sql, from);
  const lang = user?.language ?? 'en';
  const log = deps.log.child({ from: maskPhone(from), role: user?.role });
  if (user?.role === 'driver') return driverSms(deps, { id: user.id, role: 'driver', name: user.name }, lang, body, messageSid);
  if (!user || (user.role !== 'supervisor' && user.role !== 'safety_lead')) {
    log.info('inbound sms from a number that is not a responder');
    return helpText(deps, from, t(lang, 'phone.reply.responderHelp'));
  }
  const ok = okOf(body);
  if (ok) return confirmByText(deps, user.id, lang, ok.code);
  const nine = dispatchOf(body);
  if (nine) return dispatchSms(deps, { id: user.id, role: user.role, name: user.name }, lang, nine.code);
  const ack = ackOf(body);
  if (!ack) return helpText(deps, from, t(lang, 'phone.reply.responderHelp'));
  const { code } = ack;
  const paged = await pagedIncident(deps.sql, user.id, code);
  if (!paged) {
    log.info({ code }, 'ack for an incident not paged to this phone');
    return code === null ? t(lang, 'phone.reply.nothingPaged') : t(lang, 'phone.reply.notPaged', { code });
  }
  const was = await acknowledgeIncident(deps.sql, paged.incident_id, user.id, 'sms', paged.page_id);
  if (was === 'open') {
    log.info({ incidentId: paged.incident_id, code: paged.code }, 'acknowledged by sms');
    deps.metrics?.acknowledged((Date.now() - paged.opened_at.getTime()) / 1000, 'sms');
    return t(lang, 'phone.reply.acknowledged', { code: paged.code });
  }
  if (paged.acked_by) return alreadyBy(lang, paged.code, paged.acked_by);
  const status = STATUS_KEY[was as keyof typeof STATUS_KEY] ?? 'missing';
  return t(lang, 'phone.reply.unchanged', { code: paged.code, status: t(lang, `phone.status.${status}`) });
}

/**
 * `911 <code>` from a responder paged for that incident: police requested as through the API
 * (POST /v1/incidents/{id}/dispatch). Answers what happened, or that it was not paged to them.
 */
async function dispatchSms(deps: Deps, responder: Principal, lang: Language, code: number): Promise<string> {
  const paged = await pagedIncident(deps.sql, responder.id, code);
  if (!paged) {
    deps.log.info({ code }, '911 for an incident not paged to this phone');
    return t(lang, 'phone.dispatch.notPaged', { code });
  }
  try {
    const { created, dispatch } = await requestDispatch(deps, responder, paged.incident_id, { services: ['police'] }, 'sms', { pagedFor: true });
    if (!created) return t(lang, 'phone.dispatch.already', { code });
    return t(lang, dispatch.status === 'failed' ? 'phone.dispatch.replyFailed' : 'phone.dispatch.requested', { code });
  } catch (e) {
    if (e instanceof AppError && e.code === 'conflict') return t(lang, 'phone.reply.unchanged', { code, status: t(lang, 'phone.status.resolved') });
    if (e instanceof AppError && e.code === 'unavailable') return t(lang, 'phone.dispatch.replyFailed', { code });
    throw e;
  }
}

/** "#1042 was already acknowledged by <name>", the name cut short enough for two segments ("..." in GSM-7, "…" otherwise). */
function alreadyBy(lang: Language, code: number, name: string): string {
  const reply = (gsm: boolean) => t(lang, 'phone.reply.alreadyBy', { code, name: truncate(name, NAME_MAX, gsm) });
  const text = reply(true);
  return isGsm7(text) ? text : reply(false);
}

/** A stable UUID for one inbound message, so Twilio retrying its webhook opens one incident, not two. */
async function requestIdOf(messageSid: string): Promise<string> {
  const h = await sha256Hex(`sms:${messageSid}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * From a driver's registered phone, in any language (SAFE or BIEN, HELP or AYUDA, SOS): SAFE or
 * HELP answers a check-in of the open incident; SOS (or HELP) with none open opens one through
 * the same intake as the app, at the last known location; with one open, SOS counts as HELP.
 */
async function driverSms(deps: Deps, driver: Principal, lang: Language, body: string, messageSid?: string): Promise<string | null> {
  const word = driverWord(body);
  if (!word) return helpText(deps, `driver:${driver.id}`, t(lang, 'phone.reply.driverHelp'));
  const clientRequestId = messageSid ? await requestIdOf(messageSid) : null;
  if (clientRequestId) {
    // Twilio retrying the webhook of a message that already opened an incident: same answer.
    const opened = await codeOfRequest(deps.sql, driver.id, clientRequestId);
    if (opened !== undefined) return t(lang, 'phone.reply.opened', { code: opened });
  }
  const open = await checkinIncident(deps.sql, driver.id);
  if (open) {
    const status = word === 'safe' ? 'safe' : 'need_help';
    await receiveCheckIn(deps.sql, open.id, { status, via: 'sms', note: null }, actorOf(driver));
    if (status === 'need_help') deps.pager.queued({ incidentId: open.id });
    return t(lang, status === 'safe' ? 'phone.reply.safe' : 'phone.reply.help', { code: open.code });
  }
  if (word === 'safe') return t(lang, 'phone.reply.noOpen');
  const { incident, created } = await openSos(deps, driver, {
    clientRequestId,
    kind: 'other',
    source: 'sms',
    note: 'SOS by text message',
    location: await lastKnownFix(deps.sql, driver.id),
  });
  deps.log.info({ incidentId: incident.id, code: incident.code, created }, 'sos by sms');
  return t(lang, 'phone.reply.opened', { code: incident.code });
}
