import type { ServiceMetrics } from '@orch/observability';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { OpenCount } from './conflicts/conflict-records';

/** Conflicts wait from seconds (a preemption) to days (left for an operator). */
const WAIT_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600];

export interface ConflictMetrics {
  /** Conflicts that ended, by resolution (granted | preempted | aborted | withdrawn | manual). */
  readonly resolved: Counter<'resolution'>;
  /** From ConflictDetected to ConflictResolved. */
  readonly wait: Histogram;
}

/**
 * The desk's series. The gauge reads the book at scrape time. The counter and the histogram are
 * folded from the log like the book itself - a replica counts every conflict the store holds once,
 * including those it replayed at start - so they are the same on every replica and across
 * restarts: aggregate replicas with max(), not sum().
 */
export function registerConflictMetrics(
  metrics: ServiceMetrics,
  openCounts: () => Iterable<OpenCount>,
): ConflictMetrics {
  const registers = [metrics.registry];
  new Gauge({
    name: 'orch_conflicts_open',
    help: 'Open conflicts by kind (lock | pool) and contention policy',
    labelNames: ['kind', 'policy'] as const,
    registers,
    collect() {
      this.reset();
      for (const c of openCounts()) this.set({ kind: c.kind, policy: c.policy }, c.count);
    },
  });
  return {
    resolved: new Counter({
      name: 'orch_conflicts_resolved_total',
      help: 'Conflicts resolved, by resolution (every conflict in the store once; same on each replica)',
      labelNames: ['resolution'] as const,
      registers,
    }),
    wait: new Histogram({
      name: 'conflict_wait_seconds',
      help: 'Time from a conflict being detected to its resolution',
      buckets: WAIT_BUCKETS,
      registers,
    }),
  };
}
