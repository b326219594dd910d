import 'reflect-metadata';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Messaging } from '@orch/messaging';
import {
  HealthRegistry,
  createLogger,
  createMetrics,
  initTelemetry,
  startOpsServer,
  type HealthCheck,
  type Logger,
  type OpsServer,
  type ServiceMetrics,
} from '@orch/observability';
import { PinoNestLogger } from '@orch/observability/nest';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';

/** A running service without an HTTP API of its own. */
export interface RunningService {
  readonly app: INestApplicationContext;
  /** Health and metrics endpoints. */
  readonly ops: OpsServer;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  close(): Promise<void>;
}

export interface StartServiceOptions {
  readonly name: string;
  readonly logLevel: string;
  readonly opsPort: number;
  readonly opsHost: string;
  /** Extra span processors (tests collect spans in memory). */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** Defaults to a JSON logger named after the service. */
  readonly logger?: Logger;
  /** Readiness checks besides `nats` and `consumers`, e.g. `postgres`. */
  readonly checks?: Readonly<Record<string, HealthCheck>>;
  /** Runs once health and metrics answer, before the application starts: wait for dependencies here. */
  readonly beforeStart?: (logger: Logger) => Promise<void>;
  /** The service's root module. */
  readonly module: (deps: { readonly logger: Logger; readonly metrics: ServiceMetrics }) => DynamicModule;
  /** Releases what the caller opened for the service (pools...), after the application closed. */
  readonly release?: () => Promise<void>;
}

/**
 * Starts a service the same way everywhere: telemetry, logger and metrics; then the ops server,
 * so /health/ready can say what is missing while `beforeStart` waits for dependencies; then the
 * NestJS application context, whose MessagingModule connects to NATS (waiting, with a log line
 * per attempt). Readiness covers NATS and the event consumers on top of `checks`.
 */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const telemetry = initTelemetry({
    serviceName: options.name,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
  });
  const logger = options.logger ?? createLogger({ service: options.name, level: options.logLevel });
  const metrics = createMetrics({ service: options.name });
  let messaging: Messaging | undefined;
  const health = new HealthRegistry();
  for (const [name, check] of Object.entries(options.checks ?? {})) health.register(name, check);
  health
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
    port: options.opsPort,
    host: options.opsHost,
    health,
    registry: metrics.registry,
    logger,
  });
  logger.info({ url: ops.url }, 'health and metrics listening');
  const release = async (): Promise<void> => {
    await ops.close();
    await options.release?.();
    await telemetry.shutdown();
  };
  try {
    await options.beforeStart?.(logger);
    const app = await NestFactory.createApplicationContext(options.module({ logger, metrics }), {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
    });
    await app.init();
    messaging = app.get(Messaging);
    logger.info(`${options.name} service ready`);
    return {
      app,
      ops,
      logger,
      metrics,
      async close() {
        await app.close();
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}
