import { twiml, twilioTelephony, type TwilioConfig } from '../adapters/twilio/twilio';
import { runRetentionIfDue } from '../audit/retention';
import { makeKeyring } from '../timeline/checkpoints';
import { checkpointIfDue } from '../timeline/verification';
import { buildApp } from '../app';
import { Authenticator } from '../auth/authenticator';
import type { Sql } from '../db/client';
import type { Deps } from '../deps';
import { Engine } from '../escalation/engine';
import { handleInboundSms } from '../inbound/sms';
import { onKeypress } from '../inbound/keypress';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { onStatus, onStatuses } from '../paging/callbacks';
import { Pager, type PagerDeps, type PagingOptions } from '../paging/pager';
import { runReadiness } from '../readiness/service';
import { noonlightCenter, type NoonlightConfig } from '../dispatch/noonlight';
import { pinSeal } from '../dispatch/pin';
import { cancelDueAlarms, centerEvents, failInterruptedRequests, forwardDueLocations } from '../dispatch/service';
import { DispatchSimulator } from '../simulator/dispatch';
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
  /** Noonlight's dispatch API (and its webhook secret); without it the dispatch-center simulator stands in. */
  noonlight?: Omit<NoonlightConfig, 'log'> & { webhookSecret: string };
  schemaVersion: number;
  definitionsChecksum?: string;
  paging?: Partial<PagingOptions>;
  zoneCacheMs?: number;
  /** Run retention daily from the engine, coarsening after this many days (unset: never, as in tests). */
  retentionDays?: number;
  /** The checkpoint signing key (AUDIT_SIGNING_KEY) and older public keys still trusted; without a key, one is made up at start. */
  auditKeys?: { signingKey?: string; previousPublicKeys?: string[] };
  metrics?: Metrics;
  docsAsset?: Deps['docsAsset'];
  appAsset?: Deps['appAsset'];
  draining?: () => boolean;
  /** The console's sessions and event streams (Deps.console). */
  console?: Deps['console'];
  /** The engine's timer: it looks at least every `sweepMs` (default 1 s). */
  engine?: { sweepMs?: number };
  /** The sender id the pools were opened with (ConnectOptions.sender): the engine holds its advisory lock while it runs. */
  senderId?: string;
  /** Where an incident's new deadlines are announced (Workers: its Durable Object alarm). */
  onScheduled?: PagerDeps['onScheduled'];
}

/**
 * The app, the sender and the engine, from a database client and a configuration: the same
 * pieces on Node (src/entry/wire.ts adds metrics, Twilio over node:http and node:crypto's SHA-256),
 * on Workers (src/entry/worker.ts) and in tests.
 */
export function compose(o: WireOptions) {
  const simulator = o.twilio ? undefined : new Simulator(o.sql);
  const telephony = o.twilio ? twilioTelephony(o.twilio) : simulator!;
  // A retry scheduled for later moves the engine's timer (the sender starts no timer of its own).
  // The engine is made below, from the pager: it is there before any send can schedule a retry.
  let engine: Engine | undefined;
  const onScheduled: PagerDeps['onScheduled'] = (ref, inMs) => {
    o.onScheduled?.(ref, inMs);
    if (inMs > 0) engine?.nudge(inMs);
  };
  const pager = new Pager({ sql: o.sql, log: o.log, telephony, twiml, publicBaseUrl: o.publicBaseUrl, options: o.paging, metrics: o.metrics, onScheduled });
  const keyring = makeKeyring(o.auditKeys ?? {});
  // The alarms' PINs are sealed under the Noonlight token: only a server that can use them can read them.
  const dispatchSimulator = o.noonlight ? undefined : new DispatchSimulator();
  const dispatch: Deps['dispatch'] = o.noonlight
    ? { center: noonlightCenter({ ...o.noonlight, log: o.log }), seal: pinSeal(o.noonlight.serverToken), webhookSecret: o.noonlight.webhookSecret }
    : { center: dispatchSimulator!, seal: pinSeal('the dispatch-center simulator'), simulator: dispatchSimulator };
  const deps: Deps = {
    keyring,
    sql: o.sql,
    intakeSql: o.intakeSql,
    log: o.log,
    auth: new Authenticator(o.sql, o.adminToken),
    zones: new ZoneDirectory(o.sql, o.zoneCacheMs),
    publicBaseUrl: o.publicBaseUrl,
    smsNumber: o.twilio?.fromNumber,
    telephony,
    twiml,
    pager,
    metrics: o.metrics,
    simulator,
    dispatch,
    schemaVersion: o.schemaVersion,
    definitionsChecksum: o.definitionsChecksum,
    docsAsset: o.docsAsset,
    appAsset: o.appAsset,
    draining: o.draining,
    console: o.console,
  };
  // A simulated phone reaches the same handlers as Twilio's webhooks.
  simulator?.bind({
    inboundSms: (from, body, sid) => handleInboundSms(deps, from, body, sid),
    keypress: (pageId, digits, sid) => onKeypress(deps, pageId, digits, sid),
    status: (r) => onStatus(deps, r),
    statuses: (r) => onStatuses(deps, r),
    whenRecorded: (pageId) => deps.pager.whenRecorded(pageId),
    log: deps.log,
  });
  // The simulated dispatcher's events reach the same handler as Noonlight's webhook.
  dispatchSimulator?.bind({ events: (events) => centerEvents(deps, events, 'dispatch_center') });
  // The sweeps that call the dispatch center run in the background, one of each kind at a time: a
  // center that hangs never holds the tick's escalations and page drain.
  const sweeping = new Map<string, Promise<void>>();
  const inBackground = (kind: string, run: () => Promise<void>) => {
    if (sweeping.has(kind)) return;
    sweeping.set(kind, run().catch((e: unknown) => o.log.warn({ err: e }, `${kind} failed`)).finally(() => sweeping.delete(kind)));
  };
  const onTick = async (at: Date | null) => {
    await simulator?.tick(at);
    // Live alarms behind their incident's newest fix get it (a forward that failed is sent again).
    inBackground('forwarding locations to alarms', () => forwardDueLocations(deps));
    // A dispatch request cut short by a crash becomes a loud failure.
    await failInterruptedRequests(deps).catch((e: unknown) => o.log.warn({ err: e }, 'checking for interrupted dispatch requests failed'));
    // An alarm the driver's cancel PIN asked to cancel and that is not yet (a restart, an alarm created after the cancel).
    inBackground('cancelling alarms', () => cancelDueAlarms(deps));
    // Once a minute, whichever instance ticks first: sign the timeline heads that moved (in the background).
    checkpointIfDue(o.sql, await keyring, o.log, at);
    // Once a UTC day, whichever instance ticks first; it runs in the background, never holding a tick.
    if (o.retentionDays !== undefined) await runRetentionIfDue(o.sql, o.log, { days: o.retentionDays, now: at ?? undefined });
  };
  engine = new Engine({ sql: o.sql, log: o.log, pager, metrics: o.metrics, onTick, readiness: (at) => runReadiness(deps, at), senderId: o.senderId }, { sweepMs: o.engine?.sweepMs ?? 1_000, slowTickMs: 500 });
  /** Resolves when the dispatch sweeps running in the background have finished (for a run that must settle, as on Workers). */
  const dispatchSweeps = async () => void (await Promise.allSettled([...sweeping.values()]));
  return { deps, engine, pager, simulator, app: buildApp(deps), dispatchSweeps };
}
