import { startPostgresService, type RunningService, type ServiceStartOptions } from '@orch/service-kit';
import type { ResourcesConfig } from './config';
import { ResourcesModule } from './resources.module';
import { SERVICE } from './tokens';

export type ResourcesService = RunningService;

export type StartOptions = ServiceStartOptions;

/**
 * Starts the resources service: health and metrics first, then PostgreSQL and NATS (waited for),
 * then the allocator rebuilt from its stream, its handlers, consumers, timer and relay.
 */
export async function startResources(
  config: ResourcesConfig,
  options: StartOptions = {},
): Promise<ResourcesService> {
  return startPostgresService({
    name: SERVICE,
    databaseUrl: config.DATABASE_URL,
    logLevel: config.LOG_LEVEL,
    opsPort: config.RESOURCES_OPS_PORT,
    opsHost: config.RESOURCES_OPS_HOST,
    ...options,
    module: ({ logger, metrics, pool }) =>
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
  });
}
