/** Base class of errors thrown by event store adapters. `code` is stable; match on it or use the predicates. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
}

/** Thrown by `append` when the stream is not at the expected version. */
export class WrongExpectedVersionError extends EventStoreError {
  override readonly name = 'WrongExpectedVersionError';
  readonly code = 'wrong_expected_version';
  constructor(
    readonly streamId: string,
    readonly expected: bigint | string,
    readonly actual: bigint,
  ) {
    super(`stream ${streamId} is at version ${actual}, expected ${String(expected)}`);
  }
}

/** Thrown by `append` when some (not all) event ids already exist, or exist in another stream or order. */
export class IdempotencyConflictError extends EventStoreError {
  override readonly name = 'IdempotencyConflictError';
  readonly code = 'idempotency_conflict';
  constructor(
    readonly streamId: string,
    readonly eventIds: readonly string[],
    detail: string,
  ) {
    super(`append to ${streamId} reuses event ids of another append: ${detail}`);
  }
}

/** Thrown for an append the store refuses outright (empty batch, invalid stream id or event). */
export class InvalidAppendError extends EventStoreError {
  override readonly name = 'InvalidAppendError';
  readonly code = 'invalid_append';
}

/** Thrown when the store is closed or cannot be reached; the operation may be retried. */
export class EventStoreUnavailableError extends EventStoreError {
  override readonly name = 'EventStoreUnavailableError';
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const isWrongExpectedVersion = (e: unknown): e is WrongExpectedVersionError =>
  e instanceof WrongExpectedVersionError;
export const isIdempotencyConflict = (e: unknown): e is IdempotencyConflictError =>
  e instanceof IdempotencyConflictError;

/** Thrown by `saveSnapshot` for a snapshot the store refuses (negative version, state that is not JSON). */
export class InvalidSnapshotError extends EventStoreError {
  override readonly name = 'InvalidSnapshotError';
  readonly code = 'invalid_snapshot';
}

/**
 * Thrown when the registered upcasters are inconsistent (two for the same type and version) or an
 * upcaster fails or makes no progress on a stored event; reading that event cannot succeed until
 * the upcasters are fixed, so this is never retried.
 */
export class UpcastError extends EventStoreError {
  override readonly name = 'UpcastError';
  readonly code = 'upcast_failed';
  constructor(
    message: string,
    /** The stored event being upcast, when the failure happened on read. */
    readonly eventId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isEventStoreUnavailable = (e: unknown): e is EventStoreUnavailableError =>
  e instanceof EventStoreUnavailableError;
