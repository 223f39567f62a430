/**
 * Mayday on Cloudflare Workers: the same Hono app as on Node (src/app.ts, put together by
 * compose() in src/entry/compose.ts),
 * PostgreSQL through Hyperdrive, and time kept by Durable Object alarms.
 *
 * - `fetch`: one postgres.js client per request (as Cloudflare recommends with Hyperdrive). An
 *   SOS queues its first pages in its own transaction and sends them before the request's
 *   `waitUntil` ends: paging never waits for a timer.
 * - `IncidentTimer`, a Durable Object per active incident, holds the incident's next deadline
 *   (escalation step, check-in, a page retry) as its alarm. Whatever queues work for an incident
 *   (Pager.queued, a retry) arms it; the alarm runs the engine's tick, then re-arms from the
 *   database, so the database stays the only truth and an alarm too many is harmless.
 * - `scheduled`: the cron (once a minute at best) runs the same tick and re-arms the alarms of
 *   every incident due within two minutes: the safety net should an arm have been lost. It also
 *   runs the daily retention.
 */
import { DurableObject, type ExecutionContext, type ScheduledController } from 'cloudflare:workers';
import { runRetentionIfDue } from '../audit/retention';
import { connect, type Sql } from '../db/client';
import { SCHEMA_VERSION } from '../db/schema-version';
import { incidentOfPage, incidentsDueWithin, nextDue } from '../escalation/store';
import type { PageRef } from '../paging/pager';
import { compose } from './compose';
import { misconfigured, setupFrom, type Env, type IncidentTimerApi, type Setup } from './worker-config';

export type { Env };

/** One request's (or one alarm's) Mayday: the wired app on a client of its own, and what must finish before it closes. */
function runtime(s: Setup, sql: Sql, self?: string) {
  const pending = new Set<Promise<unknown>>();
  // Every incident this request or alarm queued work for. Each is armed at once (the first time;
  // later news while that arm is under way waits), and once more when all sends have an outcome,
  // so that a retry scheduled by the last send (a 429's backoff) is in the alarm too. An alarm
  // re-arms its own object when it is done; it never calls itself.
  const touched = new Set<string>();
  const arming = new Map<string, Promise<unknown>>();
  const armNow = (id: string) => s.timers.get(s.timers.idFromName(id)).arm(id);
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const arm = async (ref: PageRef) => {
    const id = 'incidentId' in ref ? ref.incidentId : await incidentOfPage(sql, ref.pageId);
    if (!id || id === self) return;
    touched.add(id);
    if (arming.has(id)) return;
    const p = armNow(id).finally(() => arming.delete(id));
    arming.set(id, p);
    await p;
  };
  const w = compose({
    sql,
    log: s.log,
    adminToken: s.config.adminToken,
    publicBaseUrl: s.config.publicBaseUrl,
    twilio: s.config.twilio,
    noonlight: s.config.noonlight,
    console: s.config.console,
    auditKeys: s.config.auditKeys,
    appAsset: s.appAsset,
    schemaVersion: SCHEMA_VERSION,
    // One sender per request: a record would wait for company that never comes (see PagingOptions).
    paging: { recordLingerMs: 0 },
    onScheduled: (ref) => track(arm(ref).catch((e) => s.log.warn({ err: e }, 'could not arm an incident timer; the cron sweep will'))),
  });
  return {
    ...w,
    /** Arm this incident's timer when the run settles. */
    touch: (id: string) => void touched.add(id),
    /** Every send started has its outcome recorded, every report is in, and each incident touched is armed from its final state. */
    async settle() {
      do {
        await w.pager.idle();
        await w.simulator?.idle();
        await w.dispatchSweeps(); // a location or cancel on its way to the dispatch center
        await Promise.allSettled([...pending]);
      } while (pending.size > 0);
      w.pager.stop(); // the sender lives for this request; the alarms have the retries
      const armed = await Promise.allSettled([...touched].map(armNow));
      const failed = armed.filter((r) => r.status === 'rejected').length;
      if (failed) s.log.warn({ failed, of: armed.length }, 'could not arm some incident timers; the next cron sweep will');
    },
  };
}

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let s: Setup;
    try {
      s = setupFrom(env);
    } catch (e) {
      return misconfigured(e, req);
    }
    const sql = connect(s.url, { max: 5, applicationName: 'mayday-worker', idleTimeout: 10 });
    const rt = runtime(s, sql);
    const finish = async () => {
      await rt.settle().catch((e) => s.log.error({ err: e }, 'finishing a request failed'));
      await sql.end({ timeout: 5 });
    };
    let res: Response;
    try {
      res = await rt.app.fetch(req);
    } catch (e) {
      ctx.waitUntil(finish());
      throw e;
    }
    if (res.body && res.headers.get('content-type')?.startsWith('text/event-stream')) {
      // The console's live stream keeps using the client until the browser goes away.
      const { readable, writable } = new TransformStream();
      ctx.waitUntil(res.body.pipeTo(writable).catch(() => undefined).finally(() => finish()));
      return new Response(readable, res);
    }
    ctx.waitUntil(finish());
    return res;
  },

  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    let s: Setup;
    try {
      s = setupFrom(env);
    } catch (e) {
      misconfigured(e, new Request('https://cron.invalid/__scheduled')); // the same clear log line as a request gets
      return;
    }
    const sql = connect(s.url, { max: 5, applicationName: 'mayday-cron', idleTimeout: 10 });
    const rt = runtime(s, sql);
    const sweep = async () => {
      try {
        const r = await rt.engine.tick(undefined, true);
        // Armed when the sweep settles (below), with every incident its tick queued work for.
        const due = await incidentsDueWithin(sql, 120);
        for (const id of due) rt.touch(id);
        const retention = await runRetentionIfDue(sql, s.log, { days: s.config.retentionDays });
        await retention.done;
        s.log.info({ escalated: r.escalated, checkins: r.checkins, recovered: r.recovered, sent: r.sent, dueSoon: due.length, ms: r.ms }, 'cron sweep');
      } catch (e) {
        s.log.error({ err: e }, 'cron sweep failed; the next one tries again');
      } finally {
        await rt.settle().catch((e) => s.log.error({ err: e }, 'cron sweep: finishing failed'));
        await sql.end({ timeout: 5 });
      }
    };
    ctx.waitUntil(sweep());
  },
};

/**
 * One per incident (named by its id). `arm` stores which incident it keeps and sets the alarm
 * to the incident's next deadline; `alarm` runs the engine's tick (which does everything due,
 * for every incident, claimed with SKIP LOCKED) and sets the next alarm, until the incident is
 * resolved. One postgres.js client per object, kept across alarms.
 */
const AFTER_ALARM_MS = 250;

export class IncidentTimer extends DurableObject<Env> implements IncidentTimerApi {
  private sql?: Sql;

  private db(s: Setup): Sql {
    this.sql ??= connect(s.url, { max: 3, applicationName: 'mayday-timer', idleTimeout: 30 });
    return this.sql;
  }

  /** Keep `incidentId`'s next deadline as this object's alarm; the deadline set, or null when none is left. */
  async arm(incidentId: string): Promise<string | null> {
    await this.ctx.storage.put('incident', incidentId);
    return this.rearm(setupFrom(this.env), incidentId);
  }

  /** The alarm: when it throws, Workers retry it with backoff; the cron sweep is the last net. */
  async alarm(): Promise<void> {
    const id = await this.ctx.storage.get<string>('incident');
    if (!id) return;
    const s = setupFrom(this.env);
    const rt = runtime(s, this.db(s), id);
    try {
      const r = await rt.engine.tick(undefined, true);
      if (r.escalated || r.checkins || r.failed) s.log.info({ incidentId: id, escalated: r.escalated, checkins: r.checkins, failed: r.failed, lateMs: r.lateMs, ms: r.ms }, 'incident timer fired');
    } finally {
      await rt.settle();
    }
    // Something still due at once (an escalation that keeps failing, a row another tick holds)
    // is looked at again a little later, not in a loop of back-to-back alarms.
    await this.rearm(s, id, AFTER_ALARM_MS);
  }

  private async rearm(s: Setup, incidentId: string, minDelayMs = 0): Promise<string | null> {
    const d = await nextDue(this.db(s), incidentId);
    if (!d?.at) {
      await this.ctx.storage.deleteAlarm();
      if (!d?.active) await this.ctx.storage.deleteAll(); // resolved (or unknown): nothing left to keep
      return null;
    }
    // In the database's time (the deadline's), converted to this clock's: no skew between the two.
    const at = Date.now() + Math.max(d.inMs, minDelayMs);
    await this.ctx.storage.setAlarm(at);
    return new Date(at).toISOString();
  }
}
