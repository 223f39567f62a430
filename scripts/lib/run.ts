/**
 * The plumbing every script shares: where the repository is, time, progress lines on stderr,
 * integer settings from the environment, and cleanup: whatever a script starts (a child, a
 * scratch database, a temporary directory) registers its undo, run in reverse order once, at the
 * end or on SIGINT/SIGTERM. No side effects on import (the Twilio stand-in imports from here and
 * is imported by tests): the signal handlers are installed with the first undo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Epoch milliseconds with sub-millisecond precision, comparable across processes of this machine. */
export const now = () => performance.timeOrigin + performance.now();

let prefix = () => 'bench: ';
/**
 * Another clock's reading minus ours (ms), from the quickest of `tries` round trips of `read`
 * (which answers that clock's epoch milliseconds), and that round trip.
 */
export async function clockOffset(read: () => Promise<number>, tries = 15): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Infinity };
  for (let i = 0; i < tries; i++) {
    const t0 = now();
    const theirs = await read();
    const t1 = now();
    if (t1 - t0 < best.rtt) best = { offset: theirs - (t0 + t1) / 2, rtt: t1 - t0 };
  }
  return best;
}

/** A progress line on stderr: `bench: …`, or for the chaos scripts the seconds since the run began (see sayWithClock). */
export const say = (msg: string) => void process.stderr.write(`${prefix()}${msg}\n`);
/** From now on say() prefixes `chaos <seconds into the run>s:`. */
export function sayWithClock(): void {
  const t0 = Date.now();
  prefix = () => `chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s: `;
}

export function intEnv(name: string, dflt: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

/** `fn` tried again every 250 ms for up to `ms` (a query that may meet a database being restarted). */
export async function retrying<T>(what: string, fn: () => Promise<T>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw new Error(`${what}: ${(e as Error).message}`);
      await sleep(250);
    }
  }
}

// --- cleanup ----------------------------------------------------------------------------------

const undoList: { what: string; fn: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;
let trapped = false;

export function onCleanup(what: string, fn: () => Promise<void> | void): void {
  undoList.push({ what, fn });
  if (trapped) return;
  trapped = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      say(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (undoList.length) {
      const { what, fn } = undoList.pop()!;
      try {
        await fn();
      } catch (e) {
        say(`cleanup: ${what} failed: ${(e as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** A new directory under the system's temporary directory, removed at the end. */
export function tempDir(prefixName: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), prefixName));
  onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
