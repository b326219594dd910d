import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  DivergenceSchema,
  ReplayEventSchema,
  ReplayStateSchema,
  VerifyReportSchema,
  type Divergence as DivergenceMessage,
  type ReplayEvent as ReplayEventMessage,
  type ReplayState,
  type VerifyReport as VerifyReportMessage,
} from '@orch/contracts';
import type { Divergence, ReplayEvent, SessionReplay, VerifyReport } from '@orch/replay';
import { toListValue, toStruct } from '../views/json';

/** A recorded event as the replay API shows it, metadata included. */
export const toReplayEventMessage = (e: ReplayEvent): ReplayEventMessage =>
  create(ReplayEventSchema, {
    position: e.position,
    eventId: e.eventId,
    type: e.type,
    source: e.source,
    streamId: e.streamId,
    streamVersion: e.streamVersion,
    occurredAt: timestampFromDate(e.occurredAt),
    data: toStruct(e.data),
    metadata: toStruct(e.metadata),
    schemaVersion: e.schemaVersion,
  });

/** The state at a position: the whole replay document as the state, its counts beside it. */
export const toReplayState = (at: bigint, replay: SessionReplay): ReplayState =>
  create(ReplayStateSchema, {
    at,
    events: replay.events,
    state: toStruct(replay),
    unknownTypes: [...replay.unknownTypes],
  });

export const toDivergenceMessage = (d: Divergence): DivergenceMessage =>
  create(DivergenceSchema, {
    position: d.position,
    streamId: d.streamId,
    command: d.command,
    expected: toListValue(d.expected),
    actual: toListValue(d.actual),
    reason: d.reason,
  });

export const toVerifyReportMessage = (r: VerifyReport): VerifyReportMessage =>
  create(VerifyReportSchema, {
    divergences: r.divergences.map(toDivergenceMessage),
    checked: r.checked,
    skipped: r.skipped,
    unknownTypes: [...r.unknownTypes],
  });
