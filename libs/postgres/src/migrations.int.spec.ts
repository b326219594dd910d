import { testDatabaseUrl, uniqueName } from '@orch/testing';
import { Pool } from 'pg';
import { runMigrations, type SqlMigration } from './migrations';

const migrations: SqlMigration[] = [
  { version: 1, name: 'things', sql: (s) => `CREATE TABLE ${s}.things (id int PRIMARY KEY)` },
  { version: 2, name: 'labels', sql: (s) => `ALTER TABLE ${s}.things ADD COLUMN label text` },
];

describe('runMigrations', () => {
  const pool = new Pool({ connectionString: testDatabaseUrl(), max: 8 });
  const schemas: string[] = [];
  const schema = (): string => {
    const name = uniqueName('mig');
    schemas.push(name);
    return name;
  };
  afterAll(async () => {
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pool.end();
  });

  it('applies pending migrations in version order and records them', async () => {
    const s = schema();
    expect(await runMigrations(pool, { schema: s, migrations: [...migrations].reverse() })).toEqual([1, 2]);
    const { rows } = await pool.query(`SELECT version, name FROM "${s}".schema_migrations ORDER BY version`);
    expect(rows).toEqual([
      { version: 1, name: 'things' },
      { version: 2, name: 'labels' },
    ]);
    await pool.query(`INSERT INTO "${s}".things (id, label) VALUES (1, 'x')`);
  });

  it('applies nothing the second time', async () => {
    const s = schema();
    await runMigrations(pool, { schema: s, migrations });
    expect(await runMigrations(pool, { schema: s, migrations })).toEqual([]);
  });

  it('migrates once when replicas start together', async () => {
    const s = schema();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => runMigrations(pool, { schema: s, migrations })),
    );
    expect(results.flat().sort()).toEqual([1, 2]);
  });

  it('leaves nothing half-applied when a migration fails', async () => {
    const s = schema();
    const broken: SqlMigration[] = [
      ...migrations,
      { version: 3, name: 'broken', sql: (q) => `ALTER TABLE ${q}.nope ADD COLUMN x int` },
    ];
    await expect(runMigrations(pool, { schema: s, migrations: broken })).rejects.toThrow(/nope/);
    const { rows } = await pool.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1`, [s]);
    expect(rows).toHaveLength(0);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(runMigrations(pool, { schema: 'x"; DROP TABLE y; --', migrations })).rejects.toThrow(
      TypeError,
    );
  });
});
