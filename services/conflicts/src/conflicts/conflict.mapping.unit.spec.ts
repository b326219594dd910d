import { create, toJson } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  ConflictDetectedSchema,
  ConflictResolutionSchema,
  ConflictResolvedSchema,
  protoRegistry,
} from '@orch/contracts';
import type { RecordedEvent } from '@orch/eventstore';
import { evolveConflict, type DetectedConflict } from './conflict-records';
import { toConflictEvent, toConflictView, toResolutionAccepted } from './conflict.mapping';

const stored = (type: string, data: unknown): RecordedEvent => ({
  eventId: 'e1',
  type,
  schemaVersion: 1,
  streamId: 'resources-allocator',
  streamVersion: 1n,
  globalPosition: 1n,
  occurredAt: new Date('2025-03-01T12:00:00Z'),
  source: 'resources',
  data,
  metadata: {},
});

const detectedJson = (at?: Date) =>
  toJson(
    ConflictDetectedSchema,
    create(ConflictDetectedSchema, {
      conflictId: 'c-1',
      kind: 'lock',
      resource: 'repo:acme/api',
      allocationId: 't-2#1',
      parties: [
        { taskId: 't-2', attempt: 1, priority: 5, role: 'waiter' },
        { taskId: 't-1', attempt: 3, priority: -2, role: 'holder' },
      ],
      policy: 'manual',
      since: timestampFromDate(new Date('2025-03-01T09:59:00.250Z')),
      ...(at ? { at: timestampFromDate(at) } : {}),
    }),
    { registry: protoRegistry, alwaysEmitImplicit: true },
  );

describe('toConflictEvent', () => {
  it('reads ConflictDetected in the protobuf JSON mapping, ignoring fields it does not know', () => {
    const data = { ...(detectedJson(new Date('2025-03-01T10:00:00Z')) as object), addedLater: 1 };
    expect(toConflictEvent(stored('ConflictDetected', data))).toEqual({
      type: 'ConflictDetected',
      conflictId: 'c-1',
      kind: 'lock',
      resource: 'repo:acme/api',
      allocationId: 't-2#1',
      parties: [
        { taskId: 't-2', attempt: 1, priority: 5, role: 'waiter' },
        { taskId: 't-1', attempt: 3, priority: -2, role: 'holder' },
      ],
      policy: 'manual',
      since: new Date('2025-03-01T09:59:00.250Z'),
      detectedAt: new Date('2025-03-01T10:00:00Z'),
    });
  });

  it('dates an event without its time by when it was stored', () => {
    expect(toConflictEvent(stored('ConflictDetected', detectedJson()))).toMatchObject({
      detectedAt: new Date('2025-03-01T12:00:00Z'),
    });
  });

  it('reads ConflictResolved', () => {
    const data = toJson(
      ConflictResolvedSchema,
      create(ConflictResolvedSchema, {
        conflictId: 'c-1',
        resolution: 'aborted',
        strategy: 'abort',
        reason: 'an operator aborted t-2',
        at: timestampFromDate(new Date('2025-03-01T10:01:00Z')),
      }),
      { registry: protoRegistry },
    );
    expect(toConflictEvent(stored('ConflictResolved', data))).toEqual({
      type: 'ConflictResolved',
      conflictId: 'c-1',
      resolution: 'aborted',
      winner: '',
      strategy: 'abort',
      reason: 'an operator aborted t-2',
      resolvedAt: new Date('2025-03-01T10:01:00Z'),
    });
  });

  it('refuses events that name no conflict, and other types', () => {
    expect(() => toConflictEvent(stored('ConflictResolved', { resolution: 'granted' }))).toThrow(
      'without a conflictId',
    );
    expect(() => toConflictEvent(stored('PoolDefined', {}))).toThrow('not a conflict event');
  });
});

describe('toConflictView', () => {
  const open = evolveConflict(
    undefined,
    toConflictEvent(stored('ConflictDetected', detectedJson(new Date('2025-03-01T10:00:00Z')))),
  ) as DetectedConflict;

  it('shows an open conflict with no resolution', () => {
    const view = toConflictView(open);
    expect(view).toMatchObject({ conflictId: 'c-1', status: 'open', resolution: '', winner: '', reason: '' });
    expect(view.parties.map((p) => p.taskId)).toEqual(['t-2', 't-1']);
    expect(timestampDate(view.detectedAt!)).toEqual(new Date('2025-03-01T10:00:00Z'));
    expect(timestampDate(view.since!)).toEqual(new Date('2025-03-01T09:59:00.250Z'));
    expect(view.resolvedAt).toBeUndefined();
  });

  it('shows how a resolved conflict ended, from the allocator reply until its event', () => {
    const reply = create(ConflictResolutionSchema, {
      conflictId: 'c-1',
      resolution: 'preempted',
      winner: 't-2',
      strategy: 'grant',
    });
    const at = new Date('2025-03-01T10:02:00Z');
    const resolved = evolveConflict(open, toResolutionAccepted('c-1', reply, at)) as DetectedConflict;
    const view = toConflictView(resolved);
    expect(view).toMatchObject({
      status: 'resolved',
      resolution: 'preempted',
      winner: 't-2',
      strategy: 'grant',
      reason: 'an operator resolved it with strategy grant in favour of t-2',
    });
    expect(timestampDate(view.resolvedAt!)).toEqual(at);
  });
});
