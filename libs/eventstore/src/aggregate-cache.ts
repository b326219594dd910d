import { randomUUID } from 'node:crypto';
import { recordDecision, type Decider } from '@orch/domain-kit';
import type { AppendResult, EventMetadataInput, EventStore, NewEvent, RecordedEvent } from './contract';
import { isWrongExpectedVersion } from './errors';

export interface AggregateCacheOptions<C, E extends { readonly type: string }, S> {
  readonly decider: Decider<C, E, S>;
  /** Domain event to stored type and payload. */
  toNewEvent(event: E): { type: string; data: unknown; schemaVersion?: number };
  /** Stored event back to the domain event. */
  fromRecorded(event: RecordedEvent): E;
  /** Defaults to crypto.randomUUID. */
  newEventId?(): string;
  /** Re-decisions after a concurrent append by another writer; defaults to 5, then the conflict is thrown. */
  readonly maxRetries?: number;
}

/** An aggregate as this process knows it. */
export interface CachedAggregate<S> {
  readonly state: S;
  /** Version of the last event folded into `state` (0n: the stream does not exist). */
  readonly version: bigint;
}

export interface CachedExecution<E, S> extends CachedAggregate<S> {
  /** The events decided and appended (empty when the command changed nothing). */
  readonly events: E[];
  /** The append's result; undefined when nothing was appended. */
  readonly result: AppendResult | undefined;
}

/** A command waiting for its stream's turn. */
interface Pending<C, E, S> {
  readonly command: C;
  readonly metadata: EventMetadataInput;
  resolve(outcome: CachedExecution<E, S>): void;
  reject(error: unknown): void;
}

/** Most commands decided together and appended in one round trip. */
const MAX_BATCH = 64;

/**
 * The write side of hot aggregates, kept in memory (DESIGN.md "Performance mindset").
 *
 * `executeCommand` reads a stream for every command; an aggregate that takes many commands (an
 * agent's slots, a session's workflow) would be re-read over and over. This cache folds each stream
 * once, decides on the state in memory and appends with the version it knows as the expected
 * version. Correctness still rests on the store: when another writer (another replica) appended in
 * between, the append fails with a version conflict, the cache reads only the missing events and
 * decides again.
 *
 * Commands for one stream never race each other in this process: while an append is in flight,
 * the commands that arrive queue up, and the next round decides them one after another on the
 * state in memory and appends all their events at once (group commit per stream). A command
 * rejected by the decider is rejected alone; the others of its round go on without it.
 *
 * `observe` applies events seen on the global log, so a replica also follows writes made by
 * others; together with a read of the log from position 0 it rebuilds every aggregate at start.
 */
export class AggregateCache<C, E extends { readonly type: string }, S> {
  private readonly aggregates = new Map<string, CachedAggregate<S>>();
  private readonly queues = new Map<string, Pending<C, E, S>[]>();
  private readonly newEventId: () => string;
  private readonly maxRetries: number;

  constructor(
    private readonly store: EventStore,
    private readonly options: AggregateCacheOptions<C, E, S>,
  ) {
    this.newEventId = options.newEventId ?? randomUUID;
    this.maxRetries = options.maxRetries ?? 5;
  }

  /**
   * Decides `command` on the stream's current state and appends the events. Domain errors thrown
   * by `decide` propagate unchanged and leave the cached state as it was.
   */
  execute(streamId: string, command: C, metadata?: EventMetadataInput): Promise<CachedExecution<E, S>> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(streamId);
      const pending = { command, metadata: metadata ?? {}, resolve, reject };
      if (queue) {
        queue.push(pending);
        return;
      }
      this.queues.set(streamId, [pending]);
      void this.drain(streamId);
    });
  }

  /** The stream's state, read from the store the first time it is asked for. */
  get(streamId: string): Promise<CachedAggregate<S>> {
    return this.load(streamId);
  }

  /** The stream's state if this process holds it, without any I/O. */
  peek(streamId: string): CachedAggregate<S> | undefined {
    return this.aggregates.get(streamId);
  }

  /**
   * Folds an event read from the global log into the cache. Events already folded are ignored; a
   * stream's first event starts a new entry; a gap (an event missed) drops the entry so the next
   * use reads the stream again. Returns the entry after the event, or undefined when none is held.
   */
  observe(recorded: RecordedEvent): CachedAggregate<S> | undefined {
    const current = this.aggregates.get(recorded.streamId);
    const version = current?.version ?? 0n;
    if (recorded.streamVersion <= version) return current;
    if (recorded.streamVersion !== version + 1n) {
      this.aggregates.delete(recorded.streamId);
      return undefined;
    }
    const state = this.options.decider.evolve(
      current?.state ?? this.options.decider.initialState(),
      this.options.fromRecorded(recorded),
    );
    const next = { state, version: recorded.streamVersion };
    this.aggregates.set(recorded.streamId, next);
    return next;
  }

  /** Forgets a stream (a finished aggregate nobody will ask for again). */
  evict(streamId: string): void {
    this.aggregates.delete(streamId);
  }

  /** Every aggregate held, by stream id. */
  entries(): IterableIterator<[string, CachedAggregate<S>]> {
    return this.aggregates.entries();
  }

  get size(): number {
    return this.aggregates.size;
  }

  /** Runs rounds for the stream until its queue is empty. */
  private async drain(streamId: string): Promise<void> {
    const queue = this.queues.get(streamId);
    if (!queue) return;
    try {
      while (queue.length > 0) await this.round(streamId, queue.splice(0, MAX_BATCH));
    } catch (error) {
      // round() settles every command itself; this only keeps a bug from stalling the stream.
      for (const p of queue.splice(0)) p.reject(error);
    } finally {
      this.queues.delete(streamId);
    }
  }

  /** Decides `batch` in order on the current state and appends every event in one append. */
  private async round(streamId: string, batch: readonly Pending<C, E, S>[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let current: CachedAggregate<S>;
      try {
        current = await this.load(streamId);
      } catch (error) {
        for (const p of batch) p.reject(error);
        return;
      }
      const decided = this.decideAll(current, batch);
      const newEvents = decided.flatMap((d) => d.newEvents);
      if (newEvents.length === 0) {
        decided.forEach((d, i) => settle(batch[i]!, d, undefined));
        return;
      }
      let result: AppendResult;
      try {
        result = await this.store.append(streamId, current.version, newEvents);
      } catch (error) {
        if (isWrongExpectedVersion(error) && attempt < this.maxRetries) {
          await this.catchUp(streamId).catch(() => undefined);
          continue;
        }
        decided.forEach((d, i) =>
          d.error !== undefined ? batch[i]!.reject(d.error) : batch[i]!.reject(error),
        );
        return;
      }
      const last = decided[decided.length - 1]!;
      const next = { state: last.state, version: result.nextExpectedVersion };
      // An observer may already have folded these events from the global log; either way the
      // state at `nextExpectedVersion` is the same.
      const latest = this.aggregates.get(streamId);
      if (!latest || latest.version <= next.version) this.aggregates.set(streamId, next);
      let offset = 0;
      decided.forEach((d, i) => {
        settle(
          batch[i]!,
          d,
          d.events.length > 0 ? slice(result, current.version, offset, d.events.length) : undefined,
        );
        offset += d.events.length;
      });
      return;
    }
  }

  /** Each command decided on the state left by the ones before it (a rejected one leaves none). */
  private decideAll(current: CachedAggregate<S>, batch: readonly Pending<C, E, S>[]): Decided<E, S>[] {
    const { decider } = this.options;
    let state = current.state;
    let version = current.version;
    return batch.map((p) => {
      try {
        const events = [...decider.decide(p.command, state)];
        state = events.reduce(decider.evolve, state);
        version += BigInt(events.length);
        return { events, newEvents: this.toNewEvents(events, p.metadata, p.command), state, version };
      } catch (error) {
        return { events: [], newEvents: [], state, version, error };
      }
    });
  }

  private toNewEvents(events: readonly E[], metadata: EventMetadataInput, command: C): NewEvent[] {
    const { command: recordedCommand, ...rest } = metadata;
    const decision = events.length > 0 ? recordDecision(command) : undefined;
    return events.map((event, i): NewEvent => {
      const { type, data, schemaVersion } = this.options.toNewEvent(event);
      return {
        eventId: this.newEventId(),
        type,
        data,
        ...(schemaVersion !== undefined ? { schemaVersion } : {}),
        metadata:
          i === 0 ? { ...rest, ...(recordedCommand ? { command: recordedCommand } : {}), decision } : rest,
      };
    });
  }

  private async load(streamId: string): Promise<CachedAggregate<S>> {
    return this.aggregates.get(streamId) ?? this.catchUp(streamId);
  }

  /** Reads the events after the cached version (all of them when nothing is cached). */
  private async catchUp(streamId: string): Promise<CachedAggregate<S>> {
    const { decider, fromRecorded } = this.options;
    const cached = this.aggregates.get(streamId);
    let state = cached?.state ?? decider.initialState();
    let version = cached?.version ?? 0n;
    for (const recorded of await this.store.readStream(streamId, { fromVersion: version + 1n })) {
      state = decider.evolve(state, fromRecorded(recorded));
      version = recorded.streamVersion;
    }
    // Observed events may have moved the entry on while the read was in flight.
    const latest = this.aggregates.get(streamId);
    if (latest && latest.version > version) return latest;
    const next = { state, version };
    this.aggregates.set(streamId, next);
    return next;
  }
}

/** One command of a round, decided. */
interface Decided<E, S> {
  readonly events: E[];
  readonly newEvents: NewEvent[];
  /** State and version after this command's events (those before it included). */
  readonly state: S;
  readonly version: bigint;
  /** Set when the decider rejected the command. */
  readonly error?: unknown;
}

function settle<E, S>(p: Pending<unknown, E, S>, d: Decided<E, S>, result: AppendResult | undefined): void {
  if (d.error !== undefined) p.reject(d.error);
  else p.resolve({ state: d.state, version: d.version, events: d.events, result });
}

/** The part of a round's append result that belongs to one command's events. */
function slice(result: AppendResult, base: bigint, offset: number, count: number): AppendResult {
  const positions = result.positions.slice(offset, offset + count);
  return {
    positions,
    lastGlobalPosition: positions[positions.length - 1] ?? result.lastGlobalPosition,
    nextExpectedVersion: base + BigInt(offset + count),
  };
}
