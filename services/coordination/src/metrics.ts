import type { OutboxRelay } from '@orch/messaging';
import { LATENCY_BUCKETS, type ServiceMetrics } from '@orch/observability';
import { Counter, Gauge, Histogram } from 'prom-client';

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

/** Coordination's own series: selection, assignments and the fleet by status. */
export interface CoordinationMetrics {
  readonly selectionDuration: Histogram<'strategy'>;
  readonly assignments: Counter<'outcome'>;
}

export function registerCoordinationMetrics(
  metrics: ServiceMetrics,
  agentsByStatus: () => Record<string, number>,
): CoordinationMetrics {
  new Gauge({
    name: 'orch_agents',
    help: 'Agents known to this replica, by status',
    labelNames: ['status'],
    registers: [metrics.registry],
    collect() {
      for (const [status, n] of Object.entries(agentsByStatus())) this.set({ status }, n);
    },
  });
  return {
    selectionDuration: new Histogram({
      name: 'orch_selection_duration_seconds',
      help: 'Time to rank the agents for a selection, by strategy',
      labelNames: ['strategy'] as const,
      buckets: [...LATENCY_BUCKETS],
      registers: [metrics.registry],
    }),
    assignments: new Counter({
      name: 'orch_agent_assignments_total',
      help: 'AssignAgent outcomes: assigned, already_assigned or no_agent',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    }),
  };
}
