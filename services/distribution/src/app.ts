import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Messaging } from '@orch/messaging';
import {
  HealthRegistry,
  createLogger,
  createMetrics,
  initTelemetry,
  messagingObserver,
  startOpsServer,
  type Logger,
  type OpsServer,
} from '@orch/observability';
import { PinoNestLogger } from '@orch/observability/nest';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { DistributionConfig } from './config';
import { DistributionModule, SERVICE } from './distribution.module';

export interface DistributionService {
  readonly app: INestApplicationContext;
  readonly ops: OpsServer;
  readonly logger: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/**
 * Starts the distribution service: health and metrics first (so /health/ready can say NATS is
 * missing while it is awaited), then the NestJS application with its command handlers.
 */
export async function startDistribution(
  config: DistributionConfig,
  options: StartOptions = {},
): Promise<DistributionService> {
  const telemetry = initTelemetry({
    serviceName: SERVICE,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
  });
  const logger = options.logger ?? createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE });
  let messaging: Messaging | undefined;
  const health = new HealthRegistry().register('nats', () => {
    if (!messaging) throw new Error('not connected yet');
    if (messaging.health().nats !== 'up') throw new Error('disconnected');
  });
  const ops = await startOpsServer({
    port: config.DISTRIBUTION_OPS_PORT,
    host: config.DISTRIBUTION_OPS_HOST,
    health,
    registry: metrics.registry,
    logger,
  });
  try {
    const app = await NestFactory.createApplicationContext(
      DistributionModule.forRoot(
        {
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          maxTasks: config.DISTRIBUTION_MAX_TASKS,
        },
        logger,
        messagingObserver(metrics),
      ),
      { logger: new PinoNestLogger(logger), abortOnError: false },
    );
    await app.init();
    messaging = app.get(Messaging);
    logger.info({ ops: ops.url }, 'distribution service ready');
    return {
      app,
      ops,
      logger,
      async close() {
        await app.close();
        await ops.close();
        await telemetry.shutdown();
      },
    };
  } catch (err) {
    await ops.close();
    await telemetry.shutdown();
    throw err;
  }
}
