import type { AnalyticsEvent } from '@orch/analytics';
import type { EventStore, RecordedEvent } from '@orch/eventstore';

/**
 * The store with its global log starting after `from`: reads and subscriptions asked for an
 * earlier position start at `from` instead. A LogFollower given it catches up from a checkpoint
 * rather than from the start of the log; everything else passes through unchanged.
 */
export function logFrom(store: EventStore, from: bigint): EventStore {
  const at = (position: bigint): bigint => (position < from ? from : position);
  return {
    append: (streamId, expected, events) => store.append(streamId, expected, events),
    readStream: (streamId, options) => store.readStream(streamId, options),
    streamVersion: (streamId) => store.streamVersion(streamId),
    readAll: (position, limit, options) => store.readAll(at(position), limit, options),
    subscribeAll: (position, options) => store.subscribeAll(at(position), options),
    readByCorrelation: (correlationId, options) => store.readByCorrelation(correlationId, options),
    headPosition: () => store.headPosition(),
    saveSnapshot: (snapshot) => store.saveSnapshot(snapshot),
    loadSnapshot: (streamId) => store.loadSnapshot(streamId),
    close: () => store.close(),
  };
}

/** A recorded event as the analytics projection reads it. */
export const toAnalyticsEvent = (r: RecordedEvent): AnalyticsEvent => ({
  type: r.type,
  data: r.data,
  occurredAt: r.occurredAt,
  globalPosition: r.globalPosition,
  streamId: r.streamId,
  ...(r.metadata.correlationId ? { correlationId: r.metadata.correlationId } : {}),
});
