import { resolvePoolSpec } from './pool-spec';
import {
  budgetAt,
  newPoolState,
  nextPeriodStart,
  peakReserved,
  periodStartAt,
  takeTokens,
  tokensAt,
  whenTokens,
  type Reservation,
} from './accounting';

const rate = (capacity: number, windowMs: number, burst?: number) =>
  newPoolState(resolvePoolSpec({ poolId: 'r', kind: 'rate', capacity, windowMs, burst }), 0);

describe('a token bucket', () => {
  it('starts full and refills continuously, never above its burst', () => {
    const bucket = takeTokens(rate(60, 60_000, 5), 5, 0);
    expect(tokensAt(bucket, 0)).toBe(0);
    expect(tokensAt(bucket, 2_500)).toBeCloseTo(2.5);
    expect(tokensAt(bucket, 600_000)).toBe(5);
  });

  it('tells the first whole ms when enough tokens are there, exactly on the refill edge', () => {
    const bucket = takeTokens(rate(60, 60_000, 1), 1, 0);
    expect(whenTokens(bucket, 1, 0)).toBe(1000);
    expect(whenTokens(bucket, 1, 999)).toBe(1000);
    expect(whenTokens(bucket, 1, 1000)).toBe(1000);
    expect(whenTokens(takeTokens(rate(3, 1000, 1), 1, 0), 1, 0)).toBe(334);
  });

  it('does not refill backwards when told an earlier time', () => {
    const bucket = takeTokens(rate(60, 60_000), 60, 10_000);
    expect(tokensAt(bucket, 5_000)).toBe(0);
  });
});

describe('budget periods', () => {
  const daily = newPoolState(
    resolvePoolSpec({ poolId: 'b', kind: 'budget', capacity: 10, windowMs: 86_400_000 }),
    0,
  );

  it('are aligned on multiples of the window since the epoch', () => {
    const at = Date.parse('2026-11-21T15:30:00Z');
    expect(new Date(periodStartAt(daily.spec, at)).toISOString()).toBe('2026-11-21T00:00:00.000Z');
    expect(new Date(nextPeriodStart(daily.spec, at)!).toISOString()).toBe('2026-11-22T00:00:00.000Z');
  });

  it('start with nothing spent and no warning given', () => {
    const spent = { ...daily, periodStart: Date.parse('2026-11-21T00:00:00Z'), spent: 9, softWarned: true };
    expect(budgetAt(spent, Date.parse('2026-11-21T23:59:59Z'))).toBe(spent);
    expect(budgetAt(spent, Date.parse('2026-11-22T00:00:00Z'))).toMatchObject({
      spent: 0,
      softWarned: false,
    });
  });

  it('never reset for a window of 0', () => {
    const forever = newPoolState(resolvePoolSpec({ poolId: 'b', kind: 'budget', capacity: 10 }), 0);
    expect(nextPeriodStart(forever.spec, 1e12)).toBeUndefined();
    expect(budgetAt({ ...forever, spent: 3 }, 1e12).spent).toBe(3);
  });
});

describe('peakReserved', () => {
  const r = (amount: number, from: number, to: number): Reservation => ({
    reservationId: `${from}-${to}`,
    poolId: 'p',
    amount,
    from,
    to,
    taskId: '',
  });

  it('adds up reservations overlapping at one instant, windows being half-open', () => {
    const all = [r(2, 0, 10), r(1, 5, 15), r(3, 10, 20)];
    expect(peakReserved(all, 0, 30)).toBe(4);
    expect(peakReserved(all, 0, 5)).toBe(2);
    expect(peakReserved(all, 20, 30)).toBe(0);
  });
});
