import { runMigrations, type SqlMigration } from '@orch/postgres';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { EventStoreUnavailableError } from '../errors';
import { isConnectionError } from './pg-errors';
import { validateSchemaName } from './sql';

/**
 * Versioned schema migrations of the event store. Each runs once per schema, in version order,
 * and is recorded in `<schema>.schema_migrations`. A migration is never edited once released:
 * a change is a new migration.
 */
export type Migration = SqlMigration;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'events and the global log head',
    sql: (s) => `
      CREATE TABLE ${s}.events (
        global_position bigint      PRIMARY KEY,
        event_id        uuid        NOT NULL,
        stream_id       text        NOT NULL,
        stream_version  bigint      NOT NULL CHECK (stream_version >= 1),
        type            text        NOT NULL,
        schema_version  integer     NOT NULL DEFAULT 1 CHECK (schema_version >= 1),
        source          text        NOT NULL,
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
        correlation_id  text,
        causation_id    text,
        occurred_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_event_id_key UNIQUE (event_id),
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
      );
      -- A session's history (readByCorrelation) and the relay's per-service reads.
      CREATE INDEX events_correlation_idx ON ${s}.events (correlation_id, global_position)
        WHERE correlation_id IS NOT NULL;
      CREATE INDEX events_source_idx ON ${s}.events (source, global_position);

      -- One row: the last assigned global position. Appending transactions move it under its row
      -- lock, which serialises position assignment with commit (docs/adr/0003-gap-free-global-log.md).
      CREATE TABLE ${s}.log_head (
        id       boolean PRIMARY KEY DEFAULT true CHECK (id),
        position bigint  NOT NULL CHECK (position >= 0)
      );
      INSERT INTO ${s}.log_head (id, position) VALUES (true, 0);
    `,
  },
  {
    version: 2,
    name: 'snapshots',
    sql: (s) => `
      CREATE TABLE ${s}.snapshots (
        stream_id      text        PRIMARY KEY,
        version        bigint      NOT NULL CHECK (version >= 0),
        schema_version integer     NOT NULL,
        state          jsonb       NOT NULL,
        taken_at       timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 3,
    name: 'append locking function',
    // Takes the batch's stream locks in one fixed order (sorted keys, so concurrent batches never
    // deadlock) and then reads, with a fresh snapshot, what the batch planner needs. Stream locks
    // are transaction-scoped advisory locks keyed by schema and stream id: a collision of the
    // 64-bit hash only serialises two unrelated streams.
    sql: (s, { schemaName }) => `
      CREATE FUNCTION ${s}.begin_append(p_batch jsonb)
      RETURNS TABLE (stream_id text, stream_version bigint, event_id uuid, global_position bigint)
      LANGUAGE plpgsql AS $fn$
      #variable_conflict use_column
      DECLARE
        k bigint;
      BEGIN
        FOR k IN
          SELECT DISTINCT hashtextextended(${literal(schemaName + '/')} || x.id, 0)
          FROM jsonb_array_elements_text(p_batch->'streams') AS x(id)
          ORDER BY 1
        LOOP
          PERFORM pg_advisory_xact_lock(k);
        END LOOP;
        RETURN QUERY
          SELECT x.id,
                 coalesce((SELECT max(e.stream_version) FROM ${s}.events e WHERE e.stream_id = x.id), 0)::bigint,
                 NULL::uuid,
                 NULL::bigint
          FROM jsonb_array_elements_text(p_batch->'streams') AS x(id)
          UNION ALL
          SELECT e.stream_id, e.stream_version, e.event_id, e.global_position
          FROM ${s}.events e
          WHERE e.event_id IN (SELECT y.id::uuid FROM jsonb_array_elements_text(p_batch->'eventIds') AS y(id));
      END
      $fn$;
    `,
  },
  {
    version: 4,
    name: 'single round-trip append',
    // write_append: takes positions under the head row lock (as late as possible in the
    // transaction), inserts the batch, notifies subscribers. try_append: the whole append in one
    // statement for a batch planned on assumed stream versions; it takes the same stream locks as
    // begin_append, verifies the assumptions (each stream at its assumed version, no event id
    // stored yet) and writes, or writes nothing and returns NULL so the caller takes the locked
    // read path. The planning itself stays in TypeScript (batch-planner.ts).
    sql: (s, { schemaName }) => `
      CREATE FUNCTION ${s}.write_append(p jsonb) RETURNS bigint LANGUAGE plpgsql AS $fn$
      DECLARE
        n    bigint := (p->>'count')::bigint;
        base bigint;
      BEGIN
        UPDATE ${s}.log_head SET position = position + n WHERE id RETURNING position - n INTO base;
        INSERT INTO ${s}.events (global_position, event_id, stream_id, stream_version, type, schema_version,
                                 source, data, metadata, correlation_id, causation_id, occurred_at)
        SELECT base + x.o, x.e, x.s, x.v, x.t, x.sv, p->>'source', x.d, x.m, x.c, x.ca, coalesce(x.at, now())
        FROM jsonb_to_recordset(p->'rows')
          AS x(o bigint, e uuid, s text, v bigint, t text, sv integer, d jsonb, m jsonb, c text, ca text, at timestamptz);
        PERFORM pg_notify(${literal(`${schemaName}_appended`)}, (base + n)::text);
        RETURN base;
      END
      $fn$;

      CREATE FUNCTION ${s}.try_append(p jsonb) RETURNS bigint LANGUAGE plpgsql AS $fn$
      DECLARE
        k bigint;
      BEGIN
        FOR k IN
          SELECT DISTINCT hashtextextended(${literal(schemaName + '/')} || v.key, 0)
          FROM jsonb_each_text(p->'assumed') AS v
          ORDER BY 1
        LOOP
          PERFORM pg_advisory_xact_lock(k);
        END LOOP;
        IF EXISTS (
          SELECT 1 FROM jsonb_each_text(p->'assumed') AS v
          WHERE coalesce((SELECT max(e.stream_version) FROM ${s}.events e WHERE e.stream_id = v.key), 0) <> v.value::bigint
        ) OR EXISTS (
          SELECT 1 FROM ${s}.events e
          WHERE e.event_id IN (SELECT (x->>'e')::uuid FROM jsonb_array_elements(p->'rows') AS x)
        ) THEN
          RETURN NULL;
        END IF;
        RETURN ${s}.write_append(p);
      END
      $fn$;
    `,
  },
];

const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * Brings `schema` up to the latest migration. Safe to run from many processes at once: the
 * whole run holds a transaction-scoped advisory lock for the schema, so a second starter waits
 * and then finds everything applied. DDL is transactional in PostgreSQL, so a failed migration
 * leaves nothing behind.
 *
 * @returns the versions applied by this call (empty when the schema was up to date).
 */
export async function migrate(pool: Pool, schema = 'eventstore', logger?: Logger): Promise<number[]> {
  validateSchemaName(schema);
  try {
    const applied = await runMigrations(pool, {
      schema,
      migrations,
      lockName: `orch.eventstore.migrate/${schema}`,
    });
    if (applied.length > 0) logger?.info({ applied }, `event store schema ${schema} migrated`);
    return applied;
  } catch (error) {
    if (isConnectionError(error)) {
      throw new EventStoreUnavailableError(`cannot reach PostgreSQL to migrate schema ${schema}`, {
        cause: error,
      });
    }
    throw error;
  }
}
