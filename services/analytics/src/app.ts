import { startPostgresService, type RunningService, type ServiceStartOptions } from '@orch/service-kit';
import { AnalyticsModule } from './analytics.module';
import type { AnalyticsConfig } from './config';
import { SERVICE } from './tokens';

export type AnalyticsService = RunningService;

export type StartOptions = ServiceStartOptions;

/**
 * Starts the analytics service: health and metrics first, then PostgreSQL and NATS (waited for),
 * then the projection restored from its checkpoint and caught up with the log before the views,
 * rebuild and replay queries are served.
 */
export async function startAnalytics(
  config: AnalyticsConfig,
  options: StartOptions = {},
): Promise<AnalyticsService> {
  return startPostgresService({
    name: SERVICE,
    databaseUrl: config.DATABASE_URL,
    logLevel: config.LOG_LEVEL,
    opsPort: config.ANALYTICS_OPS_PORT,
    opsHost: config.ANALYTICS_OPS_HOST,
    ...options,
    module: ({ logger, metrics, pool }) =>
      AnalyticsModule.forRoot(
        {
          databaseUrl: config.DATABASE_URL,
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          eventStoreSchema: config.EVENTSTORE_SCHEMA,
          schema: config.ANALYTICS_SCHEMA,
          checkpoint: {
            everyEvents: config.ANALYTICS_CHECKPOINT_EVERY,
            intervalMs: config.ANALYTICS_CHECKPOINT_INTERVAL_MS,
          },
          allocatorAgingStepMs: config.ALLOCATOR_AGING_STEP_MS,
        },
        pool,
        logger,
        metrics,
      ),
  });
}
