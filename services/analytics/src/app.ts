import { waitForPostgres } from '@orch/postgres';
import type { Logger } from '@orch/observability';
import { startService, type RunningService } from '@orch/service-kit';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { Pool } from 'pg';
import { AnalyticsModule } from './analytics.module';
import type { AnalyticsConfig } from './config';
import { SERVICE } from './tokens';

export type AnalyticsService = RunningService;

export interface StartOptions {
  /** Extra span processors (tests collect spans with an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/**
 * Starts the analytics service: health and metrics first, then PostgreSQL and NATS (waited for),
 * then the projection restored from its checkpoint and caught up with the log before the views,
 * rebuild and replay queries are served.
 */
export async function startAnalytics(
  config: AnalyticsConfig,
  options: StartOptions = {},
): Promise<AnalyticsService> {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
  return startService({
    name: SERVICE,
    logLevel: config.LOG_LEVEL,
    opsPort: config.ANALYTICS_OPS_PORT,
    opsHost: config.ANALYTICS_OPS_HOST,
    ...options,
    checks: { postgres: () => pool.query('SELECT 1') },
    beforeStart: async (logger) => {
      pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
      await waitForPostgres(pool, { logger, what: config.DATABASE_URL.replace(/\/\/[^@]*@/, '//') });
    },
    module: ({ logger, metrics }) =>
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
    release: () => pool.end(),
  });
}
