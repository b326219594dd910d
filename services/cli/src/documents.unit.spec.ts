import { bigintOf, readEvent, readEventPage, readReplay, readVerify } from './documents';

describe('documents', () => {
  it('reads 64-bit numbers from decimal strings exactly, and numbers', () => {
    expect(bigintOf('18446744073709551615')).toBe(18446744073709551615n);
    expect(bigintOf(42)).toBe(42n);
    expect(bigintOf(null)).toBe(0n);
    expect(bigintOf('4x')).toBe(0n);
  });

  it('reads an event of the events page and of the live stream', () => {
    const page = readEvent({
      position: '7',
      streamVersion: '2',
      type: 'T',
      occurredAt: '2026-01-01T00:00:00Z',
    });
    const live = readEvent({ globalPosition: '7', correlationId: 's-1', type: 'T' });
    expect(page.position).toBe(7n);
    expect(page.streamVersion).toBe(2n);
    expect(page.occurredAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(live.position).toBe(7n);
    expect(live.correlationId).toBe('s-1');
  });

  it('takes a null nextFrom as the last page', () => {
    expect(readEventPage({ items: [], nextFrom: null }).nextFrom).toBe(0n);
    expect(readEventPage({ items: [{}], nextFrom: '12' }).nextFrom).toBe(12n);
  });

  it('reads a replay document with absent parts as empty', () => {
    const doc = readReplay({ at: '9', events: 0, state: {}, unknownTypes: ['X'] });
    expect(doc).toMatchObject({ at: 9n, events: 0, tasks: [], agents: [], waiters: [], unknownTypes: ['X'] });
  });

  it('reads a verify report', () => {
    const doc = readVerify({
      divergences: [{ position: '3', expected: [{ type: 'A', data: 1 }] }],
      checked: 2,
    });
    expect(doc.divergences[0]).toMatchObject({
      position: 3n,
      expected: [{ type: 'A', data: 1 }],
      actual: [],
    });
    expect(doc).toMatchObject({ checked: 2, skipped: 0, unknownTypes: [] });
  });
});
