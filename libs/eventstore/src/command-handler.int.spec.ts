import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Pool } from 'pg';
import { ConflictError, NotFoundError, type Decider } from '@orch/domain-kit';
import {
  PostgresEventStore,
  WrongExpectedVersionError,
  executeCommand,
  migrate,
  type EventStore,
  type RecordedEvent,
} from '.';
import { testDatabaseUrl, uniqueName } from '@orch/testing';
import { decisionCount, seats, type SeatsCommand, type SeatsEvent, type SeatsState } from './fixtures/seats';

type Command = SeatsCommand;
type Event = SeatsEvent;
type State = SeatsState;

const schema = uniqueName('es_command');
const pool = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
let store: PostgresEventStore;
let replica: PostgresEventStore;

beforeAll(async () => {
  await migrate(pool, schema);
  store = await PostgresEventStore.create({ pool, schema, source: 'seats', migrate: false });
  replica = await PostgresEventStore.create({
    connectionString: testDatabaseUrl(),
    poolSize: 4,
    schema,
    source: 'seats',
    migrate: false,
  });
});

afterAll(async () => {
  await store.close();
  await replica.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const run = (
  s: EventStore,
  streamId: string,
  command: Command,
  extra: Partial<Parameters<typeof executeCommand>[1]> = {},
) =>
  executeCommand(s, { streamId, decider: seats, command, ...extra } as Parameters<
    typeof executeCommand<Command, Event, State>
  >[1]);

/**
 * The real store, with a competing append slipped in right after each of the first `times` stream
 * reads: what another replica committing between our read and our append looks like.
 */
function racedBy(times: number): EventStore {
  let left = times;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'readStream') return Reflect.get(target, property, receiver);
      return async (streamId: string, options?: object) => {
        const events = await target.readStream(streamId, options);
        if (left-- > 0) {
          await target.append(streamId, 'any', [
            {
              eventId: randomUUID(),
              type: 'SeatReserved',
              data: { type: 'SeatReserved', holder: `rival-${left}` },
            },
          ]);
        }
        return events;
      };
    },
  });
}

describe('executeCommand', () => {
  it('decides on the folded stream and appends with the version it read', async () => {
    const streamId = `pool-${randomUUID()}`;
    const opened = await run(store, streamId, { type: 'OpenPool', capacity: 2 });
    expect(opened.events).toEqual([{ type: 'PoolOpened', capacity: 2 }]);
    expect(opened.result?.nextExpectedVersion).toBe(1n);
    expect(opened.state).toEqual({ status: 'open', capacity: 2, holders: [] });

    const reserved = await run(store, streamId, { type: 'Reserve', holder: 'a' });
    expect(reserved.state).toEqual({ status: 'open', capacity: 2, holders: ['a'] });
    const stored = await store.readStream(streamId);
    expect(stored.map((e) => [e.type, e.data])).toEqual([
      ['PoolOpened', { type: 'PoolOpened', capacity: 2 }],
      ['SeatReserved', { type: 'SeatReserved', holder: 'a' }],
    ]);
  });

  it('records the command on the first event only, and the rest of the metadata on all', async () => {
    const streamId = `pool-${randomUUID()}`;
    const twoEvents: Decider<Command, Event, State> = {
      ...seats,
      decide: () => [
        { type: 'PoolOpened', capacity: 1 },
        { type: 'SeatReserved', holder: 'x' },
      ],
    };
    const ids = ['6f1c2a4e-8b3d-4c5e-9f60-000000000001', '6f1c2a4e-8b3d-4c5e-9f60-000000000002'];
    await executeCommand(store, {
      streamId,
      decider: twoEvents,
      command: { type: 'OpenPool', capacity: 1 },
      metadata: {
        correlationId: 'session-9',
        causationId: 'cmd-9',
        command: { name: 'OpenPool', payload: { capacity: 1 } },
      },
      newEventId: () => ids.shift()!,
    });
    const [first, second] = await store.readStream(streamId);
    expect(first!.eventId).toBe('6f1c2a4e-8b3d-4c5e-9f60-000000000001');
    expect(first!.metadata).toEqual({
      correlationId: 'session-9',
      causationId: 'cmd-9',
      command: { name: 'OpenPool', payload: { capacity: 1 } },
      // the domain command the events were decided from, for replay's verify
      decision: { type: 'OpenPool', capacity: 1 },
    });
    expect(second!.metadata).toEqual({ correlationId: 'session-9', causationId: 'cmd-9' });
  });

  it('appends nothing when the decider decides nothing', async () => {
    const streamId = `pool-${randomUUID()}`;
    await run(store, streamId, { type: 'OpenPool', capacity: 1 });
    const outcome = await run(store, streamId, { type: 'Touch' });
    expect(outcome).toEqual({
      events: [],
      result: undefined,
      state: { status: 'open', capacity: 1, holders: [] },
    });
    expect(await store.streamVersion(streamId)).toBe(1n);
  });

  it('lets domain errors through unchanged and appends nothing', async () => {
    const streamId = `pool-${randomUUID()}`;
    await expect(run(store, streamId, { type: 'Reserve', holder: 'a' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await run(store, streamId, { type: 'OpenPool', capacity: 1 });
    const error = await run(store, streamId, { type: 'OpenPool', capacity: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).code).toBe('conflict');
    expect(await store.streamVersion(streamId)).toBe(1n);
  });

  it('decides again on a fresh read when another writer got there first', async () => {
    const streamId = `pool-${randomUUID()}`;
    await run(store, streamId, { type: 'OpenPool', capacity: 2 });
    decisionCount.value = 0;
    // The rival takes one seat between our read and our append: the retry sees it and still fits.
    const outcome = await run(racedBy(1), streamId, { type: 'Reserve', holder: 'me' });
    expect(decisionCount.value).toBe(2);
    expect(outcome.state).toEqual({ status: 'open', capacity: 2, holders: ['rival-0', 'me'] });

    // With the pool now full, a raced command is decided again and refused by the domain rule.
    const streamId2 = `pool-${randomUUID()}`;
    await run(store, streamId2, { type: 'OpenPool', capacity: 1 });
    await expect(run(racedBy(1), streamId2, { type: 'Reserve', holder: 'me' })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('gives up after maxRetries and throws the version conflict', async () => {
    const streamId = `pool-${randomUUID()}`;
    await run(store, streamId, { type: 'OpenPool', capacity: 100 });
    decisionCount.value = 0;
    const error = await run(
      racedBy(10),
      streamId,
      { type: 'Reserve', holder: 'me' },
      { maxRetries: 2 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(decisionCount.value).toBe(3);
    const holders = (await store.readStream(streamId)).map((e) => (e.data as { holder?: string }).holder);
    expect(holders).not.toContain('me');
  });

  it('never exceeds the capacity when replicas race on one aggregate', async () => {
    const streamId = `pool-${randomUUID()}`;
    await run(store, streamId, { type: 'OpenPool', capacity: 5 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        run(i % 2 ? replica : store, streamId, { type: 'Reserve', holder: `h${i}` }, { maxRetries: 20 }),
      ),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(5);
    expect(refused.every((o) => o.reason instanceof ConflictError)).toBe(true);
    const reserved = (await store.readStream(streamId)).filter((e) => e.type === 'SeatReserved');
    expect(reserved).toHaveLength(5);
  });

  describe('with snapshots', () => {
    const policy = { schemaVersion: 1, every: 3 };

    it('saves a snapshot every few events and folds from it afterwards', async () => {
      const streamId = `pool-${randomUUID()}`;
      await run(store, streamId, { type: 'OpenPool', capacity: 10 }, { snapshot: policy });
      for (const holder of ['a', 'b'])
        await run(store, streamId, { type: 'Reserve', holder }, { snapshot: policy });
      expect(await store.loadSnapshot(streamId)).toMatchObject({
        version: 3n,
        schemaVersion: 1,
        state: { status: 'open', capacity: 10, holders: ['a', 'b'] },
      });

      const reads: Array<bigint | undefined> = [];
      const observed = new Proxy(store, {
        get(target, property, receiver) {
          if (property !== 'readStream') return Reflect.get(target, property, receiver);
          return (id: string, options?: { fromVersion?: bigint }): Promise<RecordedEvent[]> => {
            reads.push(options?.fromVersion);
            return target.readStream(id, options);
          };
        },
      });
      const outcome = await run(observed, streamId, { type: 'Reserve', holder: 'c' }, { snapshot: policy });
      expect(reads).toEqual([4n]);
      expect(outcome.state).toEqual({ status: 'open', capacity: 10, holders: ['a', 'b', 'c'] });
    });

    it('ignores a snapshot written by another version of the fold', async () => {
      const streamId = `pool-${randomUUID()}`;
      await run(store, streamId, { type: 'OpenPool', capacity: 10 });
      await store.saveSnapshot({
        streamId,
        version: 1n,
        schemaVersion: 99,
        state: { status: 'open', capacity: 0, holders: [] },
      });
      const outcome = await run(
        store,
        streamId,
        { type: 'Reserve', holder: 'a' },
        { snapshot: { schemaVersion: 1, every: 100 } },
      );
      expect(outcome.state).toEqual({ status: 'open', capacity: 10, holders: ['a'] });
    });
  });
});
