import { create, fromJson } from '@bufbuild/protobuf';
import { ListValueSchema, timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  ReplayEventSchema,
  ReplayStateSchema,
  SessionEventPageSchema,
  VerifyReportSchema,
  type ReplayEvent,
} from '@orch/contracts';
import { parseExportLine } from '@orch/replay';
import {
  exportLineOf,
  toEventPageResponse,
  toEventResponse,
  toRecordedEvent,
  toReplayResponse,
  toVerifyResponse,
} from './replay.mapping';

const event = (overrides: Partial<ReplayEvent> = {}): ReplayEvent =>
  create(ReplayEventSchema, {
    position: 9_007_199_254_740_993n,
    eventId: '7d2c1f0e-1111-4222-8333-444455556666',
    type: 'TaskSubmitted',
    source: 'distribution',
    streamId: 'workflow-s1',
    streamVersion: 12n,
    occurredAt: timestampFromDate(new Date('2026-03-01T14:00:01.250Z')),
    data: { taskId: 't1', input: { nested: [1, 'two', null] } },
    metadata: { correlationId: 's1', causationId: 'c1', decision: { type: 'Submit' } },
    schemaVersion: 2,
    ...overrides,
  });

describe('toEventResponse', () => {
  it('shows positions and versions as exact decimal strings, the time as RFC 3339', () => {
    expect(toEventResponse(event())).toEqual({
      position: '9007199254740993',
      eventId: '7d2c1f0e-1111-4222-8333-444455556666',
      type: 'TaskSubmitted',
      source: 'distribution',
      streamId: 'workflow-s1',
      streamVersion: '12',
      occurredAt: '2026-03-01T14:00:01.250Z',
      schemaVersion: 2,
      data: { taskId: 't1', input: { nested: [1, 'two', null] } },
      metadata: { correlationId: 's1', causationId: 'c1', decision: { type: 'Submit' } },
    });
  });

  it('answers empty objects for missing data and metadata', () => {
    const shown = toEventResponse(create(ReplayEventSchema, { position: 1n, streamVersion: 1n }));
    expect(shown).toMatchObject({ data: {}, metadata: {}, occurredAt: null });
  });
});

describe('exportLineOf', () => {
  it('writes one line with the keys of the events page, in the documented order', () => {
    const line = exportLineOf(event());
    expect(line).not.toContain('\n');
    expect(Object.keys(JSON.parse(line) as object)).toEqual([
      'position',
      'eventId',
      'type',
      'source',
      'streamId',
      'streamVersion',
      'occurredAt',
      'schemaVersion',
      'data',
      'metadata',
    ]);
    expect(JSON.parse(line)).toEqual(toEventResponse(event()));
  });

  it('reads back (as `orchestrator import` does) as the same event', () => {
    const e = event();
    expect(parseExportLine(exportLineOf(e), 1)).toEqual(toRecordedEvent(e));
    expect(toRecordedEvent(e)).toMatchObject({
      position: 9_007_199_254_740_993n,
      streamVersion: 12n,
      occurredAt: new Date('2026-03-01T14:00:01.250Z'),
    });
  });

  it('refuses an event without its time rather than inventing one', () => {
    expect(() => exportLineOf(event({ occurredAt: undefined }))).toThrow(/occurredAt/);
  });
});

describe('toEventPageResponse', () => {
  it('gives the next position as a string, and null on the last page', () => {
    const page = (nextFrom: bigint) =>
      create(SessionEventPageSchema, { items: [event()], nextFrom, lastPosition: 9_007_199_254_741_001n });
    expect(toEventPageResponse(page(9_007_199_254_740_993n))).toMatchObject({
      nextFrom: '9007199254740993',
      lastPosition: '9007199254741001',
    });
    expect(toEventPageResponse(page(0n)).nextFrom).toBeNull();
    expect(toEventPageResponse(page(0n)).items).toEqual([toEventResponse(event())]);
  });
});

describe('toReplayResponse', () => {
  it('passes the folded state through with the position as a string', () => {
    const state = create(ReplayStateSchema, {
      at: 18_446_744_073_709_551_615n,
      events: 4,
      state: { session: { status: 'running' } },
      unknownTypes: ['Legacy'],
    });
    expect(toReplayResponse(state)).toEqual({
      at: '18446744073709551615',
      events: 4,
      state: { session: { status: 'running' } },
      unknownTypes: ['Legacy'],
    });
    expect(toReplayResponse(create(ReplayStateSchema, {})).state).toEqual({});
  });
});

describe('toVerifyResponse', () => {
  it('lists each divergence with the recorded and decided events as JSON', () => {
    const report = create(VerifyReportSchema, {
      divergences: [
        {
          position: 9_007_199_254_740_995n,
          streamId: 'workflow-s1',
          command: 'MarkReady',
          expected: fromJson(ListValueSchema, [{ type: 'TaskReady', data: { taskId: 't2' } }]),
          reason: 'differs',
        },
      ],
      checked: 5,
      skipped: 1,
      unknownTypes: [],
    });
    expect(toVerifyResponse(report)).toEqual({
      divergences: [
        {
          position: '9007199254740995',
          streamId: 'workflow-s1',
          command: 'MarkReady',
          expected: [{ type: 'TaskReady', data: { taskId: 't2' } }],
          actual: [],
          reason: 'differs',
        },
      ],
      checked: 5,
      skipped: 1,
      unknownTypes: [],
    });
  });
});
