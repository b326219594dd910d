import { describe, expect, it } from '@jest/globals';
import type { RecordedEvent, Upcaster } from './contract';
import { UpcastError } from './errors';
import { upcasterChain } from './upcasting';

const recorded = (type: string, schemaVersion: number, data: unknown): RecordedEvent => ({
  eventId: 'e-1',
  type,
  schemaVersion,
  streamId: 's',
  streamVersion: 1n,
  globalPosition: 1n,
  occurredAt: new Date(0),
  source: 'test',
  data,
  metadata: {},
});

const thrown = (fn: () => unknown): UpcastError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UpcastError);
    return error as UpcastError;
  }
  throw new Error('expected UpcastError');
};

describe('upcasterChain', () => {
  const chain: Upcaster[] = [
    {
      type: 'Priced',
      fromVersion: 1,
      upcast: (d) => ({ data: { amount: (d as { price: number }).price }, schemaVersion: 2 }),
    },
    {
      type: 'Priced',
      fromVersion: 2,
      upcast: (d) => ({ data: { ...(d as object), currency: 'USD' }, schemaVersion: 3 }),
    },
    { type: 'Old', fromVersion: 1, upcast: (d) => ({ data: d, schemaVersion: 1, type: 'Priced' }) },
  ];
  const upcast = upcasterChain(chain);

  it('chains upcasters from the stored version to the newest', () => {
    expect(upcast(recorded('Priced', 1, { price: 3 }))).toMatchObject({
      type: 'Priced',
      schemaVersion: 3,
      data: { amount: 3, currency: 'USD' },
      eventId: 'e-1',
    });
    expect(upcast(recorded('Priced', 2, { amount: 4 })).data).toEqual({ amount: 4, currency: 'USD' });
  });

  it('follows a rename into the new type chain', () => {
    expect(upcast(recorded('Old', 1, { price: 5 }))).toMatchObject({
      type: 'Priced',
      schemaVersion: 3,
      data: { amount: 5, currency: 'USD' },
    });
  });

  it('returns current and unknown events unchanged', () => {
    const current = recorded('Priced', 3, { amount: 1, currency: 'EUR' });
    expect(upcast(current)).toBe(current);
    const unknown = recorded('Other', 1, {});
    expect(upcast(unknown)).toBe(unknown);
  });

  it('gives the upcaster the event as it is at that step', () => {
    const seen: number[] = [];
    const spy = upcasterChain([
      {
        type: 'T',
        fromVersion: 1,
        upcast: (d, e) => (seen.push(e.schemaVersion), { data: d, schemaVersion: 2 }),
      },
      {
        type: 'T',
        fromVersion: 2,
        upcast: (d, e) => (seen.push(e.schemaVersion), { data: d, schemaVersion: 3 }),
      },
    ]);
    spy(recorded('T', 1, {}));
    expect(seen).toEqual([1, 2]);
  });

  it('refuses two upcasters for the same type and version', () => {
    expect(thrown(() => upcasterChain([chain[0]!, chain[0]!])).message).toMatch(/two upcasters/);
  });

  it('fails an upcaster that does not move the version forward', () => {
    const stuck = upcasterChain([
      { type: 'T', fromVersion: 1, upcast: (d) => ({ data: d, schemaVersion: 1 }) },
    ]);
    expect(thrown(() => stuck(recorded('T', 1, {}))).eventId).toBe('e-1');
  });

  it('fails a chain of renames that never ends', () => {
    const loop = upcasterChain([
      { type: 'A', fromVersion: 1, upcast: (d) => ({ data: d, schemaVersion: 1, type: 'B' }) },
      { type: 'B', fromVersion: 1, upcast: (d) => ({ data: d, schemaVersion: 1, type: 'A' }) },
    ]);
    expect(thrown(() => loop(recorded('A', 1, {}))).message).toMatch(/did not end/);
  });

  it('wraps an upcaster that throws, keeping the cause', () => {
    const cause = new Error('bad data');
    const failing = upcasterChain([
      {
        type: 'T',
        fromVersion: 1,
        upcast: () => {
          throw cause;
        },
      },
    ]);
    const error = thrown(() => failing(recorded('T', 1, {})));
    expect(error.cause).toBe(cause);
    expect(error.code).toBe('upcast_failed');
  });
});
