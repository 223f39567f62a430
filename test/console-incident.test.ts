import { beforeAll, describe, expect, it } from 'vitest';
import { utcTime } from '../src/console/format';
import { testApp, type TestApp } from './helpers/app';
import { signIn, text } from './helpers/console';
import { square, world, type Person } from './helpers/world';

/**
 * The incident page says what really followed: a voicemail's "Mayday calls again" only when a call
 * again follows, and a check-in the driver missed (not "none yet").
 */
let t: TestApp;
let w: ReturnType<typeof world>;
let ava: Person;
let driver: Person;

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  const zone = await w.zone('Downtown', square(36.37, -94.2));
  ava = await w.responder('supervisor', [zone.id], 'Ava Ortiz');
  driver = await w.driver('Dana Kim');
  await w.rotation(zone.id, [ava.id], { shiftMinutes: 600, startsAt: new Date(Date.now() - 60_000).toISOString() });
});

const settle = () => new Promise((r) => setTimeout(r, 60)); // the simulator reports delivery asynchronously
const after = (inc: { openedAt: string }, seconds: number) => new Date(Date.parse(inc.openedAt) + seconds * 1000);

/** An SOS whose first call to Ava went to voicemail (a retry queued `retryIn` s later). */
async function voicemail(retryIn = 20) {
  const inc = (await w.sos(driver)).body.incident as { id: string; openedAt: string };
  await t.engine.tick();
  await settle();
  const [call] = await t.sql`SELECT id FROM pages WHERE incident_id = ${inc.id} AND channel = 'voice' AND recipient_id = ${ava.id}`;
  await t.sql`SELECT page_voicemail(${call.id}, 'machine_start', ${retryIn}, 3)`;
  const [ev] = await t.sql`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'page.voicemail'`;
  expect(ev.data.retryPageId).toBeTruthy();
  return inc;
}

async function sentence(incidentId: string) {
  const c = await signIn(t, ava.token);
  const res = await c.get(`/console/incidents/${incidentId}`);
  expect(res.status).toBe(200);
  const s = text(res.html);
  const m = /Call to Ava Ortiz ended without a keypress \(voicemail\) — ([^·]+?) ·/.exec(s);
  expect(m, s).toBeTruthy();
  return m![1];
}

describe('a voicemail in the timeline', () => {
  it('says “Mayday calls again” while the retry call is still to come', async () => {
    const inc = await voicemail(600);
    expect(await sentence(inc.id)).toBe('not an acknowledgement; Mayday calls again');
  });

  it('says Mayday called again once the retry call was sent', async () => {
    const inc = await voicemail(20);
    await t.engine.tick(after(inc, 60));
    await settle();
    const [retry] = await t.sql`SELECT status FROM pages WHERE incident_id = ${inc.id} AND channel = 'voice' AND step = 0 AND attempt = 2`;
    expect(retry.status).not.toBe('queued');
    expect(await sentence(inc.id)).toBe('not an acknowledgement; Mayday called again');
  });

  it('does not say Mayday calls again when the incident was acknowledged before the retry call', async () => {
    const inc = await voicemail(600);
    expect((await t.post(`/v1/incidents/${inc.id}/ack`, {}, ava.token)).status).toBe(200);
    const s = await sentence(inc.id);
    expect(s).toBe('not an acknowledgement; no call again: the incident was acknowledged meanwhile');
    const [retry] = await t.sql`SELECT status FROM pages WHERE incident_id = ${inc.id} AND channel = 'voice' AND attempt = 2`;
    expect(retry.status).toBe('canceled');
  });

  it('a voicemail reported after the acknowledgement queues no retry and says so', async () => {
    const inc = (await w.sos(driver)).body.incident as { id: string };
    await t.engine.tick();
    await settle();
    expect((await t.post(`/v1/incidents/${inc.id}/ack`, {}, ava.token)).status).toBe(200);
    const [call] = await t.sql`SELECT id FROM pages WHERE incident_id = ${inc.id} AND channel = 'voice' AND recipient_id = ${ava.id}`;
    await t.sql`SELECT page_voicemail(${call.id}, 'machine_start', 20, 3)`;
    const [ev] = await t.sql`SELECT data FROM incident_events WHERE incident_id = ${inc.id} AND type = 'page.voicemail'`;
    expect(ev.data.retryPageId).toBeUndefined();
    expect(await sentence(inc.id)).toBe('not an acknowledgement; no call again: the incident was already acknowledged');
  });
});

describe('the incident page’s last check-in', () => {
  it('shows a missed check-in with its time, not “none yet”', async () => {
    const inc = (await w.sos(driver)).body.incident as { id: string; openedAt: string };
    await t.engine.tick();
    await settle();
    const c = await signIn(t, ava.token);
    const lastCheckIn = async () => /Last check-in (.*?) Location/.exec(text((await c.get(`/console/incidents/${inc.id}`)).html))![1];
    expect(await lastCheckIn()).toBe('none yet');
    await t.engine.tick(after(inc, 30)); // asked
    const [{ due }] = await t.sql`SELECT checkin_due_at AS due FROM incidents WHERE id = ${inc.id}`;
    await t.engine.tick(new Date((due as Date).getTime() + 1000)); // not answered in time
    const [missed] = await t.sql`SELECT at FROM incident_events WHERE incident_id = ${inc.id} AND type = 'checkin.missed'`;
    expect(missed).toBeTruthy();
    const words = await lastCheckIn();
    expect(words).toMatch(new RegExp(`^missed at ${utcTime((missed.at as Date).toISOString())} \\(\\s*\\d+ s ago\\)`));
    // The board's column says so too.
    const board = text((await c.get('/console/board')).html);
    expect(board).toContain(`MISSED, at ${utcTime((missed.at as Date).toISOString())}`);

    // An answer after it is the newest again.
    expect((await t.post(`/v1/incidents/${inc.id}/check-ins`, { status: 'safe' }, driver.token)).status).toBeLessThan(300);
    expect(await lastCheckIn()).toMatch(/^safe, \d+ s ago/);
  });
});
