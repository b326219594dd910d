import type { EventStore, RecordedEvent } from '@orch/eventstore';
import type { ReplayEvent } from '@orch/replay';

/** Events per read of a session's history or of a stream. */
export const READ_PAGE = 5_000;

/** A recorded event as replay reads it. */
export const toReplayEvent = (r: RecordedEvent): ReplayEvent => ({
  position: r.globalPosition,
  eventId: r.eventId,
  type: r.type,
  source: r.source,
  streamId: r.streamId,
  streamVersion: r.streamVersion,
  occurredAt: r.occurredAt,
  data: r.data,
  metadata: r.metadata as Readonly<Record<string, unknown>>,
  schemaVersion: r.schemaVersion,
});

/** A session's whole history across services, in global order (empty for an unknown session). */
export async function readSession(store: EventStore, sessionId: string): Promise<ReplayEvent[]> {
  const events: ReplayEvent[] = [];
  let from = 0n;
  for (;;) {
    const page = await store.readByCorrelation(sessionId, { fromPosition: from, limit: READ_PAGE });
    for (const r of page) events.push(toReplayEvent(r));
    if (page.length < READ_PAGE) return events;
    from = page[page.length - 1]!.globalPosition;
  }
}

/** One stream from its first event up to global position `at` (inclusive), in version order. */
export async function readStreamUpTo(
  store: EventStore,
  streamId: string,
  at: bigint,
): Promise<ReplayEvent[]> {
  const events: ReplayEvent[] = [];
  let fromVersion = 1n;
  for (;;) {
    const page = await store.readStream(streamId, { fromVersion, limit: READ_PAGE });
    for (const r of page) {
      // Within a stream, versions follow global positions: nothing after this one is at or before `at`.
      if (r.globalPosition > at) return events;
      events.push(toReplayEvent(r));
    }
    if (page.length < READ_PAGE) return events;
    fromVersion = page[page.length - 1]!.streamVersion + 1n;
  }
}

/** Several streams, each up to `at` (see readStreamUpTo), keyed in the order given. */
export async function readStreamsUpTo(
  store: EventStore,
  streamIds: readonly string[],
  at: bigint,
): Promise<Map<string, ReplayEvent[]>> {
  const read = await Promise.all(streamIds.map((id) => readStreamUpTo(store, id, at)));
  return new Map(streamIds.map((id, i) => [id, read[i]!]));
}

/** The distinct streams of `events`, in the order they first appear. */
export const streamsOf = (events: readonly ReplayEvent[]): string[] => [
  ...new Set(events.map((e) => e.streamId)),
];

/**
 * The last global position of sessions recently asked for, so paging through a long history does
 * not read the rest of it for every page: a session's end is found by reading forward from the
 * furthest position known of it (only what was appended since). Bounded: the least recently used
 * sessions are forgotten first.
 */
export class SessionEnds {
  private readonly known = new Map<string, bigint>();

  constructor(
    private readonly store: EventStore,
    private readonly capacity = 1_000,
  ) {}

  /** The session's last position, given a position of one of its events (0n when none is known). */
  async last(sessionId: string, atLeast: bigint): Promise<bigint> {
    const known = this.known.get(sessionId) ?? 0n;
    let last = known > atLeast ? known : atLeast;
    for (;;) {
      const page = await this.store.readByCorrelation(sessionId, { fromPosition: last, limit: READ_PAGE });
      if (page.length > 0) last = page[page.length - 1]!.globalPosition;
      if (page.length < READ_PAGE) break;
    }
    this.remember(sessionId, last);
    return last;
  }

  /** Records a position of the session's (its last, when the caller read the whole history). */
  remember(sessionId: string, position: bigint): void {
    if (position <= 0n) return;
    const known = this.known.get(sessionId) ?? 0n;
    this.known.delete(sessionId);
    this.known.set(sessionId, known > position ? known : position);
    if (this.known.size > this.capacity) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
  }
}
