// When a page does not get through: voicemail, an undelivered SMS or an invalid number (the
// other channel at once), Twilio's 429, 503 and 500, a timeout (an unknown outcome and a new
// attempt), and status callbacks that come late, twice or out of order.
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/escalation/engine';
import { at, events, pagingTests, POLICY, sos, status, unknownThenNewAttempt } from './helpers/paging';
import { amd, callStatus, messageStatus, postSigned, press, TWILIO } from './helpers/twilio';
import { sleep, until } from './helpers/wait';

const { twilio, scene } = pagingTests();

describe('voicemail is not an acknowledgement', () => {
  it('AnsweredBy=machine_* records page.voicemail and the call is tried again after a short delay', async () => {
    const s = await scene({ policy: POLICY.oncallVoice });
    const inc = await sos(s);
    await s.t.engine.tick();
    const call = twilio.expectCall(s.a.phone);
    await callStatus(s.t, call, 'in-progress');
    expect((await amd(s.t, call, 'machine_end_beep')).status).toBe(204);
    await callStatus(s.t, call, 'completed');
    expect(await status(s, inc.id)).toBe('open');
    const vm = await events(s, inc.id, 'page.voicemail');
    expect(vm).toHaveLength(1);
    expect(vm[0].data.answeredBy).toBe('machine_end_beep');
    await s.t.engine.tick(at(inc, 20));
    twilio.expectNothingElse();
    await s.t.engine.tick(at(inc, 45));
    const again = twilio.expectCall(s.a.phone);
    expect(again.pageId).not.toBe(call.pageId);
    const [p] = await s.t.sql`SELECT purpose, attempt FROM pages WHERE id = ${again.pageId}`;
    expect(p).toMatchObject({ purpose: 'retry', attempt: 2 });
  });

  it('a completed call without a keypress counts as voicemail too', async () => {
    const s = await scene({ policy: POLICY.oncallVoice });
    const inc = await sos(s);
    await s.t.engine.tick();
    const call = twilio.expectCall(s.a.phone);
    await callStatus(s.t, call, 'in-progress', { AnsweredBy: 'human' });
    await callStatus(s.t, call, 'completed');
    expect(await events(s, inc.id, 'page.voicemail')).toHaveLength(1);
    expect(await status(s, inc.id)).toBe('open');
    await s.t.engine.tick(at(inc, 45));
    twilio.expectCall(s.a.phone);
  });
});

describe('failures', () => {
  it('an undelivered SMS makes an immediate call to the same person', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    const inc = await sos(s);
    await s.t.engine.tick();
    const sms = twilio.expectSms(s.a.phone);
    twilio.expectNothingElse();
    expect((await messageStatus(s.t, sms, 'undelivered', { ErrorCode: '30003' })).status).toBe(204);
    await s.t.engine.tick(); // what the wake-up started
    twilio.expectCall(s.a.phone);
    const [failed] = await events(s, inc.id, 'page.failed');
    expect(failed.data).toMatchObject({ pageId: sms.pageId, errorCode: '30003', failoverPageId: expect.any(String) });
  });

  it('an invalid number (21211) fails the page and tries the other channel at once; other recipients are unaffected', async () => {
    const s = await scene({ policy: POLICY.supervisorsSms });
    twilio.fail('sms', { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." }, s.b.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectSms(s.c.phone);
    twilio.expectCall(s.b.phone);
    const [failed] = await events(s, inc.id, 'page.failed');
    expect(failed.data).toMatchObject({ recipientId: s.b.id, errorCode: '21211' });
  });

  it('a number refused on both channels fails over once, not back and forth (found by chaos:twilio)', async () => {
    const s = await scene({ policy: POLICY.supervisorsSms });
    const invalid = { status: 400, code: 21211, message: "The 'To' number is not a valid phone number." };
    twilio.fail('any', invalid, s.b.phone);
    twilio.fail('any', invalid, s.b.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    twilio.expectSms(s.c.phone);
    // The SMS page, its failover call, and nothing more: before, a failover of the failover followed at once, and so on.
    expect(twilio.requests.filter((r) => r.to === s.b.phone).map((r) => r.kind)).toEqual(['sms', 'call']);
    const failed = await events(s, inc.id, 'page.failed');
    expect(failed.map((e) => [e.data.channel, e.data.errorCode, e.data.failoverPageId === undefined])).toEqual([['sms', '21211', false], ['voice', '21211', true]]);
  });

  it('429 then success: exactly one message, after a backoff', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    twilio.fail('sms', { status: 429, code: 20429, message: 'Too Many Requests' }, s.a.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    // The retry goes after a jittered backoff: by the sender's own timer, or this later tick.
    await s.t.engine.tick(new Date(Date.now() + 5_000));
    twilio.expectSms(s.a.phone);
    expect(twilio.requests.filter((r) => r.to === s.a.phone)).toHaveLength(2);
    expect(await events(s, inc.id, 'page.sent')).toHaveLength(1);
    expect(await events(s, inc.id, 'page.failed')).toHaveLength(0);
  });

  it('a retry that came due goes out during a tick on the clock, not after its check-ins and readiness', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    twilio.fail('sms', { status: 429, code: 20429, message: 'Too Many Requests' }, s.a.phone);
    await sos(s);
    await s.t.engine.tick(); // refused: queued again after a backoff of at most 200 ms
    await sleep(400);
    // A tick whose readiness phase (before the drain) does not end until told to.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const engine = new Engine({ sql: s.t.sql, log: s.t.deps.log, pager: s.t.deps.pager, readiness: async () => (await held, 0) });
    const ticking = engine.tick();
    try {
      await until('the retry at Twilio while the tick is still in its readiness phase',
        async () => twilio.requests.filter((r) => r.to === s.a.phone).length === 2, 3_000);
    } finally {
      release();
      await ticking;
    }
    twilio.expectSms(s.a.phone);
  });

  it('a 503 is retried the same way', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    twilio.fail('sms', { status: 503, message: 'Service Unavailable' }, s.a.phone);
    const inc = await sos(s);
    await s.t.engine.tick();
    await s.t.engine.tick(new Date(Date.now() + 5_000));
    twilio.expectSms(s.a.phone);
    expect(await events(s, inc.id, 'page.sent')).toHaveLength(1);
  });

  it('a 500 may have been taken after all: an unknown outcome and a new attempt, never the same attempt twice', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    twilio.fail('sms', { status: 500, code: 20500, message: 'Internal Server Error' }, s.a.phone);
    const { unknown } = await unknownThenNewAttempt(s);
    expect(twilio.requests.filter((r) => r.pageId === unknown.data.pageId)).toHaveLength(1);
  });

  it('a timeout is recorded as an unknown outcome, not re-sent as the same attempt; a new attempt follows', async () => {
    const s = await scene({ policy: POLICY.oncallSms, twilioTimeoutMs: 300 });
    twilio.fail('sms', 'hang', s.a.phone);
    const { unknown, sms } = await unknownThenNewAttempt(s);
    expect(sms.pageId).not.toBe(unknown.data.pageId);
  });

  it('a keypress on a call whose send was never recorded records it (its CallSid) and acknowledges; another call\'s sid does not', async () => {
    const s = await scene({ policy: POLICY.oncallVoice, twilioTimeoutMs: 300 });
    twilio.fail('call', 'hang', s.a.phone); // Twilio took the call; its answer never came
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectNothingElse();
    const [unknown] = await events(s, inc.id, 'page.unknown');
    const pageId = unknown.data.pageId as string;
    const sid = 'CA' + 'f'.repeat(32);
    const pressed = await postSigned(s.t, `/webhooks/twilio/voice/gather?page=${pageId}`, { CallSid: sid, Digits: '1', AccountSid: TWILIO.accountSid });
    expect(pressed.status).toBe(200);
    expect(await status(s, inc.id)).toBe('acknowledged');
    const [p] = await s.t.sql`SELECT sid, status FROM pages WHERE id = ${pageId}`;
    expect(p).toEqual({ sid, status: 'delivered' });
    expect((await events(s, inc.id, 'page.sent')).map((e) => e.data.sid)).toEqual([sid]);
    // The new attempt the unknown outcome queued is not needed after all.
    const [retry] = await s.t.sql`SELECT status FROM pages WHERE id = ${unknown.data.retryPageId}`;
    expect(retry.status).toBe('canceled');

    // A keypress naming another call than the one recorded is not this page's.
    const s2 = await scene({ policy: POLICY.oncallVoice });
    const inc2 = await sos(s2);
    await s2.t.engine.tick();
    const call = twilio.expectCall(s2.a.phone);
    await postSigned(s2.t, `/webhooks/twilio/voice/gather?page=${call.pageId}`, { CallSid: 'CA' + 'e'.repeat(32), Digits: '1', AccountSid: TWILIO.accountSid });
    expect(await status(s2, inc2.id)).toBe('open');
    expect((await press(s2.t, call, '1')).status).toBe(200);
    expect(await status(s2, inc2.id)).toBe('acknowledged');
    twilio.expectNothingElse();
  });

  it('status callbacks late, twice or out of order: the stored status only moves forward', async () => {
    const s = await scene({ policy: POLICY.oncallSms });
    const inc = await sos(s);
    await s.t.engine.tick();
    const sms = twilio.expectSms(s.a.phone);
    await messageStatus(s.t, sms, 'delivered');
    await messageStatus(s.t, sms, 'sent');
    await messageStatus(s.t, sms, 'delivered');
    await messageStatus(s.t, sms, 'queued');
    const [p] = await s.t.sql`SELECT status, twilio_status FROM pages WHERE id = ${sms.pageId}`;
    expect(p).toEqual({ status: 'delivered', twilio_status: 'delivered' });
    expect(await events(s, inc.id, 'page.delivered')).toHaveLength(1);
    // A late "undelivered" after "delivered" cannot fail it either.
    await messageStatus(s.t, sms, 'undelivered');
    expect(await events(s, inc.id, 'page.failed')).toHaveLength(0);
    twilio.expectNothingElse();
  });
});
