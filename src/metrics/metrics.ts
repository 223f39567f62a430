/**
 * Prometheus metrics (prom-client), served at GET /metrics to the admin. Node only: the app
 * sees them through the small `Metrics` interface in deps, so it still imports no runtime.
 */
import client from 'prom-client';
import type { Sql } from '../db/client';
import { outboxDepth } from './store';

export interface Metrics {
  sosAccepted(created: boolean, source: string): void;
  pageOutcome(channel: string, outcome: string): void;
  escalationLateness(ms: number[]): void;
  acknowledged(seconds: number, via: string): void;
  tick(ms: number, slow: boolean): void;
  render(): Promise<{ body: string; contentType: string }>;
}

export function createMetrics(sql: Sql): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'mayday_' });
  const sos = new client.Counter({ name: 'mayday_sos_accepted_total', help: 'SOS accepted (created: new incident; false: a retry coalesced)', labelNames: ['created', 'source'], registers: [registry] });
  const pages = new client.Counter({ name: 'mayday_pages_total', help: 'Page send outcomes by channel', labelNames: ['channel', 'outcome'], registers: [registry] });
  const lateness = new client.Histogram({
    name: 'mayday_escalation_lateness_seconds', help: 'How long after its deadline an escalation step started',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const ack = new client.Histogram({
    name: 'mayday_ack_latency_seconds', help: 'From the SOS to its acknowledgement', labelNames: ['via'],
    buckets: [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600], registers: [registry],
  });
  const tickDuration = new client.Histogram({
    name: 'mayday_engine_tick_seconds', help: 'Engine tick duration', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const slowTicks = new client.Counter({ name: 'mayday_engine_slow_ticks_total', help: 'Engine ticks that ran long', registers: [registry] });
  new client.Gauge({
    name: 'mayday_outbox_depth', help: 'Pages waiting in the outbox, by status', labelNames: ['status'], registers: [registry],
    async collect() {
      const rows = await outboxDepth(sql);
      this.reset();
      this.set({ status: 'queued' }, 0);
      this.set({ status: 'sending' }, 0);
      for (const r of rows) this.set({ status: r.status }, r.n);
    },
  });
  return {
    sosAccepted: (created, source) => sos.inc({ created: String(created), source }),
    pageOutcome: (channel, outcome) => pages.inc({ channel, outcome }),
    escalationLateness: (ms) => ms.forEach((m) => lateness.observe(Math.max(0, m) / 1000)),
    acknowledged: (seconds, via) => ack.observe({ via }, seconds),
    tick: (ms, slow) => {
      tickDuration.observe(ms / 1000);
      if (slow) slowTicks.inc();
    },
    render: async () => ({ body: await registry.metrics(), contentType: registry.contentType }),
  };
}
