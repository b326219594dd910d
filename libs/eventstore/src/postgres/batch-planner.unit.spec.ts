import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AppendResult, ExpectedVersion } from '../contract';
import { IdempotencyConflictError, WrongExpectedVersionError } from '../errors';
import {
  assumeSnapshot,
  planBatch,
  resolvePlan,
  versionMatches,
  type AppendRequest,
  type BatchSnapshot,
  type StoredEvent,
} from './batch-planner';

const id = (n: number): string => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;

const snapshot = (
  versions: Record<string, bigint> = {},
  existing: Record<string, StoredEvent> = {},
): BatchSnapshot => ({
  streamVersions: new Map(Object.entries(versions)),
  existing: new Map(Object.entries(existing)),
});

const request = (streamId: string, expectedVersion: ExpectedVersion, ...ids: number[]): AppendRequest => ({
  streamId,
  expectedVersion,
  eventIds: ids.map(id),
});

describe('versionMatches', () => {
  it.each([
    ['any', 0n, true],
    ['any', 5n, true],
    ['no_stream', 0n, true],
    ['no_stream', 1n, false],
    ['stream_exists', 0n, false],
    ['stream_exists', 1n, true],
    [0n, 0n, true],
    [0n, 1n, false],
    [3n, 3n, true],
    [3n, 4n, false],
  ] as const)('%s against %s is %s', (expected, actual, ok) => {
    expect(versionMatches(expected, actual)).toBe(ok);
  });
});

describe('planBatch', () => {
  it('writes appends to new streams at version 1 and lays their events out one after the other', () => {
    const plan = planBatch([request('a', 'no_stream', 1, 2), request('b', 0n, 3)], snapshot());
    expect(plan.writeCount).toBe(3);
    expect(plan.plans).toEqual([
      { kind: 'write', firstVersion: 1n, offset: 0, count: 2 },
      { kind: 'write', firstVersion: 1n, offset: 2, count: 1 },
    ]);
    expect(resolvePlan(plan.plans[1]!, 100n)).toEqual({
      nextExpectedVersion: 1n,
      lastGlobalPosition: 103n,
      positions: [103n],
    });
  });

  it('lets a second append to the same stream see the first one', () => {
    const plan = planBatch(
      [request('a', 2n, 1), request('a', 3n, 2), request('a', 3n, 3)],
      snapshot({ a: 2n }),
    );
    expect(plan.plans[0]).toEqual({ kind: 'write', firstVersion: 3n, offset: 0, count: 1 });
    expect(plan.plans[1]).toEqual({ kind: 'write', firstVersion: 4n, offset: 1, count: 1 });
    const third = plan.plans[2]!;
    expect(third.kind).toBe('rejected');
    const error = (third as { error: WrongExpectedVersionError }).error;
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect([error.expected, error.actual]).toEqual([3n, 4n]);
    expect(plan.writeCount).toBe(2);
  });

  it('refuses only the conflicting append of a batch', () => {
    const plan = planBatch(
      [request('a', 'no_stream', 1), request('b', 'stream_exists', 2), request('c', 'any', 3)],
      snapshot({ a: 0n, b: 0n, c: 4n }),
    );
    expect(plan.plans.map((p) => p.kind)).toEqual(['write', 'rejected', 'write']);
    expect(plan.plans[2]).toEqual({ kind: 'write', firstVersion: 5n, offset: 1, count: 1 });
  });

  it('answers a retry of stored events with their original positions', () => {
    const existing = {
      [id(1)]: { streamId: 'a', streamVersion: 4n, globalPosition: 40n },
      [id(2)]: { streamId: 'a', streamVersion: 5n, globalPosition: 41n },
    };
    const plan = planBatch([request('a', 'no_stream', 1, 2)], snapshot({ a: 9n }, existing));
    expect(plan.writeCount).toBe(0);
    expect(resolvePlan(plan.plans[0]!, 0n)).toEqual({
      nextExpectedVersion: 5n,
      lastGlobalPosition: 41n,
      positions: [40n, 41n],
    });
  });

  it('answers a retry of an append planned earlier in the same batch', () => {
    const plan = planBatch([request('a', 'no_stream', 1, 2), request('a', 'no_stream', 1, 2)], snapshot());
    expect(plan.writeCount).toBe(2);
    const [first, second] = plan.plans.map((p) => resolvePlan(p, 10n));
    expect(second).toEqual(first);
    expect(first).toEqual({ nextExpectedVersion: 2n, lastGlobalPosition: 12n, positions: [11n, 12n] });
  });

  it.each([
    ['some ids exist', [request('a', 'any', 1, 3)], /1 of 2 event ids already exist/],
    ['the ids are in another stream', [request('b', 'any', 1, 2)], /were appended to a/],
    ['the ids are in another order', [request('a', 'any', 2, 1)], /another order/],
    ['the ids are not consecutive', [request('a', 'any', 1, 5)], /another order/],
  ])('refuses a retry when %s', (_what, requests, message) => {
    const existing = {
      [id(1)]: { streamId: 'a', streamVersion: 1n, globalPosition: 1n },
      [id(2)]: { streamId: 'a', streamVersion: 2n, globalPosition: 2n },
      [id(5)]: { streamId: 'a', streamVersion: 5n, globalPosition: 9n },
    };
    const [outcome] = planBatch(requests, snapshot({ a: 5n }, existing)).plans;
    expect(outcome!.kind).toBe('rejected');
    const error = (outcome as { error: Error }).error;
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect(error.message).toMatch(message);
  });
});

// -------------------------------------------------------------------------------------------------
// Property: a batch decides exactly as the same appends committed one at a time, in queue order,
// by a reference store written independently of the planner (streams as plain arrays). This is
// what makes group commit invisible to callers.

interface Reference {
  readonly streams: Map<string, { eventId: string; position: bigint }[]>;
  head: bigint;
}

type Outcome = AppendResult | { error: string; streamId: string; detail: unknown };

const describeOutcome = (o: ReturnType<typeof resolvePlan>): Outcome => {
  if (o instanceof WrongExpectedVersionError)
    return { error: o.code, streamId: o.streamId, detail: [o.expected, o.actual] };
  if (o instanceof IdempotencyConflictError)
    return { error: o.code, streamId: o.streamId, detail: o.eventIds };
  return o;
};

function referenceCommit(ref: Reference, req: AppendRequest): Outcome {
  const locate = (eventId: string) => {
    for (const [streamId, events] of ref.streams) {
      const index = events.findIndex((e) => e.eventId === eventId);
      if (index >= 0) return { streamId, index, position: events[index]!.position };
    }
    return undefined;
  };
  const found = req.eventIds.map(locate);
  const conflict = (detail: string[]): Outcome => ({
    error: 'idempotency_conflict',
    streamId: req.streamId,
    detail,
  });
  if (found.some((f) => f)) {
    if (found.some((f) => !f)) return conflict(req.eventIds.filter((_, i) => found[i]));
    const elsewhere = req.eventIds.filter((_, i) => found[i]!.streamId !== req.streamId);
    if (elsewhere.length > 0) return conflict(elsewhere);
    if (!found.every((f, i) => f!.index === found[0]!.index + i)) return conflict([...req.eventIds]);
    const positions = found.map((f) => f!.position);
    return {
      nextExpectedVersion: BigInt(found[found.length - 1]!.index + 1),
      lastGlobalPosition: positions[positions.length - 1]!,
      positions,
    };
  }
  const stream = ref.streams.get(req.streamId) ?? [];
  const version = BigInt(stream.length);
  const e = req.expectedVersion;
  const ok =
    e === 'any' ||
    (e === 'no_stream' ? version === 0n : e === 'stream_exists' ? version > 0n : e === version);
  if (!ok) return { error: 'wrong_expected_version', streamId: req.streamId, detail: [e, version] };
  const positions = req.eventIds.map((eventId) => {
    ref.head += 1n;
    stream.push({ eventId, position: ref.head });
    return ref.head;
  });
  ref.streams.set(req.streamId, stream);
  return { nextExpectedVersion: BigInt(stream.length), lastGlobalPosition: ref.head, positions };
}

const cloneReference = (ref: Reference): Reference => ({
  streams: new Map([...ref.streams].map(([k, v]) => [k, [...v]])),
  head: ref.head,
});

/** What a flush would read from a store in this state. */
const readBatchSnapshot = (ref: Reference): BatchSnapshot => ({
  streamVersions: new Map([...ref.streams].map(([k, v]) => [k, BigInt(v.length)])),
  existing: new Map(
    [...ref.streams].flatMap(([streamId, events]) =>
      events.map(
        (e, i) =>
          [e.eventId, { streamId, streamVersion: BigInt(i + 1), globalPosition: e.position }] as const,
      ),
    ),
  ),
});

const ids = Array.from({ length: 10 }, (_, i) => id(i + 1));
const requestArb: fc.Arbitrary<AppendRequest> = fc.record({
  streamId: fc.constantFrom('a', 'b', 'c'),
  expectedVersion: fc.oneof(
    fc.constantFrom<ExpectedVersion>('any', 'no_stream', 'stream_exists'),
    fc.bigInt(0n, 4n),
  ),
  eventIds: fc.shuffledSubarray(ids, { minLength: 1, maxLength: 3 }),
});

describe('planBatch properties', () => {
  it('decides a batch exactly as the same appends committed one at a time', () => {
    fc.assert(
      fc.property(
        fc.array(requestArb, { maxLength: 6 }),
        fc.array(requestArb, { minLength: 1, maxLength: 12 }),
        (history, batch) => {
          // Any reachable store state: the history committed one append at a time.
          const start: Reference = { streams: new Map(), head: 0n };
          for (const req of history) referenceCommit(start, req);

          const sequential = cloneReference(start);
          const expected = batch.map((req) => referenceCommit(sequential, req));

          const plan = planBatch(batch, readBatchSnapshot(start));
          const actual = plan.plans.map((p) => describeOutcome(resolvePlan(p, start.head)));
          expect(actual).toEqual(expected);
          expect(start.head + BigInt(plan.writeCount)).toBe(sequential.head);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('lays written events out contiguously and writes each id at most once', () => {
    fc.assert(
      fc.property(fc.array(requestArb, { minLength: 1, maxLength: 12 }), (batch) => {
        const plan = planBatch(batch, snapshot());
        let next = 0;
        const written = new Set<string>();
        plan.plans.forEach((p, i) => {
          if (p.kind !== 'write') return;
          expect(p.offset).toBe(next);
          expect(p.count).toBe(batch[i]!.eventIds.length);
          next += p.count;
          for (const eventId of batch[i]!.eventIds) {
            expect(written.has(eventId)).toBe(false);
            written.add(eventId);
          }
        });
        expect(plan.writeCount).toBe(next);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('assumeSnapshot (planning without a read)', () => {
  it('guesses each stream from its first append: the exact version, 0 for no_stream, else the last seen', () => {
    const seen = new Map([['c', 7n]]);
    const assumed = assumeSnapshot(
      [request('a', 3n, 1), request('b', 'no_stream', 2), request('c', 'any', 3), request('a', 'any', 4)],
      (id) => seen.get(id),
    );
    expect(assumed?.streamVersions).toEqual(
      new Map([
        ['a', 3n],
        ['b', 0n],
        ['c', 7n],
      ]),
    );
    expect(assumed?.existing.size).toBe(0);
  });

  it('gives up when a stream has no guess', () => {
    expect(assumeSnapshot([request('a', 'stream_exists', 1)], () => undefined)).toBeUndefined();
    expect(assumeSnapshot([request('a', 'any', 1)], () => undefined)).toBeUndefined();
  });

  it('plans exactly as on the real snapshot whenever the guess holds', () => {
    fc.assert(
      fc.property(
        fc.array(requestArb, { maxLength: 6 }),
        fc.array(requestArb, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (history, batch, remember) => {
          const store: Reference = { streams: new Map(), head: 0n };
          for (const req of history) referenceCommit(store, req);
          const real = readBatchSnapshot(store);
          // What this process may have seen: the real versions, or nothing.
          const assumed = assumeSnapshot(batch, (id) =>
            remember ? (real.streamVersions.get(id) ?? 0n) : undefined,
          );
          if (!assumed) return;
          const guessHolds =
            [...assumed.streamVersions].every(([id, v]) => (real.streamVersions.get(id) ?? 0n) === v) &&
            batch.every((r) => r.eventIds.every((id) => !real.existing.has(id)));
          const guessed = planBatch(batch, assumed);
          if (guessHolds) expect(guessed).toEqual(planBatch(batch, real));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
