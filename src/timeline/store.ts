import type { Sql, TxSql } from '../db/client';
import { sortHeads, type Checkpoint, type CheckpointHead } from './checkpoints';
import type { TimelineEvent } from './schemas';

interface EventRow {
  seq: number;
  type: TimelineEvent['type'];
  at: Date;
  actor: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export const toEvent = (r: EventRow): TimelineEvent => ({
  seq: r.seq,
  type: r.type,
  at: r.at.toISOString(),
  actor: r.actor,
  data: r.data,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export async function listEvents(sql: Sql, incidentId: string): Promise<TimelineEvent[]> {
  const rows = await sql<EventRow[]>`
    SELECT seq, type, at, actor, data, prev_hash, hash FROM incident_events WHERE incident_id = ${incidentId} ORDER BY seq`;
  return rows.map(toEvent);
}

/** Recompute the chain in the database (see timeline_verify() in sql/). */
export async function verifyTimeline(sql: Sql, incidentId: string) {
  const [row] = await sql<{ valid: boolean; event_count: number; head_hash: string | null }[]>`
    SELECT valid, event_count, head_hash FROM timeline_verify(${incidentId})`;
  return { valid: row.valid, eventCount: row.event_count, headHash: row.head_hash };
}

/** The columns of an incident's row that disagree with its own events (incident_row_disagreements() in sql/). */
export async function rowDisagreements(sql: Sql, incidentId: string): Promise<string[]> {
  const [row] = await sql<{ d: string[] | null }[]>`SELECT incident_row_disagreements(${incidentId}) AS d`;
  return row?.d ?? [];
}

// ---------------------------------------------------------------------------------------------
// Checkpoints (see checkpoints.ts)

interface CheckpointRow {
  seq: string;
  at: Date;
  key_id: string;
  prev_hash: string;
  heads_count: number;
  heads_digest: string;
  hash: string;
  signature: string;
}

const toCheckpoint = (r: CheckpointRow): Checkpoint => ({
  seq: Number(r.seq),
  at: r.at.toISOString(),
  keyId: r.key_id,
  prevHash: r.prev_hash,
  headsCount: r.heads_count,
  headsDigest: r.heads_digest,
  hash: r.hash,
  signature: r.signature,
});

/** The minute's checkpoint has been written already (by this or another instance). */
export async function checkpointExists(sql: Sql, minute: Date): Promise<boolean> {
  return (await sql`SELECT 1 FROM timeline_checkpoints WHERE minute = ${minute}`).length > 0;
}

/**
 * Write the checkpoint of `minute` unless one exists: under a transaction-scoped advisory lock
 * (class 19802), so two instances never fork the chain and the second finds the minute taken.
 * `seal` gets the draft (seq, time, previous hash, the heads that moved since the last checkpoint)
 * and signs it. Answers the checkpoint written, or null when the minute was taken.
 *
 * The heads that moved are the uncovered ones (timeline_heads.covered, sql/023), read through a
 * partial index that holds only those: the work is in proportion to the heads that moved in the
 * last two minutes or so, not to all history. A head is signed by the first checkpoint after it
 * moved, and marked covered by a later one if it has not moved since: marking, and the move that
 * clears the mark, are each a non-HOT update (0.3 to 0.6 kB of WAL the pair), so a timeline that
 * keeps moving pays for them once it rests, not every minute. Marking skips a head a writer holds
 * (its move clears the mark anyway; an aborted move leaves it for the next checkpoint), so an
 * append never waits on the checkpoint in a lock cycle.
 */
export async function writeCheckpoint(
  sql: Sql,
  minute: Date,
  seal: (draft: { seq: number; at: string; prevHash: string; heads: CheckpointHead[] }) => Promise<Omit<Checkpoint, 'heads'>>,
): Promise<Checkpoint | null> {
  return (await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(19802, 1)`;
    if ((await tx`SELECT 1 FROM timeline_checkpoints WHERE minute = ${minute}`).length > 0) return null;
    const [last] = await tx<{ seq: string; hash: string }[]>`SELECT seq, hash FROM timeline_checkpoints ORDER BY seq DESC LIMIT 1`;
    const [{ at }] = await tx<{ at: Date }[]>`SELECT date_trunc('milliseconds', clock_timestamp()) AS at`;
    // The uncovered heads are read through their partial index whatever the statistics say (say,
    // just after a burst): with sequential scans off and no ORDER BY (which a full scan of the
    // primary key could serve), it is the only way left. A scan of every head is what it avoids.
    // A plain index scan, not a bitmap one: it hints the entries of heads marked since the last
    // VACUUM dead, so the next checkpoints skip them instead of visiting their rows again.
    await tx`SET LOCAL enable_seqscan = off`;
    await tx`SET LOCAL enable_bitmapscan = off`;
    // `signed`: the hash an earlier checkpoint gave this (incident, seq), found by one primary-key
    // probe per uncovered head (a correlated subquery, never a join over every checkpointed head).
    const uncovered = await tx<{ incident_id: string; seq: number; hash: string; signed: string | null }[]>`
      SELECT h.incident_id, h.seq, h.hash,
             (SELECT c.hash FROM timeline_checkpoint_heads c WHERE c.incident_id = h.incident_id AND c.seq = h.seq) AS signed
      FROM timeline_heads h WHERE NOT h.covered`;
    const heads = sortHeads(uncovered.filter((h) => h.signed === null).map((h) => ({ incidentId: h.incident_id, seq: h.seq, hash: h.hash })));
    // Signed by an earlier checkpoint and not moved since. One signed with another hash is a
    // rewrite: it stays uncovered (the guard would refuse the mark) for verification to report.
    const toMark = uncovered.filter((h) => h.signed === h.hash);
    const c = await seal({ seq: last ? Number(last.seq) + 1 : 1, at: at.toISOString(), prevHash: last?.hash ?? '0'.repeat(64), heads });
    await tx`
      INSERT INTO timeline_checkpoints (seq, minute, at, key_id, prev_hash, heads_count, heads_digest, hash, signature)
      VALUES (${c.seq}, ${minute}, ${c.at}, ${c.keyId}, ${c.prevHash}, ${c.headsCount}, ${c.headsDigest}, ${c.hash}, ${c.signature})`;
    if (heads.length > 0) {
      await tx`
        INSERT INTO timeline_checkpoint_heads (incident_id, seq, hash, checkpoint_seq)
        SELECT u.incident_id, u.seq, u.hash, ${c.seq} FROM unnest(${tx.array(heads.map((h) => h.incidentId))}::uuid[],
          ${tx.array(heads.map((h) => h.seq))}::int[], ${tx.array(heads.map((h) => h.hash))}::text[]) AS u(incident_id, seq, hash)`;
    }
    if (toMark.length > 0) {
      // Last, so the marked rows stay locked only until the commit.
      await tx`
        WITH free AS (
          SELECT h.incident_id, h.seq FROM timeline_heads h
          JOIN unnest(${tx.array(toMark.map((h) => h.incident_id))}::uuid[], ${tx.array(toMark.map((h) => h.seq))}::int[]) AS u(incident_id, seq)
            ON u.incident_id = h.incident_id AND u.seq = h.seq
          WHERE NOT h.covered
          FOR UPDATE OF h SKIP LOCKED)
        UPDATE timeline_heads h SET covered = true FROM free WHERE h.incident_id = free.incident_id AND h.seq = free.seq`;
    }
    return { ...c, heads };
  })) as Checkpoint | null;
}

/** Checkpoints by seq, without their heads. */
export async function checkpointsBySeq(sql: Sql | TxSql, seqs: number[]): Promise<Checkpoint[]> {
  if (seqs.length === 0) return [];
  const rows = await sql<CheckpointRow[]>`
    SELECT seq, at, key_id, prev_hash, heads_count, heads_digest, hash, signature FROM timeline_checkpoints
    WHERE seq = ANY(${sql.array(seqs.map(String))}::bigint[]) ORDER BY seq`;
  return rows.map(toCheckpoint);
}

/** The newest checkpoint (without heads), if any. */
export async function latestCheckpoint(sql: Sql | TxSql): Promise<Checkpoint | undefined> {
  const [row] = await sql<CheckpointRow[]>`
    SELECT seq, at, key_id, prev_hash, heads_count, heads_digest, hash, signature FROM timeline_checkpoints ORDER BY seq DESC LIMIT 1`;
  return row ? toCheckpoint(row) : undefined;
}

/** Up to `limit` checkpoints with seq >= `from`, with their heads, oldest first (for exports). */
export async function checkpointsFrom(sql: Sql | TxSql, from: number, limit: number): Promise<Checkpoint[]> {
  const rows = await sql<(CheckpointRow & { heads: [string, number, string][] | null })[]>`
    SELECT c.seq, c.at, c.key_id, c.prev_hash, c.heads_count, c.heads_digest, c.hash, c.signature,
           (SELECT json_agg(json_build_array(h.incident_id, h.seq, h.hash) ORDER BY h.incident_id)
              FROM timeline_checkpoint_heads h WHERE h.checkpoint_seq = c.seq) AS heads
    FROM timeline_checkpoints c WHERE c.seq >= ${from} ORDER BY c.seq LIMIT ${limit}`;
  return rows.map((r) => ({ ...toCheckpoint(r), heads: (r.heads ?? []).map(([incidentId, seq, hash]) => ({ incidentId, seq, hash })) }));
}

/**
 * The chain of checkpoints from `from` to the newest, recomputed in the database
 * (timeline_checkpoints_verify()): the span and the checkpoints that do not hold.
 */
export async function checkpointChain(sql: Sql | TxSql, from: number): Promise<{ firstSeq: number | null; lastSeq: number | null; bad: number[] }> {
  const [r] = await sql<{ first_seq: string | null; last_seq: string | null; bad: string[] | null }[]>`SELECT * FROM timeline_checkpoints_verify(${from})`;
  return { firstSeq: r.first_seq === null ? null : Number(r.first_seq), lastSeq: r.last_seq === null ? null : Number(r.last_seq), bad: (r.bad ?? []).map(Number) };
}

/**
 * What the checkpoints say of one incident: how many of its heads were checkpointed, those whose
 * event is missing or has another hash now, the highest seq covered and the checkpoint that covered it.
 */
export async function incidentCheckpoints(sql: Sql, incidentId: string) {
  const [first] = await sql<{ seq: string | null }[]>`
    SELECT min(k.seq) AS seq FROM timeline_checkpoints k WHERE k.at >= (SELECT i.opened_at FROM incidents i WHERE i.id = ${incidentId})`;
  const rows = await sql<{ seq: number; hash: string; checkpoint_seq: string; event_hash: string | null }[]>`
    SELECT c.seq, c.hash, c.checkpoint_seq, e.hash AS event_hash
    FROM timeline_checkpoint_heads c LEFT JOIN incident_events e ON e.incident_id = c.incident_id AND e.seq = c.seq
    WHERE c.incident_id = ${incidentId} ORDER BY c.seq`;
  const last = rows[rows.length - 1];
  return {
    count: rows.length,
    mismatched: rows.filter((r) => r.event_hash !== r.hash).map((r) => ({ seq: r.seq, checkpointSeq: Number(r.checkpoint_seq) })),
    coveredSeq: last ? last.seq : null,
    checkpointSeq: last ? Number(last.checkpoint_seq) : null,
    /** Where its checks start: the first checkpoint taken after it opened (or the first that covered it, if earlier). */
    firstCheckpointSeq: [first?.seq === null || first?.seq === undefined ? null : Number(first.seq), ...rows.map((r) => Number(r.checkpoint_seq))]
      .filter((x): x is number => x !== null)
      .reduce<number | null>((a, b) => (a === null ? b : Math.min(a, b)), null),
  };
}

/** The first checkpoint taken at or after `at`, if any. */
export async function firstCheckpointSince(sql: Sql | TxSql, at: Date): Promise<number | null> {
  const [r] = await sql<{ seq: string | null }[]>`SELECT min(seq) AS seq FROM timeline_checkpoints WHERE at >= ${at}`;
  return r.seq === null ? null : Number(r.seq);
}
