import { startPostgresService, type RunningService, type ServiceStartOptions } from '@orch/service-kit';
import type { DistributionConfig } from './config';
import { DistributionModule } from './distribution.module';
import { SERVICE } from './tokens';

export type DistributionService = RunningService;

export type StartOptions = ServiceStartOptions;

/**
 * Starts the distribution service: health and metrics first, then PostgreSQL and NATS (waited
 * for, with a log line per attempt), then its workflows rebuilt from the store, its handlers,
 * consumers, dispatcher and relay.
 */
export async function startDistribution(
  config: DistributionConfig,
  options: StartOptions = {},
): Promise<DistributionService> {
  return startPostgresService({
    name: SERVICE,
    databaseUrl: config.DATABASE_URL,
    logLevel: config.LOG_LEVEL,
    opsPort: config.DISTRIBUTION_OPS_PORT,
    opsHost: config.DISTRIBUTION_OPS_HOST,
    ...options,
    module: ({ logger, metrics, pool }) =>
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
  });
}
