import { afterAll, describe, expect, it } from '@jest/globals';
import { Pool } from 'pg';
import { EventStoreUnavailableError, PostgresEventStore, migrate, migrations } from '..';
import { testDatabaseUrl, uniqueName } from '@orch/testing';

const pool = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
const schemas: string[] = [];
const newSchema = (): string => {
  const schema = uniqueName('es_migrate');
  schemas.push(schema);
  return schema;
};

afterAll(async () => {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const latest = Math.max(...migrations.map((m) => m.version));

describe('migrate', () => {
  it('applies every migration in order, records them, and is a no-op the second time', async () => {
    const schema = newSchema();
    expect(await migrate(pool, schema)).toEqual(migrations.map((m) => m.version).sort((a, b) => a - b));
    const { rows } = await pool.query<{ version: number; name: string }>(
      `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`,
    );
    expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    expect(rows.every((r) => r.name.length > 0)).toBe(true);
    expect(await migrate(pool, schema)).toEqual([]);
    const tables = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'events',
      'log_head',
      'schema_migrations',
      'snapshots',
    ]);
  });

  it('is safe when several processes start at once: one applies, the others find it done', async () => {
    const schema = newSchema();
    const pools = Array.from({ length: 5 }, () => new Pool({ connectionString: testDatabaseUrl(), max: 1 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, schema)));
      const appliers = results.filter((r) => r.length > 0);
      expect(appliers).toHaveLength(1);
      expect(appliers[0]).toHaveLength(migrations.length);
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n, max(version) AS v FROM "${schema}".schema_migrations`,
      );
      expect(rows[0]).toEqual({ n: migrations.length, v: latest });
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses a schema name that is not a plain lower-case identifier', async () => {
    await expect(migrate(pool, 'Bad-Schema')).rejects.toThrow(TypeError);
    await expect(migrate(pool, 'x; drop table y')).rejects.toThrow(TypeError);
  });

  it('reports an unreachable database as unavailable', async () => {
    const dead = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', max: 1 });
    try {
      const error = await migrate(dead, newSchema()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as Error).cause).toBeDefined();
    } finally {
      await dead.end();
    }
  });
});

describe('PostgresEventStore.create', () => {
  it('migrates by default and can be told not to', async () => {
    const schema = newSchema();
    const store = await PostgresEventStore.create({ pool, schema, source: 'test' });
    await store.close();
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
    expect(rows[0].n).toBe(migrations.length);

    const untouched = newSchema();
    const unmigrated = await PostgresEventStore.create({
      pool,
      schema: untouched,
      source: 'test',
      migrate: false,
    });
    await unmigrated.close();
    const exists = await pool.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
      untouched,
    ]);
    expect(exists.rowCount).toBe(0);
  });

  it('leaves a pool it was given open on close', async () => {
    const store = await PostgresEventStore.create({ pool, schema: newSchema(), source: 'test' });
    await store.close();
    await expect(pool.query('SELECT 1')).resolves.toBeDefined();
  });

  it.each([
    ['no source', { connectionString: testDatabaseUrl(), source: '' }],
    ['no connection', { source: 'test' }],
    ['an invalid schema', { connectionString: testDatabaseUrl(), source: 'test', schema: 'no-dashes' }],
    [
      'duplicate upcasters',
      {
        connectionString: testDatabaseUrl(),
        source: 'test',
        migrate: false,
        upcasters: [0, 1].map(() => ({
          type: 'T',
          fromVersion: 1,
          upcast: (d: unknown) => ({ data: d, schemaVersion: 2 }),
        })),
      },
    ],
  ])('refuses %s', async (_what, options) => {
    await expect(PostgresEventStore.create(options)).rejects.toThrow();
  });

  it('reports an unreachable database as unavailable when migrating', async () => {
    const error = await PostgresEventStore.create({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      schema: newSchema(),
      source: 'test',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
  });
});
