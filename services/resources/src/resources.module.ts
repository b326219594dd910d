import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { PostgresEventStore, type EventStore } from '@orch/eventstore';
import { MessagingModule, migrateMessagingSchema, serviceRelay } from '@orch/messaging';
import { messagingObserver, registerRelayMetrics, type ServiceMetrics } from '@orch/observability';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { AllocatorHost } from './allocator/allocator-host';
import { AllocatorHandlers } from './allocator/allocator.handlers';
import { DistributionConsumers } from './allocator/distribution.consumers';
import { UsageHistory } from './allocator/usage-history';
import { AllocatorMetrics } from './metrics';
import {
  CLOCK,
  EVENT_STORE,
  METRICS,
  RESOURCES_OPTIONS,
  SERVICE,
  type ResourcesModuleOptions,
} from './tokens';

@Module({})
export class ResourcesModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /**
   * The resources service. `pool` is owned by the caller (it also backs the health check). The
   * event store and the service's schema are migrated while the providers are created, before any
   * consumer starts.
   */
  static forRoot(
    options: ResourcesModuleOptions,
    pool: Pool,
    logger: Logger,
    metrics: ServiceMetrics,
  ): DynamicModule {
    return {
      module: ResourcesModule,
      imports: [
        MessagingModule.forRoot({
          service: SERVICE,
          natsUrl: options.natsUrl,
          namespace: options.namespace,
          logger,
          observer: messagingObserver(metrics),
        }),
      ],
      providers: [
        { provide: RESOURCES_OPTIONS, useValue: options },
        { provide: METRICS, useValue: metrics },
        { provide: CLOCK, useValue: { now: () => new Date() } },
        {
          provide: EVENT_STORE,
          useFactory: async () => {
            await migrateMessagingSchema(pool, options.schema);
            return PostgresEventStore.create({
              pool,
              schema: options.eventStoreSchema,
              source: SERVICE,
              logger,
            });
          },
        },
        AllocatorHost,
        UsageHistory,
        AllocatorMetrics,
        AllocatorHandlers,
        DistributionConsumers,
        serviceRelay({
          inject: [EVENT_STORE],
          useFactory: (store: EventStore) => ({ store, pool, schema: options.schema, source: SERVICE }),
          started: (relay) => registerRelayMetrics(metrics, relay),
        }),
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
