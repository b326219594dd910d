import { waitForPostgres } from '@orch/postgres';
import type { Logger } from '@orch/observability';
import { startService, type RunningService } from '@orch/service-kit';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { Pool } from 'pg';
import type { ConflictsConfig } from './config';
import { ConflictsModule } from './conflicts.module';
import { SERVICE } from './tokens';

export type ConflictsService = RunningService;

export interface StartOptions {
  /** Extra span processors (tests collect spans with an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/**
 * Starts the conflicts service (the conflict desk): health and metrics first, then PostgreSQL and
 * NATS (waited for, with a log line per attempt), then its book of conflicts rebuilt from the
 * allocator's events in the store, then its command handlers.
 */
export async function startConflicts(
  config: ConflictsConfig,
  options: StartOptions = {},
): Promise<ConflictsService> {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 4 });
  return startService({
    name: SERVICE,
    logLevel: config.LOG_LEVEL,
    opsPort: config.CONFLICTS_OPS_PORT,
    opsHost: config.CONFLICTS_OPS_HOST,
    ...options,
    checks: { postgres: () => pool.query('SELECT 1') },
    beforeStart: async (logger) => {
      pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
      await waitForPostgres(pool, { logger, what: config.DATABASE_URL.replace(/\/\/[^@]*@/, '//') });
    },
    module: ({ logger, metrics }) =>
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
    release: () => pool.end(),
  });
}
