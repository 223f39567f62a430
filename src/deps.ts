import type { Telephony, TwimlBuilder } from './paging/telephony';
import type { Authenticator } from './auth/authenticator';
import type { Sql } from './db/client';
import type { Logger } from './log';
import type { Metrics } from './metrics/metrics';
import type { Pager } from './paging/pager';
import type { DispatchCenter } from './dispatch/center';
import type { PinSeal } from './dispatch/pin';
import type { DispatchSimulator } from './simulator/dispatch';
import type { Simulator } from './simulator/simulator';
import type { Keyring } from './timeline/checkpoints';
import type { ZoneDirectory } from './zones/store';

/** Everything the app needs from its runtime, built once by an entry (Node, Workers, tests). */
export interface Deps {
  sql: Sql;
  /**
   * Connections kept for SOS intake alone, so an SOS never queues behind status callbacks and
   * sends for a connection of the shared pool. Defaults to `sql`.
   */
  intakeSql?: Sql;
  log: Logger;
  auth: Authenticator;
  zones: ZoneDirectory;
  publicBaseUrl: string;
  /** The number drivers text SOS to (TWILIO_FROM_NUMBER), when Twilio sends; the driver app offers it. */
  smsNumber?: string;
  telephony: Telephony;
  twiml: TwimlBuilder;
  pager: Pager;
  /** Prometheus metrics, where the runtime keeps them. */
  metrics?: Metrics;
  /** Present when the built-in phone simulator stands in for Twilio. */
  simulator?: Simulator;
  /**
   * Emergency dispatch: the center (Noonlight, or the built-in simulator, which is then also
   * `simulator`), the seal of the alarms' PINs, and the webhook's HMAC secret (Noonlight only).
   */
  dispatch?: { center: DispatchCenter; seal: PinSeal; webhookSecret?: string; simulator?: DispatchSimulator };
  /** The newest migration this code expects; /readyz answers 503 until the database has it. */
  schemaVersion: number;
  /**
   * The checksum of the function definitions this code expects at that version (Node: of the
   * files it read); default DEFINITIONS_CHECKSUM, all a Worker has.
   */
  definitionsChecksum?: string;
  /** Static files of the interactive API docs (swagger-ui-dist), when the runtime can serve them. */
  docsAsset?: (name: string) => Promise<{ body: Uint8Array; type: string } | undefined>;
  /** The driver app's static files (src/driver-app/public/), when the runtime can serve them. */
  appAsset?: (path: string) => Promise<Uint8Array | undefined>;
  /** The console's sessions and event streams; defaults in src/console/session.ts and live.ts. */
  console?: { trustProxy?: boolean; sessionIdleSeconds?: number; sessionMaxSeconds?: number; streamsPerSession?: number; streamsPerProcess?: number };
  /** The keys timeline checkpoints are signed with and checked against (made once at start). */
  keyring?: Promise<Keyring>;
  /** Set while the process is shutting down: /readyz answers 503. */
  draining?: () => boolean;
}
