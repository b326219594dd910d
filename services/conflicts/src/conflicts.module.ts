import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { PostgresEventStore, type EventStore } from '@orch/eventstore';
import { MessagingModule, migrateMessagingSchema } from '@orch/messaging';
import { messagingObserver, type ServiceMetrics } from '@orch/observability';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { ConflictBook } from './conflicts/conflict-book';
import { ConflictsHandlers } from './conflicts/conflicts.handlers';
import {
  CLOCK,
  CONFLICTS_OPTIONS,
  EVENT_STORE,
  METRICS,
  SERVICE,
  type ConflictsModuleOptions,
} from './tokens';

@Module({})
export class ConflictsModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /**
   * The conflicts service. `pool` is owned by the caller (it also backs the health check). The
   * event store and the service's schema are migrated while the providers are created, before the
   * book is rebuilt. The service appends no events, so it runs no relay.
   */
  static forRoot(
    options: ConflictsModuleOptions,
    pool: Pool,
    logger: Logger,
    metrics: ServiceMetrics,
  ): DynamicModule {
    return {
      module: ConflictsModule,
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
        { provide: CONFLICTS_OPTIONS, useValue: options },
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
        ConflictBook,
        ConflictsHandlers,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
