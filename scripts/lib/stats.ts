/** Numbers and text for reports: percentiles, number formats, tallies, and what was measured on what. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { REPO } from './run';

/** Nearest-rank percentile (p in 0..100) of unsorted numbers; NaN when there are none. */
export function pct(xs: number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
export const fmt = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));
/** Right-aligned in `n` characters. */
export const pad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
/** Whole milliseconds, or `-`. */
export const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : '-');
/** `value ×count, …`, most frequent first. */
export const tally = (xs: (string | number | null | undefined)[]) => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(String(x), (m.get(String(x)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(', ');
};

/** `<n> cores, <cpu model>, <memory> GiB`: the machine, for a report's first lines. */
export function hardware(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
}

/** The commit measured, and whether src/ or sql/ differ from it (someone's work in progress). */
export function codeVersion(): string {
  const dir = process.env.MAYDAY_CHECKOUT ?? REPO;
  const where = process.env.MAYDAY_CHECKOUT ? `Mayday and its SQL from MAYDAY_CHECKOUT=${dir} at ` : '';
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'sql').split('\n').filter(Boolean).map((l) => l.slice(3));
    if (!dirty.length) return `${where}${head} (src/ and sql/ as committed)`;
    const shown = dirty.slice(0, 4).join(', ') + (dirty.length > 4 ? `, and ${dirty.length - 4} more` : '');
    return `${where}${head} + uncommitted changes in src/ or sql/: ${shown}`;
  } catch {
    return 'not a git checkout';
  }
}

/** The three lines that head a benchmark's report: machine (with `machineMore` after the hardware), runtime, code. */
export function provenance(pgVersion: string, dbLabel: string, machineMore: string): string[] {
  return [
    `machine:  ${hardware()}, ${machineMore}`,
    `runtime:  Node ${process.version}; PostgreSQL ${pgVersion} (${dbLabel})`,
    `code:     ${codeVersion()}`,
  ];
}

/**
 * A table of latency percentiles in milliseconds: `head()` and a `row()` per series, each with
 * n, p50, p90, p99 (and the max with `max`), after a label column of `labelWidth`.
 */
export function pctTable(o: { labelWidth: number; indent?: string; max?: boolean }) {
  const lead = (label: string) => `${o.indent ?? ''}${label.padEnd(o.labelWidth)}`;
  return {
    head: (label = '') => `${lead(label)}${pad('n', 7)}${pad('p50 ms', 9)}${pad('p90 ms', 9)}${pad('p99 ms', 9)}${o.max ? pad('max ms', 9) : ''}`,
    row: (label: string, xs: number[]) =>
      `${lead(label)}${pad(String(xs.length), 7)}${[50, 90, 99].map((p) => pad(fmt(pct(xs, p)), 9)).join('')}${o.max ? pad(fmt(Math.max(...xs)), 9) : ''}`,
  };
}
