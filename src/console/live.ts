/**
 * Live updates for the console: while any console is connected, each process polls one cheap
 * "version" of the active incidents every half second — the number of them and the sum of their
 * timelines' lengths, and the readiness checks' latest change — and tells every open event stream
 * when it changed. Every change to an incident appends a timeline event, so this sees every
 * change, whichever instance made it.
 *
 * Why not LISTEN/NOTIFY here: a NOTIFY in a transaction takes a cluster-wide lock at commit,
 * and a notify per timeline event serialised every SOS, page and callback (measured by
 * bench:paging: about 215 against 775 transactions a second). Polling costs one indexed query
 * per process per half second, and only while someone is watching.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Sql } from '../db/client';
import type { Deps } from '../deps';
import { AppError } from '../errors';
import { errorResponse } from '../http/errors';
import { activeIncidentsVersion } from './store';

export const POLL_MS = 500;

/**
 * Open event streams are capped: each holds a socket and some memory until its browser goes
 * away, so one session (or a script with its cookie) must not open thousands. A console tab
 * keeps one stream; 8 covers a supervisor's tabs. Beyond either cap a new stream gets 429.
 * Deps.console overrides both (tests use small numbers).
 */
export const STREAMS_PER_SESSION = 8;
export const STREAMS_PER_PROCESS = 1000;

/** Streams open in this process (a Worker's isolate), by session. */
class StreamSlots {
  total = 0;
  private bySession = new Map<string, number>();

  /** A slot for one more stream of `session`, released by the function it answers; undefined when full. */
  take(session: string, perSession: number, perProcess: number): (() => void) | undefined {
    const mine = this.bySession.get(session) ?? 0;
    if (mine >= perSession || this.total >= perProcess) return undefined;
    this.bySession.set(session, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.bySession.get(session) ?? 1) - 1;
      if (n > 0) this.bySession.set(session, n);
      else this.bySession.delete(session);
    };
  }
}

// One for the process, not per database client: a Worker makes a client per request.
const slots = new StreamSlots();
export const slotsOf = (_deps: Deps) => slots;

type Listener = () => void;

class ChangeFeed {
  private listeners = new Set<Listener>();
  private timer?: ReturnType<typeof setInterval>;
  private last?: string;
  private polling = false;

  constructor(private deps: Deps) {}

  async subscribe(fn: Listener): Promise<() => void> {
    this.listeners.add(fn);
    if (!this.timer) {
      this.last = await this.version();
      this.timer = setInterval(() => void this.poll(), POLL_MS);
      this.timer.unref?.();
    }
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  get size() {
    return this.listeners.size;
  }

  private async version(): Promise<string> {
    return activeIncidentsVersion(this.deps.sql);
  }

  private async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      const v = await this.version();
      if (v !== this.last) {
        this.last = v;
        for (const l of this.listeners) l();
      }
    } catch (e) {
      this.deps.log.warn({ err: e }, 'console: change poll failed');
    } finally {
      this.polling = false;
    }
  }
}

const feeds = new WeakMap<Sql, ChangeFeed>();
export const feedOf = (deps: Deps) => {
  let f = feeds.get(deps.sql);
  if (!f) feeds.set(deps.sql, (f = new ChangeFeed(deps)));
  return f;
};

export interface StreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** The session the stream is counted against (its id's hash). */
  session: string;
}

/**
 * `event: changed` whenever an incident changed. The event carries no incident id: each page
 * reloads its own fragment, which the incident store filters for the viewer, so a supervisor's
 * stream tells nothing about other zones. Bursts coalesce into one event. The stream ends when
 * the client goes away or the process starts shutting down (so it never holds up a graceful stop).
 */
export function changeStream(c: Context, deps: Deps, opts: StreamOptions) {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const release = slotsOf(deps).take(
    opts.session,
    deps.console?.streamsPerSession ?? STREAMS_PER_SESSION,
    deps.console?.streamsPerProcess ?? STREAMS_PER_PROCESS,
  );
  if (!release) {
    deps.log.warn({ open: slotsOf(deps).total }, 'console: event stream refused, too many open');
    c.header('Retry-After', '30');
    return errorResponse(c, new AppError('rate_limited', 'Too many live-update streams are open: close other console tabs and reload.'));
  }
  c.header('Cache-Control', 'no-store');
  c.header('X-Accel-Buffering', 'no');
  return streamSSE(c, async (stream) => {
    try {
      await follow(stream);
    } finally {
      release(); // the slot is free again the moment the stream ends, however it ends
    }
  }, async (err) => {
    deps.log.debug({ err }, 'console: event stream ended');
  });

  async function follow(stream: Parameters<Parameters<typeof streamSSE>[1]>[0]) {
    let pending = false;
    let wake: (() => void) | undefined;
    const unsubscribe = await feedOf(deps).subscribe(() => {
      pending = true;
      wake?.();
    });
    let closed = false;
    stream.onAbort(() => {
      closed = true;
      wake?.();
    });
    try {
      await stream.writeSSE({ event: 'ready', data: '', retry: 2000 });
      let lastWrite = Date.now();
      while (!closed && !deps.draining?.()) {
        if (!pending) {
          await new Promise<void>((res) => {
            const t = setTimeout(res, 1000); // at least every second: notice shutdown
            wake = () => {
              clearTimeout(t);
              res();
            };
          });
          wake = undefined;
        }
        if (closed) break;
        if (pending) {
          pending = false;
          await stream.writeSSE({ event: 'changed', data: '' });
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite >= heartbeatMs) {
          await stream.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
      }
    } finally {
      unsubscribe();
    }
  }
}
