/**
 * Free text never costs an SOS: what PostgreSQL cannot store (U+0000, a lone surrogate) becomes
 * U+FFFD, the rest is kept as sent, and the event says which field was cleaned (`cleaned`).
 * Through the app (SOS note, check-in note), a support request promoted to an incident, an
 * agent's escalation note, and the driver's texts.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers/app';
import { mockTwilio, smsFrom, TWILIO } from './helpers/twilio';
import { square, world, type Person } from './helpers/world';

const twilio = mockTwilio();
afterEach(() => twilio.forget()); // pages are not this file's subject

let t: TestApp;
let w: ReturnType<typeof world>;
let sup: Person;

beforeAll(async () => {
  t = await testApp({ twilio: TWILIO });
  w = world(t);
  const zone = await w.zone('Zone', square(36.37, -94.2));
  sup = await w.responder('supervisor', [zone.id], 'Ava');
  await w.rotation(zone.id, [sup.id]);
  twilio.ignore(sup.phone);
});

const events = (id: string, type: string) =>
  t.sql<{ data: Record<string, unknown> }[]>`SELECT data FROM incident_events WHERE incident_id = ${id} AND type = ${type} ORDER BY seq`;

// Around the NUL: a letter with a combining accent, an emoji (a surrogate pair), a newline.
const NOTE = 'he has a knife\u0000 near the cafe\u0301 \u{1F52A}\nsecond line';
const STORED = 'he has a knife\uFFFD near the cafe\u0301 \u{1F52A}\nsecond line';

describe('free text PostgreSQL cannot store', () => {
  it('an SOS whose note holds a NUL is stored (201), the rest of the note intact, and incident.opened says it was cleaned', async () => {
    const driver = await w.driver('Dana');
    twilio.ignore(driver.phone);
    const res = await w.sos(driver, { note: NOTE });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.incident.note).toBe(STORED);
    const [row] = await t.sql`SELECT note FROM incidents WHERE id = ${res.body.incident.id}`;
    expect(row.note).toBe(STORED);
    const [opened] = await events(res.body.incident.id, 'incident.opened');
    expect(opened.data).toMatchObject({ note: STORED, cleaned: ['note'] });

    // Again with the token now cached (the call that claims the first pages, not the token's own).
    const again = await w.sos(driver, { note: 'again\u0000' });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect((await events(again.body.incident.id, 'incident.opened'))[0].data).toMatchObject({ note: 'again\uFFFD', cleaned: ['note'] });

    // A clean note records nothing of the kind.
    const other = await w.driver('Dev');
    twilio.ignore(other.phone);
    const plain = await w.sos(other, { note: 'just a note' });
    expect(plain.status).toBe(201);
    expect((await events(plain.body.incident.id, 'incident.opened'))[0].data).not.toHaveProperty('cleaned');
  });

  it('a lone surrogate in a note is replaced and recorded too', async () => {
    const driver = await w.driver('Lone');
    twilio.ignore(driver.phone);
    const res = await w.sos(driver, { note: 'left \uD83D right' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.incident.note).toBe('left \uFFFD right');
    expect((await events(res.body.incident.id, 'incident.opened'))[0].data).toMatchObject({ cleaned: ['note'] });
  });

  it('a need-help check-in whose note holds a NUL is recorded (201) with the rest intact, and checkin.received says it was cleaned', async () => {
    const driver = await w.driver('Cara');
    twilio.ignore(driver.phone);
    const sos = await w.sos(driver);
    expect(sos.status).toBe(201);
    const id = sos.body.incident.id as string;
    const res = await t.post(`/v1/incidents/${id}/check-ins`, { status: 'need_help', note: NOTE }, driver.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const [received] = await events(id, 'checkin.received');
    expect(received.data).toMatchObject({ status: 'need_help', note: STORED, cleaned: ['note'] });
    const [{ severity }] = await t.sql`SELECT severity FROM incidents WHERE id = ${id}`;
    expect(severity).toBe('critical'); // the help asked for still counts
  });

  it('a safety support request whose text holds a NUL becomes an incident; the request and the incident keep the rest of the text', async () => {
    const driver = await w.driver('Sol');
    twilio.ignore(driver.phone);
    const res = await t.post('/v1/support-requests', { category: 'safety', text: `someone follows me\u0000 ${NOTE}` }, driver.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.supportRequest.text).toBe(`someone follows me\uFFFD ${STORED}`);
    const id = res.body.incidentId as string;
    const [opened] = await events(id, 'incident.opened');
    expect(opened.data).toMatchObject({ note: `Support request (safety): someone follows me\uFFFD ${STORED}`, cleaned: ['note'] });
  });

  it("an agent's escalation note with a NUL promotes the request all the same", async () => {
    const driver = await w.driver('Ari');
    twilio.ignore(driver.phone);
    const agent = await w.agent(1);
    const filed = await t.post('/v1/support-requests', { category: 'payment', text: 'my pay is late\u0000' }, driver.token);
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    expect(filed.body.supportRequest.text).toBe('my pay is late\uFFFD');
    const res = await t.post(`/v1/support-requests/${filed.body.supportRequest.id}/escalate`, { note: 'driver says\u0000 threatened' }, agent.token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const [opened] = await events(res.body.incidentId, 'incident.opened');
    expect(opened.data).toMatchObject({ note: 'Support request (payment): my pay is late\uFFFD\nAgent: driver says\uFFFD threatened', cleaned: ['note'] });
    const [linked] = await events(res.body.incidentId, 'support.linked');
    expect(linked.data).toMatchObject({ note: 'driver says\uFFFD threatened' });
  });

  it('texts with a NUL: SOS opens an incident, HELP answers the check-in', async () => {
    const driver = await w.driver('Tex');
    twilio.ignore(driver.phone);
    const sos = await smsFrom(t, driver.phone, 'SOS\u0000');
    expect(sos.status).toBe(200);
    expect(sos.text, sos.text).toMatch(/help is being reached/);
    const [inc] = await t.sql<{ id: string }[]>`SELECT id FROM incidents WHERE driver_id = ${driver.id} AND source = 'sms'`;
    expect(inc).toBeDefined();
    const help = await smsFrom(t, driver.phone, 'HELP\u0000');
    expect(help.status).toBe(200);
    expect(help.text).toMatch(/help is on the way/);
    expect((await events(inc.id, 'checkin.received'))[0].data).toMatchObject({ status: 'need_help', via: 'sms' });
  });
});
