/**
 * The event store contract (DESIGN.md, "The event store contract").
 *
 * Every adapter must pass the shared contract suite in `contract-suite.ts`.
 * Payloads are JSON (the protobuf JSON mapping of the event's proto message), so a person can
 * read them with SQL; the store itself is schema-agnostic.
 */

/** The acting principal recorded with each event. */
export interface EventPrincipal {
  readonly id: string;
  readonly role: string;
  readonly agentId?: string;
}

/** Metadata the caller supplies when appending. */
export interface EventMetadataInput {
  /** The session id (or the request id outside sessions). Indexed: see `readByCorrelation`. */
  readonly correlationId?: string;
  /** The command or event that caused this event. */
  readonly causationId?: string;
  /** W3C traceparent of the appending operation, so the relay can continue the trace. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly principal?: EventPrincipal;
  /**
   * The command that produced the event, recorded so replay can re-run today's deciders on
   * yesterday's history. Stored once per append (on its first event) by convention of the caller.
   */
  readonly command?: { readonly name: string; readonly payload: unknown };
  /**
   * The domain command the decider decided these events from, as `recordDecision` writes it (Dates
   * tagged). Stored on the first event of each decision by AggregateCache and executeCommand, so
   * replay can decide it again and compare (verify).
   */
  readonly decision?: unknown;
}

/** An event to append. */
export interface NewEvent<Data = unknown> {
  /** Unique id; appending the same ids again is idempotent (see `append`). */
  readonly eventId: string;
  /** Simple event type name, e.g. "AgentRegistered". */
  readonly type: string;
  /** Payload schema version; defaults to 1. Old versions are upcast on read. */
  readonly schemaVersion?: number;
  readonly data: Data;
  readonly metadata?: EventMetadataInput;
  /** Defaults to the store's clock. */
  readonly occurredAt?: Date;
}

/** An event as stored. */
export interface RecordedEvent<Data = unknown> {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly streamId: string;
  /** 1-based version of the event in its stream. */
  readonly streamVersion: bigint;
  /** Position in the global log; strictly increasing in commit order, never reused. */
  readonly globalPosition: bigint;
  readonly occurredAt: Date;
  /** The service that appended the event (the store adapter's `source` option). */
  readonly source: string;
  readonly data: Data;
  readonly metadata: EventMetadataInput;
}

/**
 * The version a stream must be at for an append to succeed.
 * - a bigint: exactly that version (0n = the stream must not exist yet);
 * - 'no_stream': the stream must not exist;
 * - 'stream_exists': any version >= 1;
 * - 'any': no check.
 */
export type ExpectedVersion = bigint | 'no_stream' | 'stream_exists' | 'any';

export interface AppendResult {
  /** The stream's version after the append. */
  readonly nextExpectedVersion: bigint;
  /** Global position of the last event appended. */
  readonly lastGlobalPosition: bigint;
  /** Positions of each appended event, in order. */
  readonly positions: readonly bigint[];
}

export interface ReadStreamOptions {
  /** First stream version to return (inclusive); defaults to 1. */
  readonly fromVersion?: bigint;
  /** Maximum events; defaults to all. */
  readonly limit?: number;
}

export interface ReadAllOptions {
  /** Only events appended by these services. */
  readonly sources?: readonly string[];
  /** Only events of these types. */
  readonly types?: readonly string[];
}

export interface SubscribeOptions extends ReadAllOptions {
  /** Events per read; defaults to the adapter's batch size. */
  readonly batchSize?: number;
}

/** A snapshot of a stream's folded state at `version`. */
export interface Snapshot<State = unknown> {
  readonly streamId: string;
  readonly version: bigint;
  /** Lets a reader discard snapshots written by an older fold. */
  readonly schemaVersion: number;
  readonly state: State;
  readonly takenAt: Date;
}

/**
 * Transforms a stored event of an old schema version into the current shape.
 * Registered per (type, fromVersion); applied on every read path, chained while one matches.
 */
export interface Upcaster {
  readonly type: string;
  readonly fromVersion: number;
  /** Returns the event's data and version after the upcast. */
  upcast(data: unknown, event: RecordedEvent): { data: unknown; schemaVersion: number; type?: string };
}

/** An async iteration over the global log that never ends by itself; `close()` stops it. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  /** Position of the last event yielded (the `fromPosition` given, before the first). */
  readonly position: bigint;
  close(): Promise<void>;
}

export interface EventStore {
  /**
   * Appends `events` to `streamId` atomically if the stream is at `expectedVersion`.
   *
   * Idempotent by eventId: when every event id was already appended to this stream, in the same
   * order, the original result is returned and nothing is written. Throws
   * {@link WrongExpectedVersionError} on a version mismatch and {@link IdempotencyConflictError}
   * when only some ids exist, or they exist in another stream.
   */
  append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
  ): Promise<AppendResult>;

  /** Events of one stream in version order, upcast. Empty when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** Current version of a stream (0n when it does not exist). */
  streamVersion(streamId: string): Promise<bigint>;

  /**
   * Events after `fromPosition` (exclusive) in global order, at most `limit`.
   * Gap-free: once an event at position p has been returned, no event with a position below p
   * can appear later, whatever the concurrency of writers.
   */
  readAll(fromPosition: bigint, limit: number, options?: ReadAllOptions): Promise<RecordedEvent[]>;

  /** Follows the global log from `fromPosition` (exclusive), waking on new appends. */
  subscribeAll(fromPosition: bigint, options?: SubscribeOptions): Subscription;

  /** Every event with this correlation id (a session's whole history) in global order. */
  readByCorrelation(
    correlationId: string,
    options?: { fromPosition?: bigint; limit?: number },
  ): Promise<RecordedEvent[]>;

  /** Position of the last committed event (0n for an empty store). */
  headPosition(): Promise<bigint>;

  saveSnapshot<State>(snapshot: Omit<Snapshot<State>, 'takenAt'>): Promise<void>;
  /** The latest snapshot of a stream, or undefined. */
  loadSnapshot<State>(streamId: string): Promise<Snapshot<State> | undefined>;

  close(): Promise<void>;
}
