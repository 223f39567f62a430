import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from './helpers/app';
import { expectError } from './helpers/expect';
import { square, world, type Person } from './helpers/world';

type World = ReturnType<typeof world>;
interface Agent { id: string; token: string }

/**
 * A zone with a rotation (Ava on call), a safety lead, two drivers and agents of every tier, on
 * a database of its own: the queue tests need to know everything in the queue.
 */
async function scene() {
  const t = await testApp();
  const w = world(t);
  const zone = await w.zone('Bentonville', square(36.37, -94.2));
  const ava = await w.responder('supervisor', [zone.id], 'Ava');
  const lead = await w.responder('safety_lead', [], 'Lee');
  await w.rotation(zone.id, [ava.id]);
  const dana = await w.driver('Dana');
  const eli = await w.driver('Eli');
  const tier1 = await w.agent(1, 'Tia');
  const tier1b = await w.agent(1, 'Tom');
  const tier2 = await w.agent(2, 'Uma');
  const tier3 = await w.agent(3, 'Vic');
  return { t, w, zone, ava, lead, dana, eli, tier1, tier1b, tier2, tier3 };
}

const file = (t: TestApp, driver: { token: string }, body: unknown) => t.post('/v1/support-requests', body, driver.token);
const claim = (t: TestApp, agent: { token: string }) => t.post('/v1/support-requests/claim', undefined, agent.token);
const patch = (t: TestApp, id: string, body: unknown, agent: { token: string }) => t.req('PATCH', `/v1/support-requests/${id}`, { token: agent.token, body });
const escalate = (t: TestApp, id: string, agent: { token: string }, body?: unknown) => t.post(`/v1/support-requests/${id}/escalate`, body, agent.token);

async function fileOk(t: TestApp, driver: Person, text: string, category = 'payment') {
  const res = await file(t, driver, { category, text });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.supportRequest as { id: string; status: string; tier: number; incidentId: string | null };
}

async function timeline(t: TestApp, incidentId: string) {
  return t.sql<{ type: string; actor: string; data: any }[]>`SELECT type, actor, data FROM incident_events WHERE incident_id = ${incidentId} ORDER BY seq`;
}

async function pagedTo(t: TestApp, incidentId: string) {
  return (await t.sql<{ recipient_id: string; channel: string }[]>`
    SELECT recipient_id, channel FROM pages WHERE incident_id = ${incidentId} ORDER BY channel`).map((p) => [p.recipient_id, p.channel]);
}

let s: Awaited<ReturnType<typeof scene>>;
beforeAll(async () => {
  s = await scene();
});

describe('filing a support request (driver)', () => {
  it('an ordinary request waits, open, in the tier-1 queue; no incident is opened', async () => {
    const before = await s.t.sql`SELECT count(*)::int AS n FROM incidents`;
    const res = await file(s.t, s.dana, { category: 'payment', text: 'Here is a screenshot of my payment: the tip is missing' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ supportRequest: expect.any(Object) });
    expect(res.body.supportRequest).toMatchObject({
      id: expect.any(String), driverId: s.dana.id, category: 'payment', tier: 1, status: 'open',
      claimedBy: null, claimedAt: null, incidentId: null, promotedReason: null, resolvedAt: null,
    });
    const after = await s.t.sql`SELECT count(*)::int AS n FROM incidents`;
    expect(after[0].n).toBe(before[0].n);
  });

  it('a driver reads its own requests; another driver gets 404; agents and the admin read any', async () => {
    const r = await fileOk(s.t, s.dana, 'my schedule is wrong', 'scheduling');
    expect((await s.t.get(`/v1/support-requests/${r.id}`, s.dana.token)).body.supportRequest).toMatchObject({ id: r.id, status: 'open' });
    expectError(await s.t.get(`/v1/support-requests/${r.id}`, s.eli.token), 404, 'not_found');
    expect((await s.t.get(`/v1/support-requests/${r.id}`, s.tier3.token)).status).toBe(200);
    expect((await s.t.get(`/v1/support-requests/${r.id}`, s.w.admin)).status).toBe(200);
    expectError(await s.t.get(`/v1/support-requests/${r.id}`, s.ava.token), 403, 'forbidden');
    expectError(await s.t.get(`/v1/support-requests/${randomUUID()}`, s.dana.token), 404);
  });

  it('refuses bad input with 422 and stores nothing', async () => {
    const [before] = await s.t.sql`SELECT count(*)::int AS n FROM support_requests`;
    for (const body of [
      { category: 'refund', text: 'x' },
      { category: 'payment', text: '' },
      { category: 'payment', text: '   ' },
      { category: 'payment', text: 'x'.repeat(4001) },
      { category: 'payment' },
      { text: 'no category' },
      { category: 'payment', text: 'x', tier: 3 },
    ]) {
      expectError(await file(s.t, s.dana, body), 422, 'validation_failed');
    }
    const [after] = await s.t.sql`SELECT count(*)::int AS n FROM support_requests`;
    expect(after.n).toBe(before.n);
  });
});

describe('the emergency bypass', () => {
  it('category safety is promoted at once: an incident through the SOS intake, linked both ways, paged, never queued', async () => {
    const t = await scene();
    // Dana's last known fix: the newest point of the trail of an earlier incident.
    const earlier = (await t.w.sos(t.dana, { location: { lat: 36.37, lng: -94.2, capturedAt: '2026-01-01T10:00:00Z' } })).body.incident;
    expect((await t.t.post(`/v1/incidents/${earlier.id}/locations`, { lat: 36.371, lng: -94.201, accuracyM: 7, capturedAt: '2026-01-01T10:05:00Z' }, t.dana.token)).status).toBe(202);
    expect((await t.t.post(`/v1/incidents/${earlier.id}/locations`, { lat: 36.2, lng: -94.1, capturedAt: '2026-01-01T09:00:00Z' }, t.dana.token)).status).toBe(202);

    const res = await file(t.t, t.dana, { category: 'safety', text: 'A customer keeps calling me at night' });
    expect(res.status).toBe(201);
    const { supportRequest: r, incidentId } = res.body;
    expect(incidentId).toEqual(expect.any(String));
    expect(r).toMatchObject({ status: 'promoted', incidentId, promotedReason: 'category', claimedBy: null });

    const inc = (await t.t.get(`/v1/incidents/${incidentId}`, t.dana.token)).body.incident;
    expect(inc).toMatchObject({
      source: 'support', driverId: t.dana.id, kind: 'other', status: 'open', zoneId: t.zone.id, zoneRule: 'inside',
      location: { lat: 36.371, lng: -94.201, accuracyM: 7, capturedAt: '2026-01-01T10:05:00.000Z' },
    });
    expect(inc.note).toContain('A customer keeps calling me at night');
    const ev = await timeline(t.t, incidentId);
    expect(ev.map((e) => e.type)).toEqual(expect.arrayContaining(['incident.opened', 'support.linked', 'page.queued']));
    const linked = ev.find((e) => e.type === 'support.linked')!;
    expect(linked).toMatchObject({ actor: 'system', data: { supportRequestId: r.id, category: 'safety', reason: 'category' } });
    expect(linked.data).not.toHaveProperty('keyword');
    expect(ev.find((e) => e.type === 'incident.opened')!.data).toMatchObject({ source: 'support' });
    expect((await t.t.get(`/v1/incidents/${incidentId}/timeline/verify`, t.w.admin)).body.valid).toBe(true);
    // Paged in the same transaction as the incident: the on-call supervisor, by SMS and call.
    expect(await pagedTo(t.t, incidentId)).toEqual([[t.ava.id, 'sms'], [t.ava.id, 'voice']]);
    // Never in the queue: there is nothing for any agent to claim.
    for (const a of [t.tier1, t.tier2, t.tier3]) expect((await claim(t.t, a)).status).toBe(204);
    expect((await t.t.get(`/v1/support-requests/${r.id}`, t.dana.token)).body.supportRequest).toMatchObject({ status: 'promoted', incidentId });
  });

  it('a payment ticket that says "I was robbed at gunpoint" is promoted as a robbery; a screenshot of a payment is not', async () => {
    const res = await file(s.t, s.eli, { category: 'payment', text: 'My cash was short because I was ROBBED at gun-point!' });
    expect(res.status).toBe(201);
    expect(res.body.supportRequest).toMatchObject({ status: 'promoted', promotedReason: 'keyword', incidentId: res.body.incidentId });
    const inc = (await s.t.get(`/v1/incidents/${res.body.incidentId}`, s.w.admin)).body.incident;
    expect(inc).toMatchObject({ source: 'support', kind: 'robbery', severity: 'critical', driverId: s.eli.id });
    const linked = (await timeline(s.t, inc.id)).find((e) => e.type === 'support.linked')!;
    expect(linked.data).toEqual({ supportRequestId: res.body.supportRequest.id, category: 'payment', reason: 'keyword', keyword: 'robbed' });

    const calm = await file(s.t, s.eli, { category: 'payment', text: 'Screenshot of my payment attached' });
    expect(calm.status).toBe(201);
    expect(calm.body).not.toHaveProperty('incidentId');
    expect(calm.body.supportRequest).toMatchObject({ status: 'open', incidentId: null });
  });

  it('a driver with no location on record still gets an incident (location null, fallback zone) and the safety lead is paged', async () => {
    const t = await testApp();
    const w = world(t);
    const fb = await w.fallbackZone();
    const lead = await w.responder('safety_lead', [], 'Lee');
    const driver = await w.driver('New');
    const res = await file(t, driver, { category: 'app', text: 'help me, he is bleeding' });
    expect(res.status).toBe(201);
    const inc = (await t.get(`/v1/incidents/${res.body.incidentId}`, w.admin)).body.incident;
    expect(inc).toMatchObject({ location: null, zoneId: fb.id, zoneRule: 'fallback', kind: 'medical', source: 'support' });
    // Nobody on call and no supervisor in the fallback zone: the steps that reach nobody do not wait.
    expect((await pagedTo(t, inc.id)).map(([who]) => who)).toContain(lead.id);
  });

  it('a backlog in the queue does not delay the bypass: it is answered promoted while 500 requests wait', async () => {
    const t = await scene();
    await t.t.sql`
      INSERT INTO support_requests (driver_id, category, text, created_at)
      SELECT ${t.eli.id}, 'payment', 'backlog ' || g, now() - make_interval(secs => 1000 - g) FROM generate_series(1, 500) g`;
    const res = await file(t.t, t.dana, { category: 'other', text: 'there was a shooting outside the store' });
    expect(res.status).toBe(201);
    expect(res.body.supportRequest.status).toBe('promoted');
    expect((await pagedTo(t.t, res.body.incidentId)).length).toBeGreaterThan(0);
    // The oldest of the backlog is still the next to claim.
    expect((await claim(t.t, t.tier1)).body.supportRequest.text).toBe('backlog 1');
  });

  it('a safety request that also names a danger is promoted for its category, with the keyword noted and naming the kind', async () => {
    const res = await file(s.t, s.eli, { category: 'safety', text: 'He has a knife' });
    expect(res.body.supportRequest.promotedReason).toBe('category');
    const linked = (await timeline(s.t, res.body.incidentId)).find((e) => e.type === 'support.linked')!;
    expect(linked.data).toMatchObject({ reason: 'category', keyword: 'knife' });
    expect((await s.t.get(`/v1/incidents/${res.body.incidentId}`, s.w.admin)).body.incident.kind).toBe('assault');
  });
});

describe('claiming (agent)', () => {
  it('takes the oldest open request of the agent’s own tier, each once; 204 when there is none', async () => {
    const t = await scene();
    const a = await fileOk(t.t, t.dana, 'first');
    const b = await fileOk(t.t, t.eli, 'second');
    const c = await fileOk(t.t, t.dana, 'third');
    expect((await claim(t.t, t.tier2)).status).toBe(204);
    const first = await claim(t.t, t.tier1);
    expect(first.status).toBe(200);
    expect(first.body.supportRequest).toMatchObject({ id: a.id, status: 'claimed', claimedBy: t.tier1.id, claimedAt: expect.any(String) });
    expect((await claim(t.t, t.tier1b)).body.supportRequest.id).toBe(b.id);
    expect((await claim(t.t, t.tier1)).body.supportRequest.id).toBe(c.id);
    const empty = await claim(t.t, t.tier1b);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeUndefined();
  });

  it('agents claiming at once never get the same request, and every request is claimed', async () => {
    const t = await scene();
    const filed = [];
    for (let i = 0; i < 12; i++) filed.push((await fileOk(t.t, i % 2 ? t.dana : t.eli, `ticket ${i}`)).id);
    const agents: Agent[] = [t.tier1, t.tier1b, await t.w.agent(1, 'Ann'), await t.w.agent(1, 'Abe')];
    const got = await Promise.all(agents.map(async (agent) => {
      const mine: string[] = [];
      for (;;) {
        const res = await claim(t.t, agent);
        if (res.status === 204) return mine;
        expect(res.status).toBe(200);
        expect(res.body.supportRequest.claimedBy).toBe(agent.id);
        mine.push(res.body.supportRequest.id);
      }
    }));
    const all = got.flat();
    expect(all).toHaveLength(12);
    expect(new Set(all)).toEqual(new Set(filed));
    const rows = await t.t.sql`SELECT id, claimed_by FROM support_requests`;
    for (const [i, agent] of agents.entries()) {
      expect(rows.filter((r) => r.claimed_by === agent.id).map((r) => r.id).sort()).toEqual([...got[i]].sort());
    }
  });

  it('the queue is served from its index, whatever the backlog', async () => {
    const t = await scene();
    await t.t.sql`
      INSERT INTO support_requests (driver_id, category, text, tier, status, resolved_at)
      SELECT ${t.eli.id}, 'app', 'backlog', 1 + g % 3, CASE WHEN g % 2 = 0 THEN 'open' ELSE 'resolved' END,
             CASE WHEN g % 2 = 1 THEN now() END
      FROM generate_series(1, 20000) g`;
    await t.t.sql`ANALYZE support_requests`;
    const plan = await t.t.sql`
      EXPLAIN SELECT id FROM support_requests WHERE status = 'open' AND tier = 2 ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`;
    const text = plan.map((r) => Object.values(r)[0]).join('\n');
    expect(text).toMatch(/Index Scan using support_requests_queue_idx/);
    expect(text).not.toMatch(/Sort|Seq Scan/);
  });
});

describe('resolving and moving up (agent)', () => {
  it('resolves a request it has claimed; once resolved it changes no more', async () => {
    const t = await scene();
    const r = await fileOk(t.t, t.dana, 'wrong bank account on file', 'account');
    expect((await claim(t.t, t.tier1)).body.supportRequest.id).toBe(r.id);
    expectError(await patch(t.t, r.id, { status: 'resolved' }, t.tier1b), 409, 'conflict'); // another agent's claim
    const res = await patch(t.t, r.id, { status: 'resolved' }, t.tier1);
    expect(res.status).toBe(200);
    expect(res.body.supportRequest).toMatchObject({ id: r.id, status: 'resolved', resolvedAt: expect.any(String) });
    expectError(await patch(t.t, r.id, { status: 'resolved' }, t.tier1), 409);
    expectError(await patch(t.t, r.id, { tier: 2 }, t.tier1), 409);
    expect((await claim(t.t, t.tier1)).status).toBe(204);
  });

  it('moves a request to a higher tier: back in the queue, open for that tier only; a lower or equal tier is 422', async () => {
    const t = await scene();
    const r = await fileOk(t.t, t.dana, 'chargeback dispute', 'payment');
    expectError(await patch(t.t, r.id, { tier: 2 }, t.tier1), 409); // not claimed yet
    expect((await claim(t.t, t.tier1)).body.supportRequest.id).toBe(r.id);
    expectError(await patch(t.t, r.id, { tier: 1 }, t.tier1), 422, 'validation_failed');
    const up = await patch(t.t, r.id, { tier: 2 }, t.tier1);
    expect(up.status).toBe(200);
    expect(up.body.supportRequest).toMatchObject({ status: 'open', tier: 2, claimedBy: null, claimedAt: null });
    expect((await claim(t.t, t.tier1)).status).toBe(204);
    expect((await claim(t.t, t.tier3)).status).toBe(204);
    expect((await claim(t.t, t.tier2)).body.supportRequest).toMatchObject({ id: r.id, status: 'claimed', claimedBy: t.tier2.id, tier: 2 });
    expectError(await patch(t.t, r.id, { tier: 1 }, t.tier2), 422); // down
    expectError(await patch(t.t, r.id, { tier: 2 }, t.tier2), 422); // the same
    expect((await patch(t.t, r.id, { tier: 3 }, t.tier2)).body.supportRequest).toMatchObject({ tier: 3, status: 'open' });
    expect((await claim(t.t, t.tier3)).body.supportRequest.id).toBe(r.id);
    expect((await patch(t.t, r.id, { status: 'resolved' }, t.tier3)).body.supportRequest.status).toBe('resolved');
  });

  it('refuses malformed changes with 422, an unknown request with 404', async () => {
    const r = await fileOk(s.t, s.dana, 'app shows the wrong language', 'app');
    for (const body of [{}, { status: 'resolved', tier: 2 }, { status: 'open' }, { tier: 4 }, { tier: 0 }, { tier: '2' }, { tier: 2, extra: 1 }]) {
      expectError(await patch(s.t, r.id, body, s.tier1), 422, 'validation_failed');
    }
    expectError(await patch(s.t, randomUUID(), { status: 'resolved' }, s.tier1), 404, 'not_found');
  });
});

describe('escalating to an incident (agent)', () => {
  it('one call opens the incident: 201 {incidentId}, source support, support.linked in its timeline, paged; the request shows it', async () => {
    const t = await scene();
    const r = await fileOk(t.t, t.dana, 'customer at the door says he will hurt me if I leave', 'other');
    expect(r.status).toBe('open'); // no keyword: it waited
    expect((await claim(t.t, t.tier1)).body.supportRequest.id).toBe(r.id);
    const res = await escalate(t.t, r.id, t.tier1, { note: 'Driver sounds scared; customer threatening' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ incidentId: expect.any(String) });
    const incidentId = res.body.incidentId;

    const inc = (await t.t.get(`/v1/incidents/${incidentId}`, t.w.admin)).body.incident;
    // Dana never had a location, and this world has no fallback zone: no zone, so the safety leads are paged.
    expect(inc).toMatchObject({ source: 'support', driverId: t.dana.id, kind: 'other', status: 'open', location: null, zoneId: null, zoneRule: 'none' });
    expect(inc.note).toContain('he will hurt me');
    expect(inc.note).toContain('Driver sounds scared');
    const linked = (await timeline(t.t, incidentId)).filter((e) => e.type === 'support.linked');
    expect(linked).toEqual([{
      type: 'support.linked', actor: `agent:${t.tier1.id}`,
      data: { supportRequestId: r.id, category: 'other', reason: 'agent', note: 'Driver sounds scared; customer threatening' },
    }]);
    expect((await t.t.get(`/v1/incidents/${incidentId}/timeline/verify`, t.w.admin)).body.valid).toBe(true);
    expect(await pagedTo(t.t, incidentId)).toEqual([[t.lead.id, 'sms'], [t.lead.id, 'voice']]);

    for (const who of [t.dana.token, t.tier2.token]) {
      expect((await t.t.get(`/v1/support-requests/${r.id}`, who)).body.supportRequest).toMatchObject({ status: 'promoted', incidentId, promotedReason: 'agent' });
    }
    // The agent only gets the id: incidents are not for agents. The driver sees its own.
    expectError(await t.t.get(`/v1/incidents/${incidentId}`, t.tier1.token), 403);
    expect((await t.t.get(`/v1/incidents/${incidentId}`, t.dana.token)).status).toBe(200);
    // A promoted request is out of the lane.
    expectError(await patch(t.t, r.id, { status: 'resolved' }, t.tier1), 409);
  });

  it('needs no claim, no body and no particular tier; a keyword in the text names the kind', async () => {
    const r = await fileOk(s.t, s.eli, 'the customer pulled a blade on me', 'other');
    expect(r.status).toBe('open');
    const res = await escalate(s.t, r.id, s.tier3);
    expect(res.status).toBe(201);
    expect((await s.t.get(`/v1/incidents/${res.body.incidentId}`, s.w.admin)).body.incident.kind).toBe('other');

    const k = await fileOk(s.t, s.eli, 'he took my phone and ran', 'other');
    const withNote = await escalate(s.t, k.id, s.tier1, { note: 'sounds like a robbery' });
    expect((await s.t.get(`/v1/incidents/${withNote.body.incidentId}`, s.w.admin)).body.incident).toMatchObject({ kind: 'robbery', severity: 'critical' });
  });

  it('escalating a request already promoted answers 409 naming its incident, and opens nothing more', async () => {
    const r = await fileOk(s.t, s.dana, 'strange man near my car', 'other');
    const [first, second] = await Promise.all([escalate(s.t, r.id, s.tier1), escalate(s.t, r.id, s.tier2)]);
    const ok = [first, second].filter((x) => x.status === 201);
    const refused = [first, second].filter((x) => x.status !== 201);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const e = expectError(refused[0], 409, 'conflict');
    expect(e.message).toContain(ok[0].body.incidentId);
    expect(e.details).toEqual({ incidentId: ok[0].body.incidentId });
    const again = expectError(await escalate(s.t, r.id, s.tier3, { note: 'again' }), 409);
    expect(again.message).toContain(ok[0].body.incidentId);
    const safety = await file(s.t, s.dana, { category: 'safety', text: 'unsafe drop-off' });
    expectError(await escalate(s.t, safety.body.supportRequest.id, s.tier1), 409);
    const [n] = await s.t.sql`SELECT count(*)::int AS n FROM incident_events WHERE type = 'support.linked' AND data->>'supportRequestId' = ${r.id}`;
    expect(n.n).toBe(1);
  });

  it('an unknown request is 404; a bad note is 422', async () => {
    expectError(await escalate(s.t, randomUUID(), s.tier1), 404, 'not_found');
    const r = await fileOk(s.t, s.dana, 'something is off', 'other');
    expectError(await escalate(s.t, r.id, s.tier1, { note: 'x'.repeat(2001) }), 422);
    expectError(await escalate(s.t, r.id, s.tier1, { note: 'ok', extra: true }), 422);
    expect((await s.t.get(`/v1/support-requests/${r.id}`, s.dana.token)).body.supportRequest.status).toBe('open');
  });
});

describe('roles', () => {
  it('only drivers file, only agents claim, change and escalate; no token is 401', async () => {
    const r = await fileOk(s.t, s.dana, 'tax form missing', 'account');
    for (const tok of [s.tier1.token, s.ava.token, s.lead.token, s.w.admin]) {
      expectError(await s.t.post('/v1/support-requests', { category: 'payment', text: 'x' }, tok), 403, 'forbidden');
      // The role is checked before the body: a wrong caller learns nothing from validation.
      expectError(await s.t.post('/v1/support-requests', { category: 'nope' }, tok), 403);
    }
    for (const tok of [s.dana.token, s.ava.token, s.lead.token, s.w.admin]) {
      expectError(await claim(s.t, { token: tok }), 403, 'forbidden');
      expectError(await patch(s.t, r.id, { status: 'resolved' }, { token: tok }), 403);
      expectError(await escalate(s.t, r.id, { token: tok }), 403);
    }
    expectError(await s.t.post('/v1/support-requests', { category: 'payment', text: 'x' }), 401, 'unauthorized');
    expectError(await s.t.post('/v1/support-requests/claim', undefined), 401);
    expectError(await s.t.req('PATCH', `/v1/support-requests/${r.id}`, { body: { status: 'resolved' } }), 401);
    expectError(await s.t.post(`/v1/support-requests/${r.id}/escalate`, {}), 401);
    expectError(await s.t.get(`/v1/support-requests/${r.id}`), 401);
    expectError(await claim(s.t, { token: 'mdy_agent_forged' }), 401);
  });

  it('the OpenAPI document describes the lane', async () => {
    const doc = (await s.t.get('/openapi.json')).body;
    expect(Object.keys(doc.paths['/v1/support-requests'])).toContain('post');
    expect(Object.keys(doc.paths['/v1/support-requests/claim'])).toContain('post');
    expect(Object.keys(doc.paths['/v1/support-requests/{id}']).sort()).toEqual(['get', 'patch']);
    expect(Object.keys(doc.paths['/v1/support-requests/{id}/escalate'])).toContain('post');
    expect(Object.keys(doc.paths['/v1/support-requests/claim'].post.responses)).toEqual(expect.arrayContaining(['200', '204', '401', '403']));
  });
});
