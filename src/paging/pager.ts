import type { TwimlBuilder, Telephony } from './telephony';
import type { Sql } from '../db/client';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { lazyChild, maskPhone } from '../log';
import { pageCall, pageScript, smsFor } from './messages';
import { Coalescer } from './coalesce';
import {
  announcePages, cancelPage, claimPages, expireLeases, hedgePage, markFailed, markSent, markSentMany, markUnknown, recordCallback, recordCallbackMany, renewLeases, requeue, type SentPage,
  type ClaimedPage, type ResendReason, type StatusReport,
} from './store';

export interface PagingOptions {
  /**
   * How long a sender may hold a page without renewing its lease before its outcome counts as
   * unknown (and it is sent again). The sender renews the leases of every page it still holds
   * every third of this (a heartbeat), so a slow send keeps its page and a dead sender's pages
   * are taken over within this long (at once where its advisory lock shows it died: see
   * expire_leases()).
   */
  leaseSeconds: number;
  /** A call again after voicemail / no answer / busy. */
  callRetrySeconds: number;
  /**
   * A page whose outcome is unknown (a Twilio 5xx, a timeout, a reset connection, a sender that
   * stopped) is sent again after a jittered backoff from this base, doubling per attempt and
   * never over a second (resendDelayMs()).
   */
  resendBaseMs: number;
  /** A send Twilio has not answered after this long is hedged: its next attempt goes out while it still waits. */
  hedgeMs: number;
  /** Attempts per recipient, channel and step (the first included) for a call again after voicemail. */
  maxAttempts: number;
  /**
   * Attempts per recipient, channel and step (the first included) when an outcome is unknown or
   * a send is hedged: more than maxAttempts, since each is a second of a page nobody got.
   */
  maxResendAttempts: number;
  /**
   * HTTP tries of one attempt when Twilio answers 429 or 503 (not taken): each after a full-jitter
   * backoff from backoffBaseMs, doubling, at most backoffCapMs. Short on purpose: every wait is a
   * page nobody has; after maxTries the page fails and fails over to the other channel.
   */
  maxTries: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /**
   * Pages this instance holds claimed and unsent at most. More wait queued (other instances may
   * take them) until sends finish: a claim starts a page's lease, and a page claimed long before
   * a connection to Twilio is free (Node keeps at most 100) could outlive it and be counted as
   * unknown while it still waits to go out.
   */
  maxInFlight: number;
  /**
   * How long a record of a send Twilio took (page_sent) or of a status callback waits for others
   * to share its transaction (see Coalescer). The page has already gone out, and an
   * acknowledgement is a reply or a keypress, recorded by its own webhook at once; what waits is
   * the record, and what a callback starts (a failover after `undelivered`, a call again after
   * voicemail), by up to this long. At 100 SOS a second these records come about every 2.5 ms,
   * one at a time: each in its own commit, they kept PostgreSQL's WAL flush busy and new SOS
   * commits queued behind them. 0: only what arrives in one turn of the event loop goes
   * together (Workers, whose sender lives for one request, where nothing would come to share).
   */
  recordLingerMs: number;
  /**
   * While SOS calls are in flight, the records of sends wait for them this long at most, then go
   * in batches: SOS intake has the database first (0: never wait). Status callbacks are not held:
   * each holds Twilio's HTTP request, and under a burst held requests made Twilio (the stand-in)
   * open more connections than Node, which accepts one per turn of its loop, could take.
   */
  yieldToIntakeMs: number;
}

export const DEFAULT_PAGING: PagingOptions = {
  leaseSeconds: 3,
  callRetrySeconds: 30,
  resendBaseMs: 200,
  hedgeMs: 2_000,
  maxAttempts: 3,
  maxResendAttempts: 5,
  maxTries: 8,
  backoffBaseMs: 100,
  backoffCapMs: 400,
  maxInFlight: 1000,
  recordLingerMs: 10,
  yieldToIntakeMs: 250,
};

const ESCALATION = new Set(['page', 'failover', 'retry']);

/** Pages claimed at most at once by one claim of drain(), and reserveRoom()'s default. */
const CLAIM_BATCH = 500;

/** The wait before an unknown outcome's next attempt: between half and all of base * 2^(attempt-1), at most 1 s. */
export function resendDelayMs(attempt: number, base: number, random = Math.random): number {
  const ceiling = Math.min(1_000, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Why a send without a clear answer is sent again: the answer Twilio gave, or none. */
export function resendReason(r: { status?: number; code?: string }): ResendReason {
  if (r.status !== undefined && r.status >= 500) return 'twilio_5xx';
  return r.code === 'timeout' ? 'timeout' : 'reset';
}

/** Full jitter: a random delay up to min(cap, base * 2^(tries-1)). */
export function backoffMs(tries: number, o: Pick<PagingOptions, 'backoffBaseMs' | 'backoffCapMs'>, random = Math.random): number {
  const ceiling = Math.min(o.backoffCapMs, o.backoffBaseMs * 2 ** Math.max(0, tries - 1));
  return Math.max(50, Math.round(random() * ceiling));
}

export interface PagerDeps {
  sql: Sql;
  log: Logger;
  telephony: Telephony;
  twiml: TwimlBuilder;
  publicBaseUrl: string;
  options?: Partial<PagingOptions>;
  metrics?: Metrics;
  /**
   * Told whenever an incident has pages to send: now (`inMs` 0: this sender is on them) or
   * `inMs` from now (a retry after backoff or an unknown outcome's next attempt). On Node a
   * later one moves the engine's timer (Engine.nudge); on Workers every one arms the incident's
   * Durable Object alarm, which reads next_due().
   */
  onScheduled?: (ref: PageRef, inMs: number) => void;
}

/** Which incident has new work: named directly, or through one of its pages (a status callback). */
export type PageRef = { incidentId: string } | { pageId: string };

/**
 * The outbox sender. Every due page is claimed (FOR UPDATE SKIP LOCKED, so any number of
 * instances share the work and each page goes to one of them) and sent at once, each in its
 * own promise: pages of different incidents never wait behind each other, and there is no
 * global cap on SOS pages.
 */
export class Pager {
  readonly options: PagingOptions;
  private inflight = new Set<Promise<void>>();
  private running: Promise<void> | null = null;
  private again = false;
  private announcing?: ReturnType<typeof setTimeout>;
  private stopped = false;
  /** A drain stopped claiming at maxInFlight: sends finishing wake the sender (see track()). */
  private full = false;
  /** How many times a drain found no room: a drain clears `full` only if none did during its claim. */
  private fullMarks = 0;
  private reserved = 0;
  /** The part of `reserved` held by SOS calls (at most half of maxInFlight, or the one reservation that asked more). */
  private sosReserved = 0;
  /** Pages this sender has claimed and not yet settled: their leases are renewed (heartbeat()). */
  private holding = new Set<string>();
  private beating?: ReturnType<typeof setInterval>;

  /**
   * Sends Twilio took, and status callbacks, recorded together when they arrive together (one
   * transaction for a burst instead of one each; see Coalescer and page_sent_many()). Alone, each
   * is recorded at once as before.
   */
  private sent: Coalescer<SentPage, void>;
  private statuses: Coalescer<StatusReport, string>;

  constructor(private deps: PagerDeps) {
    this.options = { ...DEFAULT_PAGING, ...deps.options };
    const { sql } = deps;
    const o = this.options;
    const defer = o.yieldToIntakeMs > 0 ? { while: () => this.intakeBusy(), maxMs: o.yieldToIntakeMs } : undefined;
    this.sent = new Coalescer(
      async (items) => {
        await markSentMany(sql, items);
        return items.map(() => undefined);
      },
      (i) => markSent(sql, i),
      { maxItems: 50, maxInFlight: 2, lingerMs: o.recordLingerMs, defer },
    );
    this.statuses = new Coalescer(
      (items) => recordCallbackMany(sql, items, o.callRetrySeconds, o.maxAttempts),
      (i) => recordCallback(sql, i, o.callRetrySeconds, o.maxAttempts),
      { maxItems: 50, maxInFlight: 3, lingerMs: o.recordLingerMs },
    );
  }

  /** Sends taken, whose record (page_sent) is on its way: see whenRecorded(). */
  private recording = new Map<string, Promise<void>>();

  /**
   * Resolves once this instance has recorded that the page went out (or at once if it is not
   * recording it). The phone simulator reports its statuses after that, as Twilio's callbacks
   * usually come: a report that overtook the record would take the general path and lock
   * against it.
   */
  whenRecorded(pageId: string): Promise<void> {
    return this.recording.get(pageId) ?? Promise.resolve();
  }

  /** Record a status callback (Twilio's webhook); answers page_callback()'s result. */
  recordStatus(r: StatusReport): Promise<string> {
    return this.statuses.add(r);
  }

  /**
   * This instance just committed pages: send them now, and tell the other instances (NOTIFY on
   * `mayday_pages`, which their engines LISTEN to) so that, should this one die before sending,
   * another picks them up at once rather than at its next sweep. The NOTIFY is its own small
   * statement after the commit, at most one per 25 ms: a NOTIFY inside the SOS transaction would
   * take PostgreSQL's cluster-wide notify lock at every commit. `claimed`: this instance has
   * already claimed every page it committed (openSos()): it need not look for them, and neither
   * need the others (pages leased to this instance are not theirs to take until the lease runs
   * out), so nobody is told — a NOTIFY would only wake every instance's sender, this one's too,
   * for a claim that finds nothing.
   */
  queued(ref?: PageRef, o: { claimed?: boolean } = {}): void {
    if (ref) this.deps.onScheduled?.(ref, 0);
    if (o.claimed) return;
    this.wake();
    // Stopped (shutting down): this sender will not send them, so the others are told at once.
    if (this.stopped) return this.announce();
    if (this.announcing) return;
    this.announcing = setTimeout(() => this.announce(), 25);
    this.announcing.unref?.();
  }

  private announce(): void {
    if (this.announcing) clearTimeout(this.announcing);
    this.announcing = undefined;
    announcePages(this.deps.sql).catch((e) => this.deps.log.debug({ err: e }, 'page notify failed'));
  }

  /** Send what is due now (this instance only). Calls while a drain runs coalesce into one more pass. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.drain(null);
        } while (this.again && !this.stopped);
      } catch (e) {
        this.deps.log.warn({ err: e }, 'pager drain failed; the sweep will retry');
      } finally {
        this.running = null;
      }
    })();
  }

  /** Claim and start sending every page due as of `asOf` (null: the database's now). */
  async drain(asOf: Date | null): Promise<number> {
    let total = 0;
    for (;;) {
      // Room is reserved before the claim: two drains at once (the tick's and a wake-up's) share it.
      const room = this.room();
      if (room <= 0) {
        this.full = true;
        this.fullMarks++;
        return total;
      }
      const batch = Math.min(CLAIM_BATCH, room);
      const fullMark = this.fullMarks;
      this.reserved += batch;
      let pages: ClaimedPage[];
      try {
        pages = await claimPages(this.deps.sql, asOf, batch, this.options.leaseSeconds);
      } finally {
        this.reserved -= batch;
      }
      this.sendClaimed(pages);
      total += pages.length;
      if (pages.length < batch) {
        // Nothing due was left waiting: new claims need not give way any more (unless another
        // drain found no room meanwhile, for pages committed after this claim).
        if (this.fullMarks === fullMark) this.full = false;
        return total;
      }
    }
  }

  /**
   * Room for pages claimed elsewhere for this sender (an SOS's first pages, claimed by the SOS's
   * own call: openSos(); a step's, claimed by the escalation: escalate_due_and_claim()): up to
   * `max`, counted against maxInFlight as drain()'s claims are until releaseRoom(). 0 when the
   * sender is stopped or full. With `sos`, an SOS call is in flight until the matching
   * releaseRoom (intakeBusy()).
   */
  reserveRoom(max = CLAIM_BATCH, o: { sos?: boolean } = {}): number {
    if (o.sos) this.sosCalls++;
    // While queued pages wait for room (full), they go first: a new claim would starve them.
    if (this.stopped || this.full) return 0;
    // SOS calls reserve before they have a connection, so under a burst hundreds hold room they
    // cannot use yet: together they get at most half (one alone may take what it asks, room
    // permitting), and the sender keeps the rest for the pages of those that got none.
    const share = o.sos && this.sosReserved > 0 ? Math.floor(this.options.maxInFlight / 2) - this.sosReserved : Infinity;
    const room = Math.max(0, Math.min(max, this.room(), share));
    this.reserved += room;
    if (o.sos) this.sosReserved += room;
    return room;
  }

  releaseRoom(room: number, o: { sos?: boolean } = {}): void {
    if (o.sos) {
      this.sosCalls--;
      this.sosReserved -= room;
    }
    this.reserved -= room;
    // Room held by calls that ended may be what queued pages wait for (nothing in flight to wake them).
    this.roomFreed();
  }

  /** SOS calls of this instance in flight (between reserveRoom and releaseRoom with `sos`). */
  private sosCalls = 0;

  /** Whether an SOS call of this instance is in flight: background writes give way to it. */
  intakeBusy(): boolean {
    return this.sosCalls > 0;
  }

  /** Resolves once no SOS call is in flight, or after `maxMs`: a long reader's turn comes after intake. */
  async intakeQuiet(maxMs = this.options.yieldToIntakeMs): Promise<void> {
    const until = performance.now() + maxMs;
    while (this.intakeBusy() && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  /** Send claimed pages, each in its own promise: drain()'s, or an SOS's (within reserveRoom()'s room). */
  sendClaimed(pages: ClaimedPage[]): void {
    for (const p of pages) {
      this.holding.add(p.id);
      this.track(this.send(p).finally(() => this.holding.delete(p.id)));
    }
    if (this.holding.size > 0) this.heartbeat();
  }

  /** Turn pages held by a dead sender into unknown outcomes, each sent again at once. */
  async recover(): Promise<number> {
    return expireLeases(this.deps.sql, 0, this.options.maxResendAttempts);
  }

  /** While this sender holds pages, renew their leases every third of leaseSeconds. */
  private heartbeat() {
    if (this.beating || this.stopped) return;
    const every = (this.options.leaseSeconds * 1000) / 3;
    this.beating = setInterval(() => {
      if (this.holding.size === 0) {
        clearInterval(this.beating);
        this.beating = undefined;
        return;
      }
      renewLeases(this.deps.sql, [...this.holding], this.options.leaseSeconds).catch((e) => this.deps.log.warn({ err: e }, 'could not renew page leases'));
    }, every);
    this.beating.unref?.();
  }

  /** Resolves when no drain is running and every send started has recorded its outcome. */
  async idle(): Promise<void> {
    while (this.running || this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight, ...(this.running ? [this.running] : [])]);
    }
  }

  stop() {
    this.stopped = true;
    // Pages queued just before: the other instances are told now rather than never.
    if (this.announcing) this.announce();
    if (this.beating) clearInterval(this.beating);
    this.beating = undefined;
  }

  private track(p: Promise<void>) {
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      this.roomFreed();
    });
  }

  /**
   * Sends of this instance that Twilio has not answered yet: what maxInFlight bounds. A page
   * Twilio took is sent; while its record waits (behind an SOS call, or in a batch) it keeps its
   * lease (holding) but not a place in the room, which would otherwise fill with sent pages and
   * leave new SOS nothing to claim.
   */
  private unsent(): number {
    return this.inflight.size - this.awaitingRecord;
  }
  private awaitingRecord = 0;

  /** Places neither taken by a send Twilio has not answered nor reserved by a claim under way. */
  private room(): number {
    return this.options.maxInFlight - this.unsent() - this.reserved;
  }

  /**
   * Claims come in batches, not one page per finished send: once half the room is free (sends
   * finished, reservations released), wake the sender for the pages left queued when it was full.
   */
  private roomFreed() {
    if (this.full && this.room() >= this.options.maxInFlight / 2) {
      this.full = false;
      this.wake();
    }
  }

  /** A send still unanswered after hedgeMs: queue its next attempt (page.resent, reason timeout) and send it now. */
  private async hedge(p: ClaimedPage, plog: Logger) {
    if (this.stopped) return;
    try {
      const next = await hedgePage(this.deps.sql, p.id, this.options.maxResendAttempts);
      if (!next) return;
      plog.warn({ nextPageId: next, hedgeMs: this.options.hedgeMs }, 'Twilio has not answered; sending the page again meanwhile');
      this.queued({ incidentId: p.incident_id });
    } catch (e) {
      plog.warn({ err: e }, 'could not hedge a slow send; its lease and outcome still cover it');
    }
  }

  callbackUrl(path: string, pageId: string) {
    return `${this.deps.publicBaseUrl}/webhooks/twilio/${path}?page=${pageId}`;
  }

  private async send(p: ClaimedPage): Promise<void> {
    const { sql, log, telephony } = this.deps;
    const o = this.options;
    const plog = lazyChild(log, { pageId: p.id, incidentId: p.incident_id, channel: p.channel, attempt: p.attempt, to: maskPhone(p.phone) });
    try {
      if (ESCALATION.has(p.purpose) && p.incident_status !== 'open') {
        await cancelPage(sql, p.id);
        return;
      }
      const started = performance.now();
      // Twilio silent for hedgeMs: the next attempt goes out now, while this one still waits.
      const hedge = p.attempt < o.maxResendAttempts ? setTimeout(() => this.track(this.hedge(p, plog)), o.hedgeMs) : undefined;
      hedge?.unref?.();
      const result = await (p.channel === 'sms'
          ? telephony.sendSms({ pageId: p.id, to: p.phone, body: smsFor(p), statusCallback: this.callbackUrl('status', p.id) })
          : telephony.placeCall({
              pageId: p.id,
              to: p.phone,
              script: pageScript(p),
              twiml: this.deps.twiml.pageCall({ ...pageCall(p), gatherAction: this.callbackUrl('voice/gather', p.id) }),
              statusCallback: this.callbackUrl('voice/status', p.id),
              amdCallback: this.callbackUrl('voice/amd', p.id),
            })).finally(() => clearTimeout(hedge));
      const ms = Math.round(performance.now() - started);
      this.deps.metrics?.pageOutcome(p.channel, result.ok ? 'sent' : result.kind);
      if (result.ok) {
        const recorded = this.sent.add({ pageId: p.id, sid: result.sid, takenAt: new Date() });
        this.recording.set(p.id, recorded.catch(() => undefined));
        this.awaitingRecord++;
        this.roomFreed();
        try {
          await recorded;
        } finally {
          this.awaitingRecord--;
          this.recording.delete(p.id);
        }
        plog.info({ sid: result.sid, ms }, 'page sent');
        return;
      }
      switch (result.kind) {
        case 'retry':
          if (p.tries >= o.maxTries) {
            plog.warn({ status: result.status, code: result.code, tries: p.tries }, 'page failed: Twilio kept refusing');
            await markFailed(sql, p.id, result.code ?? String(result.status ?? 'retry_exhausted'), `gave up after ${p.tries} tries: ${result.message}`);
          } else {
            const delay = backoffMs(p.tries, o);
            plog.info({ status: result.status, code: result.code, delay }, 'page not taken; retrying');
            await requeue(sql, p.id, delay, result.message);
            this.deps.onScheduled?.({ incidentId: p.incident_id }, delay);
          }
          return;
        case 'permanent':
          plog.warn({ status: result.status, code: result.code }, 'page failed permanently');
          await markFailed(sql, p.id, result.code ?? String(result.status ?? ''), result.message);
          this.queued({ incidentId: p.incident_id }); // the failover page, if any, goes now (from here)
          return;
        case 'unknown': {
          // Sent again within a second; if Twilio did take this one, its callbacks are still recorded.
          const reason = resendReason(result);
          const delay = resendDelayMs(p.attempt, o.resendBaseMs);
          plog.warn({ code: result.code, status: result.status, reason, delay, ms }, 'page outcome unknown; sending it again');
          await markUnknown(sql, p.id, result.message, delay / 1000, o.maxResendAttempts, reason);
          this.deps.onScheduled?.({ incidentId: p.incident_id }, delay);
          return;
        }
      }
    } catch (e) {
      // Recording failed (database down): the lease runs out and recover() settles it as unknown.
      plog.error({ err: e }, 'could not record a page outcome');
    }
  }
}
