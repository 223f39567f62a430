import { createHash } from 'node:crypto';
import { nodeHttpTransport } from '../adapters/twilio/node-transport';
import { useSha256 } from '../auth/crypto';
import { createMetrics } from '../metrics/metrics';
import { nodeAppAssets } from './app-assets';
import { compose, type WireOptions } from './compose';

export type { WireOptions };

/**
 * The runtime-free wiring (compose(), src/entry/compose.ts) with Node's extras: Prometheus metrics, Twilio over
 * node:http, SHA-256 (token hashes) with node:crypto's synchronous createHash, and the driver
 * app's files from disk.
 */
export function wireNode(o: WireOptions) {
  useSha256((text) => createHash('sha256').update(text).digest('hex'));
  const twilio = o.twilio && { ...o.twilio, transport: o.twilio.transport ?? nodeHttpTransport() };
  return compose({ ...o, twilio, metrics: o.metrics ?? createMetrics(o.sql), appAsset: o.appAsset ?? nodeAppAssets() });
}
