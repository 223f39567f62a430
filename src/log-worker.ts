/**
 * Logging on Cloudflare Workers. pino's Node build writes through sonic-boom and worker
 * threads, which Workers lack, so a Worker logs with pino's browser build: the same Logger API,
 * one JSON line per entry on `console.log` (what Workers Logs and `wrangler tail` collect). That
 * build has no redaction of its own: every entry passes through `redactForLog`, which removes
 * the same keys as the Node logger (src/log.ts), at any depth.
 */
import pinoBrowser from 'pino/browser.js';
import { maskPhone, PHONE_KEYS, REDACT_KEYS, type Logger } from './log';

const SECRET = new Set(REDACT_KEYS);

/** A copy of `value` fit to log: secrets replaced, phone numbers masked, errors as plain objects. */
export function redactForLog(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return redactForLog({ type: e.name, message: e.message, ...(e.code !== undefined ? { code: e.code } : {}), stack: e.stack }, depth);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[deep]';
  if (Array.isArray(value)) return value.map((v) => redactForLog(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!SECRET.has(k)) out[k] = redactForLog(v, depth + 1);
    else out[k] = PHONE_KEYS.has(k) && typeof v === 'string' ? maskPhone(v) : '[redacted]';
  }
  return out;
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export function createWorkerLogger(opts: { level: string; write?: (line: string) => void }): Logger {
  const write = opts.write ?? ((line: string) => console.log(line));
  const pino = pinoBrowser as unknown as (o: object) => Logger;
  return pino({
    level: opts.level,
    base: undefined,
    browser: {
      asObject: true,
      write: (o: Record<string, unknown>) => {
        const entry = redactForLog(o) as Record<string, unknown>;
        write(JSON.stringify({ ...entry, level: LEVELS[entry.level as number] ?? entry.level }));
      },
    },
  });
}
