import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { MESSAGING_NAMING, NATS_CONNECTION, type Naming } from '@orch/messaging';
import { FleetService } from './fleet.service';

/**
 * Heartbeats are not events (docs/orchestration.md), yet every replica's liveness monitor must see
 * them all, while a Heartbeat command reaches only one replica (queue group). The replica that
 * takes it therefore repeats it on a plain NATS subject every replica listens to. Losing such a
 * message costs nothing: the agent beats again well within the timeout.
 */
@Injectable()
export class HeartbeatBroadcast implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription: Subscription | undefined;
  private readonly subject: string;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(MESSAGING_NAMING) naming: Naming,
    private readonly fleet: FleetService,
  ) {
    this.subject = `${naming.namespace === '' ? '' : `${naming.namespace}.`}coordination.heartbeats`;
  }

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(this.subject, {
      callback: (err, m) => {
        if (err) return;
        const [agentId, ms] = m.string().split(' ');
        const at = Number(ms);
        if (agentId && Number.isFinite(at)) this.fleet.index.noteHeartbeat(agentId, new Date(at));
      },
    });
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  /** Tells every replica (this one included, at once) that the agent was heard from at `at`. */
  announce(agentId: string, at: Date): void {
    this.fleet.index.noteHeartbeat(agentId, at);
    if (!this.nc.isClosed()) this.nc.publish(this.subject, `${agentId} ${at.getTime()}`);
  }
}
