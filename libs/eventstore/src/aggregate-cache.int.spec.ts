import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Pool } from 'pg';
import { ConflictError } from '@orch/domain-kit';
import { testDatabaseUrl, uniqueName } from '@orch/testing';
import { AggregateCache, PostgresEventStore, migrate, type EventStore, type RecordedEvent } from '.';
import { decisionCount, seats, type SeatsCommand, type SeatsEvent, type SeatsState } from './fixtures/seats';

const schema = uniqueName('es_cache');
const pool = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
let store: PostgresEventStore;

/** Counts stream reads and appends, to tell a cached decision from one that read the store. */
class CountingStore {
  reads = 0;
  appends = 0;
  constructor(readonly inner: EventStore) {}
  asStore(): EventStore {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === 'readStream') {
          return (...args: Parameters<EventStore['readStream']>) => {
            this.reads++;
            return target.readStream(...args);
          };
        }
        if (prop === 'append') {
          return (...args: Parameters<EventStore['append']>) => {
            this.appends++;
            return target.append(...args);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

const newCache = (s: EventStore): AggregateCache<SeatsCommand, SeatsEvent, SeatsState> =>
  new AggregateCache(s, {
    decider: seats,
    toNewEvent: (e) => ({ type: e.type, data: e }),
    fromRecorded: (r: RecordedEvent) => ({ ...(r.data as object), type: r.type }) as SeatsEvent,
  });

beforeAll(async () => {
  await migrate(pool, schema);
  store = await PostgresEventStore.create({ pool, schema, source: 'seats', migrate: false });
});

afterAll(async () => {
  await store.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

let streamId: string;
beforeEach(() => {
  streamId = uniqueName('seats');
});

describe('AggregateCache', () => {
  it('reads a stream once and then decides on the state it holds', async () => {
    const counting = new CountingStore(store);
    const cache = newCache(counting.asStore());
    await cache.execute(streamId, { type: 'OpenPool', capacity: 5 });
    for (const holder of ['a', 'b', 'c']) await cache.execute(streamId, { type: 'Reserve', holder });

    expect(counting.reads).toBe(1);
    expect(cache.peek(streamId)).toEqual({
      state: { status: 'open', capacity: 5, holders: ['a', 'b', 'c'] },
      version: 4n,
    });
    expect((await store.readStream(streamId)).map((e) => e.type)).toEqual([
      'PoolOpened',
      'SeatReserved',
      'SeatReserved',
      'SeatReserved',
    ]);
  });

  it('serializes concurrent commands for one stream in process, so none of them conflicts', async () => {
    const cache = newCache(store);
    await cache.execute(streamId, { type: 'OpenPool', capacity: 100 });
    const holders = Array.from({ length: 30 }, (_, i) => `h${i}`);
    decisionCount.value = 0;
    await Promise.all(holders.map((holder) => cache.execute(streamId, { type: 'Reserve', holder })));

    expect(decisionCount.value).toBe(30); // one decision each: no re-decision after a conflict
    expect(await store.streamVersion(streamId)).toBe(31n);
  });

  it('appends the commands that queued behind an append together, in the order they came', async () => {
    const counting = new CountingStore(store);
    const cache = newCache(counting.asStore());
    await cache.execute(streamId, { type: 'OpenPool', capacity: 100 });
    const holders = Array.from({ length: 40 }, (_, i) => `h${i}`);
    const outcomes = await Promise.all(
      holders.map((holder) => cache.execute(streamId, { type: 'Reserve', holder })),
    );

    expect(counting.appends).toBeLessThan(1 + holders.length);
    const stored = await store.readStream(streamId);
    expect(stored.slice(1).map((e) => (e.data as { holder: string }).holder)).toEqual(holders);
    // Each caller gets its own events, the version after them and their positions.
    outcomes.forEach((o, i) => {
      expect(o.version).toBe(BigInt(i + 2));
      expect(o.result?.nextExpectedVersion).toBe(BigInt(i + 2));
      expect(o.result?.positions).toEqual([stored[i + 1]!.globalPosition]);
    });
  });

  it('records each decision on the first event it produced, also when decided together', async () => {
    const cache = newCache(store);
    await cache.execute(streamId, { type: 'OpenPool', capacity: 5 });
    await Promise.all(['a', 'b'].map((holder) => cache.execute(streamId, { type: 'Reserve', holder })));
    const events = await store.readStream(streamId);
    expect(events.map((e) => e.metadata.decision)).toEqual([
      { type: 'OpenPool', capacity: 5 },
      { type: 'Reserve', holder: 'a' },
      { type: 'Reserve', holder: 'b' },
    ]);
  });

  it('rejects only the commands the decider refuses when they were decided together', async () => {
    const cache = newCache(store);
    await cache.execute(streamId, { type: 'OpenPool', capacity: 2 });
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c', 'd', 'e'].map((holder) => cache.execute(streamId, { type: 'Reserve', holder })),
    );
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
    ]);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
    expect(await store.streamVersion(streamId)).toBe(3n);
    expect(cache.peek(streamId)?.state).toEqual({ status: 'open', capacity: 2, holders: ['a', 'b'] });
  });

  it('catches up and decides again when another writer appended in between', async () => {
    const mine = newCache(store);
    const theirs = newCache(store);
    await mine.execute(streamId, { type: 'OpenPool', capacity: 2 });
    await theirs.execute(streamId, { type: 'Reserve', holder: 'them' });

    const outcome = await mine.execute(streamId, { type: 'Reserve', holder: 'me' });
    expect(outcome.version).toBe(3n);
    expect(outcome.state).toEqual({ status: 'open', capacity: 2, holders: ['them', 'me'] });
    // The pool is now full for both, whichever cache decides.
    await expect(theirs.execute(streamId, { type: 'Reserve', holder: 'late' })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('never lets two caches racing on one stream exceed the capacity', async () => {
    const caches = [newCache(store), newCache(store), newCache(store)];
    await caches[0]!.execute(streamId, { type: 'OpenPool', capacity: 4 });
    const attempts = Array.from({ length: 24 }, (_, i) =>
      caches[i % caches.length]!.execute(streamId, { type: 'Reserve', holder: `r${i}` }),
    );
    const outcomes = await Promise.allSettled(attempts);

    const granted = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(granted).toBe(4);
    const stored = await store.readStream(streamId);
    expect(stored.filter((e) => e.type === 'SeatReserved')).toHaveLength(4);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
    }
  });

  it('leaves the cached state untouched when the decider rejects a command', async () => {
    const cache = newCache(store);
    await cache.execute(streamId, { type: 'OpenPool', capacity: 1 });
    await cache.execute(streamId, { type: 'Reserve', holder: 'a' });
    const before = cache.peek(streamId);

    await expect(cache.execute(streamId, { type: 'Reserve', holder: 'b' })).rejects.toThrow('pool is full');
    expect(cache.peek(streamId)).toBe(before);
  });

  it('follows the global log with observe, and drops a stream when an event was missed', async () => {
    const writer = newCache(store);
    const follower = newCache(store);
    const from = await store.headPosition();
    await writer.execute(streamId, { type: 'OpenPool', capacity: 3 });
    await writer.execute(streamId, { type: 'Reserve', holder: 'a' });
    await writer.execute(streamId, { type: 'Reserve', holder: 'b' });
    const log = (await store.readAll(from, 100)).filter((e) => e.streamId === streamId);

    for (const e of log) follower.observe(e);
    follower.observe(log[1]!); // a redelivered event changes nothing
    expect(follower.peek(streamId)).toEqual(writer.peek(streamId));

    const gapped = newCache(store);
    gapped.observe(log[0]!);
    expect(gapped.observe(log[2]!)).toBeUndefined();
    expect(gapped.peek(streamId)).toBeUndefined();
    expect((await gapped.get(streamId)).version).toBe(3n);
  });
});
