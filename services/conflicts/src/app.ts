import { startPostgresService, type RunningService, type ServiceStartOptions } from '@orch/service-kit';
import type { ConflictsConfig } from './config';
import { ConflictsModule } from './conflicts.module';
import { SERVICE } from './tokens';

export type ConflictsService = RunningService;

export type StartOptions = ServiceStartOptions;

/**
 * Starts the conflicts service (the conflict desk): health and metrics first, then PostgreSQL and
 * NATS (waited for, with a log line per attempt), then its book of conflicts rebuilt from the
 * allocator's events in the store, then its command handlers.
 */
export async function startConflicts(
  config: ConflictsConfig,
  options: StartOptions = {},
): Promise<ConflictsService> {
  return startPostgresService({
    name: SERVICE,
    databaseUrl: config.DATABASE_URL,
    poolMax: 4,
    logLevel: config.LOG_LEVEL,
    opsPort: config.CONFLICTS_OPS_PORT,
    opsHost: config.CONFLICTS_OPS_HOST,
    ...options,
    module: ({ logger, metrics, pool }) =>
      ConflictsModule.forRoot(
        {
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          eventStoreSchema: config.EVENTSTORE_SCHEMA,
          schema: config.CONFLICTS_SCHEMA,
          keepResolved: config.CONFLICTS_KEEP_RESOLVED,
        },
        pool,
        logger,
        metrics,
      ),
  });
}
