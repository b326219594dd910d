import { describe, expect, it } from '@jest/globals';
import type { NewEvent } from './contract';
import { InvalidAppendError } from './errors';
import { isUuid, prepareAppend } from './validation';

const ID = '6f1c2a4e-8b3d-4c5e-9f60-7a8b9c0d1e2f';
const event = (extra: Partial<NewEvent> = {}): NewEvent => ({
  eventId: ID,
  type: 'Happened',
  data: {},
  ...extra,
});

const refusal = (fn: () => unknown): InvalidAppendError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAppendError);
    return error as InvalidAppendError;
  }
  throw new Error('expected InvalidAppendError');
};

describe('isUuid', () => {
  it.each([
    ID,
    ID.toUpperCase(),
    '00000000-0000-0000-0000-000000000000',
    '018f3c6e-7d2a-7b1c-9e4f-0a1b2c3d4e5f',
    'c232ab00-9414-11ec-b3c8-9f6bdeced846',
  ])('accepts %s', (value) => expect(isUuid(value)).toBe(true));

  it.each(['', 'evt-1', `${ID}0`, ID.replace(/-/g, ''), `{${ID}}`, ` ${ID}`, ID.replace('6', 'g'), 42, null])(
    'refuses %p',
    (value) => expect(isUuid(value)).toBe(false),
  );
});

describe('prepareAppend', () => {
  it('normalises ids to lower case and splits indexed metadata from the rest', () => {
    const [prepared] = prepareAppend('s-1', 'any', [
      event({
        eventId: ID.toUpperCase(),
        data: { a: 1 },
        metadata: {
          correlationId: 'c',
          causationId: 'k',
          traceparent: 't',
          principal: { id: 'u', role: 'admin' },
        },
      }),
    ]);
    expect(prepared).toEqual({
      eventId: ID,
      type: 'Happened',
      schemaVersion: 1,
      dataJson: '{"a":1}',
      metadataJson: '{"traceparent":"t","principal":{"id":"u","role":"admin"}}',
      correlationId: 'c',
      causationId: 'k',
      occurredAt: null,
    });
  });

  it.each([
    ['an empty stream id', () => prepareAppend('', 'any', [event()]), /stream id/],
    ['a stream id with NUL', () => prepareAppend('a\u0000b', 'any', [event()]), /NUL/],
    [
      'a stream id longer than an index entry allows',
      () => prepareAppend('x'.repeat(1025), 'any', [event()]),
      /longer/,
    ],
    ['a lone surrogate in a stream id', () => prepareAppend('a\ud800', 'any', [event()]), /surrogate/],
    ['a negative expected version', () => prepareAppend('s', -1n, [event()]), /expected version/],
    [
      'an unknown expected version',
      () => prepareAppend('s', 'latest' as never, [event()]),
      /expected version/,
    ],
    ['a numeric expected version', () => prepareAppend('s', 3 as never, [event()]), /expected version/],
    ['no events', () => prepareAppend('s', 'any', []), /no events/],
    ['a non-UUID id', () => prepareAppend('s', 'any', [event({ eventId: 'nope' })]), /UUID/],
    [
      'a duplicate id (in any case)',
      () => prepareAppend('s', 'any', [event(), event({ eventId: ID.toUpperCase() })]),
      /twice/,
    ],
    [
      'a non-integer schema version',
      () => prepareAppend('s', 'any', [event({ schemaVersion: 1.5 })]),
      /schemaVersion/,
    ],
    [
      'an invalid date',
      () => prepareAppend('s', 'any', [event({ occurredAt: new Date('nope') })]),
      /occurredAt/,
    ],
    ['undefined data', () => prepareAppend('s', 'any', [event({ data: undefined })]), /not a JSON value/],
    ['data with a bigint', () => prepareAppend('s', 'any', [event({ data: { n: 1n } })]), /not serialisable/],
    ['data with NUL', () => prepareAppend('s', 'any', [event({ data: { s: 'a\u0000' } })]), /NUL/],
    [
      'data with a lone surrogate',
      () => prepareAppend('s', 'any', [event({ data: { s: '\udc00' } })]),
      /surrogate/,
    ],
    [
      'a long correlation id',
      () => prepareAppend('s', 'any', [event({ metadata: { correlationId: 'c'.repeat(2000) } })]),
      /longer/,
    ],
    [
      'a non-string causation id',
      () => prepareAppend('s', 'any', [event({ metadata: { causationId: 7 as never } })]),
      /string/,
    ],
  ])('refuses %s', (_what, fn, message) => {
    expect(refusal(fn).message).toMatch(message);
  });

  it('keeps text that only looks like a NUL escape, and paired surrogates', () => {
    const [prepared] = prepareAppend('s', 'any', [event({ data: { s: '\\u0000 and 😀' } })]);
    expect(JSON.parse(prepared!.dataJson)).toEqual({ s: '\\u0000 and 😀' });
  });
});
