import { escapeIdentifier, type Pool } from 'pg';

/** One schema change. Never edit a released migration: add a new version. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** SQL for schema `s` (already quoted). */
  readonly up: (s: string) => string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'api keys',
    up: (s) => `
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
    up: (s) => `
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
  const s = escapeIdentifier(schema);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`orch-migrations:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.up(s));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
