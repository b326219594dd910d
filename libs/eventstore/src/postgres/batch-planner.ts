import type { AppendResult, ExpectedVersion } from '../contract';
import { IdempotencyConflictError, WrongExpectedVersionError } from '../errors';

/**
 * The decision half of a group commit, free of I/O so it can be tested exhaustively.
 *
 * A flush reads, under the streams' locks, the current version of every stream in the batch and
 * every stored event whose id the batch uses; this function then decides, append by append in
 * queue order, which ones are written, which are idempotent replays of earlier appends and which
 * are refused. Appends see the effect of the appends planned before them in the same batch, so two
 * appends to one stream behave exactly as if they had been committed one after the other.
 */

export interface AppendRequest {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  /** Event ids in append order (already validated: UUIDs, lower case, unique within the append). */
  readonly eventIds: readonly string[];
}

/** Where a stored event is. */
export interface StoredEvent {
  readonly streamId: string;
  readonly streamVersion: bigint;
  readonly globalPosition: bigint;
}

/** What the flush read before planning. */
export interface BatchSnapshot {
  /** Current version of each stream of the batch (absent = 0n, no stream). */
  readonly streamVersions: ReadonlyMap<string, bigint>;
  /** Stored events whose id one of the batch's appends uses, by event id. */
  readonly existing: ReadonlyMap<string, StoredEvent>;
}

/** A global position known now (stored) or once the batch's positions are assigned (offset into the written events). */
export type PlannedPosition = { readonly stored: bigint } | { readonly offset: number };

export type AppendPlan =
  /** Write the append's events at versions firstVersion.., positions base + offset + 1... */
  | { readonly kind: 'write'; readonly firstVersion: bigint; readonly offset: number; readonly count: number }
  /** Every id was already appended, in this order, to this stream: answer the original result. */
  | {
      readonly kind: 'replay';
      readonly nextExpectedVersion: bigint;
      readonly positions: readonly PlannedPosition[];
    }
  | { readonly kind: 'rejected'; readonly error: WrongExpectedVersionError | IdempotencyConflictError };

export interface BatchPlan {
  /** One plan per request, in request order. */
  readonly plans: readonly AppendPlan[];
  /** Number of events written by the batch (the sum of the writes' counts). */
  readonly writeCount: number;
}

/** Whether a stream at `actual` satisfies `expected` (contract.ts `ExpectedVersion`). */
export function versionMatches(expected: ExpectedVersion, actual: bigint): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === 0n;
    case 'stream_exists':
      return actual > 0n;
    default:
      return actual === expected;
  }
}

interface Located {
  readonly streamId: string;
  readonly streamVersion: bigint;
  readonly position: PlannedPosition;
}

export function planBatch(requests: readonly AppendRequest[], snapshot: BatchSnapshot): BatchPlan {
  const versions = new Map(snapshot.streamVersions);
  const located = new Map<string, Located>();
  for (const [eventId, stored] of snapshot.existing) {
    located.set(eventId, {
      streamId: stored.streamId,
      streamVersion: stored.streamVersion,
      position: { stored: stored.globalPosition },
    });
  }
  let writeCount = 0;
  const plans = requests.map((request): AppendPlan => {
    const found = request.eventIds.map((id) => located.get(id));
    if (found.some((f) => f !== undefined)) return planRetry(request, found);
    const actual = versions.get(request.streamId) ?? 0n;
    if (!versionMatches(request.expectedVersion, actual)) {
      return {
        kind: 'rejected',
        error: new WrongExpectedVersionError(request.streamId, request.expectedVersion, actual),
      };
    }
    const offset = writeCount;
    request.eventIds.forEach((id, i) => {
      located.set(id, {
        streamId: request.streamId,
        streamVersion: actual + BigInt(i + 1),
        position: { offset: offset + i },
      });
    });
    const count = request.eventIds.length;
    versions.set(request.streamId, actual + BigInt(count));
    writeCount += count;
    return { kind: 'write', firstVersion: actual + 1n, offset, count };
  });
  return { plans, writeCount };
}

/** An append some of whose ids exist: an idempotent retry when all exist, in order, in this stream. */
function planRetry(request: AppendRequest, found: readonly (Located | undefined)[]): AppendPlan {
  const reject = (detail: string, ids: readonly string[]): AppendPlan => ({
    kind: 'rejected',
    error: new IdempotencyConflictError(request.streamId, ids, detail),
  });
  const existingIds = request.eventIds.filter((_, i) => found[i] !== undefined);
  if (existingIds.length < request.eventIds.length) {
    return reject(
      `${existingIds.length} of ${request.eventIds.length} event ids already exist (${existingIds.join(', ')})`,
      existingIds,
    );
  }
  const all = found as readonly Located[];
  const elsewhere = request.eventIds.filter((_, i) => all[i]!.streamId !== request.streamId);
  if (elsewhere.length > 0) {
    const streams = [...new Set(all.filter((l) => l.streamId !== request.streamId).map((l) => l.streamId))];
    return reject(`event ids ${elsewhere.join(', ')} were appended to ${streams.join(', ')}`, elsewhere);
  }
  const first = all[0]!.streamVersion;
  const inOrder = all.every((l, i) => l.streamVersion === first + BigInt(i));
  if (!inOrder) {
    return reject(
      'the event ids were appended in another order or with other events between them',
      request.eventIds,
    );
  }
  return {
    kind: 'replay',
    nextExpectedVersion: all[all.length - 1]!.streamVersion,
    positions: all.map((l) => l.position),
  };
}

/**
 * The outcome of one append once the batch's first position is known: `base` is the global
 * position just before the batch's first written event.
 */
export function resolvePlan(
  plan: AppendPlan,
  base: bigint,
): AppendResult | WrongExpectedVersionError | IdempotencyConflictError {
  const at = (p: PlannedPosition): bigint => ('stored' in p ? p.stored : base + BigInt(p.offset + 1));
  switch (plan.kind) {
    case 'rejected':
      return plan.error;
    case 'replay': {
      const positions = plan.positions.map(at);
      return {
        nextExpectedVersion: plan.nextExpectedVersion,
        lastGlobalPosition: positions[positions.length - 1]!,
        positions,
      };
    }
    case 'write': {
      const positions = Array.from({ length: plan.count }, (_, i) => base + BigInt(plan.offset + i + 1));
      return {
        nextExpectedVersion: plan.firstVersion + BigInt(plan.count - 1),
        lastGlobalPosition: positions[positions.length - 1]!,
        positions,
      };
    }
  }
}

/**
 * The snapshot a batch can be planned on without reading, for the single round-trip path: each
 * stream at the version its first append expects (an exact version, or 0 for 'no_stream'), or at
 * the version last seen by this process for 'any' / 'stream_exists'; no event id stored yet.
 * Undefined when a stream's version cannot be guessed. The guess is verified under the stream
 * locks before anything is written (try_append), so a wrong guess costs a round trip, never
 * correctness: with every guess right, the real snapshot and this one plan identically.
 */
export function assumeSnapshot(
  requests: readonly AppendRequest[],
  lastSeenVersion: (streamId: string) => bigint | undefined,
): BatchSnapshot | undefined {
  const streamVersions = new Map<string, bigint>();
  for (const { streamId, expectedVersion } of requests) {
    if (streamVersions.has(streamId)) continue;
    const guess =
      typeof expectedVersion === 'bigint'
        ? expectedVersion
        : expectedVersion === 'no_stream'
          ? 0n
          : lastSeenVersion(streamId);
    if (guess === undefined) return undefined;
    streamVersions.set(streamId, guess);
  }
  return { streamVersions, existing: new Map() };
}

/** True when every append of the plan is written: the only plans worth trying without a read. */
export const writesOnly = (plan: BatchPlan): boolean => plan.plans.every((p) => p.kind === 'write');
