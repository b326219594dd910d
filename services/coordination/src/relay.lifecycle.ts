import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EventStore } from '@orch/eventstore';
import {
  MESSAGING_LOGGER,
  MESSAGING_NAMING,
  Messaging,
  NATS_CONNECTION,
  OutboxRelay,
  type Naming,
} from '@orch/messaging';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '@orch/observability';
import { registerRelayMetrics } from './metrics';
import {
  COORDINATION_OPTIONS,
  EVENT_STORE,
  METRICS,
  PG_POOL,
  type CoordinationModuleOptions,
} from './tokens';

export const SERVICE = 'coordination';

/**
 * Runs the outbox relay for the events this service appends. Every replica starts one; a
 * PostgreSQL advisory lock lets exactly one publish at a time (docs/adr/0004-outbox-relay.md).
 * Started after MessagingModule's bootstrap (imported modules go first), so the streams exist.
 */
@Injectable()
export class RelayLifecycle implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(MESSAGING_NAMING) private readonly naming: Naming,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
    @Inject(COORDINATION_OPTIONS) private readonly options: CoordinationModuleOptions,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    private readonly messaging: Messaging,
  ) {}

  onApplicationBootstrap(): void {
    const relay = new OutboxRelay({
      store: this.store,
      pool: this.pool,
      schema: this.options.schema,
      source: SERVICE,
      naming: this.naming,
      js: jetstream(this.nc),
      logger: this.logger,
    });
    relay.start();
    this.messaging.attachRelay(relay);
    registerRelayMetrics(this.metrics, relay);
  }
}
