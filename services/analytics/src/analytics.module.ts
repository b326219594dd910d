import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { PostgresEventStore, type EventStore } from '@orch/eventstore';
import { MessagingModule } from '@orch/messaging';
import { messagingObserver, type ServiceMetrics } from '@orch/observability';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AnalyticsMetrics } from './metrics';
import { CheckpointStore } from './projections/checkpoint-store';
import { openAnalyticsDataSource } from './projections/data-source';
import { PROJECTION_NAME, ProjectionHost } from './projections/projection-host';
import { ReplayHandlers } from './replay/replay.handlers';
import {
  ANALYTICS_OPTIONS,
  CLOCK,
  EVENT_STORE,
  METRICS,
  SERVICE,
  type AnalyticsModuleOptions,
} from './tokens';
import { AnalyticsHandlers } from './views/analytics.handlers';

@Module({})
export class AnalyticsModule implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * The analytics service. `pool` is owned by the caller (it also backs the health check and the
   * event store); the read model has its own TypeORM DataSource, migrated while the providers are
   * created, before the projection is restored.
   */
  static forRoot(
    options: AnalyticsModuleOptions,
    pool: Pool,
    logger: Logger,
    metrics: ServiceMetrics,
  ): DynamicModule {
    return {
      module: AnalyticsModule,
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
        { provide: ANALYTICS_OPTIONS, useValue: options },
        { provide: METRICS, useValue: metrics },
        { provide: CLOCK, useValue: { now: () => new Date() } },
        {
          provide: EVENT_STORE,
          useFactory: () =>
            PostgresEventStore.create({ pool, schema: options.eventStoreSchema, source: SERVICE, logger }),
        },
        {
          provide: DataSource,
          useFactory: () => openAnalyticsDataSource(options.databaseUrl, options.schema),
        },
        {
          provide: CheckpointStore,
          useFactory: (dataSource: DataSource) => new CheckpointStore(dataSource, PROJECTION_NAME),
          inject: [DataSource],
        },
        ProjectionHost,
        AnalyticsMetrics,
        AnalyticsHandlers,
        ReplayHandlers,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    await this.dataSource.destroy();
  }
}
