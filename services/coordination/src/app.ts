import { waitForPostgres } from '@orch/postgres';
import type { Logger } from '@orch/observability';
import { startService, type RunningService } from '@orch/service-kit';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { Pool } from 'pg';
import type { CoordinationConfig } from './config';
import { CoordinationModule } from './coordination.module';
import { SERVICE } from './tokens';

export type CoordinationService = RunningService;

export interface StartOptions {
  /** Extra span processors (tests collect spans with an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/**
 * Starts the coordination service: health and metrics first, then PostgreSQL and NATS (waited
 * for, with a log line per attempt), then its handlers, consumers and relay.
 */
export async function startCoordination(
  config: CoordinationConfig,
  options: StartOptions = {},
): Promise<CoordinationService> {
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
  return startService({
    name: SERVICE,
    logLevel: config.LOG_LEVEL,
    opsPort: config.COORDINATION_OPS_PORT,
    opsHost: config.COORDINATION_OPS_HOST,
    ...options,
    checks: { postgres: () => pool.query('SELECT 1') },
    beforeStart: async (logger) => {
      pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
      await waitForPostgres(pool, { logger, what: config.DATABASE_URL.replace(/\/\/[^@]*@/, '//') });
    },
    module: ({ logger, metrics }) =>
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
    release: () => pool.end(),
  });
}
