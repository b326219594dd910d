import type { DynamicModule } from '@nestjs/common';
import type { Logger, ServiceMetrics } from '@orch/observability';
import { waitForPostgres } from '@orch/postgres';
import { Pool } from 'pg';
import { startService, type RunningService, type StartServiceOptions } from './start-service';

/** What a service's start function lets its caller add: span processors (tests), a logger. */
export type ServiceStartOptions = Pick<StartServiceOptions, 'spanProcessors' | 'logger'>;

export interface StartPostgresServiceOptions extends ServiceStartOptions {
  readonly name: string;
  readonly databaseUrl: string;
  readonly logLevel: string;
  readonly opsPort: number;
  readonly opsHost: string;
  /** Most connections the pool opens; default 10. */
  readonly poolMax?: number;
  /** The service's root module, given the pool it shares with the ops server's `postgres` check. */
  readonly module: (deps: {
    readonly logger: Logger;
    readonly metrics: ServiceMetrics;
    readonly pool: Pool;
  }) => DynamicModule;
}

/** `url` with its user and password left out, for log lines. */
export function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^@]*@/, '//');
}

/**
 * Starts a service backed by PostgreSQL with `startService`: it opens one pool on `databaseUrl`,
 * adds a `postgres` readiness check, logs idle connections that fail, waits for the database
 * (a log line per attempt, the URL without credentials) before the application starts, and ends
 * the pool once the application has closed.
 */
export async function startPostgresService(options: StartPostgresServiceOptions): Promise<RunningService> {
  const { databaseUrl, poolMax = 10, module, ...rest } = options;
  const pool = new Pool({ connectionString: databaseUrl, max: poolMax });
  return startService({
    ...rest,
    checks: { postgres: () => pool.query('SELECT 1') },
    beforeStart: async (logger) => {
      pool.on('error', (err) => logger.warn({ err }, 'idle PostgreSQL connection failed'));
      await waitForPostgres(pool, { logger, what: withoutCredentials(databaseUrl) });
    },
    module: ({ logger, metrics }) => module({ logger, metrics, pool }),
    release: () => pool.end(),
  });
}
