import { startPostgresService, type RunningService, type ServiceStartOptions } from '@orch/service-kit';
import type { CoordinationConfig } from './config';
import { CoordinationModule } from './coordination.module';
import { SERVICE } from './tokens';

export type CoordinationService = RunningService;

export type StartOptions = ServiceStartOptions;

/**
 * Starts the coordination service: health and metrics first, then PostgreSQL and NATS (waited
 * for, with a log line per attempt), then its handlers, consumers and relay.
 */
export async function startCoordination(
  config: CoordinationConfig,
  options: StartOptions = {},
): Promise<CoordinationService> {
  return startPostgresService({
    name: SERVICE,
    databaseUrl: config.DATABASE_URL,
    logLevel: config.LOG_LEVEL,
    opsPort: config.COORDINATION_OPS_PORT,
    opsHost: config.COORDINATION_OPS_HOST,
    ...options,
    module: ({ logger, metrics, pool }) =>
      CoordinationModule.forRoot(
        {
          databaseUrl: config.DATABASE_URL,
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          eventStoreSchema: config.EVENTSTORE_SCHEMA,
          schema: config.COORDINATION_SCHEMA,
          heartbeatTimeoutMs: config.AGENT_HEARTBEAT_TIMEOUT_MS,
          livenessIntervalMs: config.AGENT_LIVENESS_INTERVAL_MS,
          messagesMaxWaitMs: config.MESSAGES_MAX_WAIT_MS,
        },
        pool,
        logger,
        metrics,
      ),
  });
}
