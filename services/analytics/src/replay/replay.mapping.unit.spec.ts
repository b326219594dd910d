import { describe, expect, it } from '@jest/globals';
import { fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import { ListValueSchema, timestampDate } from '@bufbuild/protobuf/wkt';
import { ReplayEventSchema, VerifyReportSchema } from '@orch/contracts';
import type { ReplayEvent } from '@orch/replay';
import { toDivergenceMessage, toReplayEventMessage, toVerifyReportMessage } from './replay.mapping';
import { checkSessionId, pageLimit, replayPosition } from './requests';

const event: ReplayEvent = {
  position: 9_007_199_254_740_993n,
  eventId: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  type: 'TaskReady',
  source: 'distribution',
  streamId: 'workflow-s',
  streamVersion: 3n,
  occurredAt: new Date('2026-11-21T10:00:00.125Z'),
  data: { taskId: 't', readyAt: '2026-11-21T10:00:00Z' },
  metadata: {
    correlationId: 's',
    decision: { type: 'MakeReady', at: { $date: '2026-11-21T10:00:00.000Z' } },
  },
  schemaVersion: 1,
};

describe('replay mappings', () => {
  it('shows a recorded event with its positions, time, data and metadata', () => {
    const m = fromBinary(ReplayEventSchema, toBinary(ReplayEventSchema, toReplayEventMessage(event)));
    expect(m).toMatchObject({
      position: event.position,
      eventId: event.eventId,
      type: 'TaskReady',
      source: 'distribution',
      streamId: 'workflow-s',
      streamVersion: 3n,
      schemaVersion: 1,
      data: event.data,
      metadata: event.metadata,
    });
    expect(timestampDate(m.occurredAt!)).toEqual(event.occurredAt);
  });

  it('maps a divergence with the events recorded and decided as lists', () => {
    const d = toDivergenceMessage({
      position: 7n,
      streamId: 'workflow-s',
      command: 'CompleteTask',
      expected: [{ type: 'TaskSucceeded', data: { taskId: 't' } }],
      actual: [],
      reason: "today's decider emits nothing where TaskSucceeded was recorded",
    });
    expect(d).toMatchObject({ position: 7n, streamId: 'workflow-s', command: 'CompleteTask' });
    expect(toJson(ListValueSchema, d.expected!)).toEqual([{ type: 'TaskSucceeded', data: { taskId: 't' } }]);
    expect(toJson(ListValueSchema, d.actual!)).toEqual([]);
    const report = toVerifyReportMessage({ divergences: [], checked: 3, skipped: 1, unknownTypes: ['Odd'] });
    expect(fromBinary(VerifyReportSchema, toBinary(VerifyReportSchema, report))).toMatchObject({
      checked: 3,
      skipped: 1,
      unknownTypes: ['Odd'],
    });
  });

  it('pages 500 events by default and at most 5,000', () => {
    expect(pageLimit(0)).toBe(500);
    expect(pageLimit(5_000)).toBe(5_000);
    expect(() => pageLimit(5_001)).toThrow(
      expect.objectContaining({ errors: [expect.objectContaining({ path: 'limit' })] }),
    );
  });

  it('replays to the last position for 0, and refuses one beyond it naming the last', () => {
    expect(replayPosition(0n, 40n)).toBe(40n);
    expect(replayPosition(12n, 40n)).toBe(12n);
    expect(() => replayPosition(41n, 40n)).toThrow(
      expect.objectContaining({
        errors: [expect.objectContaining({ path: 'at', message: expect.stringContaining('40') })],
      }),
    );
  });

  it('takes UUIDs as session ids only', () => {
    expect(checkSessionId(event.eventId)).toBe(event.eventId);
    expect(() => checkSessionId('s-1')).toThrow(expect.objectContaining({ code: 'validation' }));
  });
});
