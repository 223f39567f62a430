import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** The environment, as the contract names it, plus a few additions documented in the README. */
export const envSchema = z
  .object({
    PORT: port.default(3000),
    DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')),
    DATA_DIR: z.string().min(1).default('./.data'),
    ADMIN_TOKEN: optional(z.string().min(16, 'must be at least 16 characters')),
    PUBLIC_BASE_URL: optional(z.url({ protocol: /^https?$/ })),
    TWILIO_ACCOUNT_SID: optional(z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex digits')),
    TWILIO_AUTH_TOKEN: optional(z.string().min(8)),
    /** A second auth token accepted on webhooks while the primary is being rotated. */
    TWILIO_AUTH_TOKEN_SECONDARY: optional(z.string().min(8)),
    TWILIO_FROM_NUMBER: optional(z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 number such as +15550100')),
    TWILIO_API_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Days after resolution before an incident's precise coordinates are coarsened (retention). */
    RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(90),
    /** Seed the demo (zone, responders, driver) into an empty database. Default: only on the embedded database. */
    DEMO: optional(z.enum(['true', 'false'])),
    /** Pretty logs for people; JSON otherwise. Default: pretty when stdout is a terminal. */
    LOG_FORMAT: optional(z.enum(['json', 'pretty'])),
    /** Database connections per instance: the pool of everything but SOS intake, and intake's own. */
    DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(6),
    DATABASE_INTAKE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(3),
    /** Behind a TLS-terminating proxy: believe its X-Forwarded-Proto (the console's cookie is then Secure over https). */
    TRUST_PROXY: z.enum(['true', 'false']).default('false'),
    /** A console session ends after this long unused, and this long after sign-in whatever happens. */
    CONSOLE_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
    CONSOLE_SESSION_MAX_HOURS: z.coerce.number().int().min(1).max(7 * 24).default(12),
    /** The Ed25519 key timeline checkpoints are signed with (base64/hex/PEM: a 32-byte seed or PKCS#8); older public keys still trusted, comma-separated. */
    AUDIT_SIGNING_KEY: optional(z.string().refine((v) => [32, 48].includes(keyBytes(v)), 'must be an Ed25519 private key: a 32-byte seed or 48-byte PKCS#8, as base64, hex or PEM')),
    /** Emergency dispatch through Noonlight: without the token, a built-in dispatch-center simulator. */
    NOONLIGHT_API_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.noonlight.com'),
    NOONLIGHT_SERVER_TOKEN: optional(z.string().min(8)),
    NOONLIGHT_WEBHOOK_SECRET: optional(z.string().min(8)),
    AUDIT_PREVIOUS_PUBLIC_KEYS: optional(
      z.string().refine((v) => v.split(',').every((k) => [32, 44].includes(keyBytes(k))), 'must be Ed25519 public keys (32 bytes raw, or SPKI), base64 or hex, comma-separated'),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.NOONLIGHT_SERVER_TOKEN !== undefined && env.NOONLIGHT_WEBHOOK_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['NOONLIGHT_WEBHOOK_SECRET'], message: 'is required when NOONLIGHT_SERVER_TOKEN is set' });
    }
    const twilio = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM_NUMBER'] as const;
    const set = twilio.filter((k) => env[k] !== undefined);
    if (set.length > 0 && set.length < twilio.length) {
      for (const k of twilio.filter((k) => env[k] === undefined)) {
        ctx.addIssue({ code: 'custom', path: [k], message: `is required when ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set` });
      }
    }
  });

export type Env = z.infer<typeof envSchema>;

/** How many bytes a key's text holds (base64, url-safe base64, hex or PEM); -1 when it is none of those. */
function keyBytes(text: string): number {
  const t = text.trim();
  if (/^[0-9a-fA-F]+$/.test(t) && (t.length === 64 || t.length === 96)) return t.length / 2;
  const body = t.replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(body)) return -1;
  return Math.floor((body.replace(/=+$/, '').length * 3) / 4);
}

export interface Config {
  port: number;
  databaseUrl?: string;
  dataDir: string;
  adminToken?: string;
  publicBaseUrl: string;
  twilio?: { accountSid: string; authToken: string; secondaryAuthToken?: string; fromNumber: string; apiBaseUrl: string };
  logLevel: Env['LOG_LEVEL'];
  retentionDays: number;
  demo?: boolean;
  logFormat?: 'json' | 'pretty';
  pool: { main: number; intake: number };
  console: { trustProxy: boolean; sessionIdleSeconds: number; sessionMaxSeconds: number };
  auditKeys: { signingKey?: string; previousPublicKeys?: string[] };
  /** Noonlight's dispatch API; unset: the built-in dispatch-center simulator. */
  noonlight?: { apiBaseUrl: string; serverToken: string; webhookSecret: string };
}

export class ConfigError extends Error {}

/** Parse the environment once. A bad value throws a ConfigError naming every bad variable. */
export function parseConfig(source: Record<string, string | undefined>): Config {
  // An empty variable counts as unset, so its default applies.
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(source).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? '(environment)')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  return {
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    adminToken: env.ADMIN_TOKEN,
    publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    twilio: env.TWILIO_ACCOUNT_SID
      ? {
          accountSid: env.TWILIO_ACCOUNT_SID,
          authToken: env.TWILIO_AUTH_TOKEN!,
          secondaryAuthToken: env.TWILIO_AUTH_TOKEN_SECONDARY,
          fromNumber: env.TWILIO_FROM_NUMBER!,
          apiBaseUrl: env.TWILIO_API_BASE_URL.replace(/\/+$/, ''),
        }
      : undefined,
    logLevel: env.LOG_LEVEL,
    retentionDays: env.RETENTION_DAYS,
    demo: env.DEMO === undefined ? undefined : env.DEMO === 'true',
    logFormat: env.LOG_FORMAT,
    pool: { main: env.DATABASE_POOL_SIZE, intake: env.DATABASE_INTAKE_POOL_SIZE },
    console: {
      trustProxy: env.TRUST_PROXY === 'true',
      sessionIdleSeconds: env.CONSOLE_SESSION_IDLE_MINUTES * 60,
      sessionMaxSeconds: env.CONSOLE_SESSION_MAX_HOURS * 3600,
    },
    noonlight: env.NOONLIGHT_SERVER_TOKEN
      ? { apiBaseUrl: env.NOONLIGHT_API_BASE_URL.replace(/\/+$/, ''), serverToken: env.NOONLIGHT_SERVER_TOKEN, webhookSecret: env.NOONLIGHT_WEBHOOK_SECRET! }
      : undefined,
    auditKeys: { signingKey: env.AUDIT_SIGNING_KEY, previousPublicKeys: env.AUDIT_PREVIOUS_PUBLIC_KEYS?.split(',').map((k) => k.trim()) },
  };
}
