/**
 * What a Worker's per-incident timer keeps (src/engine/deadlines.ts), and the Pager telling it
 * which incident has new work: both on Node against real PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { incidentOfPage, incidentsDueWithin, nextDue } from '../src/escalation/store';
import { onStatus } from '../src/paging/callbacks';
import type { PageRef } from '../src/paging/pager';
import { testApp } from './helpers/app';
import { square, world } from './helpers/world';

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
