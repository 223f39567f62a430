/**
 * The first check-in follows the zone: it is due after the zone's checkInSeconds or 30 s,
 * whichever is sooner; an SOS with no zone is asked at 30 s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers/app';
import { mockTwilio, TWILIO } from './helpers/twilio';
import { square, world, type Person } from './helpers/world';

const twilio = mockTwilio();
afterEach(() => twilio.expectNothingElse());

const at = (inc: { openedAt: string }, seconds: number) => new Date(Date.parse(inc.openedAt) + seconds * 1000);

let t: TestApp;
let w: ReturnType<typeof world>;

async function sos(driver: Person, onCall?: Person) {
  const res = await w.sos(driver);
  expect(res.status).toBe(201);
  await t.engine.tick();
  if (onCall) {
    twilio.expectSms(onCall.phone);
    twilio.expectCall(onCall.phone);
  }
  return res.body.incident as { id: string; openedAt: string; zoneId: string | null };
}

/** Ticks at `before` s (nothing asked) and at `due` s (the driver asked by SMS). */
async function askedAt(inc: { id: string; openedAt: string }, driver: Person, before: number, due: number) {
  await t.engine.tick(at(inc, before));
  twilio.expectNothingElse();
  const [{ next }] = await t.sql`SELECT checkin_next_at AS next FROM incidents WHERE id = ${inc.id}`;
  expect((next as Date).getTime()).toBe(at(inc, due).getTime());
  await t.engine.tick(at(inc, due));
  twilio.expectSms(driver.phone, /Reply SAFE or HELP/);
}

describe('the first check-in', () => {
  // First in this file: no zone exists yet, so the SOS has none (any zone would be the nearest).
  it('an SOS with no zone is asked at 30 s', async () => {
    t = await testApp({ twilio: TWILIO });
    w = world(t);
    const driver = await w.driver('Nomad');
    const inc = await sos(driver);
    expect(inc.zoneId).toBeNull();
    await askedAt(inc, driver, 29.9, 30);
  });

  it('a zone that checks in every 10 s asks at 10 s, not 30 s', async () => {
    const zone = await w.zone('Quick', square(36.37, -94.2), { checkInSeconds: 10 });
    const sup = await w.responder('supervisor', [zone.id], 'Ava');
    await w.rotation(zone.id, [sup.id]);
    const driver = await w.driver('Dana');
    const inc = await sos(driver, sup);
    expect(inc.zoneId).toBe(zone.id);
    await askedAt(inc, driver, 9.9, 10);
  });

  it('a zone that checks in every 300 s still asks first at 30 s', async () => {
    const zone = await w.zone('Slow', square(40.0, -90.0), { checkInSeconds: 300 });
    const sup = await w.responder('supervisor', [zone.id], 'Ben');
    await w.rotation(zone.id, [sup.id]);
    const driver = await w.driver('Dev');
    const res = await w.sos(driver, { location: { lat: 40.0, lng: -90.0, accuracyM: 10 } });
    expect(res.status).toBe(201);
    await t.engine.tick();
    twilio.expectSms(sup.phone);
    twilio.expectCall(sup.phone);
    const inc = res.body.incident as { id: string; openedAt: string; zoneId: string };
    expect(inc.zoneId).toBe(zone.id);
    await askedAt(inc, driver, 29.9, 30);
  });
});
