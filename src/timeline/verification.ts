/**
 * Verifying a timeline against everything that protects it: its hash chain (in the database), its
 * incident's row (which must say what the events say), and the signed checkpoints that covered its
 * heads (the part an attacker with the database cannot forge). Also the engine's minute checkpoint.
 */
import { z } from '@hono/zod-openapi';
import type { Sql } from '../db/client';
import type { Logger } from '../log';
import { checkpointMessage, headsDigest, sha256hex, verifyCheckpointRun, type Checkpoint, type Keyring } from './checkpoints';
import { checkpointChain, checkpointExists, checkpointsBySeq, incidentCheckpoints, latestCheckpoint, rowDisagreements, verifyTimeline as verifyChain, writeCheckpoint } from './store';

export const CheckpointStatusSchema = z
  .object({
    valid: z.boolean().openapi({ description: 'The chain of checkpoints involved recomputes, and its newest signature verifies with a trusted key.' }),
    latestSeq: z.number().int().nullable(),
    latestAt: z.string().nullable().openapi({ description: 'When the newest checkpoint was signed. Events after it are not covered by any signature yet.' }),
    latestKeyId: z.string().nullable(),
    problems: z.array(z.string()),
  })
  .openapi('CheckpointStatus');

export const TimelineVerificationSchema = z
  .object({
    valid: z.boolean().openapi({ description: 'The chain, the row and the checkpoints all agree.' }),
    eventCount: z.number().int(),
    headHash: z.string().nullable(),
    chainValid: z.boolean().openapi({ description: 'Every hash and link recomputes, and the head matches the last event.' }),
    rowDisagreements: z.array(z.string()).openapi({ description: 'Columns of the incident row that say something its events do not (e.g. `acknowledged_by`).' }),
    checkpointed: z.object({
      seq: z.number().int().nullable().openapi({ description: 'The last event covered by a signed checkpoint (null: none yet).' }),
      checkpointSeq: z.number().int().nullable(),
      mismatched: z.array(z.object({ seq: z.number().int(), checkpointSeq: z.number().int() })).openapi({
        description: 'Checkpointed heads whose event is gone or has another hash now: a rewrite or a truncation.',
      }),
    }),
    checkpoints: CheckpointStatusSchema,
  })
  .openapi('TimelineVerification');

/**
 * Checks the checkpoints from `fromSeq` to the newest: the chain recomputed in the database, and
 * the signatures of the first and the newest with the trusted keys.
 */
export async function verifyCheckpointsFrom(sql: Sql, keyring: Keyring | undefined, fromSeq: number | null): Promise<z.infer<typeof CheckpointStatusSchema>> {
  const latest = await latestCheckpoint(sql);
  const status = { latestSeq: latest?.seq ?? null, latestAt: latest?.at ?? null, latestKeyId: latest?.keyId ?? null };
  if (!latest) return { valid: fromSeq === null, ...status, problems: fromSeq === null ? [] : ['checkpoints are missing'] };
  const from = fromSeq ?? latest.seq;
  const problems: string[] = [];
  const chain = await checkpointChain(sql, from);
  if (chain.firstSeq !== from) problems.push(`checkpoint ${from} is missing`);
  for (const s of chain.bad) problems.push(`checkpoint ${s} does not recompute or does not follow the one before`);
  if (!keyring) problems.push('no keys to check signatures with');
  else for (const c of await checkpointsBySeq(sql, [...new Set([from, latest.seq])])) problems.push(...(await verifyCheckpointRun([c], keyring.trusted)));
  return { valid: problems.length === 0, ...status, problems };
}

/** One incident's timeline: chain, row and checkpoints. */
export async function verifyIncident(sql: Sql, incidentId: string, keyring: Keyring | undefined): Promise<z.infer<typeof TimelineVerificationSchema>> {
  const [chain, row, cp] = await Promise.all([verifyChain(sql, incidentId), rowDisagreements(sql, incidentId), incidentCheckpoints(sql, incidentId)]);
  const checkpoints = await verifyCheckpointsFrom(sql, keyring, cp.firstCheckpointSeq);
  return {
    valid: chain.valid && row.length === 0 && cp.mismatched.length === 0 && checkpoints.valid,
    eventCount: chain.eventCount,
    headHash: chain.headHash,
    chainValid: chain.valid,
    rowDisagreements: row,
    checkpointed: { seq: cp.coveredSeq, checkpointSeq: cp.checkpointSeq, mismatched: cp.mismatched },
    checkpoints,
  };
}

// ---------------------------------------------------------------------------------------------
// The minute's checkpoint, from the engine's tick

/** The minute each pool last wrote or found written, so most ticks cost no query; and the run in flight. */
const doneMinute = new WeakMap<Sql, number>();
const running = new WeakMap<Sql, Promise<Checkpoint | null>>();
let warnedEphemeral = false;

/** The background checkpoint this pool is writing, if any (tests wait for it). */
export const checkpointInFlight = (sql: Sql) => running.get(sql);

/** Sign and store a checkpoint now (for `minute`, default the current one). Null when that minute was taken. */
export async function checkpointNow(sql: Sql, keyring: Keyring, minute = new Date(Math.floor(Date.now() / 60_000) * 60_000)): Promise<Checkpoint | null> {
  return writeCheckpoint(sql, minute, async (d) => {
    const fields = { seq: d.seq, at: d.at, keyId: keyring.current.keyId, prevHash: d.prevHash, headsCount: d.heads.length, headsDigest: await headsDigest(d.heads) };
    const message = checkpointMessage(fields);
    return { ...fields, hash: await sha256hex(message), signature: await keyring.current.sign(message) };
  });
}

/**
 * For the engine's tick: once per minute of `asOf`, whichever instance ticks first signs the
 * heads that moved (the minute's row is the claim; a second instance finds it taken). Never
 * throws, and never makes the tick wait: the work runs in the background (one at a time per
 * pool) and `done` settles with the checkpoint written, or null.
 */
export function checkpointIfDue(sql: Sql, keyring: Keyring, log: Logger, asOf?: Date | null): { done: Promise<Checkpoint | null> } {
  const minuteMs = Math.floor((asOf ?? new Date()).getTime() / 60_000) * 60_000;
  const inFlight = running.get(sql);
  if (doneMinute.get(sql) === minuteMs || inFlight) return { done: inFlight ?? Promise.resolve(null) };
  if (keyring.ephemeral && !warnedEphemeral) {
    warnedEphemeral = true;
    log.warn({ keyId: keyring.current.keyId }, 'timeline checkpoints are signed with a key made up at start (AUDIT_SIGNING_KEY is not set): checkpoints from another key cannot be verified with this one');
  }
  const done = (async () => {
    try {
      const minute = new Date(minuteMs);
      const c = (await checkpointExists(sql, minute)) ? null : await checkpointNow(sql, keyring, minute);
      doneMinute.set(sql, minuteMs);
      if (c) log.debug({ seq: c.seq, heads: c.headsCount, keyId: c.keyId }, 'timeline checkpoint signed');
      return c;
    } catch (e) {
      log.warn({ err: e }, 'timeline checkpoint failed; the next tick tries again');
      return null;
    } finally {
      running.delete(sql);
    }
  })();
  running.set(sql, done);
  return { done };
}
