import pino, { type Logger } from 'pino';

export type { Logger };

/** "+15550100123" → "+1…23": enough to tell two phones apart in a log, not enough to call one. */
export function maskPhone(phone: string | null | undefined): string {
  if (!phone) return '';
  // Already masked (code masks a number before logging it, and pino's censor masks it again):
  // at most four characters of the number are in it, keep them rather than mask "+1…23" to "…".
  if (/^[^…]{0,2}…[^…]{0,2}$/.test(phone)) return phone;
  return phone.length <= 5 ? '…' : `${phone.slice(0, 2)}…${phone.slice(-2)}`;
}

/**
 * A request path as logged: a phone number in it (the simulator's `/phones/{phone}/…`, raw or
 * percent-encoded) is masked like every logged phone. Only whole path segments of 7 to 15
 * digits count, so ids and codes are left alone.
 */
export function maskPathPhones(path: string): string {
  return path.replace(/(?<=\/)(?:\+|%2B)?\d{7,15}(?=\/|$)/gi, (m) => maskPhone(m.replace(/^%2B/i, '+')));
}

export const PHONE_KEYS = new Set(['phone', 'to', 'from', 'To', 'From', 'Called', 'Caller']);

/**
 * Paths pino removes or masks wherever they appear one or two levels down. Secrets are
 * replaced outright; phone numbers keep their first and last two characters.
 */
export const REDACT_KEYS = [
  'token', 'authToken', 'adminToken', 'secondaryAuthToken', 'authorization', 'Authorization', 'cookie',
  'pin', 'cancelPin', 'duressPin', 'Digits', 'Body', 'body',
  'lat', 'lng', 'location', 'boundary',
  ...PHONE_KEYS,
];
const paths = REDACT_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(opts: { level: string; pretty?: boolean; destination?: pino.DestinationStream }): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: undefined,
    redact: {
      paths,
      censor: (value: unknown, path: string[]) => {
        const key = path[path.length - 1] ?? '';
        return PHONE_KEYS.has(key) && typeof value === 'string' ? maskPhone(value) : '[redacted]';
      },
    },
  };
  if (opts.pretty && !opts.destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => {};

/**
 * `parent.child(bindings)`, made only when something is logged through it: pino serializes and
 * redacts a child's bindings when it is made, and a request or a page send that logs nothing
 * (the usual case at level info: ~8 requests and two sends per SOS) need not pay for that.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  return lazy(() => parent.child(bindings), parent);
}
function lazy(make: () => Logger, levels: Logger): Logger {
  let real: Logger | undefined;
  const made = () => (real ??= make());
  return new Proxy({} as Logger, {
    get(_t, key) {
      if (key === 'child') return (b: Record<string, unknown>, o?: pino.ChildLoggerOptions) => lazy(() => made().child(b, o), levels);
      if (real) return bound(real, key);
      if (typeof key === 'string' && LEVELS.has(key) && !levels.isLevelEnabled(key)) return noop;
      if (key === 'level' || key === 'isLevelEnabled') return bound(levels, key);
      return bound(made(), key);
    },
  });
}
function bound(target: Logger, key: string | symbol) {
  const v = (target as unknown as Record<string | symbol, unknown>)[key];
  return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}
