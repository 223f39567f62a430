/**
 * Retention: the precise coordinates of incidents resolved more than `days` days ago (default
 * 90) are coarsened to 0.01° (about 1 km), unless the incident is on legal hold. The work is
 * retention_run() (see its definition for exactly what changes); this module runs it in
 * batches, daily from the engine (runRetentionIfDue) or at will (`npm run retention`).
 *
 * Why the timeline stays valid: events never held coordinates, only a trail point's id and a
 * salted digest of its precise values. Retention rewrites the trail point and destroys its salt,
 * never an event: every hash still verifies, the old digests can no longer be matched to any
 * position (without the salt, guessing is hopeless), and the redaction itself is appended as a
 * `location.redacted` event, so the timeline says when and why the precision went.
 */
import type { Sql } from '../db/client';
import type { Logger } from '../log';
import { claimRetentionDay, finishRetentionDay, recordAudit, retentionBatch } from './store';

export const DEFAULT_RETENTION_DAYS = 90;
const BATCH = 500;


export interface RetentionResult {
  days: number;
  at: string;
  incidents: number;
  points: number;
  incidentIds: string[];
}

/**
 * Coarsen everything due as of `at`, batch by batch (each batch one transaction, so an
 * interruption loses nothing and the next run carries on), and record the run in the audit log.
 */
export async function runRetention(sql: Sql, o: { days: number; at?: Date; actor?: string; batch?: number }): Promise<RetentionResult> {
  const at = o.at ?? new Date();
  const batch = o.batch ?? BATCH;
  const ids: string[] = [];
  let points = 0;
  for (;;) {
    const rows = await retentionBatch(sql, o.days, at, batch);
    for (const r of rows) {
      ids.push(r.incident_id);
      points += r.points;
    }
    if (rows.length < batch) break;
  }
  await recordAudit(sql, o.actor ?? 'system', 'retention', { days: o.days, asOf: at.toISOString(), incidents: ids.length, points });
  return { days: o.days, at: at.toISOString(), incidents: ids.length, points, incidentIds: ids };
}

/** The UTC day each pool last claimed or found claimed, so most ticks cost no query at all. */
const checkedDay = new WeakMap<Sql, string>();

/**
 * For the engine's tick: run retention once per UTC day, whichever instance asks first (a row
 * per day in retention_runs decides). Never throws and never makes the tick wait for the work:
 * when this call claims the day, the run goes on in the background and `done` settles with it.
 */
export async function runRetentionIfDue(
  sql: Sql,
  log: Logger,
  o: { days?: number; now?: Date } = {},
): Promise<{ started: boolean; done?: Promise<RetentionResult | undefined> }> {
  const now = o.now ?? new Date();
  const days = o.days ?? DEFAULT_RETENTION_DAYS;
  const day = now.toISOString().slice(0, 10);
  if (checkedDay.get(sql) === day) return { started: false };
  let claimed: boolean;
  try {
    claimed = await claimRetentionDay(sql, now, days);
  } catch (e) {
    log.warn({ err: e }, 'retention: could not check whether today’s run is due; will try again');
    return { started: false };
  }
  checkedDay.set(sql, day);
  if (!claimed) return { started: false };
  const done = (async () => {
    try {
      const r = await runRetention(sql, { days, at: now, actor: 'system' });
      await finishRetentionDay(sql, now, r);
      log.info({ days, incidents: r.incidents, points: r.points }, 'retention: coarsened the locations of old resolved incidents');
      return r;
    } catch (e) {
      log.error({ err: e }, 'retention run failed; the next daily run carries on where it stopped');
      await finishRetentionDay(sql, now, { error: String((e as Error).message ?? e).slice(0, 500) }).catch(() => undefined);
      return undefined;
    }
  })();
  return { started: true, done };
}
