/**
 * On-call readiness: at a shift's start the responder coming on call is texted "You are on call
 * for <zone> until <time>. Reply OK <code>" (called when the text is refused), OK confirms, and
 * with no OK within the zone's grace the safety leads are paged. The engine's tick(asOf) decides,
 * so the tests move asOf instead of waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/db/client';
import { Engine } from '../src/escalation/engine';
import { segmentsOf } from '../src/paging/segments';
import { askText, missedText, runReadiness } from '../src/readiness/service';
import { ADMIN_TOKEN, testApp, type TestApp } from './helpers/app';
import { atFileEnd } from './helpers/db';
import { signIn, text } from './helpers/console';
import { expectError } from './helpers/expect';
import { mockTwilio, postSigned, smsFrom, TWILIO } from './helpers/twilio';
import { nextPhone, square, world, type Person } from './helpers/world';

const twilio = mockTwilio();
afterEach(() => twilio.expectNothingElse());

const HOUR = 3_600_000;
/** The rotation's shifts: three hours, so that the shift under way began before the scene was made. */
const SHIFT = 3 * HOUR;
const ms = (d: Date, plus: number) => new Date(d.getTime() + plus);
const utc = (d: Date) => `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;

async function responder(t: TestApp, zoneIds: string[], name: string, role: 'supervisor' | 'safety_lead' = 'supervisor', language: 'en' | 'es' = 'en'): Promise<Person> {
  const res = await t.post('/v1/responders', { name, phone: nextPhone(), role, zoneIds, language }, ADMIN_TOKEN);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Person;
}

interface Scene {
  t: TestApp;
  zone: { id: string; name: string };
  a: Person; // on call from `start`, for an hour
  b: Person; // on call after A; speaks Spanish
  lead: Person; // safety lead; speaks Spanish
  start: Date;
}

/**
 * A zone (a 300 s readiness grace) with a rotation of three-hour shifts, A then B, whose shift A
 * begins at `start`, a whole minute about an hour from now (B is on call until then), and a
 * Spanish-speaking safety lead. The first tick looks at the zone: the shift under way when the
 * rotation was set is not asked about.
 */
async function scene(): Promise<Scene> {
  const t = await testApp({ twilio: TWILIO });
  const w = world(t);
  const zone = await w.zone('Downtown', square(36.37, -94.2), { readinessGraceSeconds: 300 });
  const a = await responder(t, [zone.id], 'Ava');
  const b = await responder(t, [zone.id], 'Beto', 'supervisor', 'es');
  const lead = await responder(t, [], 'Lucía', 'safety_lead', 'es');
  const start = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + HOUR);
  expect((await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [a.id, b.id], shiftMinutes: SHIFT / 60_000, startsAt: start.toISOString() }, ADMIN_TOKEN)).status).toBe(200);
  expect((await t.engine.tick()).readiness).toBe(0);
  return { t, zone, a, b, lead, start };
}

const checks = (t: TestApp) =>
  t.sql<{ code: number; responder_id: string; reason: string; shift_start: Date; shift_end: Date | null; asked_via: string | null; confirmed_at: Date | null; missed_at: Date | null }[]>`
    SELECT code, responder_id, reason, shift_start, shift_end, asked_via, confirmed_at, missed_at FROM readiness_checks ORDER BY shift_start`;

const oncall = async (s: Scene, at: Date) => (await s.t.get(`/v1/zones/${s.zone.id}/oncall?at=${at.toISOString()}`, ADMIN_TOKEN)).body;

/** The text of the reply Mayday's TwiML answers an inbound SMS with. */
const replyOf = (xml: string) => /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';

describe('a shift begins: the responder coming on call is asked to confirm', () => {
  it('tick(asOf) at the shift boundary sends the check (1 ms before does not); OK <code> confirms it', async () => {
    const s = await scene();
    expect((await s.t.engine.tick(ms(s.start, -1))).readiness).toBe(0);
    expect(twilio.to(s.a.phone)).toHaveLength(0);

    expect((await s.t.engine.tick(s.start)).readiness).toBe(1);
    const [check] = await checks(s.t);
    expect(check).toMatchObject({ responder_id: s.a.id, reason: 'rotation', shift_start: s.start, shift_end: ms(s.start, SHIFT), asked_via: 'sms' });
    const sms = twilio.expectSms(s.a.phone, new RegExp(`^Mayday: You are on call for Downtown until ${utc(ms(s.start, SHIFT))}\\. Reply OK ${check.code}$`));
    expect(sms.body).toContain(`OK ${check.code}`);
    // Ticking again at the same moment sends nothing more.
    expect((await s.t.engine.tick(ms(s.start, 1_000))).readiness).toBe(0);

    expect(await oncall(s, ms(s.start, 60_000))).toMatchObject({ responderId: s.a.id, confirmedAt: null });
    const reply = await smsFrom(s.t, s.a.phone, `ok ${check.code}`);
    expect(replyOf(reply.text)).toBe(`Mayday: thank you, you are confirmed on call for Downtown until ${utc(ms(s.start, SHIFT))}.`);
    const confirmed = (await oncall(s, ms(s.start, 60_000))).confirmedAt;
    expect(Date.parse(confirmed)).toBeGreaterThan(Date.now() - 60_000);
    // Before A's shift, B (not asked) has no confirmation either.
    expect(await oncall(s, ms(s.start, -60_000))).toMatchObject({ responderId: s.b.id, confirmedAt: null });

    // Confirmed: nobody is paged when the grace is over.
    expect((await s.t.engine.tick(ms(s.start, 301_000))).readiness).toBe(0);
    expect(replyOf((await smsFrom(s.t, s.a.phone, `OK ${check.code}`)).text)).toBe(`Mayday: you already confirmed OK ${check.code}.`);
  });

  it('"OK" alone confirms the one check waiting; a code that is not theirs confirms nothing', async () => {
    const s = await scene();
    await s.t.engine.tick(s.start);
    twilio.expectSms(s.a.phone, /Reply OK \d+$/);
    const [check] = await checks(s.t);
    expect(replyOf((await smsFrom(s.t, s.b.phone, `OK ${check.code}`)).text)).toBe(`Mayday: OK ${check.code} no es una de sus guardias; no se confirmó nada.`);
    expect(replyOf((await smsFrom(s.t, s.b.phone, 'OK')).text)).toBe('Mayday: no tiene ninguna guardia por confirmar; no se confirmó nada.');
    expect((await checks(s.t))[0].confirmed_at).toBeNull();
    expect(replyOf((await smsFrom(s.t, s.a.phone, ' Ok ')).text)).toMatch(/^Mayday: thank you, you are confirmed on call for Downtown/);
    expect((await checks(s.t))[0].confirmed_at).not.toBeNull();
  });

  it('no OK within the zone’s grace: the safety leads are paged, in their language', async () => {
    const s = await scene();
    await s.t.engine.tick(s.start);
    const [check] = await checks(s.t);
    twilio.expectSms(s.a.phone);
    expect((await s.t.engine.tick(ms(s.start, 300_000 - 1))).readiness).toBe(0);
    expect((await s.t.engine.tick(ms(s.start, 300_000))).readiness).toBe(1);
    twilio.expectSms(s.lead.phone, new RegExp(`^Mayday: Downtown no tiene guardia confirmada\\. Ava no ha respondido OK ${check.code} desde el ${utc(s.start)}\\.$`));
    expect((await checks(s.t))[0].missed_at).toEqual(ms(s.start, 300_000));
    // Paged once.
    expect((await s.t.engine.tick(ms(s.start, 900_000))).readiness).toBe(0);
  });

  it('a Spanish-speaking responder is asked in Spanish at the start of their shift', async () => {
    const s = await scene();
    await s.t.engine.tick(s.start);
    twilio.expectSms(s.a.phone);
    await smsFrom(s.t, s.a.phone, 'OK');
    const bStart = ms(s.start, SHIFT);
    expect((await s.t.engine.tick(bStart)).readiness).toBe(1);
    const code = (await checks(s.t))[1].code;
    twilio.expectSms(s.b.phone, new RegExp(`^Mayday: Usted queda de guardia en Downtown hasta ${utc(ms(bStart, SHIFT))}\\. Responda OK ${code}$`));
    // Beto replies OK, as in every language.
    expect(replyOf((await smsFrom(s.t, s.b.phone, `OK ${code}`)).text)).toMatch(/^Mayday: gracias, su guardia en Downtown/);
  });

  it('a text Twilio refuses at once: the responder is called with the same words', async () => {
    const s = await scene();
    twilio.fail('sms', { status: 400, code: 21211, message: 'invalid number' }, s.a.phone);
    await s.t.engine.tick(s.start);
    const [check] = await checks(s.t);
    expect(check.asked_via).toBe('voice');
    twilio.expectCall(s.a.phone, new RegExp(`You are on call for Downtown until ${utc(ms(s.start, SHIFT))}\\. To confirm, text OK ${check.code}`));
  });

  it('a text Twilio reports failed or undelivered: the responder is called instead, once', async () => {
    const s = await scene();
    await s.t.engine.tick(s.start);
    const sms = twilio.expectSms(s.a.phone);
    const [{ id }] = await s.t.sql<{ id: string }[]>`SELECT id FROM readiness_checks`;
    expect(sms.params.StatusCallback).toBe(`https://mayday.test/webhooks/twilio/status?readiness=${id}`);
    const report = (status: string) =>
      postSigned(s.t, `/webhooks/twilio/status?readiness=${id}`, { MessageSid: sms.sid, MessageStatus: status, AccountSid: TWILIO.accountSid, To: s.a.phone, ErrorCode: '30003' });
    expect((await report('sent')).status).toBe(204);
    expect(twilio.to(s.a.phone)).toHaveLength(1);
    expect((await report('undelivered')).status).toBe(204);
    twilio.expectCall(s.a.phone, /You are on call for Downtown/);
    expect((await report('failed')).status).toBe(204); // late and repeated: no second call
    expect((await checks(s.t))[0].asked_via).toBe('voice');
  });

  it('an override that puts someone on call starts the same check, at once when it has begun', async () => {
    const s = await scene();
    const cy = await responder(s.t, [s.zone.id], 'Cy');
    const from = new Date(Date.now() - 60_000);
    const to = new Date(Date.now() + 30 * 60_000);
    expect((await s.t.post(`/v1/zones/${s.zone.id}/overrides`, { responderId: cy.id, from: from.toISOString(), to: to.toISOString() }, ADMIN_TOKEN)).status).toBe(201);
    expect((await s.t.engine.tick()).readiness).toBe(1);
    const [check] = await checks(s.t);
    expect(check).toMatchObject({ responder_id: cy.id, reason: 'override', shift_end: to });
    twilio.expectSms(cy.phone, new RegExp(`until ${utc(to)}\\. Reply OK ${check.code}$`));
    await smsFrom(s.t, cy.phone, `OK ${check.code}`);
    // When it ends, B (the rotation) is back on call: a new shift, a new check.
    expect((await s.t.engine.tick(to)).readiness).toBe(1);
    twilio.expectSms(s.b.phone, /Responda OK \d+$/);
  });

  it('two engines ticking at once send one check', async () => {
    const s = await scene();
    const sql2 = connect(s.t.url, { max: 2 });
    atFileEnd(() => sql2.end({ timeout: 1 }));
    const other = new Engine({ sql: sql2, log: s.t.deps.log, pager: s.t.deps.pager, readiness: (at) => runReadiness({ ...s.t.deps, sql: sql2 }, at) });
    // Side by side: one claims the new shift's check, the other skips it.
    const [r1, r2] = await Promise.all([s.t.engine.tick(s.start), other.tick(s.start)]);
    expect(r1.readiness + r2.readiness).toBe(1);
    twilio.expectSms(s.a.phone);
    // One sending (Twilio slow to answer) while the other ticks: the claimed check is leased to the first.
    twilio.answerAfter(300);
    const bStart = ms(s.start, SHIFT);
    const first = s.t.engine.tick(bStart);
    await expect.poll(async () => (await checks(s.t)).length, { interval: 20 }).toBe(2);
    const [r3, r4] = await Promise.all([other.tick(bStart), first]);
    twilio.answerAfter(0);
    expect(r3.readiness + r4.readiness).toBe(2); // B's check, and A's missed (never confirmed)
    twilio.expectSms(s.b.phone);
    twilio.expectSms(s.lead.phone);
    expect(twilio.to(s.b.phone)).toHaveLength(1);
    expect(twilio.to(s.lead.phone)).toHaveLength(1);
  });

  it('next_due() names the next shift start, and then the grace’s end', async () => {
    const s = await scene();
    expect((await s.t.engine.tick(ms(s.start, -1))).nextDeadline).toEqual(s.start);
    expect((await s.t.engine.tick(s.start)).nextDeadline).toEqual(ms(s.start, 300_000));
    twilio.expectSms(s.a.phone);
  });
});

describe('the texts', () => {
  it('fit two SMS segments in both languages, whatever the names', () => {
    const names = ['Downtown', 'Zona Centro Histórico de Bentonville', 'Z'.repeat(200), 'Ñandú '.repeat(40), '王'.repeat(120), '👩‍👩‍👧‍👦'.repeat(30)];
    const end = new Date('2026-12-07T16:00:00Z');
    for (const lang of ['en', 'es'] as const) {
      for (const name of names) {
        for (const text of [
          askText(lang, { zone_name: name, shift_end: end, code: 2_147_483_647 }),
          askText(lang, { zone_name: name, shift_end: null, code: 104 }),
          missedText(lang, { zone_name: name, responder_name: name, asked_at: end, code: 2_147_483_647 }),
        ]) {
          expect(segmentsOf(text).segments, `${lang}: ${text}`).toBeLessThanOrEqual(2);
          expect(text).toMatch(/OK (2147483647|104)/);
        }
      }
    }
    expect(askText('es', { zone_name: 'Centro', shift_end: null, code: 104 })).toBe('Mayday: Usted queda de guardia en Centro hasta nuevo aviso. Responda OK 104');
  });
});

describe('the console’s board', () => {
  it('shows every zone’s readiness in words: waiting, confirmed, missed', async () => {
    const s = await scene();
    const uptown = (await s.t.post('/v1/zones', { name: 'Uptown', boundary: square(40, -90), readinessGraceSeconds: 5 }, ADMIN_TOKEN)).body;
    const cy = await responder(s.t, [s.zone.id], 'Cy');
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = new Date(Date.now() + 30 * 60_000).toISOString();
    expect((await s.t.post(`/v1/zones/${s.zone.id}/overrides`, { responderId: cy.id, from, to }, ADMIN_TOKEN)).status).toBe(201);
    expect((await s.t.post(`/v1/zones/${uptown.id}/overrides`, { responderId: s.a.id, from, to }, ADMIN_TOKEN)).status).toBe(201);
    await s.t.engine.tick();
    twilio.expectSms(cy.phone);
    twilio.expectSms(s.a.phone);
    const board = async () => text((await (await signIn(s.t, s.lead.token)).get('/console')).html);
    expect(await board()).toMatch(/On-call readiness .*Downtown Waiting ?: Cy was asked at \d\d:\d\d UTC and has not replied OK yet, on call until \d\d:\d\d UTC\. Uptown Waiting ?: Ava was asked/);

    await s.t.engine.tick(new Date(Date.now() + 10_000)); // Uptown's 5 s grace is over
    twilio.expectSms(s.lead.phone, /Uptown no tiene guardia confirmada/);
    await smsFrom(s.t, cy.phone, 'OK');
    expect(await board()).toMatch(/Downtown Confirmed ?: Cy replied OK at \d\d:\d\d UTC, on call until \d\d:\d\d UTC\. Uptown MISSED ?: Ava has not confirmed; the safety leads were paged at \d\d:\d\d UTC\./);
  });
});

describe('zones and the readiness report', () => {
  it('readinessGraceSeconds: 600 unless set, at least 5', async () => {
    const t = await testApp();
    const w = world(t);
    expect(await w.zone('Default')).toMatchObject({ readinessGraceSeconds: 600 });
    expect(await w.zone('Five', square(10, 10), { readinessGraceSeconds: 5 })).toMatchObject({ readinessGraceSeconds: 5 });
    expectError(await t.post('/v1/zones', { name: 'Four', boundary: square(20, 20), readinessGraceSeconds: 4 }, ADMIN_TOKEN), 422, 'validation_failed');
    expectError(await t.post('/v1/zones', { name: 'Half', boundary: square(20, 20), readinessGraceSeconds: 5.5 }, ADMIN_TOKEN), 422, 'validation_failed');
  });

  it('per zone and ISO week: shifts, confirmed, median time to confirm, missed; for the safety team only', async () => {
    const s = await scene();
    // Three shifts: A asked and confirmed after 60 s, B after 120 s, A not at all (missed).
    for (const [i, to, after] of [[0, s.a, 60], [1, s.b, 120], [2, s.a, null]] as const) {
      await s.t.engine.tick(ms(s.start, i * SHIFT));
      twilio.expectSms(to.phone);
      if (after) await s.t.sql`UPDATE readiness_checks SET confirmed_at = asked_at + make_interval(secs => ${after}), due_at = NULL WHERE responder_id = ${to.id} AND confirmed_at IS NULL`;
    }
    await s.t.engine.tick(ms(s.start, 2 * SHIFT + 300_000));
    twilio.expectSms(s.lead.phone, /no tiene guardia confirmada/);
    // The three shifts on Wednesday 2026-11-04 from 10:00 UTC, whatever day the test runs on: ISO week 45.
    await s.t.sql`UPDATE readiness_checks SET shift_start = '2026-11-04T10:00:00Z'::timestamptz + (shift_start - ${s.start}::timestamptz)`;

    const from = '2026-11-02T00:00:00Z';
    const to = '2026-11-09T00:00:00Z';
    const res = await s.t.get(`/v1/reports/readiness?from=${from}&to=${to}`, ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(res.body.weeks).toEqual([{ zoneId: s.zone.id, zoneName: 'Downtown', week: '2026-W45', shifts: 3, confirmed: 2, medianSecondsToConfirm: 90, missed: 1 }]);
    expect((await s.t.get(`/v1/reports/readiness?from=${from}&to=${to}`, s.lead.token)).status).toBe(200);
    expectError(await s.t.get(`/v1/reports/readiness?from=${from}&to=${to}`, s.a.token), 403);
    expectError(await s.t.get(`/v1/reports/readiness?from=${to}&to=${from}`, ADMIN_TOKEN), 422, 'validation_failed');
    // The range is of the shifts' starts: the next week has none.
    expect((await s.t.get('/v1/reports/readiness?from=2026-11-09&to=2026-11-16', ADMIN_TOKEN)).body.weeks).toEqual([]);
  });
});
