import { createMetrics } from '../metrics';
import { wire, type WireOptions } from '../wire';

export type { WireOptions };

/** The runtime-free wiring (src/wire.ts) with Node's extras: Prometheus metrics. */
export function wireNode(o: WireOptions) {
  return wire({ ...o, metrics: o.metrics ?? createMetrics(o.sql) });
}
