import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { waitForPostgres } from '@orch/postgres';
import { Messaging } from '@orch/messaging';
import {
  HealthRegistry,
  createLogger,
  createMetrics,
  initTelemetry,
  startOpsServer,
  type Logger,
  type OpsServer,
} from '@orch/observability';
import { PinoNestLogger } from '@orch/observability/nest';
import { Pool } from 'pg';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { CoordinationModule } from './coordination.module';
import { SERVICE } from './relay.lifecycle';
import type { CoordinationConfig } from './config';

export interface CoordinationService {
  readonly app: INestApplicationContext;
  readonly ops: OpsServer;
  readonly logger: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra span processors (tests collect spans with an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/**
 * Starts the coordination service: health and metrics first (so /health/ready can say what is
 * missing while dependencies are awaited), then PostgreSQL and NATS (waited for, with a log line
 * per attempt), then the NestJS application with its handlers, consumers and relay.
 */
export async function startCoordination(
  config: CoordinationConfig,
  options: StartOptions = {},
): Promise<CoordinationService> {
  const telemetry = initTelemetry({
    serviceName: SERVICE,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
  });
  const logger = options.logger ?? createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE });
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
  pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));

  let messaging: Messaging | undefined;
  const health = new HealthRegistry()
    .register('postgres', () => pool.query('SELECT 1'))
    .register('nats', () => {
      if (!messaging) throw new Error('not connected yet');
      if (messaging.health().nats !== 'up') throw new Error('disconnected');
    })
    .register('consumers', () => {
      if (!messaging) throw new Error('not started yet');
      const stopped = Object.entries(messaging.health().consumers).filter(([, s]) => s !== 'running');
      if (stopped.length > 0) throw new Error(`stopped: ${stopped.map(([n]) => n).join(', ')}`);
    });
  const ops = await startOpsServer({
    port: config.COORDINATION_OPS_PORT,
    host: config.COORDINATION_OPS_HOST,
    health,
    registry: metrics.registry,
    logger,
  });
  logger.info({ url: ops.url }, 'health and metrics listening');

  try {
    await waitForPostgres(pool, { logger, what: config.DATABASE_URL.replace(/\/\/[^@]*@/, '//') });
    const app = await NestFactory.createApplicationContext(
      CoordinationModule.forRoot(
        {
          databaseUrl: config.DATABASE_URL,
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          eventStoreSchema: config.EVENTSTORE_SCHEMA,
          schema: config.COORDINATION_SCHEMA,
        },
        pool,
        logger,
        metrics,
      ),
      { logger: new PinoNestLogger(logger), abortOnError: false },
    );
    await app.init();
    messaging = app.get(Messaging);
    logger.info('coordination service ready');
    return {
      app,
      ops,
      logger,
      async close() {
        await app.close();
        await ops.close();
        await pool.end();
        await telemetry.shutdown();
      },
    };
  } catch (err) {
    await ops.close();
    await pool.end();
    await telemetry.shutdown();
    throw err;
  }
}
