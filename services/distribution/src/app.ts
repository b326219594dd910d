import { waitForPostgres } from '@orch/postgres';
import type { Logger } from '@orch/observability';
import { startService, type RunningService } from '@orch/service-kit';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { Pool } from 'pg';
import type { DistributionConfig } from './config';
import { DistributionModule } from './distribution.module';
import { SERVICE } from './tokens';

export type DistributionService = RunningService;

export interface StartOptions {
  /** Extra span processors (tests collect spans with an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/**
 * Starts the distribution service: health and metrics first, then PostgreSQL and NATS (waited
 * for, with a log line per attempt), then its workflows rebuilt from the store, its handlers,
 * consumers, dispatcher and relay.
 */
export async function startDistribution(
  config: DistributionConfig,
  options: StartOptions = {},
): Promise<DistributionService> {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
  return startService({
    name: SERVICE,
    logLevel: config.LOG_LEVEL,
    opsPort: config.DISTRIBUTION_OPS_PORT,
    opsHost: config.DISTRIBUTION_OPS_HOST,
    ...options,
    checks: { postgres: () => pool.query('SELECT 1') },
    beforeStart: async (logger) => {
      pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
      await waitForPostgres(pool, { logger, what: config.DATABASE_URL.replace(/\/\/[^@]*@/, '//') });
    },
    module: ({ logger, metrics }) =>
      DistributionModule.forRoot(
        {
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          eventStoreSchema: config.EVENTSTORE_SCHEMA,
          schema: config.DISTRIBUTION_SCHEMA,
          policy: {
            defaultTimeoutMs: config.TASK_DEFAULT_TIMEOUT_MS,
            defaultMaxAttempts: config.TASK_DEFAULT_MAX_ATTEMPTS,
            retryBaseMs: config.RETRY_BASE_MS,
            retryMaxMs: config.RETRY_MAX_MS,
            maxTasks: config.DISTRIBUTION_MAX_TASKS,
          },
          dispatch: {
            concurrency: config.DISPATCH_CONCURRENCY,
            retryIntervalMs: config.DISPATCH_RETRY_INTERVAL_MS,
          },
        },
        pool,
        logger,
        metrics,
      ),
    release: () => pool.end(),
  });
}
