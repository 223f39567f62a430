/**
 * The short, seeded chaos runs CI makes (issue 7: "a short version of 1, 2 and 4, bounded in
 * time, with a fixed seed"): scripts/chaos-kill.ts, chaos-twilio.ts and chaos-multi.ts, each a
 * child process with --short --seed, on this run's PostgreSQL server (TEST_DATABASE_URL's, else
 * the embedded one of test/helpers/global-setup.ts: the scripts make scratch databases on it).
 * Each prints its PASS/FAIL summary and exits non-zero when a property is violated (issue 18's
 * silence, first-SMS and step budgets included: scripts/lib/silence.ts); that exit code is what
 * is asserted. chaos:db restarts a cluster of its own and is run by hand.
 */
import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const SEED = '7';

/** Run a chaos script to its end (or kill it after `ms`): its exit code and output. */
function chaos(script: string, ms: number): Promise<{ code: number | null; out: string; secs: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: inject('pgAdminUrl') };
    delete env.CHAOS_DUMP;
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--short', '--seed', SEED], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    const keep = (b: Buffer) => void (out = (out + b.toString('utf8')).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* gone */
      }
    };
    // Past its time: SIGTERM lets the script clean up (children, scratch databases), then SIGKILL.
    const term = setTimeout(() => (out += `\n(killed after ${ms / 1000} s)\n`, process.kill(child.pid!, 'SIGTERM')), ms);
    const kill = setTimeout(() => group('SIGKILL'), ms + 20_000);
    child.once('exit', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, out, secs: (Date.now() - t0) / 1000 });
    });
  });
}

/** The report the script printed (from its first "chaos:…: PASS/FAIL" line), or the output's end. */
const summary = (out: string) => {
  const i = out.search(/^chaos:\S+.*: (PASS|FAIL)/m);
  return i >= 0 ? out.slice(i).trim() : out.slice(-3_000);
};

describe('chaos, short and seeded', () => {
  for (const [name, script] of [
    ['chaos:kill --short: SIGKILLed and restarted under load, nothing lost, nothing sent twice, overdue escalations at once, no page silent over 1.5 s', 'scripts/chaos-kill.ts'],
    ['chaos:twilio --short: 30 % of Twilio requests fail or hang, callbacks late, doubled, shuffled: every page once or failed over, no page silent over 1.5 s, the on-call texted within 3.5 s', 'scripts/chaos-twilio.ts'],
    ['chaos:multi --short: three instances, one SIGKILLed: exactly-once pages, no lost escalation', 'scripts/chaos-multi.ts'],
  ] as const) {
    it(name, async () => {
      const r = await chaos(script, 150_000);
      process.stdout.write(`\n${summary(r.out)}\n(${script}: ${r.secs.toFixed(0)} s)\n`);
      expect(r.code, r.out.slice(-6_000)).toBe(0);
    }, 200_000);
  }
});
