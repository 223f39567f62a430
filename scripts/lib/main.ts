/**
 * How a script's main() runs and ends: a crash is reported (with the end of every child's output)
 * and sets a failing exit code, and whatever the run started is cleaned up whatever happened.
 */
import { children } from './processes';
import { cleanup, sleep } from './run';

/** The end of each child's output, indented, on stderr. */
async function childTails(): Promise<void> {
  await sleep(300); // let the children's last output (their log of the failure) arrive
  for (const c of children) {
    const tail = c.tail();
    if (tail) process.stderr.write(`bench: ${c.name} output ends:\n${tail.split('\n').slice(-20).map((l) => `    ${l}`).join('\n')}\n`);
  }
}

/** A benchmark's main(): on a crash, the error (and its cause), the children's output and `hint`; exit code 1. */
export function runBench(main: () => Promise<void>, hint?: string): void {
  main()
    .catch(async (e) => {
      const cause = (e as { cause?: unknown }).cause;
      process.stderr.write(`bench: failed: ${(e as Error).stack ?? e}${cause ? `\n  cause: ${(cause as Error).stack ?? cause}` : ''}\n`);
      await childTails();
      if (hint) process.stderr.write(`bench: ${hint}\n`);
      process.exitCode = 1;
    })
    .finally(() => cleanup());
}

/** A benchmark's failures after its report, the first `limit` of them, and `hint`; exit code 1. Nothing when there are none. */
export function printFailures(failures: string[], o: { limit?: number; hint?: string } = {}): void {
  if (!failures.length) return;
  const limit = o.limit ?? failures.length;
  const more = failures.length > limit ? `\n  … and ${failures.length - limit} more` : '';
  process.stdout.write(`\nFAILED:\n  ${failures.slice(0, limit).join('\n  ')}${more}\n`);
  if (o.hint) process.stdout.write(`  ${o.hint}\n`);
  process.exitCode = 1;
}

/**
 * A chaos script's main(): a crash prints a FAIL line (a run that did not complete never reads as
 * a pass), and the children and scratch databases are cleaned up whatever happened.
 */
export function runChaos(name: string, title: string, main: () => Promise<void>): void {
  main()
    .catch((e) => {
      process.stderr.write(`${name}: failed: ${(e as Error).stack ?? e}\n`);
      process.stdout.write(`\n${title}: FAIL (the run did not complete: ${(e as Error).message.split('\n')[0]})\n`);
      process.exitCode = 1;
    })
    .finally(async () => {
      await cleanup();
      process.exit();
    });
}
