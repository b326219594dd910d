import type { OutboxRelay } from '@orch/messaging';
import type { ServiceMetrics } from '@orch/observability';
import { Gauge } from 'prom-client';

/** Relay gauges, read from its status at scrape time. */
export function registerRelayMetrics(metrics: ServiceMetrics, relay: OutboxRelay): void {
  const status = () => relay.status();
  new Gauge({
    name: 'orch_relay_leader',
    help: '1 when this replica holds the relay leadership for its service',
    labelNames: ['relay'],
    registers: [metrics.registry],
    collect() {
      const s = status();
      this.set({ relay: s.relay }, s.leader ? 1 : 0);
    },
  });
  new Gauge({
    name: 'orch_relay_lag_events',
    help: 'Events appended by this service and not yet published (sampled by the leader)',
    labelNames: ['relay'],
    registers: [metrics.registry],
    collect() {
      const s = status();
      this.set({ relay: s.relay }, Number(s.lag));
    },
  });
  new Gauge({
    name: 'orch_relay_position',
    help: 'Global position of the last event published',
    labelNames: ['relay'],
    registers: [metrics.registry],
    collect() {
      const s = status();
      this.set({ relay: s.relay }, Number(s.position));
    },
  });
  new Gauge({
    name: 'orch_relay_published_events',
    help: 'Events published by this replica since it started (JetStream duplicates included)',
    labelNames: ['relay'],
    registers: [metrics.registry],
    collect() {
      const s = status();
      this.set({ relay: s.relay }, s.published);
    },
  });
}
