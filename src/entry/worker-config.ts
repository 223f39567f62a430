/**
 * A Worker's configuration from its bindings (no Workers-only import here, so Node tests can
 * check it): the same zod schema as on Node, plus the bindings only a Worker has.
 */
import type { DurableObjectNamespace, Hyperdrive } from 'cloudflare:workers';
import { ConfigError, parseConfig, type Config } from '../config/env';
import type { Logger } from '../log';
import { createWorkerLogger } from '../log-worker';

/** What a request asks of an incident's timer (the IncidentTimer Durable Object in worker.ts). */
export interface IncidentTimerApi {
  /** Keep the incident's next deadline as the alarm; answers the deadline set, or null when none is left. */
  arm(incidentId: string): Promise<string | null>;
}

export interface Env {
  HYPERDRIVE?: Hyperdrive;
  INCIDENT_TIMER?: DurableObjectNamespace<IncidentTimerApi>;
  /** The driver app's files (wrangler.toml [assets], binding ASSETS). */
  ASSETS?: { fetch(input: string): Promise<Response> };
  /** Variables and secrets: the same names as on Node (PUBLIC_BASE_URL, TWILIO_*, ADMIN_TOKEN, LOG_LEVEL...). */
  [name: string]: unknown;
}

export interface Setup {
  config: Config;
  log: Logger;
  url: string;
  timers: DurableObjectNamespace<IncidentTimerApi>;
  /** Reads a driver app file through the assets binding (src/driver-app/serve.ts serves it). */
  appAsset?: (path: string) => Promise<Uint8Array | undefined>;
}

/** A binding or variable is missing or wrong: every request answers 500 until it is fixed. */
export class Misconfigured extends Error {}

let cached: { env: Env; setup: Setup } | undefined;

/** Configuration from the Worker's bindings, validated by the same zod schema as on Node (once per isolate). */
export function setupFrom(env: Env, o: { write?: (line: string) => void } = {}): Setup {
  if (cached?.env === env) return cached.setup;
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const missing: string[] = [];
  const url = env.HYPERDRIVE?.connectionString;
  if (!url) missing.push('HYPERDRIVE (a Hyperdrive binding: [[hyperdrive]] binding = "HYPERDRIVE" in wrangler.toml)');
  if (!env.INCIDENT_TIMER) missing.push('INCIDENT_TIMER (the Durable Object binding in wrangler.toml)');
  if (!vars.PUBLIC_BASE_URL) missing.push('PUBLIC_BASE_URL (the URL Twilio calls back; webhook signatures are checked against it)');
  if (missing.length) throw new Misconfigured(`missing binding${missing.length > 1 ? 's' : ''}: ${missing.join('; ')}`);
  let config: Config;
  try {
    config = parseConfig({ ...vars, DATABASE_URL: url });
  } catch (e) {
    throw e instanceof ConfigError ? new Misconfigured(e.message.replace(/\n\s*/g, ' ')) : e;
  }
  const log = createWorkerLogger({ level: config.logLevel, write: o.write });
  const assets = env.ASSETS;
  const appAsset = assets && (async (path: string) => {
    const res = await assets.fetch(`https://assets.invalid/${path}`);
    return res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined;
  });
  const setup = { config, log, url: url!, timers: env.INCIDENT_TIMER!, appAsset };
  cached = { env, setup };
  return setup;
}

export function misconfigured(e: unknown, req: Request, write?: (line: string) => void): Response {
  const requestId = req.headers.get('x-request-id')?.slice(0, 64) || crypto.randomUUID();
  const message = e instanceof Misconfigured ? `Mayday is not configured: ${e.message}` : 'internal error';
  createWorkerLogger({ level: 'error', write }).error({ requestId, err: e }, e instanceof Misconfigured ? message : 'worker setup failed');
  return Response.json({ error: { code: 'internal', message, requestId } }, { status: 500, headers: { 'x-request-id': requestId } });
}

