import type { ReplayEvent } from './replay-event';
import { kindOf, type StreamKind } from './stream-kinds';

/** How an event no kind reads is reported: its type, with its schema version when that is not 1. */
export const unknownLabel = (e: ReplayEvent): string =>
  e.schemaVersion === 1 ? e.type : `${e.type} (schema version ${e.schemaVersion})`;

/** One stream being folded: its kind (undefined when no kind matches it) and its state so far. */
export interface StreamFold {
  readonly streamId: string;
  readonly kind: StreamKind | undefined;
  state: unknown;
  /** Events folded into `state`. */
  folded: number;
}

/**
 * The streams of a replay, each folded with its kind's evolve. Events no kind reads are skipped
 * and their labels collected; nothing here throws on an unknown event.
 */
export class StreamFolds {
  readonly streams = new Map<string, StreamFold>();
  readonly unknownTypes = new Set<string>();

  constructor(private readonly kinds: readonly StreamKind[]) {}

  /** The stream's fold, started from its kind's initial state the first time it is asked for. */
  stream(streamId: string): StreamFold {
    let s = this.streams.get(streamId);
    if (!s) {
      const kind = kindOf(this.kinds, streamId);
      s = { streamId, kind, state: kind?.decider.initialState(), folded: 0 };
      this.streams.set(streamId, s);
    }
    return s;
  }

  /** The event as its stream kind's domain event, or undefined (recorded as unknown). */
  read(s: StreamFold, e: ReplayEvent): { type: string; data: unknown } | undefined {
    const event = s.kind?.read(e.type, e.data, e.schemaVersion);
    if (!event) this.unknownTypes.add(unknownLabel(e));
    return event;
  }

  /** Folds one event into its stream. */
  apply(e: ReplayEvent): void {
    const s = this.stream(e.streamId);
    const event = this.read(s, e);
    if (event) this.evolve(s, event);
  }

  evolve(s: StreamFold, event: { type: string; data: unknown }): void {
    s.state = s.kind!.decider.evolve(s.state, event);
    s.folded++;
  }

  /** The unknown labels, sorted. */
  unknown(): string[] {
    return [...this.unknownTypes].sort();
  }
}
