import type { Pool } from 'pg';

/** One schema change. Never edit a released migration: add a new version. */
export interface SqlMigration {
  readonly version: number;
  readonly name: string;
  /** The SQL, given the schema as a quoted identifier and as its plain name. */
  sql(quotedSchema: string, context: { readonly schemaName: string }): string;
}

export interface RunMigrationsOptions {
  /** Lower-case identifier; created when missing. */
  readonly schema: string;
  readonly migrations: readonly SqlMigration[];
  /** Table recording applied versions, inside `schema`. Default `schema_migrations`. */
  readonly table?: string;
  /** Name of the advisory lock serialising concurrent runs; default derived from schema and table. */
  readonly lockName?: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates and quotes a lower-case identifier (schemas and tables are interpolated into SQL). */
export function quoteIdentifier(name: string, what = 'identifier'): string {
  if (!IDENTIFIER.test(name)) {
    throw new TypeError(
      `${what} must be a lower-case SQL identifier ([a-z_][a-z0-9_]*), got ${JSON.stringify(name)}`,
    );
  }
  return `"${name}"`;
}

/**
 * Brings `schema` up to its latest migration and returns the versions applied now, in order.
 * Everything runs in one transaction under a transaction-scoped advisory lock: replicas starting
 * together migrate once, and a failing migration leaves nothing half-applied. Connection errors
 * are thrown as they come; callers map them to their own error types.
 */
export async function runMigrations(pool: Pool, options: RunMigrationsOptions): Promise<number[]> {
  const s = quoteIdentifier(options.schema, 'schema');
  const table = `${s}.${quoteIdentifier(options.table ?? 'schema_migrations', 'migrations table')}`;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      options.lockName ?? `orch.migrations/${options.schema}/${options.table ?? 'schema_migrations'}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         version    integer     PRIMARY KEY,
         name       text        NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${table}`);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of [...options.migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql(s, { schemaName: options.schema }));
      await client.query(`INSERT INTO ${table} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
