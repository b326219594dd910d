import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { MESSAGING_LOGGER } from '@orch/messaging';
import type { Logger } from 'pino';
import { CLOCK, COORDINATION_OPTIONS, type Clock, type CoordinationModuleOptions } from '../tokens';
import { FleetService } from './fleet.service';

/**
 * Marks agents unhealthy when they have not been heard from for the heartbeat timeout. Runs on
 * every replica: two replicas marking the same agent decide on the same stream, and the second
 * decision is a no-op (an unhealthy agent is not marked again).
 */
@Injectable()
export class LivenessMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  /** Agents never heard from count from here at the earliest: heartbeats are not stored. */
  private readonly since: Date;

  constructor(
    private readonly fleet: FleetService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(COORDINATION_OPTIONS) private readonly options: CoordinationModuleOptions,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    this.since = clock.now();
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.options.livenessIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Marks every overdue agent unhealthy; returns how many were marked. One sweep at a time. */
  sweep(): Promise<number> {
    this.sweeping ??= this.markOverdue().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async markOverdue(): Promise<number> {
    const now = this.clock.now();
    let marked = 0;
    for (const { agentId, lastHeartbeatAt } of this.fleet.index.overdue(
      now,
      this.options.heartbeatTimeoutMs,
      this.since,
    )) {
      try {
        const { events } = await this.fleet.execute(
          { type: 'MarkUnhealthy', agentId, lastHeartbeatAt, at: now },
          { correlationId: randomUUID() },
        );
        marked += events.length;
        if (events.length > 0)
          this.logger.warn({ agentId, lastHeartbeatAt }, 'agent missed its heartbeats: unhealthy');
      } catch (err) {
        this.logger.warn({ err, agentId }, 'could not mark an agent unhealthy');
      }
    }
    return marked;
  }
}
