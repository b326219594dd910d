import { randomUUID } from 'node:crypto';
import { recordDecision, type Decider } from '@orch/domain-kit';
import type { Logger } from 'pino';
import type { AppendResult, EventMetadataInput, EventStore, NewEvent, RecordedEvent } from './contract';
import { isWrongExpectedVersion } from './errors';

/** When to read from, and write, snapshots of the folded state. */
export interface SnapshotPolicy<S> {
  /** Version of the fold; a snapshot written by another version is ignored (and later replaced). */
  readonly schemaVersion: number;
  /** Save a snapshot once at least this many events were appended since the last one. */
  readonly every: number;
  /** State to JSON-compatible value; defaults to the state itself. */
  toSnapshot?(state: S): unknown;
  /** The inverse of `toSnapshot`; defaults to the stored value as is. */
  fromSnapshot?(stored: unknown): S;
}

export interface ExecuteCommandOptions<C, E extends { readonly type: string }, S> {
  readonly streamId: string;
  readonly decider: Decider<C, E, S>;
  readonly command: C;
  /** Stamped on every event; `command` only on the first (contract.ts EventMetadataInput). */
  readonly metadata?: EventMetadataInput;
  /** Domain event to stored type and payload; defaults to `{ type: e.type, data: e }`. */
  toNewEvent?(event: E): { type: string; data: unknown; schemaVersion?: number };
  /** Stored event back to the domain event; defaults to `{ ...data, type }`. */
  fromRecorded?(event: RecordedEvent): E;
  /** Defaults to crypto.randomUUID. */
  newEventId?(): string;
  /** Retries after a concurrent append to the stream; defaults to 3, then the conflict is thrown. */
  readonly maxRetries?: number;
  readonly snapshot?: SnapshotPolicy<S>;
  /** Where a failed snapshot save is reported (it never fails the command). */
  readonly logger?: Logger;
}

export interface ExecuteCommandResult<E, S> {
  /** The events decided and appended (empty when the command changed nothing). */
  readonly events: E[];
  /** The append's result; undefined when nothing was appended. */
  readonly result: AppendResult | undefined;
  /** The state after the events. */
  readonly state: S;
}

const defaultFromRecorded = <E>(event: RecordedEvent): E =>
  ({ ...(event.data as object), type: event.type }) as E;

/**
 * The write side of an aggregate in one function: read its stream (from a snapshot when one
 * fits), fold it with `evolve`, `decide`, append with the version read as the expected version.
 * A concurrent append to the same stream makes the append fail with WrongExpectedVersionError:
 * the command is then decided again on a fresh read, at most `maxRetries` times, so two replicas
 * racing on one aggregate never both win and neither decides on stale state. Domain errors thrown
 * by `decide` propagate unchanged.
 */
export async function executeCommand<C, E extends { readonly type: string }, S>(
  store: EventStore,
  options: ExecuteCommandOptions<C, E, S>,
): Promise<ExecuteCommandResult<E, S>> {
  const { streamId, decider, command, snapshot } = options;
  const toNewEvent =
    options.toNewEvent ??
    ((e: E): { type: string; data: unknown; schemaVersion?: number } => ({ type: e.type, data: e }));
  const fromRecorded = options.fromRecorded ?? defaultFromRecorded<E>;
  const newEventId = options.newEventId ?? randomUUID;
  const maxRetries = options.maxRetries ?? 3;
  const { command: recordedCommand, ...metadataRest } = options.metadata ?? {};

  for (let attempt = 0; ; attempt++) {
    const loaded = await load(store, streamId, decider, fromRecorded, snapshot);
    const events = [...decider.decide(command, loaded.state)];
    if (events.length === 0) return { events, result: undefined, state: loaded.state };

    const newEvents = events.map((event, i): NewEvent => {
      const { type, data, schemaVersion } = toNewEvent(event);
      const metadata =
        i === 0
          ? {
              ...metadataRest,
              ...(recordedCommand ? { command: recordedCommand } : {}),
              decision: recordDecision(command),
            }
          : metadataRest;
      return {
        eventId: newEventId(),
        type,
        data,
        ...(schemaVersion !== undefined ? { schemaVersion } : {}),
        metadata,
      };
    });
    let result: AppendResult;
    try {
      result = await store.append(streamId, loaded.version, newEvents);
    } catch (error) {
      if (isWrongExpectedVersion(error) && attempt < maxRetries) continue;
      throw error;
    }
    const state = events.reduce(decider.evolve, loaded.state);
    if (snapshot && result.nextExpectedVersion - loaded.snapshotVersion >= BigInt(snapshot.every)) {
      await store
        .saveSnapshot({
          streamId,
          version: result.nextExpectedVersion,
          schemaVersion: snapshot.schemaVersion,
          state: snapshot.toSnapshot ? snapshot.toSnapshot(state) : state,
        })
        .catch((err: unknown) =>
          options.logger?.warn(
            { err, streamId },
            'saving a snapshot failed; the next command reads the full stream',
          ),
        );
    }
    return { events, result, state };
  }
}

async function load<C, E, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
  fromRecorded: (event: RecordedEvent) => E,
  policy: SnapshotPolicy<S> | undefined,
): Promise<{ state: S; version: bigint; snapshotVersion: bigint }> {
  let state = decider.initialState();
  let version = 0n;
  if (policy) {
    const snap = await store.loadSnapshot(streamId);
    if (snap && snap.schemaVersion === policy.schemaVersion) {
      state = policy.fromSnapshot ? policy.fromSnapshot(snap.state) : (snap.state as S);
      version = snap.version;
    }
  }
  const snapshotVersion = version;
  for (const recorded of await store.readStream(streamId, { fromVersion: version + 1n })) {
    state = decider.evolve(state, fromRecorded(recorded));
    version = recorded.streamVersion;
  }
  return { state, version, snapshotVersion };
}
