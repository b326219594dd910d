import { describe, expect, it } from '@jest/globals';
import { toBigint, toRecordedEvent, type EventRow } from './row-mapping';

describe('toBigint', () => {
  it('converts int8 text exactly, beyond 2^53', () => {
    expect(toBigint('9007199254740993')).toBe(9007199254740993n);
    expect(toBigint('9223372036854775807')).toBe(9223372036854775807n);
    expect(toBigint('0')).toBe(0n);
  });

  it('refuses anything that is not an exact integer', () => {
    expect(() => toBigint('1.5')).toThrow(RangeError);
    expect(() => toBigint('')).toThrow(RangeError);
    expect(() => toBigint(2 ** 53 + 2)).toThrow(RangeError);
  });
});

describe('toRecordedEvent', () => {
  const row: EventRow = {
    global_position: '9007199254740993',
    event_id: '6f1c2a4e-8b3d-4c5e-9f60-7a8b9c0d1e2f',
    stream_id: 'agent-1',
    stream_version: '12',
    type: 'AgentRegistered',
    schema_version: 2,
    source: 'coordination',
    data: { name: 'a' },
    metadata: { traceparent: 't' },
    correlation_id: 'session-1',
    causation_id: null,
    occurred_at: new Date(0),
  };

  it('maps a row, merging the indexed ids back into the metadata', () => {
    expect(toRecordedEvent(row)).toEqual({
      eventId: row.event_id,
      type: 'AgentRegistered',
      schemaVersion: 2,
      streamId: 'agent-1',
      streamVersion: 12n,
      globalPosition: 9007199254740993n,
      occurredAt: new Date(0),
      source: 'coordination',
      data: { name: 'a' },
      metadata: { traceparent: 't', correlationId: 'session-1' },
    });
  });
});
