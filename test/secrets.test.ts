import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { maskPathPhones, maskPhone } from '../src/log';
import { ADMIN_TOKEN, testApp } from './helpers/app';
import { amd, callStatus, messageStatus, mockTwilio, press, smsFrom, TWILIO, type Sent } from './helpers/twilio';
import { nextPhone, square, world, type Person } from './helpers/world';

/**
 * A whole emergency, through the real Twilio adapter (msw stands in for Twilio's REST API),
 * logged at `trace`: every line the app wrote is then searched for the secrets it handled.
 *
 * PINs are 8 digits on purpose: a 4-digit PIN like 7193 turns up by chance inside the hex of
 * the hundreds of UUIDs a run logs (~1 in 2,000 per UUID); eight decimal digits never do, so a
 * hit is a real leak. The `time` field (epoch milliseconds) is left out of the search for the
 * same reason.
 */

const twilio = mockTwilio();

const PINS = { cancelPin: '71938264', duressPin: '48261937' };
const WRONG_PIN = '26053917';
const PINS_2 = { cancelPin: '83619407', duressPin: '59274018' };
/** Distinctive 5-decimal fixes, all inside the zone square(36.37, -94.2). */
const FIX_SOS = { lat: 36.37291, lng: -94.20883, accuracyM: 7 };
const FIX_MOVE = { lat: 36.37544, lng: -94.21376, accuracyM: 12 };
const FIX_SOS_2 = { lat: 36.36817, lng: -94.19642, accuracyM: 9 };
const FIX_SOS_3 = { lat: 36.38129, lng: -94.18457, accuracyM: 15 };
const COORDS = [FIX_SOS, FIX_MOVE, FIX_SOS_2, FIX_SOS_3].flatMap((f) => [String(f.lat), String(Math.abs(f.lng))]);

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('secrets stay out of the logs', () => {
  it('SOS → pages → status callbacks → keypress → ACK → check-ins → location → resolve, wrong PIN, cancel, duress: nothing secret is logged at trace', async () => {
    const t = await testApp({ logLevel: 'trace', twilio: TWILIO, paging: { backoffBaseMs: 20, backoffCapMs: 50 } });
    const w = world(t);
    const zone = await w.zone('Zone', square(36.37, -94.2), { checkInSeconds: 60, checkInGraceSeconds: 600 });
    const ava = await w.responder('supervisor', [zone.id], 'Ava');
    const ben = await w.responder('supervisor', [zone.id], 'Ben');
    const lee = await w.responder('safety_lead', [], 'Lee');
    const dana = await w.driver('Dana', PINS);
    const dave = await w.driver('Dave', PINS_2);
    const auditor = await w.auditor('Aud');
    const agent = await w.agent(1, 'Agt');
    for (const p of [ava, ben, lee, dana, dave]) twilio.ignore(p.phone);
    await w.rotation(zone.id, [ava.id, ben.id]);
    // A token issued again by the admin (shown once in the answer, never logged).
    const reissued = await t.req('POST', `/v1/users/${dave.id}/tokens`, { token: ADMIN_TOKEN });
    expect(reissued.status).toBe(201);
    const daveToken2: string = reissued.body.token;

    // The first SMS to Ava is refused once by Twilio (503, not taken): retried, and that is logged too.
    twilio.fail('sms', { status: 503, code: 20503, message: 'Service Unavailable' }, ava.phone);

    // 1. Dana presses SOS.
    const sos = await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'robbery', location: FIX_SOS, note: 'two men, grey van' }, dana.token);
    expect(sos.status, JSON.stringify(sos.body)).toBe(201);
    const inc = sos.body.incident as { id: string; code: number; openedAt: string };
    const at = (s: number) => new Date(Date.parse(inc.openedAt) + s * 1000);
    // The engine sends the retry once its backoff is over (the sender keeps no timer of its own).
    await until('the SMS and call to Ava', async () => {
      await t.engine.tick();
      return twilio.to(ava.phone).some((m) => m.kind === 'sms') && twilio.to(ava.phone).some((m) => m.kind === 'call');
    });
    const sms = twilio.to(ava.phone).find((m) => m.kind === 'sms') as Sent;
    const call = twilio.to(ava.phone).find((m) => m.kind === 'call') as Sent;
    expect(sms.body).toContain(`ACK ${inc.code}`);

    // 2. Twilio reports on both (signed callbacks), the call is answered by a human.
    for (const s of ['queued', 'sent', 'delivered']) expect((await messageStatus(t, sms, s)).status).toBe(204);
    for (const s of ['initiated', 'ringing', 'in-progress']) expect((await callStatus(t, call, s, { AnsweredBy: 'human' })).status).toBe(204);
    expect((await amd(t, call, 'human')).status).toBe(204);

    // 3. A wrong PIN, a location update, a check-in from the app.
    expect((await t.post(`/v1/incidents/${inc.id}/cancel`, { pin: WRONG_PIN }, dana.token)).status).toBe(403);
    expect((await t.post(`/v1/incidents/${inc.id}/locations`, FIX_MOVE, dana.token)).status).toBe(202);
    expect((await t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'need_help', note: 'they are still here' }, dana.token)).status).toBe(201);

    // 4. Escalation moves on; the check-in text goes to Dana, who answers SAFE by SMS.
    await t.engine.tick(at(61));
    await t.engine.tick(at(125));
    await until('a check-in text to Dana', () => twilio.to(dana.phone).some((m) => /SAFE/.test(m.body)));
    expect((await smsFrom(t, dana.phone, 'safe')).status).toBe(200);

    // 5. Ava presses 2 (not an acknowledgement), then texts ACK <code>.
    expect((await press(t, call, '2')).text).toMatch(/not acknowledged/);
    expect((await smsFrom(t, ava.phone, `ACK ${inc.code}`)).text).toContain('acknowledged');
    expect((await smsFrom(t, ben.phone, 'what is this')).status).toBe(200);
    expect((await smsFrom(t, nextPhone(), 'hello?')).status).toBe(200);

    // 6. Everyone reads what they may read.
    for (const token of [ADMIN_TOKEN, ava.token, lee.token, auditor.token]) {
      expect((await t.get(`/v1/incidents/${inc.id}`, token)).status).toBe(200);
      expect((await t.get(`/v1/incidents/${inc.id}/timeline`, token)).status).toBe(200);
      expect((await t.get(`/v1/incidents/${inc.id}/pages`, token)).status).toBe(200);
    }
    expect((await t.get(`/v1/incidents/${inc.id}`, dana.token)).status).toBe(200);
    expect((await t.get('/v1/incidents?status=active', dana.token)).status).toBe(200);
    // The simulator's phone paths carry a full number (the simulator is off here: 404, still logged).
    expect((await t.get(`/v1/simulator/phones/${encodeURIComponent(ava.phone)}/messages`, ADMIN_TOKEN)).status).toBe(404);

    // 7. Resolved by Ava.
    const res = await t.post(`/v1/incidents/${inc.id}/resolve`, { disposition: 'resolved_safe', note: 'driver safe at the depot' }, ava.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);

    // 8. Dana's second emergency, cancelled with the duress PIN (answers like a cancel).
    const sos2 = await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'assault', location: FIX_SOS_2 }, dana.token);
    expect(sos2.status).toBe(201);
    const inc2 = sos2.body.incident as { id: string };
    await t.engine.tick();
    const duress = await t.post(`/v1/incidents/${inc2.id}/cancel`, { pin: PINS.duressPin }, dana.token);
    expect(duress.status, JSON.stringify(duress.body)).toBe(200);
    await t.engine.tick();
    await until('the DURESS page to the safety lead', () => twilio.to(lee.phone).some((m) => /DURESS/.test(m.body)));

    // 9. Dave's emergency (his re-issued token), cancelled with his real cancel PIN; a support request.
    const sos3 = await t.post('/v1/sos', { clientRequestId: randomUUID(), kind: 'crash', location: FIX_SOS_3 }, daveToken2);
    expect(sos3.status).toBe(201);
    await t.engine.tick();
    expect((await t.post(`/v1/incidents/${sos3.body.incident.id}/cancel`, { pin: PINS_2.cancelPin }, daveToken2)).status).toBe(200);
    expect((await t.post('/v1/support-requests', { category: 'payment', text: 'my payout is late' }, dave.token)).status).toBe(201);
    expect((await t.req('POST', '/v1/support-requests/claim', { token: agent.token })).status).toBe(200);
    // A revoked token that keeps knocking.
    await t.req('DELETE', `/v1/users/${dave.id}/tokens`, { token: ADMIN_TOKEN });
    expect((await t.get('/v1/incidents', daveToken2)).status).toBe(401);
    await t.engine.tick(at(400));

    // The logs were written (at trace: every request, every page, every callback) ...
    const lines = t.logs.lines;
    const text = lines.map((l) => l.replace(/"time":\d+,?/, '')).join('\n');
    expect(lines.length).toBeGreaterThan(100);
    for (const msg of ['request', 'sos opened', 'page sent', 'page not taken; retrying', 'page status', 'keypress', 'acknowledged by sms', 'inbound sms', 'cancel request', 'resolved', 'tokens revoked']) {
      expect(lines.some((l) => JSON.parse(l).msg === msg), `a "${msg}" line`).toBe(true);
    }
    // ... phone numbers in them are masked, not dropped ...
    expect(text).toContain(`"${ava.phone.slice(0, 2)}…${ava.phone.slice(-2)}"`);

    // ... and none of the secrets is in any of them.
    const people: (Person | { token: string })[] = [ava, ben, lee, dana, dave, auditor, agent];
    const secrets: Record<string, string> = {
      'the admin token': ADMIN_TOKEN,
      ...Object.fromEntries(people.map((p, i) => [`token ${i}`, p.token])),
      'a re-issued token': daveToken2,
      'the cancel PIN': PINS.cancelPin,
      'the duress PIN': PINS.duressPin,
      'a wrong PIN': WRONG_PIN,
      'another cancel PIN': PINS_2.cancelPin,
      'another duress PIN': PINS_2.duressPin,
      'the Twilio auth token': TWILIO.authToken,
      'the secondary Twilio auth token': TWILIO.secondaryAuthToken!,
      ...Object.fromEntries(COORDS.map((c) => [`coordinate ${c}`, c])),
    };
    for (const p of [ava, ben, lee, dana, dave]) {
      secrets[`${p.name}'s phone`] = p.phone;
      secrets[`${p.name}'s phone without +`] = p.phone.slice(1);
      secrets[`${p.name}'s national number`] = p.phone.slice(2);
    }
    secrets['Mayday’s own number'] = TWILIO.fromNumber.slice(2);
    const leaks = Object.entries(secrets).flatMap(([what, secret]) => {
      const hits = lines.filter((l) => l.replace(/"time":\d+,?/, '').includes(secret));
      return hits.length ? [`${what} (${secret}) in ${hits.length} line(s), e.g. ${hits[0].slice(0, 300)}`] : [];
    });
    expect(leaks).toEqual([]);
  });
});

describe('phone numbers in logs keep their ends only, however they get there', () => {
  it('masking is idempotent: a number the code masked is not masked again to nothing by the logger', () => {
    expect(maskPhone('+15550100123')).toBe('+1…23');
    expect(maskPhone(maskPhone('+15550100123'))).toBe('+1…23');
    expect(maskPhone('+1…23+15550100123')).not.toContain('5550100');
  });

  it('a phone number in a logged request path is masked; ids and codes are not touched', () => {
    expect(maskPathPhones('/v1/simulator/phones/%2B15550100123/messages')).toBe('/v1/simulator/phones/+1…23/messages');
    expect(maskPathPhones('/v1/simulator/phones/+15550100123/sms')).toBe('/v1/simulator/phones/+1…23/sms');
    expect(maskPathPhones('/v1/simulator/phones/15550100123')).toBe('/v1/simulator/phones/15…23');
    const id = '/v1/incidents/12345678-1234-4234-8234-123456789012/timeline';
    expect(maskPathPhones(id)).toBe(id);
    expect(maskPathPhones('/v1/incidents/1042')).toBe('/v1/incidents/1042');
  });
});
