import type { OnApplicationShutdown } from '@nestjs/common';
import { escapeIdentifier, Pool } from 'pg';

/** The gateway's PostgreSQL access: a pool and its schema, already quoted for SQL. */
export class Database implements OnApplicationShutdown {
  /** Quoted schema name, e.g. `"gateway"`, to prefix table names in SQL. */
  readonly s: string;

  constructor(
    readonly pool: Pool,
    readonly schema: string,
  ) {
    this.s = escapeIdentifier(schema);
  }

  /** Readiness probe: one round trip. */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

export function createPool(databaseUrl: string): Pool {
  return new Pool({
    connectionString: databaseUrl,
    max: 10,
    // Fail a probe or a request quickly when PostgreSQL is gone instead of queueing forever.
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    application_name: 'orch-gateway',
  });
}
