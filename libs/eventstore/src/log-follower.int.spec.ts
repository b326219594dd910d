import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { testDatabaseUrl, uniqueName } from '@orch/testing';
import { LogFollower, PostgresEventStore, migrate, type RecordedEvent } from '.';

const schema = uniqueName('es_follow');
const pool = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
let store: PostgresEventStore;

beforeAll(async () => {
  await migrate(pool, schema);
  store = await PostgresEventStore.create({ pool, schema, source: 'follow', migrate: false });
});

afterAll(async () => {
  await store.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const append = (streamId: string, type: string, n: number) =>
  store.append(
    streamId,
    'any',
    Array.from({ length: n }, (_, i) => ({ eventId: randomUUID(), type, data: { i } })),
  );

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
};

describe('LogFollower', () => {
  it('catches up on the selected events, then follows new ones without a gap or a repeat', async () => {
    const stream = uniqueName('s');
    await append(stream, 'Wanted', 5);
    await append(stream, 'Other', 3);
    const seen: RecordedEvent[] = [];
    const follower = new LogFollower(store, {
      filter: { types: ['Wanted'] },
      apply: (e) => {
        if (e.streamId === stream) seen.push(e);
      },
      pageSize: 2,
    });
    const caughtUp = await follower.catchUp();
    expect(seen.map((e) => e.data)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    expect(caughtUp.position).toBe(await store.headPosition());

    follower.start();
    await append(stream, 'Other', 1);
    await append(stream, 'Wanted', 2);
    await until(() => seen.length === 7);
    await follower.stop();
    expect(seen.map((e) => e.type)).toEqual(Array(7).fill('Wanted'));
    const positions = seen.map((e) => e.globalPosition);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(new Set(positions).size).toBe(7);
  });

  it('reports an event it could not apply and goes on with the next', async () => {
    const stream = uniqueName('s');
    await append(stream, 'Fragile', 3);
    const applied: unknown[] = [];
    const failed: unknown[] = [];
    const follower = new LogFollower(store, {
      filter: { types: ['Fragile'] },
      apply: (e) => {
        if (e.streamId !== stream) return;
        if ((e.data as { i: number }).i === 1) throw new Error('cannot apply');
        applied.push(e.data);
      },
      onError: (err, e) => failed.push([(err as Error).message, e.data]),
    });
    await follower.catchUp();
    expect(applied).toEqual([{ i: 0 }, { i: 2 }]);
    expect(failed).toEqual([['cannot apply', { i: 1 }]]);
  });
});
