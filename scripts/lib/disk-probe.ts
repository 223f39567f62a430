/**
 * A probe of the disk's flush latency while a benchmark runs: `everyMs` after each flush a worker thread
 * writes 8 kB to a file and fdatasync()s it, as PostgreSQL does with its WAL at every commit,
 * and reports each flush that took `reportOverMs` or longer (start time, epoch ms, and duration).
 *
 * Why: on this project's shared virtual machines the host's disk sometimes takes 100–600 ms
 * for one flush. Every commit waiting then waits as long, so an SOS sent just then is answered
 * (and pages) that much later; at 100 SOS/s one such stall is enough for a p99. The probe lets
 * a run say which of its slow SOS overlapped a stall of the disk, rather than guess.
 *
 * A worker thread: a flush blocks its thread, and the load generator's must not block. Its cost
 * is one small write and flush per `everyMs` (100 a second by default, against the thousand or
 * more commits a second of the benchmark's database).
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface DiskStall { at: number; ms: number }

export interface DiskProbe {
  /** Flushes of `overMs` or longer that overlapped [fromMs, toMs] (epoch ms). */
  stalls(fromMs: number, toMs: number, overMs: number): DiskStall[];
  /** Flushes done so far. */
  count(): number;
  /** Why the probe stopped early (its file could not be written, say), if it did. */
  error(): string | undefined;
  stop(): Promise<void>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { file, everyMs, reportOverMs } = workerData;
const fd = fs.openSync(file, 'w');
const block = Buffer.alloc(8192, 1);
let stopped = false, n = 0;
parentPort.on('message', (m) => { if (m === 'stop') stopped = true; });
(function tick() {
  if (stopped) { fs.closeSync(fd); fs.rmSync(file, { force: true }); parentPort.postMessage({ done: true, n }); return; }
  const at = performance.timeOrigin + performance.now();
  fs.writeSync(fd, block, 0, block.length, 0);
  fs.fdatasyncSync(fd);
  const ms = performance.timeOrigin + performance.now() - at;
  n++;
  if (ms >= reportOverMs) parentPort.postMessage({ at, ms, n });
  else if (n % 100 === 0) parentPort.postMessage({ n });
  setTimeout(tick, everyMs);
})();
`;

export function startDiskProbe(dir: string, o: { everyMs?: number; reportOverMs?: number } = {}): DiskProbe {
  const file = join(dir, `mayday-disk-probe-${process.pid}`);
  const found: DiskStall[] = [];
  let n = 0;
  let failed: string | undefined;
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs: o.everyMs ?? 10, reportOverMs: o.reportOverMs ?? 20 } });
  worker.unref();
  const done = new Promise<void>((resolve) => {
    worker.on('message', (m: { at?: number; ms?: number; n?: number; done?: boolean }) => {
      if (m.n !== undefined) n = m.n;
      if (m.at !== undefined && m.ms !== undefined) found.push({ at: m.at, ms: m.ms });
      if (m.done) resolve();
    });
    worker.on('error', (e) => {
      failed = String((e as Error)?.message ?? e);
      resolve();
    });
    worker.on('exit', () => resolve());
  });
  return {
    stalls: (fromMs, toMs, overMs) => found.filter((s) => s.ms >= overMs && s.at <= toMs && s.at + s.ms >= fromMs),
    count: () => n,
    error: () => failed,
    async stop() {
      worker.postMessage('stop');
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
