import { LATENCY_BUCKETS, type ServiceMetrics } from '@orch/observability';
import { Counter, Gauge, Histogram } from 'prom-client';

export interface DispatchMetrics {
  /** From TaskReady to TaskAssigned, as the dispatcher saw it. */
  readonly readyToAssigned: Histogram;
  /** AssignAgent round trips by outcome: assigned | no_agent | rejected | error. */
  readonly offers: Counter<'outcome'>;
}

/** The dispatcher's series; the gauges read the queues at scrape time. */
export function registerDispatchMetrics(
  metrics: ServiceMetrics,
  queues: { readonly ready: () => number; readonly parked: () => number },
): DispatchMetrics {
  const registers = [metrics.registry];
  new Gauge({
    name: 'orch_dispatch_ready_tasks',
    help: 'Ready tasks waiting in this replica for an offer to coordination',
    registers,
    collect() {
      this.set(queues.ready());
    },
  });
  new Gauge({
    name: 'orch_dispatch_parked_tasks',
    help: 'Ready tasks no agent could take, waiting for capacity',
    registers,
    collect() {
      this.set(queues.parked());
    },
  });
  return {
    readyToAssigned: new Histogram({
      name: 'dispatch_ready_to_assigned_seconds',
      help: 'Time from a task becoming ready to its assignment being recorded',
      buckets: [...LATENCY_BUCKETS],
      registers,
    }),
    offers: new Counter({
      name: 'orch_dispatch_offers_total',
      help: 'Ready tasks offered to coordination.AssignAgent, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
}
