import { Inject, Injectable } from '@nestjs/common';
import type { ServiceMetrics } from '@orch/observability';
import { poolUsage, type AllocatorEvent } from '@orch/resources';
import { Counter, Gauge } from 'prom-client';
import { AllocatorHost } from './allocator/allocator-host';
import { CLOCK, METRICS, type Clock } from './tokens';

/** Decisions the allocator records, by the event that says what happened. */
const DECISIONS: readonly AllocatorEvent['type'][] = [
  'ResourcesAllocated',
  'AllocationBlocked',
  'AllocationRefused',
  'ResourcesReleased',
  'PreemptionRequested',
  'DeadlockDetected',
  'ConflictDetected',
  'ConflictResolved',
];

/**
 * The allocator's series: per pool utilization and waiters (read at scrape time), and a count of
 * every decision seen - own or another replica's, since every replica follows the stream (combine
 * replicas with max(), not sum()).
 */
@Injectable()
export class AllocatorMetrics {
  constructor(host: AllocatorHost, @Inject(METRICS) metrics: ServiceMetrics, @Inject(CLOCK) clock: Clock) {
    const registers = [metrics.registry];
    const usageNow = () => poolUsage(host.state, clock.now());
    new Gauge({
      name: 'orch_pool_utilization',
      help: 'Used share of each pool (rate: of its bucket; budget: spent and held of the period)',
      labelNames: ['pool', 'kind'] as const,
      registers,
      collect() {
        this.reset();
        for (const u of usageNow()) this.set({ pool: u.poolId, kind: u.kind }, u.utilization);
      },
    });
    new Gauge({
      name: 'orch_pool_waiters',
      help: 'Requests waiting for each pool',
      labelNames: ['pool'] as const,
      registers,
      collect() {
        this.reset();
        for (const u of usageNow()) this.set({ pool: u.poolId }, u.waiting);
      },
    });
    new Gauge({
      name: 'orch_allocator_waiters',
      help: 'Requests in the allocator queue',
      registers,
      collect() {
        this.set(host.state.waiters.size);
      },
    });
    const decisions = new Counter({
      name: 'orch_allocator_events_total',
      help: 'Allocator decisions recorded, by event type',
      labelNames: ['type'] as const,
      registers,
    });
    host.onChange((events) => {
      for (const e of events) if (DECISIONS.includes(e.type)) decisions.inc({ type: e.type });
    });
  }
}
