import type { Sql } from '../db/client';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { Pager } from '../paging/pager';
import { claimedFromJson, holdSenderLock, onPagesAnnounced } from '../paging/store';
import { checkinsDue, escalateDue, nextDueOfAll, type Escalated } from './store';

export interface EngineDeps {
  sql: Sql;
  log: Logger;
  pager: Pager;
  metrics?: Metrics;
  /** Extra periodic work (the phone simulator's unanswered calls, later check-ins). */
  onTick?: (asOf: Date | null) => Promise<void>;
  /**
   * On-call readiness due as of `asOf` (src/readiness: checks at shift starts, safety leads paged
   * after the grace); answers how many checks it handled. Counted in next_due() like the rest.
   */
  readiness?: (asOf: Date | null) => Promise<number>;
  /** This process's sender id (see holdSenderLock()): its lock is held from start() to stop(). */
  senderId?: string;
}

export interface TickResult {
  escalated: number;
  failed: number;
  /** Incidents whose check-in was requested or missed. */
  checkins: number;
  /** On-call readiness checks sent, or missed and paged to the safety leads. */
  readiness: number;
  recovered: number;
  sent: number;
  /** Milliseconds after their deadline that escalations ran (for the lateness histogram). */
  lateMs: number[];
  nextDeadline: Date | null;
  /** How far off nextDeadline is, in the database's time (negative: overdue); null when nothing is due. */
  nextInMs: number | null;
  ms: number;
}

/**
 * Incidents escalated (and check-ins handled) per transaction. Small, so that after a backlog (a
 * restart, an outage) the first escalations commit and page at once instead of when the whole
 * backlog is done.
 */
const BATCH = 50;

/**
 * How long the timer waits before looking again when something is overdue but a tick could do
 * none of it (another instance holds the row, the sender is full, an escalation keeps failing):
 * soon, but not in a loop of back-to-back ticks.
 */
const STUCK_RETRY_MS = 100;

/**
 * The escalation engine: `tick(asOf)` is the one place that acts on what is due as of `asOf` —
 * it starts escalation steps whose deadline passed, asks drivers to check in and records missed
 * check-ins, sends on-call readiness checks and pages for the missed ones (claimed with FOR UPDATE
 * SKIP LOCKED, so instances share the work), settles pages
 * whose sender died, and sends what is queued. What is due, and when next, is one SQL function,
 * next_due(): the Node timer below, and a Worker's alarm, both wait for it. Time is a parameter:
 * tests move `asOf` instead of sleeping. `start()` runs the tick on a timer set to the next
 * deadline (at least every `sweepMs`), moves the timer earlier when the sender schedules a retry
 * (`nudge()`), and wakes the sender whenever any instance queues a page (NOTIFY).
 */
export class Engine {
  private timer?: ReturnType<typeof setTimeout>;
  private ticking?: Promise<TickResult>;
  private stopped = true;
  private unlisten?: () => Promise<void>;
  private firstRunDone?: () => void;
  /** When the timer fires (epoch ms), so that a nudge only ever moves it earlier. */
  private timerAt = Infinity;
  /** The earliest nudge that came while a tick ran (epoch ms): the timer set after the tick honours it. */
  private nudgedAt = Infinity;
  private senderLock?: Awaited<ReturnType<typeof holdSenderLock>>;
  /** Resolves once the first tick after start() has run (a restart's overdue work started). */
  readonly firstRun = new Promise<void>((r) => (this.firstRunDone = r));

  constructor(
    private deps: EngineDeps,
    private opts: { sweepMs: number; slowTickMs: number } = { sweepMs: 1_000, slowTickMs: 500 },
  ) {}

  /**
   * Run everything due as of `asOf` (default: the database's now). With `waitForSends` (tests, a
   * Worker's alarm) it also waits until every send it started, and every failover those queued,
   * has an outcome; and if something is then still due, it runs once more. Escalations and
   * check-ins skip an incident another transaction holds (SKIP LOCKED), and the likeliest holder
   * is this tick's own sends: recording a page locks its incident (page_sent_many()). So an
   * incident escalated by the first pass can have its check-in skipped by it; once the sends are
   * recorded, the second pass asks for it. (The timer-driven tick needs no second pass: a deadline
   * still due makes it run again at once.)
   */
  async tick(asOf?: Date, waitForSends = true): Promise<TickResult> {
    const started = performance.now();
    let r = await this.pass(asOf ?? null, waitForSends);
    let passes = 1;
    if (waitForSends && r.stillDue && r.failed === 0) {
      passes++;
      const again = await this.pass(asOf ?? null, waitForSends);
      r = {
        ...again,
        escalated: r.escalated + again.escalated,
        checkins: r.checkins + again.checkins,
        readiness: r.readiness + again.readiness,
        recovered: r.recovered + again.recovered,
        sent: r.sent + again.sent,
        lateMs: [...r.lateMs, ...again.lateMs],
      };
    }
    const ms = Math.round(performance.now() - started);
    const slow = ms > this.opts.slowTickMs;
    // The phases are the last pass's.
    if (slow) this.deps.log.warn({ ms, passes, escalated: r.escalated, checkins: r.checkins, readiness: r.readiness, recovered: r.recovered, sent: r.sent, ...r.phases }, 'engine tick ran long');
    this.deps.metrics?.tick(ms, slow);
    this.deps.metrics?.escalationLateness(r.lateMs);
    const { stillDue: _, phases: __, ...result } = r;
    return { ...result, ms };
  }

  /** One pass of tick(): escalations, check-ins, lease recovery, the drain; and what is due next. */
  private async pass(at: Date | null, waitForSends: boolean) {
    const started = performance.now();
    const { sql, pager } = this.deps;
    // First the pages of a sender that died (this process before a restart, or another
    // instance): they are sent again at once, before a backlog of escalations takes its second.
    // Our own lock lost with its connection (the database restarted) is taken again first, so
    // that nobody counts our pages as a dead sender's for long.
    if (this.senderLock && !(await this.senderLock.held())) this.deps.log.warn('the sender lock was lost with its connection; taken again');
    const recovered = await pager.recover();
    if (recovered > 0) pager.wake();
    const recoveredAt = performance.now();
    let escalated = 0;
    let failed = 0;
    const lateMs: number[] = [];
    for (;;) {
      const rows = await this.escalateDue(at);
      let done = 0;
      for (const r of rows) {
        if (r.failed) failed++;
        else (escalated++, done++);
        if (r.late_ms !== null) lateMs.push(r.late_ms);
      }
      if (rows.length > done) this.deps.log.error({ failed: rows.length - done }, 'escalation failed for some incidents; they stay due and are retried');
      if (!done) break;
      // Their pages go out now, not after check-ins and the rest of the backlog: those the
      // escalation claimed are on their way (escalateDue()), and the sender looks for any it
      // could not claim.
      if (rows.some((r) => r.unclaimed)) pager.wake();
      // Again until nothing is due: a deadline that passed while this batch ran is taken now, not
      // at the next tick. Within a second, so that check-ins are not starved.
      if (performance.now() - started > 1_000) break;
    }
    const escalatedAt = performance.now();
    // Pages already due (a retry whose backoff ran out, which is what most nudges are for) start
    // now, beside the phases below, rather than after them: under load those phases took a few
    // hundred milliseconds, each a silence for a page refused more than once. Not before the
    // escalations: sends recorded meanwhile lock their incidents, which escalate_due() skips.
    if (at === null) pager.wake();
    // Check-ins in batches, while the tick is under a second: what is left is still due, and the
    // next tick (at once) takes it after any escalation that came due meanwhile.
    let checkins = 0;
    for (;;) {
      const n = await checkinsDue(sql, at, BATCH);
      checkins += n;
      if (n < BATCH || performance.now() - started > 1_000) break;
    }
    const checkinsAt = performance.now();
    // Readiness failing (its SQL, a bug) must not hold back the rest of the tick: logged, due again next tick.
    const readiness = (await this.deps.readiness?.(at).catch((e: unknown) => {
      this.deps.log.error({ err: e }, 'on-call readiness failed; it is due again at the next tick');
      return 0;
    })) ?? 0;
    await this.deps.onTick?.(at);
    let sent = 0;
    for (;;) {
      const n = await pager.drain(at);
      sent += n;
      if (!waitForSends) break;
      await pager.idle();
      if (n === 0) break;
    }
    const next = await nextDueOfAll(sql, at);
    // Where the time went, for the "ran long" warning: lease recovery, escalations, check-ins, the rest (retention, checkpoints, the drain).
    const phase = (a: number, b: number) => Math.round(b - a);
    const phases = { recoverMs: phase(started, recoveredAt), escalateMs: phase(recoveredAt, escalatedAt), checkinsMs: phase(escalatedAt, checkinsAt), drainMs: phase(checkinsAt, performance.now()) };
    return { escalated, failed, checkins, readiness, recovered, sent, lateMs, nextDeadline: next.at, nextInMs: next.inMs, stillDue: next.due, phases };
  }

  /**
   * Escalate up to BATCH due incidents, claiming their new pages for this sender in the same
   * transaction, as much as it has room for, and start sending those at once.
   */
  private async escalateDue(at: Date | null): Promise<Escalated[]> {
    const { sql, pager } = this.deps;
    // Room for a batch's pages (two channels, two people each), not the sender's whole claim
    // batch: SOS calls running meanwhile need room for theirs.
    const room = pager.reserveRoom(4 * BATCH);
    try {
      const rows = await escalateDue(sql, at, BATCH, pager.options.leaseSeconds, room);
      // Counted in flight before the room is given back, so that no drain claims into it meanwhile.
      pager.sendClaimed(rows.flatMap((r) => claimedFromJson(r.pages)));
      return rows;
    } finally {
      pager.releaseRoom(room);
    }
  }

  async start() {
    this.stopped = false;
    // Before anything is claimed: a page leased to a sender whose lock is missing is taken over.
    if (this.deps.senderId) this.senderLock = await holdSenderLock(this.deps.sql, this.deps.senderId);
    // Another instance queued pages (Pager.queued()): look at once, in case it cannot send them.
    this.unlisten = await onPagesAnnounced(this.deps.sql, () => this.deps.pager.wake());
    this.schedule(0);
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.deps.pager.stop();
    await this.ticking?.catch(() => undefined);
    await this.deps.pager.idle();
    await this.unlisten?.().catch(() => undefined);
    await this.senderLock?.release();
  }

  /**
   * Something was scheduled `inMs` from now (a page's retry after backoff, or an unknown outcome's
   * next attempt): move the timer earlier if that comes sooner. The tick it fires acts on
   * whatever next_due() then says; a nudge only wakes it.
   */
  nudge(inMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, inMs);
    if (this.ticking) this.nudgedAt = Math.min(this.nudgedAt, at);
    else if (at < this.timerAt) this.schedule(at - Date.now());
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(ms, this.opts.sweepMs));
    this.timerAt = Date.now() + wait;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      void this.run();
    }, wait);
  }

  private async run() {
    if (this.stopped) return;
    let next = this.opts.sweepMs;
    try {
      this.ticking = this.tick(undefined, false);
      const r = await this.ticking;
      // In the database's time (how far off next_due() is), so the two clocks need not agree.
      if (r.nextInMs !== null) next = r.nextInMs;
      const progressed = r.escalated + r.checkins + r.readiness + r.recovered + r.sent > 0;
      if (next <= 0 && !progressed) next = STUCK_RETRY_MS;
    } catch (e) {
      this.deps.log.warn({ err: e }, 'engine tick failed; retrying');
    } finally {
      this.ticking = undefined;
      this.firstRunDone?.();
      this.firstRunDone = undefined;
    }
    this.schedule(Math.min(next, this.nudgedAt - Date.now()));
    this.nudgedAt = Infinity;
  }
}
