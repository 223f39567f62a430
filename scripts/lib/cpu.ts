/**
 * CPU and memory from /proc (Linux; undefined elsewhere): per process, all postgres processes,
 * this process, the whole machine and the host's steal, as percent of one core between two samples.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function statFields(pid: number | string): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return [s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ...s.slice(s.lastIndexOf(')') + 2).split(' ')];
  } catch {
    return undefined;
  }
}
/** utime+stime in clock ticks (fields 14 and 15 of stat(5)). */
const ticksOf = (f: string[] | undefined) => (f ? Number(f[12]) + Number(f[13]) : undefined);
/** The same plus its reaped children's (cutime+cstime, fields 16 and 17): backends that exit stay counted in the postmaster's. */
const ticksWithChildren = (f: string[]) => ticksOf(f)! + Number(f[14]) + Number(f[15]);

function postgresTicks(reaped: boolean): number | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (f?.[0] === 'postgres') sum += reaped ? ticksWithChildren(f) : ticksOf(f)!;
  }
  return sum;
}

/**
 * The machine's ticks from /proc/stat's first line. `busy` is everything but idle and iowait, so
 * it includes `steal`: time this virtual machine was ready to run but its host ran something else
 * (another tenant). Steal is nobody's work here; it is counted apart so that a run slowed by the
 * host can be told from one slowed by its own processes.
 */
function machineTicks(): { busy: number; steal: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] ?? 0), steal: f[7] ?? 0, total };
  } catch {
    return undefined;
  }
}

/** CPU time of one process so far, in seconds (undefined once it is gone). */
export const cpuSeconds = (pid: number): number | undefined => {
  const t = ticksOf(statFields(pid));
  return t === undefined ? undefined : t / CLK_TCK;
};

export interface CpuSample { procs: (number | undefined)[]; pg?: number; self: NodeJS.CpuUsage; machine?: { busy: number; steal: number; total: number }; at: number }
/**
 * `pgReaped: false` counts only the postgres processes alive at each sample (bench:intake's
 * accounting, kept as it was): backends that exit in between drop out of the sum.
 */
export function cpuSample(pids: (number | undefined)[], { pgReaped = true }: { pgReaped?: boolean } = {}): CpuSample {
  return { procs: pids.map((p) => (p ? ticksOf(statFields(p)) : undefined)), pg: postgresTicks(pgReaped), self: process.cpuUsage(), machine: machineTicks(), at: performance.now() };
}
/**
 * Percent of one core used between two samples: each pid, all postgres processes, this process,
 * the whole machine (all users, steal included) and the steal alone (see machineTicks()).
 */
export function cpuDelta(a: CpuSample, b: CpuSample) {
  const secs = (b.at - a.at) / 1000;
  const perCore = (x?: number, y?: number) => (x === undefined || y === undefined ? undefined : ((y - x) / CLK_TCK / secs) * 100);
  const c = process.cpuUsage(a.self);
  const share = (k: 'busy' | 'steal') => (a.machine && b.machine ? ((b.machine[k] - a.machine[k]) / (b.machine.total - a.machine.total)) * 100 * os.cpus().length : undefined);
  return { procs: a.procs.map((x, i) => perCore(x, b.procs[i])), pg: perCore(a.pg, b.pg), self: ((c.user + c.system) / 1e6 / secs) * 100, machine: share('busy'), steal: share('steal'), secs };
}

/** Resident memory of a process, KiB (VmRSS in /proc/<pid>/status). */
export const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
