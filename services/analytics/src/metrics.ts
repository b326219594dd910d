import { Inject, Injectable } from '@nestjs/common';
import type { ServiceMetrics } from '@orch/observability';
import { Counter, Gauge } from 'prom-client';
import { ProjectionHost } from './projections/projection-host';
import { METRICS } from './tokens';

/**
 * The projection's series: its position, its lag behind the head of the log and its last
 * checkpoint (read at scrape time), the events it applied, and its checkpoints by outcome.
 */
@Injectable()
export class AnalyticsMetrics {
  constructor(host: ProjectionHost, @Inject(METRICS) metrics: ServiceMetrics) {
    const registers = [metrics.registry];
    new Gauge({
      name: 'orch_analytics_position',
      help: 'Global position of the last event folded into the analytics projection',
      registers,
      collect() {
        this.set(Number(host.position));
      },
    });
    new Gauge({
      name: 'orch_analytics_lag_events',
      help: 'Events appended to the log and not yet folded into the analytics projection',
      registers,
      async collect() {
        const head = await host.headPosition();
        const lag = head - host.position;
        this.set(Number(lag > 0n ? lag : 0n));
      },
    });
    new Gauge({
      name: 'orch_analytics_checkpoint_position',
      help: 'Global position of the last analytics checkpoint written (or restored at start)',
      registers,
      collect() {
        this.set(Number(host.checkpointedAt));
      },
    });
    let counted = 0;
    new Counter({
      name: 'orch_analytics_events_total',
      help: 'Events the analytics projection applied since the process started (every type and source)',
      registers,
      collect() {
        const applied = host.appliedTotal;
        if (applied > counted) this.inc(applied - counted);
        counted = applied;
      },
    });
    const checkpoints = new Counter({
      name: 'orch_analytics_checkpoints_total',
      help: 'Checkpoints of the analytics projection, by outcome (written, failed)',
      labelNames: ['outcome'] as const,
      registers,
    });
    host.listen({ checkpointed: (outcome) => checkpoints.inc({ outcome }) });
  }
}
