import { createLogger, initTelemetry, stopOnSignal } from '@orch/observability';
import { createGatewayApp } from './app';
import { ConfigError, loadConfig } from './config';
import { waitForDependencies } from './startup';

/**
 * Gateway process: telemetry first (so start-up is traced), then wait for PostgreSQL and NATS
 * while answering health probes, then Nest, then listen.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const telemetry = initTelemetry({
    serviceName: 'gateway',
    serviceVersion: process.env['npm_package_version'],
  });
  const logger = createLogger({ service: 'gateway', level: config.logLevel, pretty: config.logPretty });
  await waitForDependencies(config, logger);
  const app = await createGatewayApp(config, { logger });
  await app.listen({ port: config.port, host: config.host });
  logger.info({ port: config.port, host: config.host, namespace: config.namespace }, 'gateway listening');

  stopOnSignal({
    service: 'gateway',
    logger,
    close: async () => {
      await app.close();
      await telemetry.shutdown();
    },
  });
}

main().catch((err: unknown) => {
  createLogger({ service: 'gateway' }).fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
