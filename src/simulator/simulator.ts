/**
 * The built-in phone simulator: with no Twilio credentials, pages go here instead. Messages
 * and calls are stored (shared by every instance through the database), and a simulated phone
 * replies or presses a digit through the same code a real Twilio webhook reaches.
 */
import type { CallRequest, SendResult, SmsRequest, Telephony } from '../paging/telephony';
import { actorOf, type Principal } from '../auth/principal';
import type { Sql } from '../db/client';
import { AppError, forbidden, notFound } from '../errors';
import { ackOf, driverWord } from '../inbound/keywords';
import { checkinIncident, pagedIncident, userByPhone } from '../inbound/store';
import { maskPhone, type Logger } from '../log';
import { Coalescer } from '../paging/coalesce';
import {
  appendSimulatorAction, callBySid, endCall, incidentOfPage, insertOutgoing, insertReplyToPhone, insertTextFromPhone, messagesOf,
  phoneOfUser, phonesWithMessages, unansweredCalls, type Outgoing, type SimMessage,
} from './store';

export type { SimMessage } from './store';

/**
 * Who may play which simulated phone: the administrator plays every part (the demo's whole
 * story); supervisors and safety leads only their own phone, so nobody acknowledges, or reads
 * a driver's texts, as someone else. Everyone else, none.
 */
export const PLAYS_EVERY_PHONE = ['admin'] as const;
export const PLAYS_OWN_PHONE = ['supervisor', 'safety_lead'] as const;
export const mayUseSimulator = (p: Principal) =>
  (PLAYS_EVERY_PHONE as readonly string[]).includes(p.role) || (PLAYS_OWN_PHONE as readonly string[]).includes(p.role);

/** What a simulated action was, as simulator.action records it. */
export type SimAction =
  | { action: 'sms'; kind: 'ack' | 'safe' | 'help' | 'sos' | 'other' }
  | { action: 'keypress'; digits: string }
  | { action: 'hangup' }
  | { action: 'demo_sos' };

/**
 * "ACK 1042" → ack; SAFE (BIEN), HELP (AYUDA), SOS from a driver's phone; anything else is
 * "other" (its text is not kept here). Read by the same words as the SMS handler (src/inbound/keywords.ts).
 */
const smsKind = (body: string): Extract<SimAction, { action: 'sms' }>['kind'] => (ackOf(body) ? 'ack' : (driverWord(body) ?? 'other'));

const sid = (prefix: 'SM' | 'CA') =>
  prefix + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * What the simulator reports to: the app's own handlers of Twilio's webhooks, bound by the
 * composition root (src/entry/compose.ts), so a simulated phone goes through the same code as a real one.
 */
export interface SimulatorHandlers {
  /** An SMS to Mayday's number; answers Mayday's reply, if any. */
  inboundSms(from: string, body: string, sid: string): Promise<string | null>;
  /** A digit pressed on a page call; answers what the call says. */
  keypress(pageId: string, digits: string, sid: string): Promise<{ result: string; say: string }>;
  /** One status callback of a send. */
  status(r: { pageId: string; sid: string; status: string; answeredBy: null; errorCode: null }): Promise<unknown>;
  /** Several status callbacks of one send, in order. */
  statuses(r: { pageId: string; sid: string; steps: { status: string | null; answeredBy: string | null }[] }): Promise<unknown>;
  /** Resolves once the pager has recorded the send of this page, so a report never comes before it. */
  whenRecorded(pageId: string): Promise<unknown>;
  /** Where a status report that failed is logged. */
  log: Pick<Logger, 'warn' | 'info'>;
}

export class Simulator implements Telephony {
  readonly kind = 'simulator' as const;
  private handlers?: SimulatorHandlers;
  /** A simulated call nobody answers with a digit ends by itself after this long (like a real one). */
  ringSeconds = 45;
  private reporting = new Set<Promise<void>>();
  /** Messages and calls to phones, stored together when many are sent at once (one insert, one commit). */
  private outgoing: Coalescer<Outgoing, void>;

  constructor(private sql: Sql) {
    const insert = async (ms: Outgoing[]): Promise<void[]> => {
      await insertOutgoing(this.sql, ms);
      return ms.map(() => undefined);
    };
    this.outgoing = new Coalescer(insert, async (m) => void (await insert([m])), { maxItems: 100, maxInFlight: 2 });
  }

  /** The simulator reports back through the app's own handlers (see SimulatorHandlers). */
  bind(handlers: SimulatorHandlers) {
    this.handlers = handlers;
  }

  private report(pageId: string | undefined, sid: string, steps: { status: string | null; answeredBy?: string }[]) {
    const h = this.handlers;
    if (!h || !pageId) return;
    // Asynchronously, like Twilio: after the send has been answered. The steps one after the
    // other, as Twilio's callbacks would come, but in one round trip (the handlers' statuses()).
    const done = (async () => {
      await new Promise((r) => setTimeout(r, 1));
      await h.whenRecorded(pageId);
      await h.statuses({ pageId, sid, steps: steps.map((s) => ({ status: s.status, answeredBy: s.answeredBy ?? null })) }).catch((e) =>
        h.log.warn({ err: e }, 'simulator status report failed'),
      );
    })();
    this.reporting.add(done);
    void done.finally(() => this.reporting.delete(done));
  }

  /** Resolves when every status report started has been recorded (a Worker waits before closing its client). */
  async idle(): Promise<void> {
    while (this.reporting.size) await Promise.allSettled([...this.reporting]);
  }

  async sendSms(req: SmsRequest): Promise<SendResult> {
    const id = sid('SM');
    await this.outgoing.add({ sid: id, kind: 'sms', phone: req.to, body: req.body, pageId: req.pageId ?? null, status: 'delivered' });
    this.report(req.pageId, id, [{ status: 'sent' }, { status: 'delivered' }]);
    return { ok: true, sid: id };
  }

  async placeCall(req: CallRequest): Promise<SendResult> {
    const id = sid('CA');
    await this.outgoing.add({ sid: id, kind: 'call', phone: req.to, body: req.script, pageId: req.pageId, status: 'in-progress' });
    // The callbacks the Twilio adapter asks for (StatusCallbackEvent answered, completed): the
    // simulated phone answers at once, and the call ends when a digit is pressed.
    this.report(req.pageId, id, [{ status: 'in-progress', answeredBy: 'human' }]);
    return { ok: true, sid: id };
  }

  validateSignature(): boolean {
    return false; // nothing real calls the webhooks while the simulator is in use
  }

  async list(phone: string): Promise<SimMessage[]> {
    return messagesOf(this.sql, phone);
  }

  async phones(): Promise<{ phone: string; name: string | null; role: string | null; messages: number; lastAt: string }[]> {
    return phonesWithMessages(this.sql);
  }

  /** The simulated phone texts Mayday; answers Mayday's reply (if any). */
  async textFrom(phone: string, body: string): Promise<{ reply: string | null }> {
    if (!this.handlers) throw new Error('simulator not bound');
    const inbound = sid('SM');
    await insertTextFromPhone(this.sql, inbound, phone, body);
    const reply = await this.handlers.inboundSms(phone, body, inbound);
    if (reply) {
      await insertReplyToPhone(this.sql, sid('SM'), phone, reply);
    }
    return { reply };
  }

  private async liveCall(callSid: string) {
    const call = await callBySid(this.sql, callSid);
    if (!call) throw notFound('call');
    if (call.status !== 'in-progress') throw new AppError('conflict', `the call is ${call.status}`);
    return call;
  }

  /** A digit pressed on a simulated call; the call then ends. Answers what the call says. */
  async press(callSid: string, digits: string): Promise<{ result: string; say: string }> {
    if (!this.handlers) throw new Error('simulator not bound');
    const call = await this.liveCall(callSid);
    const outcome = call.page_id ? await this.handlers.keypress(call.page_id, digits, call.sid) : { result: 'unknown', say: '' };
    await this.end(callSid, call.page_id, digits);
    return outcome;
  }

  async hangup(callSid: string): Promise<void> {
    const call = await this.liveCall(callSid);
    await this.end(callSid, call.page_id, null);
  }

  private async end(callSid: string, pageId: string | null, digits: string | null) {
    await endCall(this.sql, callSid, digits);
    if (pageId && this.handlers) await this.handlers.status({ pageId, sid: callSid, status: 'completed', answeredBy: null, errorCode: null });
  }

  // -------------------------------------------------------------------------------------------
  // Acting as a phone on behalf of someone signed in: checked, and recorded as simulator.action.

  /** The phone `p` may play: every phone (null) for the administrator, else their own number. */
  private async ownPhone(p: Principal): Promise<{ every: true } | { every: false; phone: string | null }> {
    if ((PLAYS_EVERY_PHONE as readonly string[]).includes(p.role)) return { every: true };
    if (!(PLAYS_OWN_PHONE as readonly string[]).includes(p.role)) throw forbidden('The phone simulator is for the administrator, supervisors and safety leads.');
    return { every: false, phone: await phoneOfUser(this.sql, p.id) };
  }

  /** Throws 403 unless `p` may play `phone`. */
  async checkPlays(p: Principal, phone: string): Promise<void> {
    const own = await this.ownPhone(p);
    if (own.every || own.phone === phone) return;
    throw forbidden('You can use only your own phone in the simulator. Sign in as the administrator to play every part.');
  }

  /** The phones `p` may see: all for the administrator, only their own for a responder. */
  async visiblePhones<T extends { phone: string }>(p: Principal, phones: T[]): Promise<T[]> {
    const own = await this.ownPhone(p);
    return own.every ? phones : phones.filter((x) => x.phone === own.phone);
  }

  /** The number `p` plays alone (a responder's own), or undefined for the administrator. */
  async onlyPhoneOf(p: Principal): Promise<string | null | undefined> {
    const own = await this.ownPhone(p);
    return own.every ? undefined : own.phone;
  }

  async listAs(p: Principal, phone: string): Promise<SimMessage[]> {
    await this.checkPlays(p, phone);
    return this.list(phone);
  }

  async phonesAs(p: Principal) {
    return this.visiblePhones(p, await this.phones());
  }

  /** `p` texts Mayday from `phone`. */
  async textAs(p: Principal, phone: string, body: string): Promise<{ reply: string | null }> {
    await this.checkPlays(p, phone);
    const kind = smsKind(body);
    // The incident the text concerns: a responder's ACK names it (looked up before it changes
    // anything, as the SMS handler does); a driver's SAFE, HELP or SOS answers (or opens) the
    // driver's open incident, found afterwards.
    const user = await userByPhone(this.sql, phone);
    let incidentId: string | undefined;
    if (user && user.role !== 'driver' && kind === 'ack') {
      incidentId = (await pagedIncident(this.sql, user.id, ackOf(body)?.code ?? null))?.incident_id;
    }
    const out = await this.textFrom(phone, body);
    if (user?.role === 'driver' && (kind === 'safe' || kind === 'help' || kind === 'sos')) incidentId = (await checkinIncident(this.sql, user.id))?.id;
    await this.record(p, phone, incidentId, { action: 'sms', kind });
    return out;
  }

  /** `p` presses `digits` on a call to a phone they may play. */
  async pressAs(p: Principal, callSid: string, digits: string): Promise<{ result: string; say: string }> {
    const call = await this.callPlayedBy(p, callSid);
    const out = await this.press(callSid, digits);
    await this.record(p, call.phone, call.page_id ? await incidentOfPage(this.sql, call.page_id) : undefined, { action: 'keypress', digits });
    return out;
  }

  /** `p` hangs up a call to a phone they may play. */
  async hangupAs(p: Principal, callSid: string): Promise<void> {
    const call = await this.callPlayedBy(p, callSid);
    await this.hangup(callSid);
    await this.record(p, call.phone, call.page_id ? await incidentOfPage(this.sql, call.page_id) : undefined, { action: 'hangup' });
  }

  /** The console's demo SOS, sent as the demo driver by `p`. */
  async recordDemoSos(p: Principal, driverPhone: string, incidentId: string): Promise<void> {
    await this.record(p, driverPhone, incidentId, { action: 'demo_sos' });
  }

  private async callPlayedBy(p: Principal, callSid: string) {
    const call = await callBySid(this.sql, callSid);
    if (!call) throw notFound('call');
    await this.checkPlays(p, call.phone);
    return call;
  }

  /**
   * simulator.action on the incident the action concerns, naming who was signed in (the event's
   * actor), the phone acted as (masked, as the logs mask it) and what was done. An action that
   * concerns no incident (a text Mayday only answers with help, an ACK with nothing paged)
   * changed nothing to record on a timeline: it is logged instead, with the same facts.
   */
  private async record(p: Principal, phone: string, incidentId: string | undefined, what: SimAction): Promise<void> {
    const data = { actor: actorOf(p), actorName: p.name, phone: maskPhone(phone), ...what } as Record<string, string>;
    if (incidentId) await appendSimulatorAction(this.sql, incidentId, actorOf(p), data);
    else this.handlers?.log.info({ simulator: data }, 'simulator action concerning no incident');
  }

  /** Calls nobody answered with a digit end after ringSeconds (the engine calls this every tick). */
  async tick(asOf: Date | null): Promise<void> {
    const stale = await unansweredCalls(this.sql, asOf, this.ringSeconds);
    for (const c of stale) await this.end(c.sid, c.page_id, null);
  }
}
