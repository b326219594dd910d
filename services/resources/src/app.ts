import { waitForPostgres } from '@orch/postgres';
import type { Logger } from '@orch/observability';
import { startService, type RunningService } from '@orch/service-kit';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { Pool } from 'pg';
import type { ResourcesConfig } from './config';
import { ResourcesModule } from './resources.module';
import { SERVICE } from './tokens';

export type ResourcesService = RunningService;

export interface StartOptions {
  /** Extra span processors (tests collect spans with an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/**
 * Starts the resources service: health and metrics first, then PostgreSQL and NATS (waited for),
 * then the allocator rebuilt from its stream, its handlers, consumers, timer and relay.
 */
export async function startResources(
  config: ResourcesConfig,
  options: StartOptions = {},
): Promise<ResourcesService> {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
  return startService({
    name: SERVICE,
    logLevel: config.LOG_LEVEL,
    opsPort: config.RESOURCES_OPS_PORT,
    opsHost: config.RESOURCES_OPS_HOST,
    ...options,
    checks: { postgres: () => pool.query('SELECT 1') },
    beforeStart: async (logger) => {
      pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
      await waitForPostgres(pool, { logger, what: config.DATABASE_URL.replace(/\/\/[^@]*@/, '//') });
    },
    module: ({ logger, metrics }) =>
      ResourcesModule.forRoot(
        {
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          eventStoreSchema: config.EVENTSTORE_SCHEMA,
          schema: config.RESOURCES_SCHEMA,
          agingStepMs: config.ALLOCATOR_AGING_STEP_MS,
          tickMaxMs: config.ALLOCATOR_TICK_MAX_MS,
        },
        pool,
        logger,
        metrics,
      ),
    release: () => pool.end(),
  });
}
