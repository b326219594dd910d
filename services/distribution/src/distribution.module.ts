import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { PostgresEventStore, type EventStore } from '@orch/eventstore';
import { MessagingModule, migrateMessagingSchema, serviceRelay } from '@orch/messaging';
import { messagingObserver, registerRelayMetrics, type ServiceMetrics } from '@orch/observability';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { CoordinationConsumers } from './tasks/coordination.consumers';
import { ResourcesConsumers } from './tasks/resources.consumers';
import { ClaimsGate } from './tasks/claims-gate';
import { Dispatcher } from './tasks/dispatcher';
import { TasksHandlers } from './tasks/tasks.handlers';
import { WorkflowHost } from './tasks/workflow-host';
import {
  CLOCK,
  DISTRIBUTION_OPTIONS,
  EVENT_STORE,
  METRICS,
  SERVICE,
  type DistributionModuleOptions,
} from './tokens';
import { WorkflowsHandlers } from './workflows/workflows.handlers';

@Module({})
export class DistributionModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /**
   * The distribution service. `pool` is owned by the caller (it also backs the health check).
   * The event store and the service's schema are migrated while the providers are created,
   * before any consumer starts.
   */
  static forRoot(
    options: DistributionModuleOptions,
    pool: Pool,
    logger: Logger,
    metrics: ServiceMetrics,
  ): DynamicModule {
    return {
      module: DistributionModule,
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
        { provide: DISTRIBUTION_OPTIONS, useValue: options },
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
        WorkflowHost,
        ClaimsGate,
        Dispatcher,
        TasksHandlers,
        CoordinationConsumers,
        ResourcesConsumers,
        WorkflowsHandlers,
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
