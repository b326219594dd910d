import { connectNats } from '@orch/messaging';
import { waitForPostgres } from '@orch/postgres';
import { fastify } from 'fastify';
import { Pool } from 'pg';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config';

type Dependency = 'postgres' | 'nats';

/** A URL fit for a log line: credentials removed. */
const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//');

/**
 * Holds the gateway's port while PostgreSQL and NATS are awaited, so probes and clients get an
 * answer instead of a refused connection: /health/live is 200, /health/ready 503 naming what is
 * missing, every other route 503 problem+json. Resolves (and frees the port) once both answer;
 * the real application then binds the same port.
 */
export async function waitForDependencies(config: GatewayConfig, logger: Logger): Promise<void> {
  const up: Record<Dependency, boolean> = { postgres: false, nats: false };
  const report = () => ({
    status: 'unavailable',
    checks: Object.fromEntries(
      Object.entries(up).map(([name, ok]) => [
        name,
        ok ? { status: 'up' } : { status: 'down', error: 'waiting for it at start-up' },
      ]),
    ),
  });
  const holder = fastify({ logger: false });
  holder.get('/health/live', async () => ({ status: 'ok' }));
  holder.get('/health/ready', async (_req, reply) => reply.code(503).send(report()));
  holder.setNotFoundHandler(async (_req, reply) => {
    const missing = Object.entries(up)
      .filter(([, ok]) => !ok)
      .map(([n]) => n);
    return reply
      .code(503)
      .header('retry-after', '2')
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: `the gateway is starting: waiting for ${missing.join(' and ')}`,
      });
  });
  await holder.listen({ port: config.port, host: config.host });

  const pool = new Pool({ connectionString: config.databaseUrl, max: 1 });
  pool.on('error', () => undefined);
  try {
    await Promise.all([
      waitForPostgres(pool, { logger, what: redact(config.databaseUrl) }).then(() => {
        up.postgres = true;
      }),
      connectNats({ servers: config.natsUrl, name: 'gateway-startup', logger }).then(async (nc) => {
        up.nats = true;
        await nc.close();
      }),
    ]);
  } finally {
    await pool.end().catch(() => undefined);
    await holder.close();
  }
}
