import type { TwimlBuilder, Telephony } from './telephony';
import type { Sql } from '../db/client';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { lazyChild, maskPhone } from '../log';
import { pageScript, smsFor } from './messages';
import { Coalescer } from './coalesce';
import {
  announcePages, cancelPage, claimPages, expireLeases, markFailed, markSent, markSentMany, markUnknown, recordCallback, recordCallbackMany, requeue, type ClaimedPage, type StatusReport,
} from './store';

export interface PagingOptions {
  /** How long a sender may hold a page before its outcome counts as unknown. */
  leaseSeconds: number;
  /** A call again after voicemail / no answer / busy, and a new attempt after an unknown outcome. */
  callRetrySeconds: number;
  unknownRetrySeconds: number;
  /** Attempts per recipient, channel and step (the first included). */
  maxAttempts: number;
  /** HTTP tries of one attempt when Twilio answers 429 or 5xx. */
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
}

export const DEFAULT_PAGING: PagingOptions = {
  leaseSeconds: 20,
  callRetrySeconds: 30,
  unknownRetrySeconds: 10,
  maxAttempts: 3,
  maxTries: 8,
  backoffBaseMs: 250,
  backoffCapMs: 8_000,
  maxInFlight: 1000,
  recordLingerMs: 10,
};

const ESCALATION = new Set(['page', 'failover', 'retry']);

/** Pages claimed at most at once by one claim of drain(), and reserveRoom()'s default. */
const CLAIM_BATCH = 500;

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
   * Told whenever an incident has pages to send, `now` (this sender is already on them) or
   * `later` (a retry after backoff or an unknown outcome: next_due() has moved). On Node the
   * engine's timer takes a `later` (Engine.nudge); on Workers both arm the incident's Durable
   * Object alarm.
   */
  onScheduled?: (ref: PageRef, when: 'now' | 'later') => void;
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
  private reserved = 0;

  /**
   * Sends Twilio took, and status callbacks, recorded together when they arrive together (one
   * transaction for a burst instead of one each; see Coalescer and page_sent_many()). Alone, each
   * is recorded at once as before.
   */
  private sent: Coalescer<{ pageId: string; sid: string }, void>;
  private statuses: Coalescer<StatusReport, string>;

  constructor(private deps: PagerDeps) {
    this.options = { ...DEFAULT_PAGING, ...deps.options };
    const { sql } = deps;
    const o = this.options;
    this.sent = new Coalescer(
      async (items) => {
        await markSentMany(sql, items);
        return items.map(() => undefined);
      },
      (i) => markSent(sql, i.pageId, i.sid),
      { maxItems: 50, maxInFlight: 2, lingerMs: o.recordLingerMs },
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
    if (ref) this.deps.onScheduled?.(ref, 'now');
    if (o.claimed) return;
    this.wake();
    if (this.announcing || this.stopped) return;
    this.announcing = setTimeout(() => {
      this.announcing = undefined;
      announcePages(this.deps.sql).catch((e) => this.deps.log.debug({ err: e }, 'page notify failed'));
    }, 25);
    this.announcing.unref?.();
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
      const room = this.options.maxInFlight - this.inflight.size - this.reserved;
      if (room <= 0) {
        this.full = true;
        return total;
      }
      const batch = Math.min(CLAIM_BATCH, room);
      this.reserved += batch;
      let pages: ClaimedPage[];
      try {
        pages = await claimPages(this.deps.sql, asOf, batch, this.options.leaseSeconds);
      } finally {
        this.reserved -= batch;
      }
      this.sendClaimed(pages);
      total += pages.length;
      if (pages.length < batch) return total;
    }
  }

  /**
   * Room for pages claimed elsewhere for this sender (an SOS's first pages, claimed by the SOS's
   * own call: openSos(); a step's, claimed by the escalation: escalate_due_and_claim()): up to
   * `max`, counted against maxInFlight as drain()'s claims are until releaseRoom(). 0 when the
   * sender is stopped or full.
   */
  reserveRoom(max = CLAIM_BATCH): number {
    if (this.stopped) return 0;
    const room = Math.max(0, Math.min(max, this.options.maxInFlight - this.inflight.size - this.reserved));
    this.reserved += room;
    return room;
  }

  releaseRoom(room: number): void {
    this.reserved -= room;
  }

  /** Send claimed pages, each in its own promise: drain()'s, or an SOS's (within reserveRoom()'s room). */
  sendClaimed(pages: ClaimedPage[]): void {
    for (const p of pages) this.track(this.send(p));
  }

  /** Turn pages held by a dead sender into unknown outcomes (with a new attempt queued). */
  async recover(): Promise<number> {
    return expireLeases(this.deps.sql, this.options.unknownRetrySeconds, this.options.maxAttempts);
  }

  /** Resolves when no drain is running and every send started has recorded its outcome. */
  async idle(): Promise<void> {
    while (this.running || this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight, ...(this.running ? [this.running] : [])]);
    }
  }

  stop() {
    this.stopped = true;
    if (this.announcing) clearTimeout(this.announcing);
  }

  private track(p: Promise<void>) {
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      // Claims come in batches, not one page per finished send: wake once half the room is free.
      if (this.full && this.inflight.size <= this.options.maxInFlight / 2) {
        this.full = false;
        this.wake();
      }
    });
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
      const result =
        p.channel === 'sms'
          ? await telephony.sendSms({ pageId: p.id, to: p.phone, body: smsFor(p), statusCallback: this.callbackUrl('status', p.id) })
          : await telephony.placeCall({
              pageId: p.id,
              to: p.phone,
              script: pageScript(p),
              twiml: this.deps.twiml.pageCall({ script: pageScript(p), gatherAction: this.callbackUrl('voice/gather', p.id) }),
              statusCallback: this.callbackUrl('voice/status', p.id),
              amdCallback: this.callbackUrl('voice/amd', p.id),
            });
      const ms = Math.round(performance.now() - started);
      this.deps.metrics?.pageOutcome(p.channel, result.ok ? 'sent' : result.kind);
      if (result.ok) {
        const recorded = this.sent.add({ pageId: p.id, sid: result.sid });
        this.recording.set(p.id, recorded.catch(() => undefined));
        try {
          await recorded;
        } finally {
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
            this.deps.onScheduled?.({ incidentId: p.incident_id }, 'later');
          }
          return;
        case 'permanent':
          plog.warn({ status: result.status, code: result.code }, 'page failed permanently');
          await markFailed(sql, p.id, result.code ?? String(result.status ?? ''), result.message);
          this.queued({ incidentId: p.incident_id }); // the failover page, if any, goes now (from here)
          return;
        case 'unknown':
          plog.warn({ code: result.code, ms }, 'page outcome unknown; a new attempt follows unless Twilio reports this one');
          await markUnknown(sql, p.id, result.message, o.unknownRetrySeconds, o.maxAttempts);
          this.deps.onScheduled?.({ incidentId: p.incident_id }, 'later');
          return;
      }
    } catch (e) {
      // Recording failed (database down): the lease runs out and recover() settles it as unknown.
      plog.error({ err: e }, 'could not record a page outcome');
    }
  }
}
