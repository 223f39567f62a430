import { nodeHttpTransport } from '../adapters/twilio/node-transport';
import { createMetrics } from '../metrics';
import { wire, type WireOptions } from '../wire';

export type { WireOptions };

/** The runtime-free wiring (src/wire.ts) with Node's extras: Prometheus metrics, Twilio over node:http. */
export function wireNode(o: WireOptions) {
  const twilio = o.twilio && { ...o.twilio, transport: o.twilio.transport ?? nodeHttpTransport() };
  return wire({ ...o, twilio, metrics: o.metrics ?? createMetrics(o.sql) });
}
