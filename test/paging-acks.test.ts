// What stops the paging: an acknowledgement (a text, a keypress, the API) from someone who was
// paged, or a resolution; and a webhook that Twilio did not sign counts for nothing.
import { describe, expect, it } from 'vitest';
import { at, events, pagingTests, sos, sosPaged, status } from './helpers/paging';
import { postSigned, press, callStatus, smsFrom, TWILIO } from './helpers/twilio';
import { square } from './helpers/world';

const { twilio, scene } = pagingTests();

describe('acknowledgement stops escalation', () => {
  it('an "ack" reply from the paged phone acknowledges; no further message at any later deadline', async () => {
    const s = await scene();
    const inc = await sosPaged(s);
    const reply = await smsFrom(s.t, s.a.phone, '  ack  ');
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(new RegExp(`<Message>[^<]*#${inc.code} acknowledged`));
    expect(await status(s, inc.id)).toBe('acknowledged');
    for (const sec of [61, 121, 241, 600]) await s.t.engine.tick(at(inc, sec));
    twilio.expectNothingElse();
    const [ack] = await events(s, inc.id, 'incident.acknowledged');
    expect(ack.data).toMatchObject({ by: s.a.id, via: 'sms' });
    const view = (await s.t.get(`/v1/incidents/${inc.id}`, s.a.token)).body.incident;
    expect(view).toMatchObject({ status: 'acknowledged', acknowledgedBy: s.a.id });
  });

  it('"ACK <code>" names the incident; "1" takes the newest; case and spacing do not matter', async () => {
    const s = await scene();
    const first = await sos(s);
    const second = await sos(s);
    await s.t.engine.tick();
    twilio.forget();
    expect((await smsFrom(s.t, s.a.phone, `Ack   ${first.code}`)).text).toContain(`#${first.code} acknowledged`);
    expect(await status(s, first.id)).toBe('acknowledged');
    expect(await status(s, second.id)).toBe('open');
    expect((await smsFrom(s.t, s.a.phone, '1')).text).toContain(`#${second.code} acknowledged`);
    expect(await status(s, second.id)).toBe('acknowledged');
    expect((await smsFrom(s.t, s.a.phone, `ACK ${first.code}`)).text).toContain('already acknowledged by Ava');
  });

  it('a reply from someone who was not paged does not acknowledge; an unknown text gets a short help text, a few times an hour at most', async () => {
    const s = await scene();
    const inc = await sosPaged(s);
    expect((await smsFrom(s.t, s.c.phone, `ACK ${inc.code}`)).text).toContain('not paged');
    expect((await smsFrom(s.t, s.c.phone, 'ACK')).text).toContain('no incident was paged to you');
    expect(await status(s, inc.id)).toBe('open');
    const stranger = '+15557770001';
    expect((await smsFrom(s.t, stranger, `ACK ${inc.code}`)).text).toMatch(/<Message>Mayday: reply ACK/);
    expect(await status(s, inc.id)).toBe('open');
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push((await smsFrom(s.t, s.a.phone, 'what is this?')).text);
    expect(replies.filter((r) => r.includes('<Message>'))).toHaveLength(3); // at most 3 an hour to one number
  });

  it('a keypress of 1 on the page call acknowledges (via voice); another digit does not', async () => {
    const s = await scene();
    const inc = await sos(s);
    await s.t.engine.tick();
    twilio.expectSms(s.a.phone);
    const call = twilio.expectCall(s.a.phone);
    const two = await press(s.t, call, '2');
    expect(two.text).toContain('not acknowledged');
    expect(await status(s, inc.id)).toBe('open');
    const one = await press(s.t, call, '1');
    expect(one.status).toBe(200);
    expect(one.text).toMatch(/<Say language="en-US">Acknowledged/);
    expect(await status(s, inc.id)).toBe('acknowledged');
    const [ack] = await events(s, inc.id, 'incident.acknowledged');
    expect(ack.data).toMatchObject({ by: s.a.id, via: 'voice', pageId: call.pageId });
    await callStatus(s.t, call, 'completed', { AnsweredBy: 'human' });
    expect(await events(s, inc.id, 'page.voicemail')).toEqual([]);
    await s.t.engine.tick(at(inc, 700));
  });

  it('acknowledging through the API; acknowledging again is 409; a supervisor of another zone cannot see it', async () => {
    const s = await scene();
    const inc = await sosPaged(s);
    const res = await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.b.token);
    expect(res.status).toBe(200);
    expect(res.body.incident).toMatchObject({ status: 'acknowledged', acknowledgedBy: s.b.id });
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(409);
    const other = await s.w.zone('Other', square(10, 10));
    const stranger = await s.w.responder('supervisor', [other.id], 'Stranger');
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, stranger.token)).status).toBe(404);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.driver.token)).status).toBe(403);
    await s.t.engine.tick(at(inc, 300));
  });
});

describe('webhook signatures', () => {
  it('a forged or missing signature gets 403 and changes nothing; the secondary token is accepted', async () => {
    const s = await scene();
    const inc = await sosPaged(s);
    const forged = await postSigned(s.t, '/webhooks/twilio/sms', { From: s.a.phone, Body: 'ACK' }, 'not-the-token');
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.text).error.code).toBe('bad_signature');
    const unsigned = await s.t.app.request('/webhooks/twilio/sms', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `From=${encodeURIComponent(s.a.phone)}&Body=ACK`,
    });
    expect(unsigned.status).toBe(403);
    const [page] = await s.t.sql`SELECT id FROM pages WHERE incident_id = ${inc.id} AND channel = 'voice'`;
    const fakeGather = await postSigned(s.t, `/webhooks/twilio/voice/gather?page=${page.id}`, { Digits: '1' }, 'wrong');
    expect(fakeGather.status).toBe(403);
    expect(await status(s, inc.id)).toBe('open');
    const rotated = await postSigned(s.t, '/webhooks/twilio/sms', { From: s.a.phone, Body: 'ACK' }, TWILIO.secondaryAuthToken);
    expect(rotated.status).toBe(200);
    expect(await status(s, inc.id)).toBe('acknowledged');
  });
});

describe('resolution', () => {
  it('two responders resolving at once: one wins, the other gets 409; nothing is paged afterwards', async () => {
    const s = await scene();
    const inc = await sosPaged(s);
    const [r1, r2] = await Promise.all([
      s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'police_dispatched', note: 'unit 12' }, s.a.token),
      s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe' }, s.lead.token),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([200, 409]);
    const winner = r1.status === 200 ? r1 : r2;
    expect(winner.body.incident.status).toBe('resolved');
    expect(await events(s, inc.id, 'incident.resolved')).toHaveLength(1);
    expect((await s.t.post(`/v1/incidents/${inc.id}/ack`, undefined, s.a.token)).status).toBe(409);
    await s.t.engine.tick(at(inc, 600));
    twilio.expectNothingElse();
    expect((await s.t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'nope' }, s.a.token)).status).toBe(422);
  });
});
