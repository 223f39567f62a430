import { twiml, twilioTelephony, type TwilioConfig } from '../adapters/twilio/twilio';
import { runRetentionIfDue } from '../audit/retention';
import { buildApp } from '../app';
import { Authenticator } from '../auth/authenticator';
import type { Sql } from '../db/client';
import type { Deps } from '../deps';
import { Engine } from '../escalation/engine';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { Pager, type PagerDeps, type PagingOptions } from '../paging/pager';
import { Simulator } from '../simulator/simulator';
import { ZoneDirectory } from '../zones/store';

export interface WireOptions {
  sql: Sql;
  /** A pool of its own for SOS intake (see Deps.intakeSql). */
  intakeSql?: Sql;
  log: Logger;
  adminToken?: string;
  publicBaseUrl: string;
  /** Twilio credentials; without them the phone simulator stands in. */
  twilio?: TwilioConfig;
  schemaVersion: number;
  paging?: Partial<PagingOptions>;
  zoneCacheMs?: number;
  /** Run retention daily from the engine, coarsening after this many days (unset: never, as in tests). */
  retentionDays?: number;
  metrics?: Metrics;
  docsAsset?: Deps['docsAsset'];
  draining?: () => boolean;
  /** Where an incident's new deadlines are announced (Workers: its Durable Object alarm). */
  onScheduled?: PagerDeps['onScheduled'];
}

/**
 * The app, the sender and the engine, from a database client and a configuration: the same
 * pieces on Node (src/entry/wire.ts adds metrics, Twilio over node:http and node:crypto's SHA-256),
 * on Workers (src/entry/worker.ts) and in tests.
 */
export function wire(o: WireOptions) {
  const simulator = o.twilio ? undefined : new Simulator(o.sql);
  const telephony = o.twilio ? twilioTelephony(o.twilio) : simulator!;
  const pager = new Pager({ sql: o.sql, log: o.log, telephony, twiml, publicBaseUrl: o.publicBaseUrl, options: o.paging, metrics: o.metrics, onScheduled: o.onScheduled });
  const deps: Deps = {
    sql: o.sql,
    intakeSql: o.intakeSql,
    log: o.log,
    auth: new Authenticator(o.sql, o.adminToken),
    zones: new ZoneDirectory(o.sql, o.zoneCacheMs),
    publicBaseUrl: o.publicBaseUrl,
    telephony,
    twiml,
    pager,
    metrics: o.metrics,
    simulator,
    schemaVersion: o.schemaVersion,
    docsAsset: o.docsAsset,
    draining: o.draining,
  };
  simulator?.bind(deps);
  const onTick = async (at: Date | null) => {
    await simulator?.tick(at);
    // Once a UTC day, whichever instance ticks first; it runs in the background, never holding a tick.
    if (o.retentionDays !== undefined) await runRetentionIfDue(o.sql, o.log, { days: o.retentionDays, now: at ?? undefined });
  };
  const engine = new Engine({ sql: o.sql, log: o.log, pager, metrics: o.metrics, onTick });
  return { deps, engine, pager, simulator, app: buildApp(deps) };
}
