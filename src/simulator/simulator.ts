/**
 * The built-in phone simulator: with no Twilio credentials, pages go here instead. Messages
 * and calls are stored (shared by every instance through the database), and a simulated phone
 * replies or presses a digit through the same code a real Twilio webhook reaches.
 */
import type { CallRequest, SendResult, SmsRequest, Telephony } from '../paging/telephony';
import { handleInboundSms } from '../inbound/sms';
import type { Sql } from '../db/client';
import type { Deps } from '../deps';
import { AppError, notFound } from '../errors';
import { onKeypress } from '../inbound/keypress';
import { onStatus, onStatuses } from '../paging/callbacks';
import { Coalescer } from '../paging/coalesce';

const sid = (prefix: 'SM' | 'CA') =>
  prefix + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');

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

const toMessage = (r: any): SimMessage => ({
  sid: r.sid, kind: r.kind, direction: r.direction, phone: r.phone, body: r.body, pageId: r.page_id,
  status: r.status, digits: r.digits, createdAt: r.created_at.toISOString(), endedAt: r.ended_at?.toISOString() ?? null,
});

interface Outgoing {
  sid: string;
  kind: 'sms' | 'call';
  phone: string;
  body: string;
  pageId: string | null;
  status: string;
}

export class Simulator implements Telephony {
  readonly kind = 'simulator' as const;
  private deps?: Deps;
  /** A simulated call nobody answers with a digit ends by itself after this long (like a real one). */
  ringSeconds = 45;
  private reporting = new Set<Promise<void>>();
  /** Messages and calls to phones, stored together when many are sent at once (one insert, one commit). */
  private outgoing: Coalescer<Outgoing, void>;

  constructor(private sql: Sql) {
    const insert = async (ms: Outgoing[]): Promise<void[]> => {
      await this.sql`INSERT INTO sim_messages (sid, kind, direction, phone, body, page_id, status)
                     SELECT m.sid, m.kind, 'to_phone', m.phone, m.body, m.page_id, m.status
                     FROM unnest(${ms.map((m) => m.sid)}::text[], ${ms.map((m) => m.kind)}::text[], ${ms.map((m) => m.phone)}::text[],
                                 ${ms.map((m) => m.body)}::text[], ${ms.map((m) => m.pageId)}::uuid[], ${ms.map((m) => m.status)}::text[])
                          AS m(sid, kind, phone, body, page_id, status)`;
      return ms.map(() => undefined);
    };
    this.outgoing = new Coalescer(insert, async (m) => void (await insert([m])), { maxItems: 100, maxInFlight: 2 });
  }

  /** The simulator reports back through the app's own handlers, which need the app's deps. */
  bind(deps: Deps) {
    this.deps = deps;
  }

  private report(pageId: string | undefined, sid: string, steps: { status: string | null; answeredBy?: string }[]) {
    const deps = this.deps;
    if (!deps || !pageId) return;
    // Asynchronously, like Twilio: after the send has been answered. The steps one after the
    // other, as Twilio's callbacks would come, but in one round trip (see onStatuses()).
    const done = (async () => {
      await new Promise((r) => setTimeout(r, 1));
      await deps.pager.whenRecorded(pageId);
      await onStatuses(deps, { pageId, sid, steps: steps.map((s) => ({ status: s.status, answeredBy: s.answeredBy ?? null })) }).catch((e) =>
        deps.log.warn({ err: e }, 'simulator status report failed'),
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
    return (await this.sql`SELECT * FROM sim_messages WHERE phone = ${phone} ORDER BY created_at, sid`).map(toMessage);
  }

  async phones(): Promise<{ phone: string; name: string | null; role: string | null; messages: number; lastAt: string }[]> {
    const rows = await this.sql`
      SELECT m.phone, u.name, u.role, count(*)::int AS messages, max(m.created_at) AS last_at
      FROM sim_messages m LEFT JOIN users u ON u.phone = m.phone
      GROUP BY m.phone, u.name, u.role ORDER BY max(m.created_at) DESC`;
    return rows.map((r) => ({ phone: r.phone, name: r.name, role: r.role, messages: r.messages, lastAt: r.last_at.toISOString() }));
  }

  /** The simulated phone texts Mayday; answers Mayday's reply (if any). */
  async textFrom(phone: string, body: string): Promise<{ reply: string | null }> {
    if (!this.deps) throw new Error('simulator not bound');
    const inbound = sid('SM');
    await this.sql`INSERT INTO sim_messages (sid, kind, direction, phone, body, status) VALUES (${inbound}, 'sms', 'from_phone', ${phone}, ${body}, 'received')`;
    const reply = await handleInboundSms(this.deps, phone, body, inbound);
    if (reply) {
      await this.sql`INSERT INTO sim_messages (sid, kind, direction, phone, body, status) VALUES (${sid('SM')}, 'sms', 'to_phone', ${phone}, ${reply}, 'delivered')`;
    }
    return { reply };
  }

  private async liveCall(callSid: string) {
    const [call] = await this.sql`SELECT * FROM sim_messages WHERE sid = ${callSid} AND kind = 'call'`;
    if (!call) throw notFound('call');
    if (call.status !== 'in-progress') throw new AppError('conflict', `the call is ${call.status}`);
    return call as { sid: string; page_id: string | null };
  }

  /** A digit pressed on a simulated call; the call then ends. Answers what the call says. */
  async press(callSid: string, digits: string): Promise<{ result: string; say: string }> {
    if (!this.deps) throw new Error('simulator not bound');
    const call = await this.liveCall(callSid);
    const outcome = call.page_id ? await onKeypress(this.deps, call.page_id, digits, call.sid) : { result: 'unknown', say: '' };
    await this.end(callSid, call.page_id, digits);
    return outcome;
  }

  async hangup(callSid: string): Promise<void> {
    const call = await this.liveCall(callSid);
    await this.end(callSid, call.page_id, null);
  }

  private async end(callSid: string, pageId: string | null, digits: string | null) {
    await this.sql`UPDATE sim_messages SET status = 'completed', digits = ${digits}, ended_at = now() WHERE sid = ${callSid}`;
    if (pageId && this.deps) await onStatus(this.deps, { pageId, sid: callSid, status: 'completed', answeredBy: null, errorCode: null });
  }

  /** Calls nobody answered with a digit end after ringSeconds (the engine calls this every tick). */
  async tick(asOf: Date | null): Promise<void> {
    const stale = await this.sql<{ sid: string; page_id: string | null }[]>`
      SELECT sid, page_id FROM sim_messages
      WHERE kind = 'call' AND status = 'in-progress'
        AND created_at < coalesce(${asOf}::timestamptz, now()) - make_interval(secs => ${this.ringSeconds})
      LIMIT 100`;
    for (const c of stale) await this.end(c.sid, c.page_id, null);
  }
}
