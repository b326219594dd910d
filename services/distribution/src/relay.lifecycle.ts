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
import { DISTRIBUTION_OPTIONS, EVENT_STORE, PG_POOL, type DistributionModuleOptions } from './tokens';

export const SERVICE = 'distribution';

/**
 * Publishes the events distribution appends (workflow streams) to JetStream. Every replica starts
 * a relay; a PostgreSQL advisory lock lets one publish at a time (docs/adr/0004-outbox-relay.md).
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
    @Inject(DISTRIBUTION_OPTIONS) private readonly options: DistributionModuleOptions,
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
  }
}
