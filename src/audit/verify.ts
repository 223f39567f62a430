/**
 * Verification of every timeline opened in a range: the checks in the database (verifyRangeRows:
 * chains, rows against their events, trail digests, checkpointed heads) and the chain of signed
 * checkpoints from the first taken after the range began (or that covered any of them) to the newest.
 */
import type { Sql } from '../db/client';
import type { Keyring } from '../timeline/checkpoints';
import { firstCheckpointSince } from '../timeline/store';
import { verifyCheckpointsFrom } from '../timeline/verification';
import { verifyRangeRows, type Range, type RangeVerification } from './store';

export async function verifyRange(sql: Sql, range: Range, keyring?: Keyring, batch?: number) {
  const { firstCheckpointSeq, ...rows } = await verifyRangeRows(sql, range, batch);
  // From the first checkpoint after the range began: every checkpoint that may have covered one of
  // its timelines is recomputed, so one whose heads were removed is caught too.
  const since = await firstCheckpointSince(sql, range.from);
  const from = [firstCheckpointSeq, since].filter((x): x is number => x !== null);
  const checkpoints = await verifyCheckpointsFrom(sql, keyring, from.length ? Math.min(...from) : null);
  const result: RangeVerification & { checkpoints: typeof checkpoints } = { ...rows, valid: rows.valid && checkpoints.valid, checkpoints };
  return result;
}
