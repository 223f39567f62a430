// The sender: at most maxInFlight pages claimed at once, and each page sent exactly once however
// many engines share the database.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/db/client';
import { wireNode } from '../src/entry/wire';
import { createLogger } from '../src/log';
import { at, pagingTests, POLICY, sos } from './helpers/paging';
import { TWILIO } from './helpers/twilio';
import { sleep, until } from './helpers/wait';

const { twilio, scene } = pagingTests();

describe('the sender holds at most maxInFlight pages claimed', () => {
  it('claims no more than that at once; the rest stay queued and go out as sends finish', async () => {
    const s = await scene({ policy: POLICY.supervisorsBoth, maxInFlight: 2 });
    twilio.answerAfter(100, [s.a.phone, s.b.phone, s.c.phone]);
    try {
      const inc = await sos(s);
      await s.t.engine.tick();
      const pages = await s.t.sql<{ status: string }[]>`SELECT status FROM pages WHERE incident_id = ${inc.id}`;
      expect(pages.map((p) => p.status)).toEqual(Array(6).fill('sent'));
      expect(twilio.peakOpen()).toBe(2);
      for (const who of [s.a, s.b, s.c]) (twilio.expectSms(who.phone), twilio.expectCall(who.phone));
    } finally {
      twilio.answerAfter(0);
    }
  });
});

describe('pages left queued while the sender was full are not starved by later SOS', () => {
  it('room held by claims under way: the queued pages go first, and out at once when the claims end, without a tick', async () => {
    const s = await scene({ policy: POLICY.supervisorsBoth, maxInFlight: 5 });
    const pager = s.t.deps.pager;
    // Two claims under way (an escalation's, an SOS call's) hold four of the five places.
    const held = [pager.reserveRoom(2), pager.reserveRoom(2, { sos: true })];
    expect(held).toEqual([2, 2]);
    // This SOS claims one of its six pages; the sender, woken for the other five, finds no room.
    const inc = await sos(s);
    const status = async () => (await s.t.sql<{ status: string }[]>`SELECT status FROM pages WHERE incident_id = ${inc.id} ORDER BY status`).map((p) => p.status);
    await until('its claimed page sent', async () => (await status()).join() === 'queued,queued,queued,queued,queued,sent');
    await sleep(300);
    expect((await status()).join()).toBe('queued,queued,queued,queued,queued,sent');
    // Its place is free again, but the queued pages wait for room: a new SOS call does not take it.
    expect(pager.reserveRoom(2, { sos: true })).toBe(0);
    pager.releaseRoom(0, { sos: true });
    // The claims end: the queued pages go out, with no tick of the engine.
    pager.releaseRoom(held[0]);
    pager.releaseRoom(held[1], { sos: true });
    await until('the queued pages sent', async () => (await status()).every((x) => x === 'sent'), 5_000);
    for (const who of [s.a, s.b, s.c]) (twilio.expectSms(who.phone), twilio.expectCall(who.phone));
  });
});

describe('SOS calls waiting for the database hold at most half the room', () => {
  it('the other half is the sender\'s: an SOS that got no room has its pages sent while the others still wait', async () => {
    const s = await scene({ policy: POLICY.supervisorsBoth, maxInFlight: 20 });
    const pager = s.t.deps.pager;
    // SOS calls under way (waiting for a connection) reserve; together they get half the room.
    const held = [pager.reserveRoom(10, { sos: true }), pager.reserveRoom(10, { sos: true })];
    expect(held).toEqual([10, 0]);
    // So this SOS claims nothing, and its six pages go out through the sender at once, no tick.
    const inc = await sos(s);
    const status = async () => (await s.t.sql<{ status: string }[]>`SELECT status FROM pages WHERE incident_id = ${inc.id}`).map((p) => p.status);
    await until('its pages sent by the sender', async () => (await status()).every((x) => x === 'sent'), 5_000);
    for (const who of [s.a, s.b, s.c]) (twilio.expectSms(who.phone), twilio.expectCall(who.phone));
    for (const r of held) pager.releaseRoom(r, { sos: true });
  });
});

describe('several engines on one database', () => {
  it('two engines ticking at once send each page exactly once', async () => {
    const s = await scene();
    // A second instance on the same database, as wired on Node.
    const sql2 = connect(s.t.url, { max: 5 });
    const second = wireNode({ sql: sql2, log: createLogger({ level: 'silent' }), publicBaseUrl: 'https://mayday.test', twilio: TWILIO, schemaVersion: 1 });
    const incidents = [];
    for (let i = 0; i < 20; i++) incidents.push(await sos(s, { clientRequestId: randomUUID() }));
    const when = at(incidents[incidents.length - 1], 61);
    await Promise.all([s.t.engine.tick(when), second.engine.tick(when), s.t.engine.tick(when), second.engine.tick(when)]);
    await second.engine.stop();
    await sql2.end();
    const pageIds = new Set((await s.t.sql`SELECT id FROM pages WHERE incident_id = ANY(${incidents.map((i) => i.id)}::uuid[])`).map((r) => r.id));
    const perPage = new Map<string, number>();
    for (const m of twilio.accepted) if (pageIds.has(m.pageId)) perPage.set(m.pageId, (perPage.get(m.pageId) ?? 0) + 1);
    const n = pageIds.size;
    const ours = [...perPage.entries()];
    const [{ escalation }] = await s.t.sql`
      SELECT count(*)::int AS escalation FROM pages WHERE incident_id = ANY(${incidents.map((i) => i.id)}::uuid[]) AND purpose = 'page'`;
    expect(escalation).toBe(20 * 2 + 20 * 3 * 2); // step 0: A × 2 channels; step 1: A, B, C × 2 channels
    expect(ours).toHaveLength(n);
    expect(ours.filter(([, count]) => count !== 1)).toEqual([]);
    twilio.forget();
  });
});
