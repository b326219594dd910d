import { toJson } from '@bufbuild/protobuf';
import { ListValueSchema, timestampDate, type ListValue } from '@bufbuild/protobuf/wkt';
import type { ReplayEvent, ReplayState, SessionEventPage, VerifyReport } from '@orch/contracts';
import { rfc3339 } from '@orch/domain-kit';
import { toExportLine, type ReplayEvent as RecordedEvent } from '@orch/replay';
import type {
  EventPageResponse,
  ReplayEventResponse,
  ReplayResponse,
  VerifyResponse,
} from './replay.schemas';

/**
 * A recorded event as the API shows it. Positions and versions are decimal strings (64-bit
 * integers exceed JSON numbers); the keys come in this order on every line of an export.
 */
export function toEventResponse(e: ReplayEvent): ReplayEventResponse {
  return {
    position: e.position.toString(),
    eventId: e.eventId,
    type: e.type,
    source: e.source,
    streamId: e.streamId,
    streamVersion: e.streamVersion.toString(),
    occurredAt: e.occurredAt ? rfc3339(timestampDate(e.occurredAt)) : null,
    schemaVersion: e.schemaVersion,
    data: e.data ?? {},
    metadata: e.metadata ?? {},
  };
}

/** The event as @orch/replay reads and writes recorded events. */
export function toRecordedEvent(e: ReplayEvent): RecordedEvent {
  if (!e.occurredAt) throw new Error(`the event at position ${e.position} came without occurredAt`);
  return {
    position: e.position,
    eventId: e.eventId,
    type: e.type,
    source: e.source,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    occurredAt: timestampDate(e.occurredAt),
    data: e.data ?? {},
    metadata: e.metadata ?? {},
    schemaVersion: e.schemaVersion,
  };
}

/**
 * One line of a session's NDJSON export (without its line break), written by @orch/replay's
 * `toExportLine`, the format `orchestrator import` reads back. Its keys and values are those of
 * the events page's items.
 */
export const exportLineOf = (e: ReplayEvent): string => toExportLine(toRecordedEvent(e));

/** A page of history; `nextFrom` is null on the last page (the service says 0). */
export function toEventPageResponse(page: SessionEventPage): EventPageResponse {
  return {
    items: page.items.map(toEventResponse),
    nextFrom: page.nextFrom === 0n ? null : page.nextFrom.toString(),
    lastPosition: page.lastPosition.toString(),
  };
}

export function toReplayResponse(state: ReplayState): ReplayResponse {
  return {
    at: state.at.toString(),
    events: state.events,
    state: state.state ?? {},
    unknownTypes: [...state.unknownTypes],
  };
}

type RecordedEvents = VerifyResponse['divergences'][number]['expected'];

const eventsOf = (list: ListValue | undefined): RecordedEvents =>
  list ? (toJson(ListValueSchema, list) as RecordedEvents) : [];

export function toVerifyResponse(report: VerifyReport): VerifyResponse {
  return {
    divergences: report.divergences.map((d) => ({
      position: d.position.toString(),
      streamId: d.streamId,
      command: d.command,
      expected: eventsOf(d.expected),
      actual: eventsOf(d.actual),
      reason: d.reason,
    })),
    checked: report.checked,
    skipped: report.skipped,
    unknownTypes: [...report.unknownTypes],
  };
}
