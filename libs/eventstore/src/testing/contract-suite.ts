import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  RecordedEvent,
  Subscription,
  Upcaster,
} from '../contract';
import { IdempotencyConflictError, InvalidAppendError, WrongExpectedVersionError } from '../errors';

/** What the suite asks of the adapter's factory. */
export interface ContractStoreOptions {
  /** The store's `source` (the appending service). */
  readonly source: string;
  /** Upcasters the store must apply on every read path. */
  readonly upcasters: readonly Upcaster[];
}

export interface ContractStore {
  readonly store: EventStore;
  teardown(): Promise<void>;
}

/**
 * Creates a store for the suite. Every call made by one run of the suite must return a store over
 * the SAME storage (the suite opens two, with different sources, to test source filters).
 */
export type ContractStoreFactory = (options: ContractStoreOptions) => Promise<ContractStore>;

const SOURCE = 'contract-a';
const OTHER_SOURCE = 'contract-b';

/** Upcasters the suite registers: a two-step chain and a rename. */
const upcasters: readonly Upcaster[] = [
  {
    type: 'ContractPriced',
    fromVersion: 1,
    upcast: (data) => {
      const { price } = data as { price: number };
      return { data: { amount: price, currency: 'USD' }, schemaVersion: 2 };
    },
  },
  {
    type: 'ContractPriced',
    fromVersion: 2,
    upcast: (data) => ({ data: { ...(data as object), taxIncluded: false }, schemaVersion: 3 }),
  },
  {
    type: 'ContractOldName',
    fromVersion: 1,
    upcast: (data) => ({ data, schemaVersion: 1, type: 'ContractNewName' }),
  },
];

const newStream = (prefix = 'contract'): string => `${prefix}-${randomUUID()}`;

const event = (
  type = 'ContractHappened',
  data: unknown = { n: 1 },
  extra: Partial<NewEvent> = {},
): NewEvent => ({
  eventId: randomUUID(),
  type,
  data,
  ...extra,
});

const events = (n: number, type = 'ContractHappened'): NewEvent[] =>
  Array.from({ length: n }, (_, i) => event(type, { n: i + 1 }));

/** Awaits `promise`, failing (instead of hanging the test) after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Pulls `n` events from a subscription's iterator. */
async function take(iterator: AsyncIterator<RecordedEvent>, n: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  while (out.length < n) {
    const next = await within(iterator.next(), 10_000, `event ${out.length + 1} of ${n}`);
    if (next.done) throw new Error(`subscription ended after ${out.length} of ${n} events`);
    out.push(next.value);
  }
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/**
 * The behaviour every EventStore adapter must have (contract.ts). Run it from an adapter's
 * integration test:
 *
 *   eventStoreContractSuite('PostgresEventStore', async ({ source, upcasters }) => {
 *     const store = await PostgresEventStore.create({ pool, schema, source, upcasters });
 *     return { store, teardown: () => store.close() };
 *   });
 *
 * Tests share the storage but not streams, so the suite works on a store holding other data;
 * it must not run concurrently with other writers to the same storage (headPosition is exact).
 */
export function eventStoreContractSuite(name: string, factory: ContractStoreFactory): void {
  describe(`EventStore contract: ${name}`, () => {
    let main: ContractStore;
    let other: ContractStore;
    let store: EventStore;

    beforeAll(async () => {
      main = await factory({ source: SOURCE, upcasters });
      other = await factory({ source: OTHER_SOURCE, upcasters: [] });
      store = main.store;
    });

    afterAll(async () => {
      await other?.teardown();
      await main?.teardown();
    });

    describe('append and readStream', () => {
      it('reads back appended events in order with their metadata', async () => {
        const streamId = newStream();
        const occurredAt = new Date('2024-05-06T07:08:09.123Z');
        const metadata = {
          correlationId: 'session-1',
          causationId: 'cmd-1',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          principal: { id: 'user-1', role: 'operator' },
          command: { name: 'DoThing', payload: { x: 1 } },
        };
        const appended = [
          event(
            'ContractHappened',
            { n: 1, nested: { list: [1, 'two', null], flag: true } },
            { metadata, occurredAt },
          ),
          event('ContractHappenedAgain', { n: 2 }, { schemaVersion: 4 }),
        ];
        const result = await store.append(streamId, 'no_stream', appended);

        const read = await store.readStream(streamId);
        expect(read).toHaveLength(2);
        expect(read.map((e) => e.eventId)).toEqual(appended.map((e) => e.eventId));
        expect(read.map((e) => e.streamVersion)).toEqual([1n, 2n]);
        expect(read.map((e) => e.type)).toEqual(['ContractHappened', 'ContractHappenedAgain']);
        expect(read.map((e) => e.schemaVersion)).toEqual([1, 4]);
        expect(read[0]!.data).toEqual({ n: 1, nested: { list: [1, 'two', null], flag: true } });
        expect(read[0]!.metadata).toEqual(metadata);
        expect(read[1]!.metadata).toEqual({});
        expect(read[0]!.occurredAt.toISOString()).toBe(occurredAt.toISOString());
        expect(read[1]!.occurredAt).toBeInstanceOf(Date);
        expect(read.every((e) => e.streamId === streamId && e.source === SOURCE)).toBe(true);
        expect(read[1]!.globalPosition).toBeGreaterThan(read[0]!.globalPosition);

        expect(result.nextExpectedVersion).toBe(2n);
        expect(result.positions).toEqual(read.map((e) => e.globalPosition));
        expect(result.lastGlobalPosition).toBe(read[1]!.globalPosition);
      });

      it('continues a stream with the next versions', async () => {
        const streamId = newStream();
        await store.append(streamId, 'no_stream', events(2));
        const result = await store.append(streamId, 2n, events(3));
        expect(result.nextExpectedVersion).toBe(5n);
        expect((await store.readStream(streamId)).map((e) => e.streamVersion)).toEqual([1n, 2n, 3n, 4n, 5n]);
        expect(await store.streamVersion(streamId)).toBe(5n);
      });

      it('reads a stream from a version, with a limit', async () => {
        const streamId = newStream();
        await store.append(streamId, 'no_stream', events(6));
        const page = await store.readStream(streamId, { fromVersion: 3n, limit: 2 });
        expect(page.map((e) => e.streamVersion)).toEqual([3n, 4n]);
        expect(page.map((e) => (e.data as { n: number }).n)).toEqual([3, 4]);
        expect(await store.readStream(streamId, { fromVersion: 7n })).toEqual([]);
      });

      it('reports a missing stream as empty at version 0', async () => {
        const streamId = newStream();
        expect(await store.readStream(streamId)).toEqual([]);
        expect(await store.streamVersion(streamId)).toBe(0n);
      });

      it('accepts any UUID as an event id, in any case', async () => {
        const streamId = newStream();
        const v1 = 'C232AB00-9414-11EC-B3C8-9F6BDECED846';
        const v7 = '018f3c6e-7d2a-7b1c-9e4f-0a1b2c3d4e5f';
        await store.append(streamId, 'no_stream', [
          event('A', {}, { eventId: v1 }),
          event('B', {}, { eventId: v7 }),
        ]);
        const ids = (await store.readStream(streamId)).map((e) => e.eventId.toLowerCase());
        expect(ids).toEqual([v1.toLowerCase(), v7]);
      });

      it.each([
        ['an empty batch', []],
        ['an event id that is not a UUID', [event('A', {}, { eventId: 'evt-1' })]],
        [
          'the same event id twice',
          (() => {
            const id = randomUUID();
            return [event('A', {}, { eventId: id }), event('B', {}, { eventId: id })];
          })(),
        ],
        ['an empty type', [event('')]],
        ['a schema version below 1', [event('A', {}, { schemaVersion: 0 })]],
        ['data that is not JSON', [event('A', { big: 1n })]],
      ])('refuses %s with InvalidAppendError and writes nothing', async (_what, batch) => {
        const streamId = newStream();
        const error = await rejection(store.append(streamId, 'any', batch as NewEvent[]));
        expect(error).toBeInstanceOf(InvalidAppendError);
        expect((error as InvalidAppendError).code).toBe('invalid_append');
        expect(await store.streamVersion(streamId)).toBe(0n);
      });

      it('refuses an empty stream id', async () => {
        expect(await rejection(store.append('', 'any', [event()]))).toBeInstanceOf(InvalidAppendError);
      });
    });

    describe('expected version', () => {
      const cases: ReadonlyArray<{ expected: ExpectedVersion; existing: number; ok: boolean }> = [
        { expected: 'any', existing: 0, ok: true },
        { expected: 'any', existing: 2, ok: true },
        { expected: 'no_stream', existing: 0, ok: true },
        { expected: 'no_stream', existing: 2, ok: false },
        { expected: 'stream_exists', existing: 0, ok: false },
        { expected: 'stream_exists', existing: 2, ok: true },
        { expected: 0n, existing: 0, ok: true },
        { expected: 0n, existing: 2, ok: false },
        { expected: 2n, existing: 2, ok: true },
        { expected: 1n, existing: 2, ok: false },
        { expected: 3n, existing: 2, ok: false },
        { expected: 1n, existing: 0, ok: false },
      ];

      it.each(cases)(
        '$expected on a stream of $existing events: ok=$ok',
        async ({ expected, existing, ok }) => {
          const streamId = newStream();
          if (existing > 0) await store.append(streamId, 'no_stream', events(existing));
          const attempt = store.append(streamId, expected, [event()]);
          if (ok) {
            expect((await attempt).nextExpectedVersion).toBe(BigInt(existing + 1));
            return;
          }
          const error = await rejection(attempt);
          expect(error).toBeInstanceOf(WrongExpectedVersionError);
          const wrong = error as WrongExpectedVersionError;
          expect(wrong.code).toBe('wrong_expected_version');
          expect(wrong.streamId).toBe(streamId);
          expect(wrong.expected).toBe(expected);
          expect(wrong.actual).toBe(BigInt(existing));
          expect(await store.streamVersion(streamId)).toBe(BigInt(existing));
        },
      );
    });

    describe('idempotency by event id', () => {
      it('answers a retried append with the original result and writes nothing', async () => {
        const streamId = newStream();
        const batch = events(3);
        const first = await store.append(streamId, 'no_stream', batch);
        const head = await store.headPosition();
        const again = await store.append(streamId, 'no_stream', batch);
        expect(again).toEqual(first);
        // Even with an expected version that no longer holds: the retry is recognised by its ids.
        expect(await store.append(streamId, 0n, batch)).toEqual(first);
        expect(await store.readStream(streamId)).toHaveLength(3);
        expect(await store.headPosition()).toBe(head);
      });

      it('recognises a retry of an append that was not the last of its stream', async () => {
        const streamId = newStream();
        const batch = events(2);
        const first = await store.append(streamId, 'no_stream', batch);
        await store.append(streamId, 2n, events(2));
        expect(await store.append(streamId, 'no_stream', batch)).toEqual(first);
        expect(await store.streamVersion(streamId)).toBe(4n);
      });

      it('refuses an append whose ids partly exist', async () => {
        const streamId = newStream();
        const batch = events(2);
        await store.append(streamId, 'no_stream', batch);
        const fresh = event();
        const error = await rejection(store.append(streamId, 2n, [batch[1]!, fresh]));
        expect(error).toBeInstanceOf(IdempotencyConflictError);
        expect((error as IdempotencyConflictError).code).toBe('idempotency_conflict');
        expect((error as IdempotencyConflictError).eventIds).toEqual([batch[1]!.eventId]);
        expect(await store.streamVersion(streamId)).toBe(2n);
      });

      it('refuses ids that were appended to another stream', async () => {
        const first = newStream();
        const second = newStream();
        const batch = events(2);
        await store.append(first, 'no_stream', batch);
        const error = await rejection(store.append(second, 'no_stream', batch));
        expect(error).toBeInstanceOf(IdempotencyConflictError);
        expect((error as IdempotencyConflictError).streamId).toBe(second);
        expect(await store.streamVersion(second)).toBe(0n);
      });

      it('refuses the same ids in another order', async () => {
        const streamId = newStream();
        const batch = events(2);
        await store.append(streamId, 'no_stream', batch);
        const error = await rejection(store.append(streamId, 'no_stream', [batch[1]!, batch[0]!]));
        expect(error).toBeInstanceOf(IdempotencyConflictError);
      });

      it('treats concurrent retries of one append as one append', async () => {
        const streamId = newStream();
        const batch = events(2);
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store.append(streamId, 'no_stream', batch)),
        );
        for (const r of results) expect(r).toEqual(results[0]);
        expect(await store.readStream(streamId)).toHaveLength(2);
      });
    });

    describe('readAll', () => {
      it('pages through the global log in order, each event once', async () => {
        const from = await store.headPosition();
        const a = newStream();
        const b = newStream();
        const appended: AppendResult[] = [];
        appended.push(await store.append(a, 'no_stream', events(2)));
        appended.push(await store.append(b, 'no_stream', events(3)));
        appended.push(await store.append(a, 2n, events(2)));
        const expected = appended.flatMap((r) => r.positions);

        const seen: bigint[] = [];
        let cursor = from;
        for (;;) {
          const page = await store.readAll(cursor, 3);
          expect(page.length).toBeLessThanOrEqual(3);
          if (page.length === 0) break;
          seen.push(...page.map((e) => e.globalPosition));
          cursor = page[page.length - 1]!.globalPosition;
        }
        expect(seen).toEqual(expected);
        expect(await store.readAll(expected[expected.length - 1]!, 10)).toEqual([]);
      });

      it('filters by type', async () => {
        const from = await store.headPosition();
        const streamId = newStream();
        const wanted = `ContractWanted${randomUUID().slice(0, 8)}`;
        await store.append(streamId, 'no_stream', [event(wanted), event('ContractOther'), event(wanted)]);
        const page = await store.readAll(from, 100, { types: [wanted] });
        expect(page.map((e) => e.type)).toEqual([wanted, wanted]);
        expect(page.map((e) => e.streamVersion)).toEqual([1n, 3n]);
      });

      it('filters by source (the appending service)', async () => {
        const from = await store.headPosition();
        await store.append(newStream(), 'no_stream', [event('ContractFromA')]);
        await other.store.append(newStream(), 'no_stream', [event('ContractFromB')]);
        await store.append(newStream(), 'no_stream', [event('ContractFromA')]);

        const fromB = await store.readAll(from, 100, { sources: [OTHER_SOURCE] });
        expect(fromB.map((e) => [e.source, e.type])).toEqual([[OTHER_SOURCE, 'ContractFromB']]);
        const fromA = await store.readAll(from, 100, { sources: [SOURCE] });
        expect(fromA.map((e) => e.type)).toEqual(['ContractFromA', 'ContractFromA']);
        const both = await store.readAll(from, 100, {
          sources: [SOURCE, OTHER_SOURCE],
          types: ['ContractFromB'],
        });
        expect(both.map((e) => e.source)).toEqual([OTHER_SOURCE]);
      });

      it('reports the head position as the last committed event', async () => {
        const result = await store.append(newStream(), 'no_stream', events(2));
        expect(await store.headPosition()).toBe(result.lastGlobalPosition);
        const all = await store.readAll(result.lastGlobalPosition - 1n, 10);
        expect(all.map((e) => e.globalPosition)).toEqual([result.lastGlobalPosition]);
      });
    });

    describe('readByCorrelation', () => {
      it("returns a session's events across streams in global order", async () => {
        const session = `session-${randomUUID()}`;
        const noise = `session-${randomUUID()}`;
        const a = newStream();
        const b = newStream();
        const meta = (correlationId: string) => ({ metadata: { correlationId } });
        const r1 = await store.append(a, 'no_stream', [event('S1', {}, meta(session))]);
        await store.append(b, 'no_stream', [event('N1', {}, meta(noise))]);
        const r2 = await other.store.append(b, 1n, [
          event('S2', {}, meta(session)),
          event('S3', {}, meta(session)),
        ]);
        const r3 = await store.append(a, 1n, [event('S4', {}, meta(session))]);

        const history = await store.readByCorrelation(session);
        expect(history.map((e) => e.type)).toEqual(['S1', 'S2', 'S3', 'S4']);
        expect(history.map((e) => e.globalPosition)).toEqual([
          ...r1.positions,
          ...r2.positions,
          ...r3.positions,
        ]);
        expect(history.every((e) => e.metadata.correlationId === session)).toBe(true);

        const tail = await store.readByCorrelation(session, {
          fromPosition: r1.lastGlobalPosition,
          limit: 2,
        });
        expect(tail.map((e) => e.type)).toEqual(['S2', 'S3']);
        expect(await store.readByCorrelation(`session-${randomUUID()}`)).toEqual([]);
      });
    });

    describe('snapshots', () => {
      it('has none for a new stream', async () => {
        expect(await store.loadSnapshot(newStream())).toBeUndefined();
      });

      it('saves, loads and keeps the latest', async () => {
        const streamId = newStream();
        await store.saveSnapshot({
          streamId,
          version: 10n,
          schemaVersion: 1,
          state: { total: 10, items: ['a'] },
        });
        const first = await store.loadSnapshot<{ total: number }>(streamId);
        expect(first).toMatchObject({
          streamId,
          version: 10n,
          schemaVersion: 1,
          state: { total: 10, items: ['a'] },
        });
        expect(first!.takenAt).toBeInstanceOf(Date);

        await store.saveSnapshot({ streamId, version: 20n, schemaVersion: 1, state: { total: 20 } });
        expect((await store.loadSnapshot(streamId))!.version).toBe(20n);

        // A slower writer's older snapshot does not replace the newer one.
        await store.saveSnapshot({ streamId, version: 15n, schemaVersion: 1, state: { total: 15 } });
        expect(await store.loadSnapshot(streamId)).toMatchObject({ version: 20n, state: { total: 20 } });
      });
    });

    describe('upcasters', () => {
      it('upcasts old schema versions through the chain on every read path', async () => {
        const streamId = newStream();
        const correlationId = `session-${randomUUID()}`;
        const from = await store.headPosition();
        await store.append(streamId, 'no_stream', [
          event('ContractPriced', { price: 5 }, { metadata: { correlationId } }),
          event(
            'ContractPriced',
            { amount: 7, currency: 'EUR' },
            { schemaVersion: 2, metadata: { correlationId } },
          ),
          event(
            'ContractPriced',
            { amount: 9, currency: 'EUR', taxIncluded: true },
            { schemaVersion: 3, metadata: { correlationId } },
          ),
          event('ContractOldName', { kept: true }, { metadata: { correlationId } }),
        ]);
        const expected = [
          {
            type: 'ContractPriced',
            schemaVersion: 3,
            data: { amount: 5, currency: 'USD', taxIncluded: false },
          },
          {
            type: 'ContractPriced',
            schemaVersion: 3,
            data: { amount: 7, currency: 'EUR', taxIncluded: false },
          },
          {
            type: 'ContractPriced',
            schemaVersion: 3,
            data: { amount: 9, currency: 'EUR', taxIncluded: true },
          },
          { type: 'ContractNewName', schemaVersion: 1, data: { kept: true } },
        ];
        const shape = (list: RecordedEvent[]) =>
          list.map(({ type, schemaVersion, data }) => ({ type, schemaVersion, data }));
        expect(shape(await store.readStream(streamId))).toEqual(expected);
        expect(shape(await store.readAll(from, 10))).toEqual(expected);
        expect(shape(await store.readByCorrelation(correlationId))).toEqual(expected);

        const subscription = store.subscribeAll(from);
        try {
          expect(shape(await take(subscription[Symbol.asyncIterator](), 4))).toEqual(expected);
        } finally {
          await subscription.close();
        }
      });
    });

    describe('subscribeAll', () => {
      let subscription: Subscription | undefined;
      afterAll(async () => {
        await subscription?.close();
      });

      it('delivers events appended after it started, in order, and tracks its position', async () => {
        const from = await store.headPosition();
        subscription = store.subscribeAll(from);
        expect(subscription.position).toBe(from);
        const iterator = subscription[Symbol.asyncIterator]();
        const pending = take(iterator, 4);
        const streamId = newStream();
        const r1 = await store.append(streamId, 'no_stream', events(2));
        const r2 = await other.store.append(newStream(), 'no_stream', events(1));
        const r3 = await store.append(streamId, 2n, events(1));
        const received = await pending;
        expect(received.map((e) => e.globalPosition)).toEqual([
          ...r1.positions,
          ...r2.positions,
          ...r3.positions,
        ]);
        expect(subscription.position).toBe(r3.lastGlobalPosition);

        // close() ends an iteration that is waiting for more.
        const waiting = iterator.next();
        await subscription.close();
        expect(await within(waiting, 5_000, 'end of iteration after close()')).toEqual({
          done: true,
          value: undefined,
        });
      });

      it('replays history from an earlier position, then follows live appends', async () => {
        const streamId = newStream();
        const before = await store.append(streamId, 'no_stream', events(3));
        const sub = store.subscribeAll(before.positions[0]! - 1n);
        try {
          const iterator = sub[Symbol.asyncIterator]();
          const history = await take(iterator, 3);
          expect(history.map((e) => e.globalPosition)).toEqual(before.positions);
          const live = await store.append(streamId, 3n, events(1));
          const next = await take(iterator, 1);
          expect(next.map((e) => e.globalPosition)).toEqual(live.positions);
        } finally {
          await sub.close();
        }
      });

      it('applies type and source filters', async () => {
        const wanted = `ContractLive${randomUUID().slice(0, 8)}`;
        const from = await store.headPosition();
        const sub = store.subscribeAll(from, { types: [wanted], sources: [OTHER_SOURCE], batchSize: 2 });
        try {
          const iterator = sub[Symbol.asyncIterator]();
          const pending = take(iterator, 3);
          await store.append(newStream(), 'no_stream', [event(wanted)]);
          const r = await other.store.append(newStream(), 'no_stream', [
            event(wanted),
            event('ContractNot'),
            event(wanted),
            event(wanted),
          ]);
          const got = await pending;
          expect(got.map((e) => e.globalPosition)).toEqual([r.positions[0], r.positions[2], r.positions[3]]);
        } finally {
          await sub.close();
        }
      });

      it('ends a for-await loop when the consumer breaks out of it', async () => {
        const from = await store.headPosition();
        await store.append(newStream(), 'no_stream', events(3));
        const sub = store.subscribeAll(from);
        let count = 0;
        for await (const _event of sub) {
          if (++count === 2) break;
        }
        expect(count).toBe(2);
        // Closed by the break: a second close is harmless.
        await sub.close();
      });
    });

    describe('concurrent appends to one stream', () => {
      it('lets exactly one of several appends at the same expected version win', async () => {
        const streamId = newStream();
        await store.append(streamId, 'no_stream', events(1));
        const contenders = [store, other.store, store, other.store, store, other.store, store, other.store];
        const outcomes = await Promise.allSettled(contenders.map((s) => s.append(streamId, 1n, [event()])));
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(contenders.length - 1);
        for (const o of lost) {
          expect(o.reason).toBeInstanceOf(WrongExpectedVersionError);
          expect((o.reason as WrongExpectedVersionError).actual).toBe(2n);
        }
        expect(await store.streamVersion(streamId)).toBe(2n);
      });

      it("lets exactly one of several 'no_stream' appends create the stream", async () => {
        const streamId = newStream();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) =>
            (i % 2 ? other.store : store).append(streamId, 'no_stream', events(2)),
          ),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(await store.streamVersion(streamId)).toBe(2n);
      });

      it("gives concurrent 'any' appends distinct consecutive versions", async () => {
        const streamId = newStream();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? other.store : store).append(streamId, 'any', events(1)),
          ),
        );
        const versions = results.map((r) => r.nextExpectedVersion).sort((x, y) => (x < y ? -1 : 1));
        expect(versions).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
        const read = await store.readStream(streamId);
        expect(read.map((e) => e.streamVersion)).toEqual(versions);
      });
    });
  });
}
