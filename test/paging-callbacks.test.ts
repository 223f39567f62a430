// Twilio's status callbacks and the records of sends, batched: what arrives together, or apart
// within recordLingerMs, is recorded in one transaction with the same effect as one by one.
import { describe, expect, it } from 'vitest';
import { events, pagingTests, POLICY, recordedIn, sos } from './helpers/paging';
import { messageStatus } from './helpers/twilio';

const { twilio, scene } = pagingTests();

describe('callbacks that arrive together', () => {
  it('are recorded together with the same effect as one by one: each page delivered once, a failure fails over at once', async () => {
    const s = await scene({ policy: { ...POLICY.supervisorsSms, repeatEverySeconds: 120 } });
    const inc = await sos(s);
    await s.t.engine.tick();
    const [ma, mb, mc] = [twilio.expectSms(s.a.phone), twilio.expectSms(s.b.phone), twilio.expectSms(s.c.phone)];
    // All at once (one transaction for the burst): late and repeated ones included.
    const answers = await Promise.all([
      messageStatus(s.t, ma, 'sent'), messageStatus(s.t, mb, 'sent'), messageStatus(s.t, mc, 'sent'),
      messageStatus(s.t, ma, 'delivered'), messageStatus(s.t, mb, 'delivered'), messageStatus(s.t, mc, 'undelivered'),
      messageStatus(s.t, ma, 'delivered'), messageStatus(s.t, mb, 'sent'),
    ]);
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(204));
    const delivered = await events(s, inc.id, 'page.delivered');
    expect(delivered.map((e) => e.data.pageId).sort()).toEqual([ma.pageId, mb.pageId].sort());
    const failed = await events(s, inc.id, 'page.failed');
    expect(failed.map((e) => e.data.pageId)).toEqual([mc.pageId]);
    const rows = await s.t.sql`SELECT id, status, twilio_status FROM pages WHERE id IN ${s.t.sql([ma.pageId, mb.pageId, mc.pageId])} ORDER BY id`;
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.twilio_status]]))).toEqual({
      [ma.pageId]: ['delivered', 'delivered'], [mb.pageId]: ['delivered', 'delivered'], [mc.pageId]: ['failed', 'undelivered'],
    });
    // The failover: the same person by voice, at once.
    await s.t.engine.tick();
    twilio.expectCall(s.c.phone);
    expect((await s.t.get(`/v1/incidents/${inc.id}/timeline/verify`, s.w.admin)).body.valid).toBe(true);
  });
});

describe('callbacks that arrive apart, within recordLingerMs', () => {
  it.each([
    { recordLingerMs: 500, transactions: 1, what: 'a callback 20 ms after another waits for it: both are recorded in one transaction' },
    { recordLingerMs: 0, transactions: 2, what: 'with recordLingerMs 0 the same two are two transactions' },
  ])('$what', async ({ recordLingerMs, transactions }) => {
    const s = await scene({ policy: POLICY.supervisorsSms, recordLingerMs });
    await sos(s);
    await s.t.engine.tick();
    const [ma, mb] = [twilio.expectSms(s.a.phone), twilio.expectSms(s.b.phone), twilio.expectSms(s.c.phone)];
    const first = messageStatus(s.t, ma, 'delivered');
    await new Promise((r) => setTimeout(r, 20));
    const second = messageStatus(s.t, mb, 'delivered');
    expect((await Promise.all([first, second])).map((r) => r.status)).toEqual([204, 204]);
    const delivered = await recordedIn(s, 'page.delivered');
    expect(delivered.map((r) => r.pageId).sort()).toEqual([ma.pageId, mb.pageId].sort());
    expect(new Set(delivered.map((r) => r.txid)).size).toBe(transactions);
  });
});

describe('send records that come apart, within recordLingerMs', () => {
  it.each([
    { recordLingerMs: 500, what: 'the records of two SOS sent 20 ms apart share one transaction', one: true },
    { recordLingerMs: 0, what: 'with recordLingerMs 0 they do not', one: false },
  ])('$what', async ({ recordLingerMs, one }) => {
    const s = await scene({ recordLingerMs });
    const other = await s.w.driver('Eve');
    twilio.ignore(other.phone);
    await sos(s);
    await new Promise((r) => setTimeout(r, 20));
    expect((await s.w.sos(other)).status).toBe(201);
    await s.t.engine.tick(); // and the sends' records
    for (let i = 0; i < 2; i++) (twilio.expectSms(s.a.phone), twilio.expectCall(s.a.phone));
    const sent = await recordedIn(s, 'page.sent');
    expect(sent).toHaveLength(4);
    const transactions = new Set(sent.map((r) => r.txid)).size;
    if (one) expect(transactions).toBe(1);
    else expect(transactions).toBeGreaterThan(1);
  });
});

describe('SOS intake first', () => {
  it('while an SOS call is in flight, the records of sends wait for it (at most yieldToIntakeMs); the pages themselves do not', async () => {
    const s = await scene({ policy: POLICY.supervisorsSms });
    const pager = s.t.deps.pager;
    const room = pager.reserveRoom(10, { sos: true }); // another SOS call under way
    expect(pager.intakeBusy()).toBe(true);
    const inc = await sos(s); // its first pages are claimed in its call and sent at once, no tick
    await new Promise((r) => setTimeout(r, 100));
    twilio.expectSms(s.a.phone);
    twilio.forget();
    expect(await events(s, inc.id, 'page.sent')).toEqual([]); // their records wait
    const taken = Date.now(); // Twilio took it before this
    pager.releaseRoom(room, { sos: true });
    expect(pager.intakeBusy()).toBe(false);
    await pager.idle();
    const sent = await s.t.sql<{ at: Date; data: { takenAt: string } }[]>`SELECT at, data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'page.sent'`;
    expect(sent.length).toBeGreaterThan(0);
    // The record is late; the time it gives for the send is not: Twilio's answer's, taken before it waited.
    for (const e of sent) {
      expect(Date.parse(e.data.takenAt)).toBeLessThan(taken);
      expect(e.at.getTime() - Date.parse(e.data.takenAt)).toBeGreaterThanOrEqual(80);
    }
    const [page] = await s.t.sql<{ sent_at: Date }[]>`SELECT sent_at FROM pages WHERE incident_id = ${inc.id} AND channel = 'sms'`;
    expect(page.sent_at.getTime()).toBeLessThan(taken);
  });
});
