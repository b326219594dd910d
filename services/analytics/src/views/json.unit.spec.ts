import { describe, expect, it } from '@jest/globals';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AnalyticsDocumentSchema } from '@orch/contracts';
import { analyticsDocument, toJsonValue, toListValue, toStruct } from './json';

describe('views as JSON', () => {
  it('writes bigints as decimal strings and Dates as RFC 3339', () => {
    expect(
      toJsonValue({ position: 12345678901234567890n, at: new Date('2026-11-21T10:00:00.250Z') }),
    ).toEqual({ position: '12345678901234567890', at: '2026-11-21T10:00:00.250Z' });
  });

  it('drops undefined fields, and turns what JSON cannot hold into null', () => {
    expect(
      toJsonValue({
        kept: 1,
        gone: undefined,
        list: [undefined, NaN, Infinity, () => 1],
        bad: new Date(NaN),
      }),
    ).toEqual({ kept: 1, list: [null, null, null, null], bad: null });
  });

  it('writes Maps as objects and Sets as arrays, recursively', () => {
    expect(toJsonValue(new Map([['a', new Set([1n, 2n])]]))).toEqual({ a: ['1', '2'] });
  });

  it('carries a value that is not an object inside a Struct as {value}', () => {
    expect(toStruct('text')).toEqual({ value: 'text' });
    expect(toStruct([1, 2])).toEqual({ value: [1, 2] });
  });

  it('makes ListValues of events', () => {
    const list = toListValue([{ type: 'TaskReady', data: { at: 1n } }]);
    expect(list.values[0]?.kind).toMatchObject({ case: 'structValue' });
  });

  it('gives documents that survive the wire', () => {
    const doc = analyticsDocument(
      { position: 42n, nested: { at: new Date('2026-11-21T10:00:00Z'), rate: 0.5 } },
      42n,
      new Date('2026-11-21T10:00:01Z'),
    );
    const back = fromBinary(AnalyticsDocumentSchema, toBinary(AnalyticsDocumentSchema, doc));
    expect(back.body).toEqual({ position: '42', nested: { at: '2026-11-21T10:00:00Z', rate: 0.5 } });
    expect(back.position).toBe(42n);
    expect(back).toEqual(create(AnalyticsDocumentSchema, back));
  });
});
