/**
 * Live updates for the console: one LISTEN on `mayday_events` per database pool (so per
 * process), started when the first console connects, fanned out to every open event stream.
 * sql/007_console.sql notifies on every timeline event, and every change to an incident appends
 * one in the same transaction, so this sees every change whichever instance made it.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Sql } from '../db/client';
import type { Deps } from '../deps';

export const CHANNEL = 'mayday_events';

type Listener = () => void;

class ChangeFeed {
  private listeners = new Set<Listener>();
  private listening?: Promise<unknown>;

  constructor(private deps: Deps) {}

  async subscribe(fn: Listener): Promise<() => void> {
    this.listeners.add(fn);
    try {
      await this.start();
    } catch (e) {
      this.listeners.delete(fn);
      throw e;
    }
    return () => void this.listeners.delete(fn);
  }

  get size() {
    return this.listeners.size;
  }

  private start() {
    // postgres.js re-listens by itself after a lost connection and calls onlisten again: changes
    // made meanwhile were missed, so every console is told to reload then too (not the first time).
    let listens = 0;
    this.listening ??= this.deps.sql
      .listen(CHANNEL, () => this.fire(), () => {
        if (listens++ > 0) this.fire();
      })
      .catch((e) => {
        this.listening = undefined;
        this.deps.log.warn({ err: e }, 'console: LISTEN failed');
        throw e;
      });
    return this.listening;
  }

  private fire() {
    for (const l of this.listeners) l();
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
}

/**
 * `event: changed` whenever an incident changed. The event carries no incident id: each page
 * reloads its own fragment, which the incident store filters for the viewer, so a supervisor's
 * stream tells nothing about other zones. Bursts coalesce into one event. The stream ends when
 * the client goes away or the process starts shutting down (so it never holds up a graceful stop).
 */
export function changeStream(c: Context, deps: Deps, opts: StreamOptions = {}) {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  c.header('Cache-Control', 'no-store');
  c.header('X-Accel-Buffering', 'no');
  return streamSSE(c, async (stream) => {
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
  }, async (err) => {
    deps.log.debug({ err }, 'console: event stream ended');
  });
}
