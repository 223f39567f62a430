/**
 * What is due, and when: one SQL function, next_due(). The engine's tick(asOf) acts on exactly
 * what it names, a Worker's per-incident timer keeps it (with the Pager telling it which incident
 * has new work), and on Node a retry scheduled for later moves the engine's own timer.
 */
import { describe, expect, it } from 'vitest';
import { incidentOfPage, incidentsDueWithin, nextDue, nextDueOfAll } from '../src/escalation/store';
import { onStatus } from '../src/paging/callbacks';
import type { PageRef } from '../src/paging/pager';
import { testApp } from './helpers/app';
import { mockTwilio, TWILIO } from './helpers/twilio';
import { square, world } from './helpers/world';

const twilio = mockTwilio();

async function scene() {
  const refs: PageRef[] = [];
  const t = await testApp({ onScheduled: (r) => refs.push(r) });
  const w = world(t);
  const zone = await w.zone('Zone', square(36.37, -94.2), { checkInSeconds: 300 });
  const a = await w.responder('supervisor', [zone.id], 'Ava');
  const driver = await w.driver('Dana');
  expect((await t.put(`/v1/zones/${zone.id}/rotation`, { responderIds: [a.id], shiftMinutes: 600, startsAt: new Date(Date.now() - 60_000).toISOString() }, w.admin)).status).toBe(200);
  expect((await t.put(`/v1/zones/${zone.id}/escalation-policy`, { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }, { afterSeconds: 20, notify: ['zone_supervisors'], channels: ['sms'] }] }, w.admin)).status).toBe(200);
  const settle = async () => {
    await t.deps.pager.idle();
    await t.simulator!.idle();
  };
  return { t, w, a, driver, refs, settle };
}

const row = async (sql: Awaited<ReturnType<typeof scene>>['t']['sql'], id: string) =>
  (await sql<{ esc_next_at: Date | null; checkin_next_at: Date | null }[]>`SELECT esc_next_at, checkin_next_at FROM incidents WHERE id = ${id}`)[0];

describe('an incident’s next deadline (a Worker’s Durable Object alarm)', () => {
  it('follows the escalation step, then the check-ins once acknowledged, and ends with the incident', async () => {
    const s = await scene();
    const res = await s.w.sos(s.driver);
    expect(res.status).toBe(201);
    const id = res.body.incident.id as string;
    await s.settle();
    // The SOS told the timer which incident it queued pages for.
    expect(s.refs).toContainEqual({ incidentId: id });
    const r = await row(s.t.sql, id);
    expect(await nextDue(s.t.sql, id)).toMatchObject({ at: r.esc_next_at, active: true }); // step 2 at +20 s, before the first check-in at +30 s
    expect(await incidentsDueWithin(s.t.sql, 60)).toEqual([id]);
    expect(await incidentsDueWithin(s.t.sql, 5)).toEqual([]);

    expect((await s.t.post(`/v1/incidents/${id}/ack`, {}, s.a.token)).status).toBe(200);
    expect(await nextDue(s.t.sql, id)).toMatchObject({ at: r.checkin_next_at, active: true });

    expect((await s.t.post(`/v1/incidents/${id}/resolve`, { disposition: 'resolved_safe' }, s.a.token)).status).toBe(200);
    expect(await nextDue(s.t.sql, id)).toMatchObject({ at: null, active: false });
    expect(await incidentsDueWithin(s.t.sql, 3600)).toEqual([]);
    expect(await nextDue(s.t.sql, '00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('counts pages: a retry at its time, a page just queued 5 s on (its sender has it), a send at its lease', async () => {
    const s = await scene();
    const id = (await s.w.sos(s.driver)).body.incident.id as string;
    await s.settle();
    const [page] = await s.t.sql<{ id: string }[]>`SELECT id FROM pages WHERE incident_id = ${id} LIMIT 1`;
    expect(await incidentOfPage(s.t.sql, page.id)).toBe(id);
    expect(await incidentOfPage(s.t.sql, 'not-a-page')).toBeUndefined();

    const [{ at: retry }] = await s.t.sql<{ at: Date }[]>`UPDATE pages SET status = 'queued', not_before = now() + interval '7 seconds' WHERE id = ${page.id} RETURNING not_before AS at`;
    const d = (await nextDue(s.t.sql, id))!;
    expect(d.at).toEqual(retry);
    // How far away, in the database's own time (a Durable Object adds it to its clock).
    expect(d.inMs).toBeGreaterThan(6_000);
    expect(d.inMs).toBeLessThanOrEqual(7_000);

    // A retry whose time has come (the request that scheduled it is over): due at once.
    await s.t.sql`UPDATE pages SET not_before = now() - interval '1 second' WHERE id = ${page.id}`;
    expect((await nextDue(s.t.sql, id))!.inMs).toBe(0);

    // A page just queued and due now: its sender has it; 5 s after it was queued, look.
    const [fresh] = await s.t.sql<{ created_at: Date }[]>`
      UPDATE pages SET tries = 0, created_at = now(), not_before = now() WHERE id = ${page.id} RETURNING created_at`;
    const graced = (await nextDue(s.t.sql, id))!;
    expect(graced.at!.getTime()).toBe(fresh.created_at.getTime() + 5_000);
    expect(graced.inMs).toBeGreaterThan(3_000);

    const [{ at: lease }] = await s.t.sql<{ at: Date }[]>`UPDATE pages SET status = 'sending', lease_until = now() + interval '3 seconds' WHERE id = ${page.id} RETURNING lease_until AS at`;
    expect((await nextDue(s.t.sql, id))!.at).toEqual(lease);
  });

  it('a status callback that can queue a page (a failure, voicemail) names its page, so a Worker can arm its incident’s timer', async () => {
    const s = await scene();
    const id = (await s.w.sos(s.driver)).body.incident.id as string;
    await s.settle();
    const [page] = await s.t.sql<{ id: string; sid: string }[]>`SELECT id, sid FROM pages WHERE incident_id = ${id} AND channel = 'sms'`;
    s.refs.length = 0;
    await onStatus(s.t.deps, { pageId: page.id, sid: page.sid, status: 'delivered', answeredBy: null, errorCode: null });
    expect(s.refs).toEqual([]); // moves no deadline
    await onStatus(s.t.deps, { pageId: page.id, sid: page.sid, status: 'undelivered', answeredBy: null, errorCode: '30003' });
    expect(s.refs).toEqual([{ pageId: page.id }]);
    await s.settle();
  });
});

describe('tick(asOf) acts on what next_due() names, and only then', () => {
  const before = (d: Date) => new Date(d.getTime() - 1);

  it('an escalation step, then a check-in request, then its deadline: nothing a millisecond before, each at its time', async () => {
    const s = await scene();
    const id = (await s.w.sos(s.driver)).body.incident.id as string;
    await s.settle();

    const step = (await nextDue(s.t.sql, id))!.at!;
    expect((await nextDueOfAll(s.t.sql, null)).at).toEqual(step);
    expect((await s.t.engine.tick(before(step))).escalated).toBe(0);
    expect((await s.t.engine.tick(step)).escalated).toBe(1);
    await s.settle();

    expect((await s.t.post(`/v1/incidents/${id}/ack`, {}, s.a.token)).status).toBe(200);
    const ask = (await nextDue(s.t.sql, id))!.at!;
    expect(await s.t.engine.tick(before(ask))).toMatchObject({ escalated: 0, checkins: 0 });
    expect((await s.t.engine.tick(ask)).checkins).toBe(1);
    await s.settle();

    const deadline = (await nextDue(s.t.sql, id))!.at!;
    expect(deadline.getTime()).toBeGreaterThan(ask.getTime());
    expect((await s.t.engine.tick(before(deadline))).checkins).toBe(0);
    expect((await s.t.engine.tick(deadline)).checkins).toBe(1); // checkin.missed
    await s.settle();
  });

  it('the tick reports next_due() of all incidents as its next deadline, pages included', async () => {
    const s = await scene();
    const id = (await s.w.sos(s.driver)).body.incident.id as string;
    await s.settle();
    const [page] = await s.t.sql<{ id: string }[]>`SELECT id FROM pages WHERE incident_id = ${id} LIMIT 1`;
    // A retry due before the escalation's next step is the next deadline.
    const [{ at: retry }] = await s.t.sql<{ at: Date }[]>`
      UPDATE pages SET status = 'queued', not_before = now() + interval '3 seconds' WHERE id = ${page.id} RETURNING not_before AS at`;
    const r = await s.t.engine.tick(undefined, false);
    expect(r.nextDeadline).toEqual(retry);
    await s.settle();
  });
});

describe('a retry for later moves the Node engine’s timer (the sender keeps no timer of its own)', () => {
  it('a Twilio 429 on the first SMS: the retry goes out after its backoff, not at the next sweep', async () => {
    // A sweep of a minute: only the nudge from the sender can bring the engine back in time.
    const t = await testApp({ twilio: TWILIO, sweepMs: 60_000 });
    const w = world(t);
    const zone = await w.zone('Zone', square(36.37, -94.2));
    const a = await w.responder('supervisor', [zone.id], 'Ava');
    const driver = await w.driver('Dana');
    await w.rotation(zone.id, [a.id]);
    expect((await t.put(`/v1/zones/${zone.id}/escalation-policy`, { steps: [{ afterSeconds: 0, notify: ['oncall'], channels: ['sms'] }] }, w.admin)).status).toBe(200);
    await t.engine.start();
    await t.engine.firstRun;
    twilio.fail('sms', { status: 429 }, a.phone);
    const pressed = Date.now();
    expect((await w.sos(driver)).status).toBe(201);
    await expect.poll(() => twilio.to(a.phone).length, { timeout: 10_000, interval: 50 }).toBe(1);
    // The backoff after a first failure is at most 250 ms; the engine's tick follows it.
    expect(Date.now() - pressed).toBeLessThan(5_000);
    await t.engine.stop();
  });
});
