import { describe, expect, it } from '@jest/globals';
import { isConnectionError, isEventIdConflict } from './pg-errors';

const pgError = (code: string, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`database error ${code}`), { code, ...extra });

describe('isConnectionError', () => {
  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    ],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a terminated connection', new Error('Connection terminated unexpectedly')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['admin shutdown (57P01)', pgError('57P01')],
    ['cannot connect now (57P03)', pgError('57P03')],
    ['too many connections (53300)', pgError('53300')],
    ['a connection failure (08006)', pgError('08006')],
    ['a serialization failure (40001)', pgError('40001')],
    [
      'an aggregate of refusals',
      new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], 'x'),
    ],
  ])('is true for %s', (_what, error) => expect(isConnectionError(error)).toBe(true));

  it.each([
    ['a unique violation', pgError('23505')],
    ['a syntax error', pgError('42601')],
    ['an undefined table', pgError('42P01')],
    ['a plain error', new Error('boom')],
    ['a non-error', 'Connection terminated'],
  ])('is false for %s', (_what, error) => expect(isConnectionError(error)).toBe(false));
});

describe('isEventIdConflict', () => {
  it('recognises a unique violation on the event id constraint only', () => {
    expect(isEventIdConflict(pgError('23505', { constraint: 'events_event_id_key' }))).toBe(true);
    expect(isEventIdConflict(pgError('23505', { constraint: 'events_stream_version_key' }))).toBe(false);
    expect(isEventIdConflict(pgError('23503', { constraint: 'events_event_id_key' }))).toBe(false);
  });
});
