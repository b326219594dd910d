import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { testDatabaseUrl, uniqueName } from '@orch/testing';
import { applyOnce, migrateMessagingSchema, pruneInbox, readConsumerCheckpoint } from './index';

describe('idempotent consumer (applyOnce)', () => {
  const schema = uniqueName('inbox');
  let pool: Pool;
  let dataSource: DataSource;

  beforeAll(async () => {
    pool = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
    await migrateMessagingSchema(pool, schema);
    await pool.query(
      `CREATE TABLE ${schema}.agents (id text PRIMARY KEY, name text NOT NULL, applied int NOT NULL DEFAULT 1)`,
    );
    dataSource = new DataSource({
      type: 'postgres',
      url: testDatabaseUrl(),
      entities: [],
      synchronize: false,
    });
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource.destroy();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  const event = (globalPosition: bigint) => ({ eventId: randomUUID(), globalPosition });
  const upsertAgent =
    (q: { query(sql: string, p?: unknown[]): Promise<unknown> }, id: string, name: string) => () =>
      q
        .query(
          `INSERT INTO ${schema}.agents (id, name) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, applied = agents.applied + 1`,
          [id, name],
        )
        .then(() => undefined);

  async function inTransaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }

  const applied = async (id: string) =>
    (await pool.query<{ applied: number }>(`SELECT applied FROM ${schema}.agents WHERE id = $1`, [id]))
      .rows[0]?.applied;

  it('is idempotent: migrating twice (concurrently) keeps version 1', async () => {
    const versions = await Promise.all([
      migrateMessagingSchema(pool, schema),
      migrateMessagingSchema(pool, schema),
    ]);
    expect(versions).toEqual([1, 1]);
  });

  it('applies an event once with a pg client, then reports its duplicate', async () => {
    const e = event(10n);
    const first = await inTransaction((c) =>
      applyOnce(c, 'pg-consumer', e, upsertAgent(c, 'pg-1', 'first'), { schema }),
    );
    const again = await inTransaction((c) =>
      applyOnce(c, 'pg-consumer', e, upsertAgent(c, 'pg-1', 'again'), { schema }),
    );

    expect([first, again]).toEqual(['applied', 'duplicate']);
    expect(await applied('pg-1')).toBe(1);
    const cp = await readConsumerCheckpoint(pool, 'pg-consumer', { schema });
    expect(cp).toMatchObject({ position: 10n, appliedCount: 1n });
  });

  it('applies an event once with a TypeORM EntityManager inside dataSource.transaction', async () => {
    const e = event(20n);
    const run = (name: string) =>
      dataSource.transaction((em) =>
        applyOnce(em, 'orm-consumer', e, upsertAgent(em, 'orm-1', name), { schema }),
      );
    expect(await run('first')).toBe('applied');
    expect(await run('again')).toBe('duplicate');
    expect(await applied('orm-1')).toBe(1);
    expect(await readConsumerCheckpoint(pool, 'orm-consumer', { schema })).toMatchObject({
      position: 20n,
      appliedCount: 1n,
    });
  });

  it('rolls the inbox entry back with the read model when apply fails, so a redelivery applies it', async () => {
    const e = event(30n);
    await expect(
      inTransaction((c) =>
        applyOnce(
          c,
          'rollback-consumer',
          e,
          async () => {
            await upsertAgent(c, 'rb-1', 'half')();
            throw new Error('read model constraint');
          },
          { schema },
        ),
      ),
    ).rejects.toThrow('read model constraint');
    expect(await applied('rb-1')).toBeUndefined();

    expect(
      await inTransaction((c) =>
        applyOnce(c, 'rollback-consumer', e, upsertAgent(c, 'rb-1', 'ok'), { schema }),
      ),
    ).toBe('applied');
    expect(await applied('rb-1')).toBe(1);
  });

  it('applies an older event that arrives after newer ones, and keeps the highest position', async () => {
    const newer = event(50n);
    const older = event(40n);
    await inTransaction((c) =>
      applyOnce(c, 'order-consumer', newer, upsertAgent(c, 'ord-new', 'n'), { schema }),
    );
    const late = await inTransaction((c) =>
      applyOnce(c, 'order-consumer', older, upsertAgent(c, 'ord-old', 'o'), { schema }),
    );

    expect(late).toBe('applied');
    expect(await applied('ord-old')).toBe(1);
    expect(await readConsumerCheckpoint(pool, 'order-consumer', { schema })).toMatchObject({
      position: 50n,
      appliedCount: 2n,
    });
  });

  it('keeps consumers apart: the same event is applied once by each', async () => {
    const e = event(60n);
    const a = await inTransaction((c) => applyOnce(c, 'consumer-a', e, async () => undefined, { schema }));
    const b = await inTransaction((c) => applyOnce(c, 'consumer-b', e, async () => undefined, { schema }));
    expect([a, b]).toEqual(['applied', 'applied']);
  });

  it('lets only one of two concurrent transactions apply the same event', async () => {
    const e = event(70n);
    const results = await Promise.all(
      [0, 1].map(() =>
        inTransaction(async (c) => {
          const r = await applyOnce(c, 'race-consumer', e, upsertAgent(c, 'race-1', 'x'), { schema });
          await new Promise((res) => setTimeout(res, 20));
          return r;
        }),
      ),
    );
    expect([...results].sort()).toEqual(['applied', 'duplicate']);
    expect(await applied('race-1')).toBe(1);
  });

  it('prunes old inbox entries of one consumer', async () => {
    await inTransaction((c) => applyOnce(c, 'prune-consumer', event(80n), async () => undefined, { schema }));
    expect(await pruneInbox(pool, 'prune-consumer', new Date(Date.now() - 60_000), { schema })).toBe(0);
    expect(await pruneInbox(pool, 'prune-consumer', new Date(Date.now() + 60_000), { schema })).toBe(1);
  });
});
