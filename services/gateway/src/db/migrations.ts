import { runMigrations, type SqlMigration } from '@orch/postgres';
import type { Pool } from 'pg';

/** One schema change. Never edit a released migration: add a new version. */
export type Migration = SqlMigration;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'api keys',
    sql: (s) => `
      CREATE TABLE ${s}.api_keys (
        id          text PRIMARY KEY,
        -- SHA-256 of the whole key; the key itself is never stored (docs/adr/0006).
        key_hash    bytea NOT NULL UNIQUE,
        -- First characters of the key, so an operator can tell keys apart in listings and logs.
        prefix      text NOT NULL,
        role        text NOT NULL CHECK (role IN ('admin', 'operator', 'agent', 'viewer')),
        name        text NOT NULL,
        agent_id    text,
        -- 'registration' for the key issued by POST /api/agents: a retried registration replaces it.
        origin      text NOT NULL DEFAULT 'api',
        created_by  text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz,
        CHECK ((role = 'agent') = (agent_id IS NOT NULL))
      );
      CREATE INDEX api_keys_agent_idx ON ${s}.api_keys (agent_id) WHERE agent_id IS NOT NULL;`,
  },
  {
    version: 2,
    name: 'idempotency keys',
    sql: (s) => `
      CREATE TABLE ${s}.idempotency_keys (
        principal_id  text NOT NULL,
        key           text NOT NULL,
        method        text NOT NULL,
        path          text NOT NULL,
        request_hash  bytea NOT NULL,
        state         text NOT NULL CHECK (state IN ('in_progress', 'completed')),
        status_code   integer,
        content_type  text,
        response      jsonb,
        -- An in-progress record past this instant belongs to a request that died with its replica.
        locked_until  timestamptz NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        expires_at    timestamptz NOT NULL,
        PRIMARY KEY (principal_id, key)
      );
      CREATE INDEX idempotency_keys_expiry_idx ON ${s}.idempotency_keys (expires_at);`,
  },
];

/**
 * Brings `schema` up to the latest migration. Runs in one transaction under an advisory lock,
 * so replicas starting together migrate once and a failed migration leaves nothing half-done.
 * Returns the versions applied now.
 */
export async function migrate(
  pool: Pool,
  schema: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return runMigrations(pool, { schema, migrations, lockName: `orch-migrations:${schema}` });
}
