import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { createLogger, createMetrics, type ServiceMetrics } from '@orch/observability';
import { PinoNestLogger } from '@orch/observability/nest';
import type { Logger } from 'pino';
import { GatewayModule } from './app.module';
import type { GatewayConfig } from './config';
import { correlationIdFor } from './http/correlation';
import { installEdgeHooks } from './http/edge-hooks';
import { rateLimit, rateLimitOptions } from './http/rate-limit';
import { installYamlBody } from './http/yaml-body';
import { KeysService } from './keys/keys.service';
import { ProblemFilter } from './problem/problem.filter';

export interface GatewayAppOptions {
  /** Defaults to a JSON logger at the configured level. */
  readonly logger?: Logger;
  /** Defaults to a fresh registry with process metrics. */
  readonly metrics?: ServiceMetrics;
}

/**
 * Builds the gateway and initializes it (database migrated, NATS connected, routes mapped)
 * without listening: `main.ts` listens; tests use `app.inject()` or listen on port 0. Call
 * `initTelemetry` before, so request spans have a provider.
 */
export async function createGatewayApp(
  config: GatewayConfig,
  options: GatewayAppOptions = {},
): Promise<NestFastifyApplication> {
  const logger =
    options.logger ?? createLogger({ service: 'gateway', level: config.logLevel, pretty: config.logPretty });
  const metrics = options.metrics ?? createMetrics({ service: 'gateway' });

  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // The request id is the correlation id (client's X-Correlation-Id or a new UUID).
    genReqId: correlationIdFor,
    requestIdHeader: false,
    trustProxy: config.trustProxy,
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.forRoot(config, logger, metrics),
    adapter,
    {
      logger: new PinoNestLogger(logger.child({ component: 'nest' })),
      // Fastify's own JSON parser only: Nest would also accept url-encoded forms.
      bodyParser: false,
      // Fail with an exception, not process.exit, so callers (tests, stack runner) see the cause.
      abortOnError: false,
    },
  );
  try {
    const fastify = app.getHttpAdapter().getInstance();
    // JSON, or YAML for workflow files: any other body is a 415.
    fastify.removeContentTypeParser('text/plain');
    installYamlBody(fastify);
    installEdgeHooks(fastify, { keys: app.get(KeysService), metrics, logger });
    await app.register(rateLimit, rateLimitOptions(config.rateLimits));
    app.useGlobalFilters(new ProblemFilter(logger));

    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Agent orchestrator API')
        .setDescription('Control plane for fleets of AI agents. Errors are application/problem+json.')
        .setVersion('1')
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          description: 'An API key: Authorization: Bearer orch_...',
        })
        .build(),
    );
    SwaggerModule.setup('api/docs', app, document, { ui: config.openApiUi, raw: ['json'] });

    await app.init();
    await fastify.ready();
    return app;
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
}
