import { LATENCY_BUCKETS, type ServiceMetrics } from '@orch/observability';
import { Counter, Gauge, Histogram } from 'prom-client';

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
