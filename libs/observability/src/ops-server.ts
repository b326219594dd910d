import { fastify, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HealthRegistry } from './health';

export interface OpsServerConfig {
  /** 0 picks a free port (tests); read the bound one from {@link OpsServer.port}. */
  readonly port: number;
  /** Default 0.0.0.0: the probes come from the kubelet, not from localhost. */
  readonly host?: string;
  readonly health: HealthRegistry;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface OpsServer {
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A tiny HTTP server for services without an HTTP API: `GET /health/live`, `GET /health/ready`
 * (503 with the report when a dependency is down) and `GET /metrics` (Prometheus text).
 * It binds its own port so it can stay on the cluster network while the service has no public edge.
 */
export async function startOpsServer(config: OpsServerConfig): Promise<OpsServer> {
  const app: FastifyInstance = fastify({ logger: false });
  app.get('/health/live', async () => config.health.live());
  app.get('/health/ready', async (_req, reply) => {
    const report = await config.health.ready();
    return reply.code(report.status === 'ok' ? 200 : 503).send(report);
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await config.registry.metrics();
    return reply.type(config.registry.contentType).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send({ status: 404, title: 'Not Found', detail: `no route ${req.method} ${req.url}` });
  });
  app.setErrorHandler((err, _req, reply) => {
    config.logger.error({ err }, 'ops server request failed');
    void reply.code(500).send({ status: 500, title: 'Internal Server Error' });
  });
  await app.listen({ port: config.port, host: config.host ?? '0.0.0.0' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host && config.host !== '0.0.0.0' ? config.host : '127.0.0.1';
  config.logger.info({ port }, 'ops server listening');
  return { port, url: `http://${host}:${port}`, close: () => app.close() };
}
