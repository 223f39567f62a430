import { describe, expect, it, vi } from 'vitest';
import { Authenticator } from '../src/auth/authenticator';
import { connect } from '../src/db/client';
import { OUTBOX_DEPTH_SQL, outboxDepth } from '../src/metrics/store';
import { testApp } from './helpers/app';
import { world } from './helpers/world';

describe('tokens', () => {
  it('an admin revokes a user’s tokens and they stop working at once; a new one can be issued', async () => {
    const t = await testApp();
    const w = world(t);
    const d = await w.driver();
    expect((await t.get('/v1/incidents', d.token)).status).toBe(200); // now cached
    const res = await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: w.admin });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: d.id, revoked: 1 });
    const after = await t.get('/v1/incidents', d.token);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
    const fresh = await t.post(`/v1/users/${d.id}/tokens`, undefined, w.admin);
    expect(fresh.status).toBe(201);
    expect((await t.get('/v1/incidents', fresh.body.token)).status).toBe(200);
    expect((await t.get('/v1/incidents', d.token)).status).toBe(401);
    expect((await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: d.token })).status).toBe(401);
    expect((await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: fresh.body.token })).status).toBe(403);
    expect((await t.req('DELETE', '/v1/users/00000000-0000-4000-8000-000000000000/tokens', { token: w.admin })).status).toBe(404);
  });

  it('another instance forgets a revoked token as soon as it is told (NOTIFY), before its cache would expire', async () => {
    const t = await testApp();
    const w = world(t);
    const d = await w.driver();
    const otherSql = connect(t.url, { max: 2 });
    const other = new Authenticator(otherSql, undefined, 60_000);
    const stop = await other.listen();
    expect((await other.authenticate(d.token))?.id).toBe(d.id);
    await t.req('DELETE', `/v1/users/${d.id}/tokens`, { token: w.admin });
    let seen: unknown = 'cached';
    for (let i = 0; i < 40 && seen !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await other.authenticate(d.token);
    }
    expect(seen).toBeUndefined();
    await stop();
    await otherSql.end();
  });
});

describe('the token cache and revocation', () => {
  it('a lookup that a revocation overlapped is not cached: the revoked token is looked up again', async () => {
    const t = await testApp();
    const w = world(t);
    const d = await w.driver();
    const auth = new Authenticator(t.sql, undefined);
    const { hash, epoch } = await auth.peek(d.token);
    const p = await auth.byHash(hash); // cached, as a lookup that started after any revocation
    expect((await auth.peek(d.token)).principal).toEqual(p);
    auth.forgetUser(d.id);
    expect((await auth.peek(d.token)).principal).toBeUndefined();
    auth.remember(hash, p!, epoch); // what a lookup begun before the revocation found
    expect((await auth.peek(d.token)).principal).toBeUndefined();
    const { epoch: now } = await auth.peek(d.token);
    auth.remember(hash, p!, now);
    expect((await auth.peek(d.token)).principal).toEqual(p);
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus metrics to the admin only', async () => {
    const t = await testApp();
    const w = world(t);
    await w.zone();
    const d = await w.driver();
    await w.sos(d);
    const res = await t.app.request('/metrics', { headers: { authorization: `Bearer ${w.admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/mayday_sos_accepted_total\{created="true",source="app"\} 1/);
    expect(text).toContain('mayday_outbox_depth');
    expect(text).toContain('mayday_escalation_lateness_seconds_bucket');
    expect(text).toContain('# TYPE mayday_ack_latency_seconds histogram');
    expect(text).toContain('mayday_pages_total');
    expect((await t.app.request('/metrics', { headers: { authorization: `Bearer ${d.token}` } })).status).toBe(403);
    expect((await t.app.request('/metrics')).status).toBe(401);
  });

  it('the outbox depth counts queued and sending pages through their two indexes, not by reading every page', async () => {
    const t = await testApp();
    const w = world(t);
    const zone = await w.zone();
    await w.rotation(zone.id, [(await w.responder('supervisor', [zone.id])).id]);
    const d = await w.driver();
    await w.sos(d);
    const [{ id }] = await t.sql<{ id: string }[]>`SELECT id FROM pages LIMIT 1`;
    await t.sql`UPDATE pages SET status = 'queued', lease_until = NULL WHERE id = ${id}`;
    await t.sql`UPDATE pages SET status = 'sending', lease_until = now() + interval '30 seconds' WHERE id <> ${id}`;
    const [{ n }] = await t.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pages`;
    expect(await outboxDepth(t.sql)).toEqual([{ status: 'queued', n: 1 }, { status: 'sending', n: n - 1 }]);
    const plan = await t.sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      await tx`SET LOCAL enable_bitmapscan = off`;
      return JSON.stringify(await tx.unsafe(`EXPLAIN (FORMAT JSON) ${OUTBOX_DEPTH_SQL}`));
    });
    expect(plan).toContain('pages_due_idx');
    expect(plan).toContain('pages_lease_idx');
    expect(plan).not.toContain('Seq Scan');
  });
});

describe('token hashes on Node', () => {
  it('wireNode hashes with node:crypto, off the thread pool, to the same hex as Web Crypto', async () => {
    const { sha256Hex } = await import('../src/auth/crypto');
    const samples = ['mdy_drv_abc', '', 'sms:SM0123456789abcdef0123456789abcdef', 'ünïcödé ✓ 🚨'];
    const hex = (b: ArrayBuffer) => Buffer.from(b).toString('hex');
    const web = await Promise.all(samples.map(async (s) => hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)))));
    expect(web[1]).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'); // SHA-256 of nothing
    await testApp(); // wired with wireNode, as src/entry/node.ts wires Mayday
    const digest = vi.spyOn(crypto.subtle, 'digest');
    try {
      expect(await Promise.all(samples.map((s) => sha256Hex(s)))).toEqual(web);
      expect(digest).not.toHaveBeenCalled();
    } finally {
      digest.mockRestore();
    }
  });
});
