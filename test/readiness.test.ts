/**
 * On-call readiness: at a shift's start the responder coming on call is texted "You are on call
 * for <zone> until <time>. Reply OK <code>" (called when the text is refused), OK confirms, and
 * with no OK within the zone's grace the safety leads are paged. The engine's tick(asOf) decides,
 * so the tests move asOf instead of waiting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../src/db/client';
import { SCRIPT } from '../src/console/assets';
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
async function scene(o: { twilioTimeoutMs?: number } = {}): Promise<Scene> {
  const t = await testApp({ twilio: { ...TWILIO, timeoutMs: o.twilioTimeoutMs ?? TWILIO.timeoutMs } });
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

  it('a text whose outcome is unknown (Twilio timed out) is sent again within 1 s', async () => {
    const s = await scene({ twilioTimeoutMs: 300 });
    twilio.fail('sms', 'hang', s.a.phone);
    await s.t.engine.tick(s.start);
    const asked = twilio.requests.filter((r) => r.to === s.a.phone);
    expect(asked.map((r) => r.kind)).toEqual(['sms', 'sms']);
    // The second attempt starts within a second of the first's timeout (300 ms).
    expect(asked[1].at - asked[0].at).toBeLessThan(300 + 1_000);
    const [check] = await checks(s.t);
    expect(check.asked_via).toBe('sms');
    twilio.expectSms(s.a.phone, new RegExp(`Reply OK ${check.code}$`));
    expect(s.t.logs.lines.some((l) => l.includes('readiness text or call not seen taken'))).toBe(true);
  });

  it('text and call never seen taken (every attempt timed out): the call may have rung, so the grace runs and a later OK confirms', async () => {
    const s = await scene({ twilioTimeoutMs: 200 });
    for (let i = 0; i < 3; i++) twilio.fail('sms', 'hang', s.a.phone);
    for (let i = 0; i < 3; i++) twilio.fail('call', 'hang', s.a.phone);
    await s.t.engine.tick(s.start);
    expect(twilio.requests.filter((r) => r.to === s.a.phone).map((r) => r.kind)).toEqual(['sms', 'sms', 'sms', 'call', 'call', 'call']);
    const [check] = await checks(s.t);
    expect(check.asked_via).toBe('voice');
    expect((await s.t.engine.tick(ms(s.start, 300_000 - 1))).readiness).toBe(0);
    expect(replyOf((await smsFrom(s.t, s.a.phone, `OK ${check.code}`)).text)).toMatch(/^Mayday: thank you, you are confirmed on call for Downtown/);
  });

  it('text and call both refused: nobody was asked, so the safety lead is paged at once', async () => {
    const s = await scene();
    twilio.fail('sms', { status: 400, code: 21211, message: 'invalid number' }, s.a.phone);
    twilio.fail('call', { status: 400, code: 21211, message: 'invalid number' }, s.a.phone);
    await s.t.engine.tick(s.start);
    const [check] = await checks(s.t);
    expect(check.asked_via).toBe('none');
    twilio.expectSms(s.lead.phone, /no tiene guardia confirmada/);
    expect(check.missed_at).toEqual(s.start);
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

  it('an override beginning exactly at a shift start already checked: the check is replaced, with a new code, for the new responder', async () => {
    const s = await scene();
    await s.t.engine.tick(s.start);
    twilio.expectSms(s.a.phone);
    const [old] = await checks(s.t);
    const cy = await responder(s.t, [s.zone.id], 'Cy');
    const to = ms(s.start, 30 * 60_000);
    expect((await s.t.post(`/v1/zones/${s.zone.id}/overrides`, { responderId: cy.id, from: s.start.toISOString(), to: to.toISOString() }, ADMIN_TOKEN)).status).toBe(201);
    expect((await s.t.engine.tick(ms(s.start, 1_000))).readiness).toBe(1);
    const all = await checks(s.t);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ responder_id: cy.id, reason: 'override', shift_start: s.start, shift_end: to, asked_via: 'sms', confirmed_at: null });
    expect(all[0].code).not.toBe(old.code);
    twilio.expectSms(cy.phone, new RegExp(`until ${utc(to)}\\. Reply OK ${all[0].code}$`));
    // A's old code confirms nothing now; Cy's does.
    expect(replyOf((await smsFrom(s.t, s.a.phone, `OK ${old.code}`)).text)).toMatch(/is not one of your on-call checks/);
    expect(replyOf((await smsFrom(s.t, cy.phone, `OK ${all[0].code}`)).text)).toMatch(/^Mayday: thank you, you are confirmed/);
    // An override for the same responder at a checked start changes nothing.
    expect((await s.t.post(`/v1/zones/${s.zone.id}/overrides`, { responderId: cy.id, from: s.start.toISOString(), to: ms(s.start, 20 * 60_000).toISOString() }, ADMIN_TOKEN)).status).toBe(201);
    expect((await s.t.engine.tick(ms(s.start, 2_000))).readiness).toBe(0);
    expect((await checks(s.t))[0]).toMatchObject({ responder_id: cy.id, code: all[0].code });
    expect((await checks(s.t))[0].confirmed_at).not.toBeNull();
  });

  it('readiness failing does not abort the tick: it is logged, and the rest of the tick runs', async () => {
    const s = await scene();
    let ranOnTick = false;
    const engine = new Engine({
      sql: s.t.sql, log: s.t.deps.log, pager: s.t.deps.pager,
      readiness: async () => { throw new Error('readiness broke'); },
      onTick: async () => { ranOnTick = true; },
    });
    const r = await engine.tick(s.start);
    expect(r.readiness).toBe(0);
    expect(ranOnTick).toBe(true);
    expect(s.t.logs.lines.some((l) => l.includes('on-call readiness failed') && l.includes('readiness broke') && l.includes('"level":50'))).toBe(true);
  });

  it('a late OK (after the safety leads were paged, or after the shift ended) confirms nothing; the report counts the shift missed only', async () => {
    const s = await scene();
    await s.t.engine.tick(s.start);
    twilio.expectSms(s.a.phone);
    const [check] = await checks(s.t);
    await s.t.engine.tick(ms(s.start, 300_000));
    twilio.expectSms(s.lead.phone, /no tiene guardia confirmada/);
    expect(replyOf((await smsFrom(s.t, s.a.phone, `OK ${check.code}`)).text)).toBe(`Mayday: on-call check OK ${check.code} is over; it was not confirmed.`);
    expect((await checks(s.t))[0]).toMatchObject({ confirmed_at: null, missed_at: ms(s.start, 300_000) });
    const res = await s.t.get(`/v1/reports/readiness?from=${ms(s.start, -HOUR).toISOString()}&to=${ms(s.start, HOUR).toISOString()}`, ADMIN_TOKEN);
    expect(res.body.weeks).toEqual([expect.objectContaining({ shifts: 1, confirmed: 0, medianSecondsToConfirm: null, missed: 1 })]);

    // B's shift: asked, not missed yet, but the shift is over (as if B replied a day later): late too, in Spanish.
    const bStart = ms(s.start, SHIFT);
    await s.t.engine.tick(bStart);
    twilio.expectSms(s.b.phone);
    const b = (await checks(s.t))[1];
    await s.t.sql`UPDATE readiness_checks SET shift_end = now() - interval '1 second' WHERE code = ${b.code}`;
    expect(replyOf((await smsFrom(s.t, s.b.phone, `OK ${b.code}`)).text)).toBe(`Mayday: la guardia OK ${b.code} ya se cerró; no quedó confirmada.`);
    expect((await checks(s.t))[1].confirmed_at).toBeNull();
  });

  it('next_due() names the next shift start, and then the grace’s end', async () => {
    const s = await scene();
    expect((await s.t.engine.tick(ms(s.start, -1))).nextDeadline).toEqual(s.start);
    expect((await s.t.engine.tick(s.start)).nextDeadline).toEqual(ms(s.start, 300_000));
    twilio.expectSms(s.a.phone);
  });
});

describe('the page about a missed check is never silent', () => {
  /** The scene with A asked at the start and the grace over: the tick at `graceEnd` pages. */
  async function missed() {
    const s = await scene();
    await s.t.engine.tick(s.start);
    twilio.expectSms(s.a.phone);
    return { ...s, graceEnd: ms(s.start, 300_000) };
  }

  it('an unknown outcome (Twilio 500) is sent again within 1 s', async () => {
    const s = await missed();
    twilio.fail('sms', { status: 500 }, s.lead.phone);
    const started = Date.now();
    expect((await s.t.engine.tick(s.graceEnd)).readiness).toBe(1);
    const asked = twilio.requests.filter((r) => r.to === s.lead.phone);
    expect(asked.map((r) => r.kind)).toEqual(['sms', 'sms']);
    expect(Date.now() - started).toBeLessThan(1_000);
    twilio.expectSms(s.lead.phone, /no tiene guardia confirmada/);
    expect((await checks(s.t))[0].missed_at).toEqual(s.graceEnd);
    expect((await s.t.engine.tick(ms(s.graceEnd, 600_000))).readiness).toBe(0);
  });

  it('a text refused: the safety lead is called', async () => {
    const s = await missed();
    twilio.fail('sms', { status: 400, code: 21211, message: 'invalid number' }, s.lead.phone);
    await s.t.engine.tick(s.graceEnd);
    twilio.expectCall(s.lead.phone, /Downtown no tiene guardia confirmada\. Ava no confirmó su turno/);
    expect((await checks(s.t))[0].missed_at).toEqual(s.graceEnd);
  });

  it('text and call both refused: the check is missed, and the page is due again with a backoff until someone takes it', async () => {
    const s = await missed();
    twilio.fail('sms', { status: 400, code: 21211 }, s.lead.phone);
    twilio.fail('call', { status: 400, code: 21211 }, s.lead.phone);
    const r = await s.t.engine.tick(s.graceEnd);
    expect(r.readiness).toBe(1);
    expect(r.nextDeadline).toEqual(ms(s.graceEnd, 15_000));
    expect((await checks(s.t))[0].missed_at).toEqual(s.graceEnd);
    expect(s.t.logs.lines.some((l) => l.includes('nobody could be reached'))).toBe(true);
    // Not before the backoff; then again (the board says missed meanwhile), and this time it is taken.
    expect((await s.t.engine.tick(ms(s.graceEnd, 14_999))).readiness).toBe(0);
    expect((await s.t.engine.tick(ms(s.graceEnd, 15_000))).readiness).toBe(1);
    twilio.expectSms(s.lead.phone, /no tiene guardia confirmada/);
    expect((await checks(s.t))[0].missed_at).toEqual(s.graceEnd);
    expect((await s.t.engine.tick(ms(s.graceEnd, 600_000))).readiness).toBe(0);
  });

  it('no safety lead: the zone’s other supervisors are paged; nobody at all: an error is logged', async () => {
    const s = await missed();
    await s.t.sql`UPDATE users SET role = 'supervisor' WHERE id = ${s.lead.id}`;
    await s.t.engine.tick(s.graceEnd);
    // Beto (the zone's other supervisor), not Ava who missed it, nor Lucía (no longer a lead, not of the zone).
    twilio.expectSms(s.b.phone, /Downtown no tiene guardia confirmada\. Ava no ha respondido/);

    const bStart = ms(s.start, SHIFT);
    await s.t.engine.tick(bStart);
    twilio.expectSms(s.b.phone); // B's own check
    await s.t.sql`DELETE FROM responder_zones WHERE zone_id = ${s.zone.id}`;
    await s.t.engine.tick(ms(bStart, 300_000));
    expect((await checks(s.t))[1].missed_at).toEqual(ms(bStart, 300_000));
    expect(s.t.logs.lines.some((l) => l.includes('no safety lead nor other zone supervisor') && l.includes('"level":50'))).toBe(true);
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

describe('the console’s board, live', () => {
  it('readiness is in the live fragment, and a readiness change tells the open event stream, without a reload', async () => {
    const s = await scene();
    const c = await signIn(s.t, s.lead.token);
    const ac = new AbortController();
    const res = await s.t.app.request('/console/events', { headers: { cookie: `mayday_console=${c.cookies.get('mayday_console')}` }, signal: ac.signal });
    const reader = res.body!.getReader();
    const read = async () => new TextDecoder().decode((await reader.read()).value);
    try {
      expect(await read()).toContain('event: ready');
      const cy = await responder(s.t, [s.zone.id], 'Cy');
      const from = new Date(Date.now() - 60_000).toISOString();
      const to = new Date(Date.now() + 30 * 60_000).toISOString();
      expect((await s.t.post(`/v1/zones/${s.zone.id}/overrides`, { responderId: cy.id, from, to }, ADMIN_TOKEN)).status).toBe(201);
      await s.t.engine.tick();
      twilio.expectSms(cy.phone);
      expect(await read()).toContain('event: changed');
      expect(text((await c.get('/console/board')).html)).toMatch(/On-call readiness .*Downtown Waiting ?: Cy was asked/);
      await smsFrom(s.t, cy.phone, 'OK');
      expect(await read()).toContain('event: changed');
      expect(text((await c.get('/console/board')).html)).toMatch(/Downtown Confirmed ?: Cy replied OK/);
    } finally {
      ac.abort();
      await reader.cancel().catch(() => {});
    }
  });
});

describe('the board’s live line', () => {
  it('"Live · updated" gives the time in UTC, like every other time on the board', async () => {
    // The console's script, run against the least of a page: one live region and the status line.
    const status = { dataset: {} as Record<string, string>, textContent: '' };
    const region = { dataset: { live: '/console/board' }, innerHTML: '', contains: () => false };
    const listeners: Record<string, () => void> = {};
    const page = {
      document: { querySelectorAll: (q: string) => (q === '[data-live]' ? [region] : []), getElementById: (id: string) => (id === 'live' ? status : null), activeElement: null },
      window: { EventSource: true },
      EventSource: class { onerror = null; addEventListener(e: string, f: () => void) { listeners[e] = f; } },
      fetch: async () => ({ status: 200, ok: true, text: async () => '<p>board</p>' }),
      setInterval: () => 0, setTimeout, clearTimeout, navigator: {}, location: {}, CSS: {}, Date,
    };
    const tz = process.env.TZ;
    process.env.TZ = 'America/Chicago'; // a browser far from UTC
    try {
      new Function(...Object.keys(page), SCRIPT)(...Object.values(page));
      listeners.ready();
      await expect.poll(() => status.textContent).toMatch(/^Live · updated/);
      const now = new Date().toISOString();
      expect(status.textContent).toMatch(/^Live · updated \d\d:\d\d:\d\d UTC$/);
      expect(status.textContent.slice(15, 17)).toBe(now.slice(11, 13)); // the UTC hour
      expect(region.innerHTML).toBe('<p>board</p>');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
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
