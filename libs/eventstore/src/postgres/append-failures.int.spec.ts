import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Pool } from 'pg';
import {
  EventStoreUnavailableError,
  IdempotencyConflictError,
  InvalidAppendError,
  InvalidSnapshotError,
  PostgresEventStore,
  WrongExpectedVersionError,
  migrate,
  type AppendResult,
  type NewEvent,
} from '..';
import { eventually, testDatabaseUrl, uniqueName } from '@orch/testing';

/**
 * Group commit and failure modes of the PostgreSQL adapter: what one append in a batch can and
 * cannot do to the others, and what a caller sees when the database goes away.
 *
 * A trigger in this file's schema lets a test hold an appending transaction open (type
 * 'SlowEvent': pg_sleep inside the INSERT, after positions were taken) or make the database refuse
 * a batch (type 'PoisonEvent'), so the failures below are real database behaviour, not mocks.
 */

const schema = uniqueName('es_failures');
const admin = new Pool({ connectionString: testDatabaseUrl(), max: 3 });
const stores: PostgresEventStore[] = [];

const event = (type = 'Happened', data: unknown = {}): NewEvent => ({ eventId: randomUUID(), type, data });

async function newStore(
  source = uniqueName('src'),
  extra: { poolSize?: number } = {},
): Promise<PostgresEventStore> {
  const store = await PostgresEventStore.create({
    connectionString: testDatabaseUrl(),
    schema,
    source,
    poolSize: extra.poolSize ?? 4,
    migrate: false,
    pollIntervalMs: 100,
  });
  stores.push(store);
  return store;
}

/** Backends of a store (its pool's application_name) currently inside pg_sleep. */
const sleepingBackends = async (source: string): Promise<number[]> => {
  const { rows } = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'`,
    [`orch-eventstore/${source}`],
  );
  return rows.map((r) => r.pid);
};

beforeAll(async () => {
  await migrate(admin, schema);
  await admin.query(`
    CREATE FUNCTION "${schema}".test_hooks() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.type = 'SlowEvent' THEN PERFORM pg_sleep((NEW.data->>'seconds')::float); END IF;
      IF NEW.type = 'PoisonEvent' THEN RAISE EXCEPTION 'poison event refused by a test trigger'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_hooks BEFORE INSERT ON "${schema}".events FOR EACH ROW EXECUTE FUNCTION "${schema}".test_hooks();
  `);
});

afterAll(async () => {
  for (const store of stores) await store.close();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('group commit', () => {
  it('commits appends made together in one transaction (one NOTIFY) and gives each its own outcome', async () => {
    const store = await newStore();
    const listener = new Client({ connectionString: testDatabaseUrl() });
    await listener.connect();
    const notifications: string[] = [];
    listener.on('notification', (n) => notifications.push(n.payload ?? ''));
    await listener.query(`LISTEN "${schema}_appended"`);
    try {
      const existing = `s-${randomUUID()}`;
      const retried = [event(), event()];
      const original = await store.append(existing, 'no_stream', retried);
      await eventually(() => (notifications.length === 1 ? true : undefined), {
        what: 'the first notification',
      });

      const fresh = `s-${randomUUID()}`;
      const outcomes = await Promise.allSettled([
        store.append(fresh, 'no_stream', [event()]), // writes v1
        store.append(fresh, 1n, [event(), event()]), // sees the first: writes v2..v3
        store.append(fresh, 1n, [event()]), // conflict: the stream is at 3 by now
        store.append(existing, 'no_stream', retried), // idempotent retry: original result
        store.append(existing, 'no_stream', [retried[0]!, event()]), // partial overlap
        store.append(existing, 'stream_exists', [event()]), // writes v3
        store.append(`s-${randomUUID()}`, 'stream_exists', [event()]), // conflict: no stream
        store.append(fresh, 'any', [{ ...event(), eventId: 'not-a-uuid' }]), // refused before batching
      ]);
      const [w1, w2, conflict, retry, overlap, w3, missing, invalid] = outcomes;
      expect(w1).toMatchObject({ status: 'fulfilled', value: { nextExpectedVersion: 1n } });
      expect(w2).toMatchObject({ status: 'fulfilled', value: { nextExpectedVersion: 3n } });
      expect(conflict).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedVersionError) });
      expect((conflict as PromiseRejectedResult).reason).toMatchObject({ expected: 1n, actual: 3n });
      expect(retry).toEqual({ status: 'fulfilled', value: original });
      expect(overlap).toMatchObject({ status: 'rejected', reason: expect.any(IdempotencyConflictError) });
      expect(w3).toMatchObject({ status: 'fulfilled', value: { nextExpectedVersion: 3n } });
      expect(missing).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedVersionError) });
      expect(invalid).toMatchObject({ status: 'rejected', reason: expect.any(InvalidAppendError) });

      // The four writes form one contiguous run of positions, committed together.
      const positions = [w1, w2, w3].flatMap(
        (o) => (o as PromiseFulfilledResult<AppendResult>).value.positions,
      );
      positions.sort((a, b) => (a < b ? -1 : 1));
      expect(positions).toEqual(Array.from({ length: 4 }, (_, i) => positions[0]! + BigInt(i)));
      await eventually(() => (notifications.length >= 2 ? true : undefined), {
        what: 'the batch notification',
      });
      expect(notifications).toEqual([String(original.lastGlobalPosition), String(positions[3])]);
      expect((await store.readStream(fresh)).map((e) => e.streamVersion)).toEqual([1n, 2n, 3n]);
      expect(await store.streamVersion(existing)).toBe(3n);
    } finally {
      await listener.end();
    }
  });

  it('splits a batch the database refuses, failing only the append that caused it', async () => {
    const store = await newStore();
    const streams = Array.from({ length: 4 }, () => `s-${randomUUID()}`);
    const outcomes = await Promise.allSettled([
      store.append(streams[0]!, 'no_stream', [event()]),
      store.append(streams[1]!, 'no_stream', [event('PoisonEvent')]),
      store.append(streams[2]!, 'no_stream', [event(), event()]),
      store.append(streams[3]!, 'no_stream', [event()]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/poison event refused/);
    expect(await store.streamVersion(streams[1]!)).toBe(0n);
    expect(await store.streamVersion(streams[2]!)).toBe(2n);
    // No position was lost to the refused batch: the log stays contiguous.
    const { rows } = await admin.query(
      `SELECT count(*)::text AS n, max(global_position)::text AS max FROM "${schema}".events`,
    );
    expect(rows[0].n).toBe(rows[0].max);
  });

  it('resolves a race on an event id between two processes as an idempotency conflict', async () => {
    const slowSource = uniqueName('slow');
    const first = await newStore(slowSource);
    const second = await newStore();
    const shared = randomUUID();
    const a = `s-${randomUUID()}`;
    const b = `s-${randomUUID()}`;
    // The first append inserts the id and sleeps inside its transaction...
    const winner = first.append(a, 'no_stream', [
      { eventId: shared, type: 'SlowEvent', data: { seconds: 0.7 } },
    ]);
    await eventually(async () => ((await sleepingBackends(slowSource)).length > 0 ? true : undefined), {
      what: 'the slow append to be inside its transaction',
    });
    // ...while the second one checks the id (not committed yet: unseen) and tries to insert it too.
    const loser = second.append(b, 'no_stream', [{ eventId: shared, type: 'Happened', data: {} }]);
    await expect(winner).resolves.toMatchObject({ nextExpectedVersion: 1n });
    await expect(loser).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await second.streamVersion(b)).toBe(0n);
  });
});

describe('single round-trip path', () => {
  const tryAppend = async (
    assumed: Record<string, string>,
    eventId: string,
    streamId: string,
  ): Promise<string | null> => {
    const payload = {
      source: 'direct',
      count: 1,
      assumed,
      rows: [
        {
          o: 1,
          e: eventId,
          s: streamId,
          v: String(BigInt(assumed[streamId]!) + 1n),
          t: 'Direct',
          sv: 1,
          d: {},
          m: {},
          c: null,
          ca: null,
          at: null,
        },
      ],
    };
    const { rows } = await admin.query<{ base: string | null }>(
      `SELECT "${schema}".try_append($1::jsonb)::text AS base`,
      [JSON.stringify(payload)],
    );
    return rows[0]!.base;
  };

  it('writes nothing when a guessed version or an event id does not hold', async () => {
    const store = await newStore();
    const streamId = `s-${randomUUID()}`;
    const stored = event();
    await store.append(streamId, 'no_stream', [stored, event()]);
    const head = await store.headPosition();

    expect(await tryAppend({ [streamId]: '1' }, randomUUID(), streamId)).toBeNull();
    expect(await tryAppend({ [streamId]: '2' }, stored.eventId, streamId)).toBeNull();
    expect(await store.headPosition()).toBe(head);
    expect(await store.streamVersion(streamId)).toBe(2n);

    expect(await tryAppend({ [streamId]: '2' }, randomUUID(), streamId)).toBe(String(head));
    expect((await store.readStream(streamId)).map((e) => [e.streamVersion, e.globalPosition])).toEqual([
      [1n, head - 1n],
      [2n, head],
      [3n, head + 1n],
    ]);
  });

  it('falls back to reading when its remembered version is stale (another replica appended)', async () => {
    const mine = await newStore();
    const theirs = await newStore();
    const streamId = `s-${randomUUID()}`;
    await mine.append(streamId, 'any', [event()]); // mine now remembers version 1
    await theirs.append(streamId, 'any', [event(), event()]); // the stream is at 3
    const result = await mine.append(streamId, 'any', [event()]);
    expect(result.nextExpectedVersion).toBe(4n);
    const stale = await mine.append(streamId, 2n, [event()]).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(WrongExpectedVersionError);
    expect((stale as WrongExpectedVersionError).actual).toBe(4n);
    expect((await mine.readStream(streamId)).map((e) => e.streamVersion)).toEqual([1n, 2n, 3n, 4n]);
  });
});

describe('unavailability', () => {
  it('fails an append whose connection is lost mid-transaction, applying nothing', async () => {
    const source = uniqueName('killed');
    const store = await newStore(source);
    const streamId = `s-${randomUUID()}`;
    const head = await store.headPosition();
    const pending = store.append(streamId, 'no_stream', [
      event(),
      { ...event('SlowEvent'), data: { seconds: 5 } },
    ]);
    const [pid] = await eventually(
      async () => {
        const pids = await sleepingBackends(source);
        return pids.length > 0 ? pids : undefined;
      },
      { what: 'the append to be inside its transaction' },
    );
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);

    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as EventStoreUnavailableError).code).toBe('unavailable');
    expect((error as Error).cause).toBeDefined();
    expect(await store.streamVersion(streamId)).toBe(0n);
    expect(await store.headPosition()).toBe(head);

    // The pool replaced the connection: the store keeps working, and the retry is not a duplicate.
    await expect(store.append(streamId, 'no_stream', [event()])).resolves.toMatchObject({
      nextExpectedVersion: 1n,
      positions: [head + 1n],
    });
  });

  it('reports an unreachable database as unavailable on every operation', async () => {
    const store = await PostgresEventStore.create({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      schema,
      source: 'nowhere',
      migrate: false,
    });
    try {
      for (const attempt of [
        () => store.append(`s-${randomUUID()}`, 'any', [event()]),
        () => store.readAll(0n, 10),
        () => store.readStream('s'),
        () => store.headPosition(),
        () => store.loadSnapshot('s'),
      ]) {
        await expect(attempt()).rejects.toBeInstanceOf(EventStoreUnavailableError);
      }
    } finally {
      await store.close();
    }
  });

  it('refuses every call after close, and lets appends queued before close finish', async () => {
    const store = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema,
      source: 'closing',
      migrate: false,
    });
    const streamId = `s-${randomUUID()}`;
    const queued = Array.from({ length: 5 }, () => store.append(streamId, 'any', [event()]));
    await store.close();
    await expect(Promise.all(queued)).resolves.toHaveLength(5);
    await expect(store.append(streamId, 'any', [event()])).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(() => store.subscribeAll(0n)).toThrow(EventStoreUnavailableError);
  });
});

describe('exactness and refusals', () => {
  it('keeps global positions exact beyond 2^53', async () => {
    const big = uniqueName('es_big');
    const pool = new Pool({ connectionString: testDatabaseUrl(), max: 2 });
    try {
      await migrate(pool, big);
      await pool.query(`UPDATE "${big}".log_head SET position = 9007199254740991`);
      const store = await PostgresEventStore.create({ pool, schema: big, source: 'big' });
      const result = await store.append(`s-${randomUUID()}`, 'no_stream', [event(), event(), event()]);
      expect(result.positions).toEqual([9007199254740992n, 9007199254740993n, 9007199254740994n]);
      const read = await store.readAll(9007199254740992n, 10);
      expect(read.map((e) => e.globalPosition)).toEqual([9007199254740993n, 9007199254740994n]);
      expect(await store.headPosition()).toBe(9007199254740994n);
      await store.close();
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${big}" CASCADE`);
      await pool.end();
    }
  });

  it('stores stream ids and payloads with quotes, backslashes and unicode as given', async () => {
    const store = await newStore();
    const streamId = `it's a "stream" \\ with \u00e9 and 😀 ${randomUUID()}`;
    const data = { text: `O'Reilly "quoted" \\ back\\slash \n newline \u2028 😀`, nested: [{ a: "'" }] };
    await store.append(streamId, 'no_stream', [event('Quoted', data)]);
    const [read] = await store.readStream(streamId);
    expect(read!.streamId).toBe(streamId);
    expect(read!.data).toEqual(data);
  });

  it('refuses snapshots it cannot store', async () => {
    const store = await newStore();
    await expect(
      store.saveSnapshot({ streamId: 's', version: -1n, schemaVersion: 1, state: {} }),
    ).rejects.toBeInstanceOf(InvalidSnapshotError);
    await expect(
      store.saveSnapshot({ streamId: 's', version: 1n, schemaVersion: 1, state: { n: 1n } }),
    ).rejects.toBeInstanceOf(InvalidSnapshotError);
    await expect(
      store.saveSnapshot({ streamId: 's', version: 1n, schemaVersion: 1.5, state: {} }),
    ).rejects.toBeInstanceOf(InvalidSnapshotError);
  });

  it('replaces a snapshot written by an older fold even at a lower version', async () => {
    const store = await newStore();
    const streamId = `s-${randomUUID()}`;
    await store.saveSnapshot({ streamId, version: 50n, schemaVersion: 1, state: { old: true } });
    await store.saveSnapshot({ streamId, version: 40n, schemaVersion: 2, state: { new: true } });
    expect(await store.loadSnapshot(streamId)).toMatchObject({
      version: 40n,
      schemaVersion: 2,
      state: { new: true },
    });
    await store.saveSnapshot({ streamId, version: 60n, schemaVersion: 1, state: { old: true } });
    expect(await store.loadSnapshot(streamId)).toMatchObject({ schemaVersion: 2 });
  });
});
