/** The timeline as sentences a supervisor reads, each with its time after the SOS and in UTC. */
import { servicesText } from './dispatch';
import type { TimelineEvent } from '../../timeline/schemas';
import { DISPOSITION, distance, KIND, sinceSos, utc } from '../format';

type Names = Map<string, string>;

const CHANNEL: Record<string, string> = { sms: 'SMS', voice: 'Call' };
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** "supervisor:<id>" → "Ava Ortiz (supervisor)"; "system", "twilio", "admin" as they are. */
export function actorName(actor: string, names: Names): string {
  const m = /^(\w+):([0-9a-f-]{36})$/i.exec(actor);
  if (!m) return actor === 'admin' ? 'administrator' : actor === 'twilio' ? 'phone network' : actor;
  const name = names.get(m[2]);
  return name ? `${name} (${m[1].replace('_', ' ')})` : m[1].replace('_', ' ');
}

const who = (id: unknown, names: Names) => names.get(str(id)) ?? 'someone';

/** Ids an event names (recipients, acknowledgers), so their names can be looked up at once. */
export function idsIn(events: TimelineEvent[]): string[] {
  const ids: string[] = [];
  for (const e of events) {
    const m = /:([0-9a-f-]{36})$/i.exec(e.actor);
    if (m) ids.push(m[1]);
    for (const k of ['recipientId', 'by']) if (typeof e.data[k] === 'string') ids.push(e.data[k] as string);
    for (const k of ['recipients', 'safetyLeads', 'notified']) if (Array.isArray(e.data[k])) ids.push(...(e.data[k] as string[]));
  }
  return ids;
}

export interface Described {
  what: string;
  detail?: string;
  /** A turning point: shown in bold. */
  key?: boolean;
  link?: { href: string; text: string };
}

/** What followed a voicemail: whether the retry it queued was called, or stopped by an acknowledgement or resolution. */
function afterVoicemail(e: TimelineEvent, events: TimelineEvent[] | undefined): string {
  const retry = e.data.retryPageId;
  const i = events ? events.findIndex((x) => x.seq === e.seq) : -1;
  if (typeof retry !== 'string') {
    const stopped = i < 0 ? undefined : events!.slice(0, i).findLast((x) => x.type === 'incident.acknowledged' || x.type === 'incident.resolved');
    return stopped ? `no call again: the incident was already ${stopped.type === 'incident.resolved' ? 'resolved' : 'acknowledged'}` : 'this call is not repeated';
  }
  for (const x of i < 0 ? [] : events!.slice(i + 1)) {
    if (x.type === 'page.sent' && x.data.pageId === retry) return 'Mayday called again';
    if (x.type === 'incident.acknowledged') return 'no call again: the incident was acknowledged meanwhile';
    if (x.type === 'incident.resolved') return 'no call again: the incident was resolved meanwhile';
  }
  return 'Mayday calls again';
}

/** `events` (the whole timeline, `e` among them) lets a sentence say what followed. */
export function describe(e: TimelineEvent, names: Names, events?: TimelineEvent[]): Described {
  const d = e.data;
  const ch = CHANNEL[str(d.channel)] ?? str(d.channel);
  switch (e.type as string) {
    case 'incident.opened':
      return {
        key: true,
        what: `SOS received: ${KIND[str(d.kind)] ?? str(d.kind)}, ${str(d.severity)}`,
        detail: [`from the ${d.source === 'sms' ? 'driver’s text' : d.source === 'support' ? 'support lane' : 'app'}`,
          d.zoneRule === 'inside' ? 'inside the zone' : d.zoneRule ? `zone chosen by rule “${str(d.zoneRule)}”` : '',
          d.note ? `note: “${str(d.note)}”` : ''].filter(Boolean).join('; '),
      };
    case 'incident.duplicate_request':
      return { what: 'The same SOS arrived again (a retry); nothing new was opened' };
    case 'incident.linked':
      return { what: 'Linked to another incident of the same driver', link: { href: `/console/incidents/${str(d.otherIncidentId)}`, text: 'the other incident' } };
    case 'location.updated': {
      const loc = (d.location ?? {}) as Record<string, unknown>;
      return {
        what: d.current === false ? 'An older position arrived (kept in the trail only)' : 'New position',
        detail: typeof loc.accuracyM === 'number' ? `accurate to ${distance(loc.accuracyM)}` : undefined,
      };
    }
    case 'location.redacted':
      return { what: `Precise positions coarsened for retention (${str(d.points)} points)` };
    case 'page.queued':
      return { what: `${ch} page to ${who(d.recipientId, names)} queued`, detail: `${str(d.purpose)}, step ${Number(d.step) + 1}, attempt ${str(d.attempt)}` };
    case 'page.sent':
      return { what: `${ch} to ${who(d.recipientId, names)} sent`, detail: `attempt ${str(d.attempt)}` };
    case 'page.delivered':
      return { what: d.channel === 'voice' ? `Call to ${who(d.recipientId, names)}: ${str(d.status)}` : `SMS to ${who(d.recipientId, names)} ${str(d.status)}`, detail: d.answeredBy ? `answered by ${str(d.answeredBy)}` : undefined };
    case 'page.failed':
      return { what: `${ch} to ${who(d.recipientId, names)} failed`, detail: [str(d.errorCode), str(d.error)].filter(Boolean).join(': ') };
    case 'page.voicemail':
      return { what: `Call to ${who(d.recipientId, names)} ended without a keypress (voicemail)`, detail: `not an acknowledgement; ${afterVoicemail(e, events)}` };
    case 'page.unknown':
      return { what: `${ch} to ${who(d.recipientId, names)}: outcome unknown`, detail: str(d.error) };
    case 'escalation.step': {
      const rec = Array.isArray(d.recipients) ? (d.recipients as string[]).map((id) => who(id, names)) : [];
      return {
        what: `Escalation step ${Number(d.step) + 1}${d.repeat ? ' (repeat)' : ''}: ${rec.length ? `paging ${rec.join(', ')}` : 'nobody to reach, moving on'}`,
        detail: Array.isArray(d.notify) ? `who: ${(d.notify as string[]).map((n) => names.get(n) ?? n.replace('_', ' ')).join(', ')}` : undefined,
      };
    }
    case 'escalation.exhausted':
      return { key: true, what: 'Every escalation step has run and nobody acknowledged: safety leads paged', detail: `the last step repeats every ${str(d.repeatEverySeconds)} s` };
    case 'incident.acknowledged':
      return { key: true, what: `Acknowledged by ${who(d.by, names)}`, detail: d.via ? `via ${d.via === 'voice' ? 'keypress on the call' : d.via === 'sms' ? 'text reply' : 'the console or API'}` : undefined };
    case 'checkin.requested':
      return { what: 'Driver asked to check in (reply SAFE or HELP)' };
    case 'checkin.received':
      return d.status === 'need_help'
        ? { key: true, what: 'Driver checked in: NEEDS HELP', detail: `via ${str(d.via)}${d.note ? `; “${str(d.note)}”` : ''}` }
        : { what: 'Driver checked in: safe', detail: `via ${str(d.via)}${d.note ? `; “${str(d.note)}”` : ''}` };
    case 'checkin.missed':
      return { key: true, what: 'Driver did not answer the check-in: responders paged again' };
    case 'cancel.requested':
      return { what: 'Driver cancelled with a PIN', detail: 'a responder resolves the incident' };
    case 'cancel.rejected':
      return { what: `Wrong cancel PIN (attempt ${str(d.attempt)})` };
    case 'cancel.locked':
      return { key: true, what: `Cancelling locked after ${str(d.afterAttempts)} wrong PINs` };
    case 'duress.triggered':
      return { key: true, what: 'DURESS: the driver entered the duress PIN — the “cancel” is not real', detail: 'the driver’s app shows a cancelled incident; escalation goes on' };
    case 'incident.details':
      return {
        what: d.kind ? `The driver says: ${KIND[str(d.kind)] ?? str(d.kind)}` : 'The driver added a note',
        detail: d.note ? `“${str(d.note)}”` : undefined,
      };
    case 'incident.severity_raised':
      return { what: `Severity raised from ${str(d.from)} to ${str(d.to)}`, detail: str(d.reason) };
    case 'incident.resolved':
      return { key: true, what: `Resolved by ${who(d.by, names)}: ${DISPOSITION[str(d.disposition)] ?? str(d.disposition)}`, detail: d.note ? `“${str(d.note)}”` : undefined };
    case 'simulator.action': {
      const SMS: Record<string, string> = { ack: 'texted ACK', safe: 'texted SAFE', help: 'texted HELP', sos: 'texted SOS', other: 'sent a text' };
      const act = d.action === 'sms' ? SMS[str(d.kind)] ?? 'sent a text' : d.action === 'keypress' ? `pressed ${str(d.digits)} on the call`
        : d.action === 'hangup' ? 'hung up the call' : d.action === 'demo_sos' ? 'sent the demo SOS' : str(d.action);
      return { what: `Phone simulator: ${actorName(e.actor, names)} ${act} as the phone ${str(d.phone)}`, detail: 'a simulated action, done by whoever was signed in' };
    }
    case 'dispatch.requested':
      return { key: true, what: `Emergency services requested by ${actorName(e.actor, names)}: ${servicesText(Array.isArray(d.services) ? (d.services as string[]) : [])}`, detail: [`via ${d.via === 'sms' ? 'a text “911”' : d.via === 'console' ? 'the console' : 'the API'}`, d.note ? `note: “${str(d.note)}”` : ''].filter(Boolean).join('; ') };
    case 'dispatch.created':
      return { what: 'The dispatch center opened the alarm: a dispatcher calls the driver', detail: d.ambiguous ? 'an earlier attempt may have opened a second alarm' : undefined };
    case 'dispatch.psap_contacted':
      return { key: true, what: d.repeat ? 'The dispatcher contacted the 911 centre again' : 'The dispatcher contacted the 911 centre', detail: d.statusBefore !== 'active' && d.statusBefore !== 'psap_contacted' ? `reported late (the dispatch was already ${str(d.statusBefore)})` : undefined };
    case 'dispatch.closed':
      return { what: 'The dispatcher closed the alarm' };
    case 'dispatch.canceled':
      return { what: d.by === 'person' ? 'The driver cancelled the alarm with the dispatcher' : 'The alarm was cancelled after the driver’s cancel PIN' };
    case 'dispatch.location_failed':
      return { key: true, what: 'The dispatch center refused the driver’s newer location: the dispatcher has an older one', detail: [d.status, d.message].filter((x) => x !== undefined && x !== null).map(str).join(' ') || undefined };
    case 'dispatch.failed':
      return d.reason === 'cancel'
        ? { key: true, what: 'The alarm could not be cancelled: it goes on', detail: str(d.message) }
        : {
            key: true,
            what: d.reason === 'services_missing' ? 'DISPATCH FAILED: the alarm lacks a service asked for — call 911 yourself'
              : d.reason === 'interrupted' ? 'DISPATCH FAILED: the request was cut short (an alarm may exist) — call 911 yourself; the safety leads were paged'
              : d.reason === 'canceled_then_duress' ? 'DISPATCH CANCELLED, THEN THE DURESS PIN: no police are coming — request dispatch again; the safety leads were told'
              : 'DISPATCH FAILED — call 911 yourself; the safety leads were paged',
            detail: [str(d.kind), str(d.message)].filter(Boolean).join(': '),
          };
    default:
      return { what: e.type, detail: Object.keys(d).length ? JSON.stringify(d) : undefined };
  }
}

export function Timeline({ events, openedAt, names }: { events: TimelineEvent[]; openedAt: string; names: Names }) {
  const t0 = Date.parse(openedAt);
  return (
    <ol class="timeline">
      {events.map((e) => {
        const x = describe(e, names, events);
        return (
          <li class={x.key ? 'key' : undefined}>
            <span class="t">
              <time datetime={e.at}>{sinceSos(Date.parse(e.at) - t0)}</time>
              <span class="abs">{e.at.slice(0, 10) === openedAt.slice(0, 10) ? utc(e.at).slice(11) : utc(e.at)}</span>
            </span>
            <span>
              <span class="what">{x.what}</span>
              {x.detail && <> — <span>{x.detail}</span></>}
              {x.link && <> — <a href={x.link.href}>{x.link.text}</a></>}
              <span class="type"> · {e.type} · {actorName(e.actor, names)} · #{e.seq}</span>
            </span>
          </li>
        );
      })}
    </ol>
  );
}
