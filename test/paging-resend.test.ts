// No silent seconds: a page whose outcome is unknown (a Twilio 5xx, a timeout, a reset connection,
// a sender that stopped) is sent again within a second as its next attempt, on the same channel,
// with page.resent and the reason; a send Twilio has not answered after the hedge time gets its
// next attempt while it still waits; a sender's leases are renewed while it sends, and a sender
// that died is known at once from its advisory lock.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/db/client';
import { expireLeases, holdSenderLock } from '../src/paging/store';
import { events, pagingTests, POLICY, sos, status } from './helpers/paging';
import { messageStatus, smsFrom, type Sent } from './helpers/twilio';

const { twilio, scene } = pagingTests();

/** The page.resent events of an incident, with the time the attempt they queued is due. */
async function resends(s: Awaited<ReturnType<typeof scene>>, incidentId: string) {
  return s.t.sql<{ reason: string; page_id: string; resend_of: string; at: Date; not_before: Date; attempt: number }[]>`
    SELECT e.data->>'reason' AS reason, p.id AS page_id, e.data->>'resendOf' AS resend_of, e.at, p.not_before, p.attempt
    FROM incident_events e JOIN pages p ON p.id = (e.data->>'pageId')::uuid
    WHERE e.incident_id = ${incidentId} AND e.type = 'page.resent' ORDER BY e.seq`;
}

describe('an unknown outcome is sent again within a second', () => {
  it.each([
    ['a Twilio 500', { status: 500, code: 20500, message: 'Internal Server Error' } as const, 'twilio_5xx'],
    ['a connection reset', 'reset' as const, 'reset'],
  ])('%s: the next attempt is due within 1 s, as page.resent with its reason, and goes out then', async (_, fault, reason) => {
    const s = await scene({ policy: POLICY.oncallSms, paging: { resendBaseMs: 250 } });
    twilio.fail('sms', fault, s.a.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    const [unknown] = await events(s, inc.id, 'page.unknown');
    const [r] = await resends(s, inc.id);
    expect(r).toMatchObject({ reason, resend_of: unknown.data.pageId, page_id: unknown.data.retryPageId, attempt: 2 });
    expect(r.not_before.getTime() - r.at.getTime()).toBeLessThanOrEqual(1_000);
    await s.t.engine.tick(new Date(r.not_before.getTime() + 1));
    expect(twilio.expectSms(s.a.phone).pageId).toBe(r.page_id);
  });

  it('a timeout: page.resent (timeout), and a late status callback for the first attempt is still recorded', async () => {
    const s = await scene({ policy: POLICY.oncallSms, twilioTimeoutMs: 300 });
    twilio.fail('sms', 'hang', s.a.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    const [r] = await resends(s, inc.id);
    expect(r.reason).toBe('timeout');
    await s.t.engine.tick(new Date(r.not_before.getTime() + 1));
    twilio.expectSms(s.a.phone);
    // Twilio had taken the first one after all: its callback names it, and it is recorded.
    const late: Sent = { kind: 'sms', sid: 'SM' + 'a'.repeat(32), to: s.a.phone, body: '', pageId: r.resend_of, params: {} };
    expect((await messageStatus(s.t, late, 'delivered')).status).toBe(204);
    const delivered = await events(s, inc.id, 'page.delivered');
    expect(delivered.map((e) => e.data.pageId)).toContain(r.resend_of);
  });

  it('with the engine running, the SMS after a 500 reaches the phone within a second or so, not at the next sweep', async () => {
    // A sweep of a minute: only the sender's nudge brings the engine back for the resend.
    const s = await scene({ policy: POLICY.oncallSms, paging: { resendBaseMs: 250 }, sweepMs: 60_000 });
    await s.t.engine.start();
    await s.t.engine.firstRun;
    twilio.fail('sms', { status: 500, code: 20500 }, s.a.phone);
    const pressed = Date.now();
    await sos(s);
    await expect.poll(() => twilio.to(s.a.phone).length, { timeout: 5_000, interval: 20 }).toBe(1);
    expect(Date.now() - pressed).toBeLessThan(2_000);
    await s.t.engine.stop();
    twilio.expectSms(s.a.phone);
  });

  it('an acknowledgement stops the resend it queued', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    twilio.fail('sms', { status: 500, code: 20500 }, s.a.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    const [r] = await resends(s, inc.id);
    expect(r.reason).toBe('twilio_5xx');
    expect((await smsFrom(s.t, s.a.phone, `ACK ${inc.code}`)).status).toBe(200);
    expect(await status(s, inc.id)).toBe('acknowledged');
    await s.t.engine.tick(new Date(r.not_before.getTime() + 1));
    const [p] = await s.t.sql<{ status: string }[]>`SELECT status FROM pages WHERE id = ${r.page_id}`;
    expect(p.status).toBe('canceled');
  });
});

describe('a send Twilio has not answered is hedged', () => {
  it('after hedgeMs the next attempt goes out while the first waits; both delivered, both on the timeline', async () => {
    const s = await scene({ policy: POLICY.oncallSms, hedgeMs: 300 });
    twilio.fail('sms', { slowMs: 900 }, s.a.phone); // the first send is taken, but answered late
    const inc = await sos(s);
    await s.t.engine.tick();
    await s.t.deps.pager.idle();
    const [r] = await resends(s, inc.id);
    expect(r).toMatchObject({ reason: 'timeout', attempt: 2 });
    const both = [twilio.expectSms(s.a.phone), twilio.expectSms(s.a.phone)];
    expect(both.map((m) => m.pageId)).toEqual([r.page_id, r.resend_of]); // the hedge was answered first
    await expect.poll(async () => (await events(s, inc.id, 'page.sent')).length).toBe(2);
    // Only the hedge: the first attempt's late answer queues nothing more.
    expect(await resends(s, inc.id)).toHaveLength(1);
  });
});

describe('a sender that stops: its pages are sent again', () => {
  /** A page of the incident put back to 'sending', leased as given. */
  async function leased(s: Awaited<ReturnType<typeof scene>>, lease: { untilSeconds: number; owner: string | null }) {
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    const [p] = await s.t.sql<{ id: string }[]>`
      UPDATE pages SET status = 'sending', sid = NULL, lease_until = now() + make_interval(secs => ${lease.untilSeconds}), lease_owner = ${lease.owner}
      WHERE incident_id = ${inc.id} AND channel = 'sms' RETURNING id`;
    return { inc, pageId: p.id };
  }

  it('a lease run out: page.resent (sender_stopped), the next attempt due at once', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    const { inc, pageId } = await leased(s, { untilSeconds: -1, owner: null });
    expect(await expireLeases(s.t.sql, 0, 3)).toBe(1);
    const [r] = await resends(s, inc.id);
    expect(r).toMatchObject({ reason: 'sender_stopped', resend_of: pageId });
    expect(r.not_before.getTime()).toBeLessThanOrEqual(r.at.getTime());
    await s.t.engine.tick();
    expect(twilio.expectSms(s.a.phone).pageId).toBe(r.page_id);
  });

  it('a sender whose advisory lock is gone (its process died) loses its pages at once, lease or not; a live one keeps them', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    const owner = randomUUID();
    const elsewhere = connect(s.t.url, { max: 1 }); // the other sender's own connection
    await holdSenderLock(elsewhere, owner);
    const { inc, pageId } = await leased(s, { untilSeconds: 30, owner });
    expect(await expireLeases(s.t.sql, 0, 3)).toBe(0); // alive: its lease stands
    await elsewhere.end({ timeout: 1 }); // it dies: its connections close, its lock goes
    expect(await expireLeases(s.t.sql, 0, 3)).toBe(1);
    const [r] = await resends(s, inc.id);
    expect(r).toMatchObject({ reason: 'sender_stopped', resend_of: pageId });
    await s.t.engine.tick();
    expect(twilio.expectSms(s.a.phone).pageId).toBe(r.page_id);
  });

  it('a slow send keeps its page: the sender renews its lease while Twilio has not answered', async () => {
    const s = await scene({ policy: POLICY.oncallSms, paging: { leaseSeconds: 2 }, twilioTimeoutMs: 6_000 });
    twilio.answerAfter(3_200); // longer than the lease: renewed every 2/3 s meanwhile
    try {
      const inc = await sos(s);
      await new Promise((r) => setTimeout(r, 2_600));
      expect(await s.t.deps.pager.recover()).toBe(0);
      await s.t.deps.pager.idle();
      expect(await events(s, inc.id, 'page.unknown')).toHaveLength(0);
      expect(await events(s, inc.id, 'page.sent')).toHaveLength(1);
    } finally {
      twilio.answerAfter(0);
    }
    twilio.expectSms(s.a.phone);
  });
});
