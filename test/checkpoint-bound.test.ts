/**
 * The minute's checkpoint reads only the heads not marked covered (timeline_heads.covered and its
 * partial index, sql/023), and still signs every head that moved: a move always clears the mark,
 * the mark is set only for a head a checkpoint signed and that has not moved since, and a head
 * that moved while the checkpoint worked is signed by the next one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Sql, TxSql } from '../src/db/client';
import type { Keyring } from '../src/timeline/checkpoints';
import { checkpointNow } from '../src/timeline/verification';
import { testApp, type TestApp } from './helpers/app';
import { square, world, type Person } from './helpers/world';

let t: TestApp;
let w: ReturnType<typeof world>;
let driver: Person;
let keyring: Keyring;
let minute = Date.parse('2032-01-01T00:00:00Z');
const checkpoint = async () => (await checkpointNow(t.sql, keyring, new Date((minute += 60_000))))!;

/** Heads that no checkpoint covers as they stand, found the slow way (every head against every checkpointed one). */
const missed = async () =>
  t.sql<{ incident_id: string; seq: number }[]>`
    SELECT h.incident_id, h.seq FROM timeline_heads h
    WHERE NOT EXISTS (SELECT 1 FROM timeline_checkpoint_heads c WHERE c.incident_id = h.incident_id AND c.seq = h.seq AND c.hash = h.hash)`;
const head = async (id: string) => (await t.sql<{ seq: number; hash: string; covered: boolean }[]>`SELECT seq, hash, covered FROM timeline_heads WHERE incident_id = ${id}`)[0];
/** One more event on the incident's timeline, as the service appends them (the chain trigger moves the head). */
const append = (sql: Sql | TxSql, id: string) =>
  sql`INSERT INTO incident_events (incident_id, type, actor, data) VALUES (${id}, 'incident.details', 'system', ${sql.json({ note: 'more' })})`;

beforeAll(async () => {
  t = await testApp();
  w = world(t);
  await w.zone('Bound', square(36.37, -94.2));
  driver = await w.driver();
  keyring = (await t.deps.keyring)!;
});

describe('the minute checkpoint', () => {
  it('covers every head that moved, and only those, checkpoint after checkpoint', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await w.sos(driver, { note: `bound ${i}` })).body.incident.id);
    expect((await checkpoint()).heads!.map((h) => h.incidentId)).toEqual(expect.arrayContaining(ids));
    expect(await missed()).toEqual([]);
    // Signed, then marked by the next checkpoint (they did not move since), which signs nothing.
    for (const id of ids) expect((await head(id)).covered).toBe(false);
    expect((await checkpoint()).headsCount).toBe(0);
    for (const id of ids) expect((await head(id)).covered).toBe(true);
    // Two move (one of them twice), two stay: the checkpoint signs exactly the two, at their new heads.
    await append(t.sql, ids[0]);
    await append(t.sql, ids[2]);
    await append(t.sql, ids[2]);
    expect((await head(ids[0])).covered).toBe(false);
    expect((await missed()).map((m) => m.incident_id).sort()).toEqual([ids[0], ids[2]].sort());
    const c = await checkpoint();
    expect(c.heads!.map((h) => h.incidentId).sort()).toEqual([ids[0], ids[2]].sort());
    for (const h of c.heads!) expect(h).toEqual({ incidentId: h.incidentId, seq: (await head(h.incidentId)).seq, hash: (await head(h.incidentId)).hash });
    expect(await missed()).toEqual([]);
    // ids[2] moves again before the next checkpoint: signed again, not marked; ids[0] rested: marked.
    await append(t.sql, ids[2]);
    expect((await checkpoint()).heads!.map((h) => h.incidentId)).toEqual([ids[2]]);
    expect((await head(ids[0])).covered).toBe(true);
    expect((await head(ids[2])).covered).toBe(false);
    expect(await missed()).toEqual([]);
    expect((await checkpoint()).headsCount).toBe(0);
    expect((await t.sql`SELECT count(*)::int AS n FROM timeline_heads WHERE NOT covered`)[0].n).toBe(0);
  });

  it('reads the uncovered heads through the partial index, not every head, even when the statistics say most are uncovered', async () => {
    // Statistics taken while every head was uncovered, as after a burst; then the heads are marked again.
    await t.sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await tx`UPDATE timeline_heads SET covered = false`;
    });
    await t.sql`ANALYZE timeline_heads`;
    expect((await checkpoint()).headsCount).toBe(0);
    expect((await t.sql`SELECT count(*)::int AS n FROM timeline_heads WHERE NOT covered`)[0].n).toBe(0);
    const plan = (await t.sql.begin(async (tx) => {
      await tx`SET LOCAL enable_seqscan = off`;
      await tx`SET LOCAL enable_bitmapscan = off`;
      return tx.unsafe(`EXPLAIN SELECT h.incident_id, h.seq, h.hash,
          (SELECT c.hash FROM timeline_checkpoint_heads c WHERE c.incident_id = h.incident_id AND c.seq = h.seq) AS signed
        FROM timeline_heads h WHERE NOT h.covered`);
    })) as unknown as { 'QUERY PLAN': string }[];
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/timeline_heads_uncovered_idx/);
  });

  it('a head a writer holds is not marked (the checkpoint does not wait for it), and the next checkpoint signs or marks it, whether the writer commits or not', async () => {
    const a = (await w.sos(driver, { note: 'held, committed' })).body.incident.id as string;
    const b = (await w.sos(driver, { note: 'held, rolled back' })).body.incident.id as string;
    const signed = await checkpoint();
    const before = { a: await head(a), b: await head(b) };
    expect(signed.heads).toContainEqual({ incidentId: a, seq: before.a.seq, hash: before.a.hash });
    expect(signed.heads).toContainEqual({ incidentId: b, seq: before.b.seq, hash: before.b.hash });
    // Two writers move a and b and hold them while the next checkpoint runs.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const locks: Promise<void>[] = [];
    /** A transaction that moves the head of `id` and holds it until released; `commit` or roll back. */
    const writer = (id: string, commit: boolean) => {
      let moved!: () => void;
      locks.push(new Promise<void>((r) => (moved = r)));
      return t.sql
        .begin(async (tx) => {
          await append(tx, id);
          moved();
          await held;
          if (!commit) throw new Error('rolled back');
        })
        .catch((e: Error) => expect(e.message).toBe('rolled back'));
    };
    const commitA = writer(a, true);
    const rollbackB = writer(b, false);
    await Promise.all(locks);
    // The checkpoint would mark both (signed, not moved as far as it can see) but skips them, without waiting.
    const c = await checkpoint();
    expect(c.headsCount).toBe(0);
    expect((await head(a)).covered).toBe(false);
    expect((await head(b)).covered).toBe(false);
    release();
    await commitA;
    await rollbackB;
    // a moved on (committed): the next checkpoint signs its new head. b's move was rolled back: its
    // head is the one signed already, marked now without being signed twice.
    expect(await missed()).toEqual([{ incident_id: a, seq: before.a.seq + 1 }]);
    const next = await checkpoint();
    expect(next.heads).toEqual([{ incidentId: a, seq: before.a.seq + 1, hash: (await head(a)).hash }]);
    expect(await head(b)).toMatchObject({ seq: before.b.seq, covered: true });
    expect(await missed()).toEqual([]);
  });
});

describe('timeline_heads.covered', () => {
  it('is cleared by every move and set only for a head a checkpoint covers', async () => {
    const id = (await w.sos(driver, { note: 'guarded flag' })).body.incident.id as string;
    await expect(t.sql`UPDATE timeline_heads SET covered = true WHERE incident_id = ${id}`).rejects.toThrow(/no checkpoint covers this head/);
    await expect(t.sql`INSERT INTO timeline_heads (incident_id, seq, prev_hash, hash, covered) VALUES (gen_random_uuid(), 1, ${'0'.repeat(64)}, ${'b'.repeat(64)}, true)`).rejects.toThrow(/not yet checkpointed/);
    await checkpoint();
    await checkpoint();
    expect((await head(id)).covered).toBe(true);
    // Clearing it without a move, or changing the hash with it, is refused.
    await expect(t.sql`UPDATE timeline_heads SET covered = false WHERE incident_id = ${id}`).rejects.toThrow(/marked covered by a checkpoint/);
    await expect(t.sql`UPDATE timeline_heads SET hash = ${'c'.repeat(64)} WHERE incident_id = ${id}`).rejects.toThrow(/marked covered by a checkpoint/);
    // A move that says covered = true is still a move: the head is uncovered after it.
    const h = await head(id);
    await t.sql`UPDATE timeline_heads SET seq = seq + 1, prev_hash = hash, hash = ${'d'.repeat(64)}, covered = true WHERE incident_id = ${id}`;
    expect(await head(id)).toMatchObject({ seq: h.seq + 1, covered: false });
    expect((await missed()).map((m) => m.incident_id)).toContain(id);
  });
});
