import { runMigrations, type SqlMigration } from '@orch/postgres';
import type { Pool } from 'pg';

/** Anything that runs SQL inside the caller's transaction: a pg PoolClient/Client or a TypeORM EntityManager/QueryRunner. */
export interface SqlExecutor {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates and quotes a schema name (lowercase identifiers only, so it needs no escaping). */
export function quoteSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new Error(`schema "${schema}" must be a lowercase SQL identifier ([a-z_][a-z0-9_]*)`);
  }
  return `"${schema}"`;
}

/** Rows of a query result, whichever executor ran it (pg returns `{rows}`, TypeORM the rows). */
export function rowsOf<Row>(result: unknown): Row[] {
  if (Array.isArray(result)) {
    // TypeORM answers UPDATE/DELETE with [rows, affected].
    if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number')
      return result[0] as Row[];
    return result as Row[];
  }
  if (result && typeof result === 'object' && 'rows' in result) return (result as { rows: Row[] }).rows;
  return [];
}

/** Ordered migrations of the messaging tables; append only, never edit a released one. */
const MIGRATIONS: readonly SqlMigration[] = [
  {
    version: 1,
    name: 'relay checkpoints, consumer inbox and checkpoints',
    sql: (s) => `
      CREATE TABLE IF NOT EXISTS ${s}.relay_checkpoints (
        relay text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE IF NOT EXISTS ${s}.consumer_inbox (
        consumer text NOT NULL,
        event_id text NOT NULL,
        global_position bigint NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
      );
      CREATE INDEX IF NOT EXISTS consumer_inbox_processed_at ON ${s}.consumer_inbox (consumer, processed_at);
      CREATE TABLE IF NOT EXISTS ${s}.consumer_checkpoints (
        consumer text PRIMARY KEY,
        position bigint NOT NULL,
        applied_count bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
];

/**
 * Creates or upgrades the relay and consumer tables in `schema` (default `messaging`).
 * Versioned and idempotent; concurrent callers (replicas starting together) are serialised by a
 * transaction-scoped advisory lock. Returns the schema version.
 */
export async function migrateMessagingSchema(pool: Pool, schema = 'messaging'): Promise<number> {
  quoteSchema(schema);
  await runMigrations(pool, {
    schema,
    migrations: MIGRATIONS,
    table: 'messaging_migrations',
    lockName: `orch.messaging.migrate.${schema}`,
  });
  return Math.max(...MIGRATIONS.map((m) => m.version));
}
