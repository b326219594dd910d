import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import {
  ConflictDetectedSchema,
  ConflictResolvedSchema,
  ConflictViewSchema,
  protoRegistry,
  type ConflictResolution,
  type ConflictView,
} from '@orch/contracts';
import type { RecordedEvent } from '@orch/eventstore';
import type { ConflictEvent, DetectedConflict } from './conflict-records';

/** The allocator's events the desk folds. */
export const CONFLICT_EVENT_TYPES = ['ConflictDetected', 'ConflictResolved'] as const;

const read = { registry: protoRegistry, ignoreUnknownFields: true };
const dateOf = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);

/**
 * The fold's event for a stored ConflictDetected / ConflictResolved (data in the protobuf JSON
 * mapping). An event without its `at` is dated by when it was stored.
 * @throws Error when the data is not the message, or names no conflict
 */
export function toConflictEvent(recorded: RecordedEvent): ConflictEvent {
  const data = recorded.data as JsonValue;
  switch (recorded.type) {
    case 'ConflictDetected': {
      const m = fromJson(ConflictDetectedSchema, data, read);
      if (m.conflictId === '') throw new Error('ConflictDetected without a conflictId');
      return {
        type: 'ConflictDetected',
        conflictId: m.conflictId,
        kind: m.kind,
        resource: m.resource,
        allocationId: m.allocationId,
        parties: m.parties.map((p) => ({
          taskId: p.taskId,
          attempt: p.attempt,
          priority: p.priority,
          role: p.role,
        })),
        policy: m.policy,
        since: dateOf(m.since),
        detectedAt: dateOf(m.at) ?? recorded.occurredAt,
      };
    }
    case 'ConflictResolved': {
      const m = fromJson(ConflictResolvedSchema, data, read);
      if (m.conflictId === '') throw new Error('ConflictResolved without a conflictId');
      return {
        type: 'ConflictResolved',
        conflictId: m.conflictId,
        resolution: m.resolution,
        winner: m.winner,
        strategy: m.strategy,
        reason: m.reason,
        resolvedAt: dateOf(m.at) ?? recorded.occurredAt,
      };
    }
    default:
      throw new Error(`${recorded.type} is not a conflict event`);
  }
}

/**
 * The fold's event for the allocator's reply to an operator's resolution, received at `at`. The
 * reply gives no reason: the sentence here stands until the ConflictResolved event replaces it.
 */
export function toResolutionAccepted(conflictId: string, reply: ConflictResolution, at: Date): ConflictEvent {
  const winner = reply.winner === '' ? '' : ` in favour of ${reply.winner}`;
  return {
    type: 'ResolutionAccepted',
    conflictId,
    resolution: reply.resolution,
    winner: reply.winner,
    strategy: reply.strategy,
    reason: `an operator resolved it with strategy ${reply.strategy || 'unknown'}${winner}`,
    resolvedAt: at,
  };
}

/** A listed conflict on the wire (ConflictView in conflicts.proto). */
export function toConflictView(record: DetectedConflict): ConflictView {
  const d = record.detection;
  const r = record.status === 'resolved' ? record.resolution : undefined;
  return create(ConflictViewSchema, {
    conflictId: record.conflictId,
    kind: d.kind,
    resource: d.resource,
    allocationId: d.allocationId,
    parties: d.parties.map((p) => ({ ...p })),
    policy: d.policy,
    status: record.status,
    resolution: r?.resolution ?? '',
    winner: r?.winner ?? '',
    strategy: r?.strategy ?? '',
    reason: r?.reason ?? '',
    ...(d.since ? { since: timestampFromDate(d.since) } : {}),
    detectedAt: timestampFromDate(d.detectedAt),
    ...(r ? { resolvedAt: timestampFromDate(r.resolvedAt) } : {}),
  });
}
