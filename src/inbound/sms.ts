import { sha256Hex } from '../auth/crypto';
import { actorOf, type Principal } from '../auth/principal';
import type { Deps } from '../deps';
import { openSos } from '../incidents/service';
import { acknowledgeIncident, lastKnownFix, receiveCheckIn } from '../incidents/store';
import { maskPhone } from '../log';
import { checkinIncident, codeOfRequest, pagedIncident, takeHelpReply, userByPhone } from './store';

export const DRIVER_HELP_TEXT = 'Mayday: text SOS if you are in danger. Reply SAFE or HELP when Mayday asks how you are.';
export const HELP_TEXT =
  'Mayday: reply ACK <number> (for example ACK 1042) to acknowledge an incident you were paged for, or ACK for the newest one.';
/** At most this many help texts to one number an hour, so two robots cannot text each other forever. */
export const HELP_PER_HOUR = 3;

/** "  ack   1042 " → "ACK 1042": case and spacing do not matter. */
export const normalize = (body: string) => body.normalize('NFKC').trim().replace(/\s+/g, ' ').toUpperCase();

async function helpText(deps: Deps, phone: string, text: string = HELP_TEXT): Promise<string | null> {
  return (await takeHelpReply(deps.sql, phone, HELP_PER_HOUR)) ? text : null;
}

/**
 * An SMS to Mayday's number. From a responder: `ACK` or `1` acknowledges the newest open
 * incident paged to that phone; `ACK <code>` names one (it must have been paged to that phone).
 * Answers the reply to send back, or null for none.
 */
export async function handleInboundSms(deps: Deps, from: string, body: string, messageSid?: string): Promise<string | null> {
  const text = normalize(body);
  const user = await userByPhone(deps.sql, from);
  const log = deps.log.child({ from: maskPhone(from), role: user?.role });
  if (user?.role === 'driver') return driverSms(deps, { id: user.id, role: 'driver', name: user.name }, text, messageSid);
  if (!user || (user.role !== 'supervisor' && user.role !== 'safety_lead')) {
    log.info('inbound sms from a number that is not a responder');
    return helpText(deps, from);
  }
  const named = /^ACK ?#?(\d{1,9})$/.exec(text);
  if (!named && text !== 'ACK' && text !== '1') return helpText(deps, from);
  const code = named ? Number(named[1]) : null;
  const paged = await pagedIncident(deps.sql, user.id, code);
  if (!paged) {
    log.info({ code }, 'ack for an incident not paged to this phone');
    return code === null
      ? 'Mayday: no incident was paged to you; nothing was acknowledged.'
      : `Mayday: you were not paged for #${code}; nothing was acknowledged.`;
  }
  const was = await acknowledgeIncident(deps.sql, paged.incident_id, user.id, 'sms', paged.page_id);
  if (was === 'open') {
    log.info({ incidentId: paged.incident_id, code: paged.code }, 'acknowledged by sms');
    deps.metrics?.acknowledged((Date.now() - paged.opened_at.getTime()) / 1000, 'sms');
    return `Mayday: #${paged.code} acknowledged. It is yours - further pages stopped.`;
  }
  return paged.acked_by
    ? `Mayday: #${paged.code} was already acknowledged by ${paged.acked_by}.`
    : `Mayday: #${paged.code} is ${was.replace('_', ' ')}; nothing changed.`;
}

/** A stable UUID for one inbound message, so Twilio retrying its webhook opens one incident, not two. */
async function requestIdOf(messageSid: string): Promise<string> {
  const h = await sha256Hex(`sms:${messageSid}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * From a driver's registered phone: SAFE or HELP answers a check-in of the open incident;
 * SOS (or HELP) with none open opens one through the same intake as the app, at the last
 * known location; with one open, SOS counts as HELP.
 */
async function driverSms(deps: Deps, driver: Principal, text: string, messageSid?: string): Promise<string | null> {
  const word = text.replace(/[^A-Z]/g, '');
  if (word !== 'SAFE' && word !== 'HELP' && word !== 'SOS') return helpText(deps, `driver:${driver.id}`, DRIVER_HELP_TEXT);
  const clientRequestId = messageSid ? await requestIdOf(messageSid) : null;
  if (clientRequestId) {
    // Twilio retrying the webhook of a message that already opened an incident: same answer.
    const opened = await codeOfRequest(deps.sql, driver.id, clientRequestId);
    if (opened !== undefined) return openedText(opened);
  }
  const open = await checkinIncident(deps.sql, driver.id);
  if (open) {
    const status = word === 'SAFE' ? 'safe' : 'need_help';
    await receiveCheckIn(deps.sql, open.id, { status, via: 'sms', note: null }, actorOf(driver));
    if (status === 'need_help') deps.pager.queued({ incidentId: open.id });
    return status === 'safe'
      ? `Mayday #${open.code}: noted, you are safe. Text HELP if that changes.`
      : `Mayday #${open.code}: help is on the way - we are paging your safety team again now.`;
  }
  if (word === 'SAFE') return 'Mayday: you have no open incident. Text SOS if you are in danger.';
  const { incident, created } = await openSos(deps, driver, {
    clientRequestId,
    kind: 'other',
    source: 'sms',
    note: 'SOS by text message',
    location: await lastKnownFix(deps.sql, driver.id),
  });
  deps.log.info({ incidentId: incident.id, code: incident.code, created }, 'sos by sms');
  return openedText(incident.code);
}

const openedText = (code: number) => `Mayday #${code}: help is being reached - we are paging your safety team now. Text SAFE when you are safe.`;
