import { describe, expect, it } from '@jest/globals';
import type { JsonObject } from '@bufbuild/protobuf';
import { resolvePoolSpec, type DemandForecast, type PoolSpecInput, type PoolUsage } from '@orch/resources';
import {
  expectedTasks,
  forecastNote,
  horizonHoursOf,
  mergeDemand,
  poolSeriesOf,
  type PoolSeriesForecast,
} from './demand';

const HOUR = 3_600_000;

const usage = (input: PoolSpecInput, used = 0): PoolUsage => {
  const spec = resolvePoolSpec(input);
  return {
    poolId: spec.poolId,
    kind: spec.kind,
    unit: spec.unit,
    scope: spec.scope,
    spec,
    capacity: spec.capacity,
    used,
    available: Math.max(0, spec.capacity - used),
    utilization: used / spec.capacity,
    reserved: 0,
    waiting: 0,
    waitingDemand: 0,
    holders: 0,
    spent: 0,
    held: 0,
    periodStart: undefined,
    tokens: 0,
  };
};

const average = (poolId: string, demand: number, horizonMs: number): DemandForecast => ({
  poolId,
  demand,
  capacity: 10,
  horizonMs,
  method: 'moving-average',
  samples: 3,
});

const series = (
  poolId: string,
  means: number[],
  more: Partial<PoolSeriesForecast> = {},
): PoolSeriesForecast => ({
  poolId,
  model: 'holt-winters',
  means,
  historyHours: 48,
  last24Hours: 48,
  mape: 12.5,
  ...more,
});

describe('horizonHoursOf', () => {
  it('rounds up to whole hours and keeps within 1..168', () => {
    expect(horizonHoursOf(HOUR)).toBe(1);
    expect(horizonHoursOf(HOUR + 1)).toBe(2);
    expect(horizonHoursOf(1)).toBe(1);
    expect(horizonHoursOf(0)).toBe(1);
    expect(horizonHoursOf(500 * HOUR)).toBe(168);
  });
});

describe('expectedTasks', () => {
  it('sums the hourly means over the horizon, the last hour by its share, negatives as 0', () => {
    expect(expectedTasks([2, 4, 6], 3 * HOUR)).toBe(12);
    expect(expectedTasks([2, 4, 6], 2.5 * HOUR)).toBe(2 + 4 + 3);
    expect(expectedTasks([-1, 4], 2 * HOUR)).toBe(4);
  });
});

describe('poolSeriesOf', () => {
  const body = (horizonHours: number, key: string): JsonObject => ({
    horizonHours,
    origin: '2026-01-01T00:00:00Z',
    series: [
      { scope: 'total', key: 'all', points: [{ mean: 99 }] },
      {
        scope: 'pool',
        key,
        unit: 'tasks/hour',
        history: { hours: 30, last24Hours: 20 },
        model: { method: 'holt', period: 0, params: {} },
        points: [{ mean: 1.5 }, { mean: 2 }],
        accuracy: { model: { mape: 8.25 } },
      },
      { scope: 'pool', key: 'broken', points: [{ mean: 'x' }] },
    ],
  });

  it('reads the pool series of the asked horizon and skips the rest', () => {
    const parsed = poolSeriesOf({ horizons: [body(6, 'other'), body(2, 'gpu')] }, 2);
    expect(parsed).toEqual([
      { poolId: 'gpu', model: 'holt', means: [1.5, 2], historyHours: 30, last24Hours: 20, mape: 8.25 },
    ]);
  });

  it('answers nothing for a body without horizons', () => {
    expect(poolSeriesOf(undefined, 1)).toEqual([]);
    expect(poolSeriesOf({ horizons: 'no' }, 1)).toEqual([]);
  });

  it('has a null MAPE when the series was not backtested', () => {
    const b = body(2, 'gpu');
    const s = (b['series'] as JsonObject[])[1]!;
    s['accuracy'] = null;
    expect(poolSeriesOf({ horizons: [b] }, 2)[0]?.mape).toBeNull();
  });
});

describe('mergeDemand', () => {
  const horizonMs = 2 * HOUR;
  const rate = usage({ poolId: 'api', kind: 'rate', capacity: 100, windowMs: 60_000 });
  const slots = usage({ poolId: 'slots', kind: 'concurrency', capacity: 4 });
  const idle = usage({ poolId: 'idle', kind: 'concurrency', capacity: 4 });

  it('converts a rate pool forecast to units per window', () => {
    const [d] = mergeDemand([rate], [average('api', 7, horizonMs)], [series('api', [60, 120])], horizonMs);
    // 180 tasks over 2 h, 1 request each, per 1-minute window
    expect(d).toMatchObject({
      poolId: 'api',
      demand: (180 * 60_000) / horizonMs,
      capacity: 100,
      horizonMs,
      method: 'analytics:holt-winters',
      samples: 48,
      mape: 12.5,
    });
  });

  it("scales a held pool's moving average by the forecast rate over the recent rate", () => {
    // recent 2 tasks/hour (48 in 24 h); forecast 3 tasks/hour on average
    const [d] = mergeDemand([slots], [average('slots', 2, horizonMs)], [series('slots', [2, 4])], horizonMs);
    expect(d?.method).toBe('analytics:holt-winters');
    expect(d?.demand).toBeCloseTo(3);
  });

  it('takes a horizon longer than the forecast at the forecast mean rate', () => {
    const long = 4 * HOUR;
    const [d] = mergeDemand([rate], [], [series('api', [60, 120])], long);
    // 90 tasks/hour = 1.5 per 1-minute window, whatever the horizon
    expect(d?.demand).toBeCloseTo(1.5);
  });

  it('keeps the moving average for pools analytics does not forecast or cannot convert', () => {
    const out = mergeDemand(
      [rate, slots, idle],
      [average('api', 7, horizonMs), average('slots', 2, horizonMs), average('idle', 1, horizonMs)],
      [series('idle', [1, 1], { last24Hours: 0 })],
      horizonMs,
    );
    expect(out.map((d) => [d.poolId, d.method, d.demand])).toEqual([
      ['api', 'moving-average', 7],
      ['idle', 'moving-average', 1],
      ['slots', 'moving-average', 2],
    ]);
    expect(out.every((d) => d.mape === null)).toBe(true);
  });

  it('ignores forecasts of pools that are not defined here', () => {
    expect(mergeDemand([], [], [series('gone', [1])], horizonMs)).toEqual([]);
  });
});

describe('forecastNote', () => {
  it('names the method and its accuracy for analytics forecasts only', () => {
    expect(forecastNote(undefined)).toBe('');
    expect(forecastNote({ ...average('a', 1, HOUR), mape: null })).toBe('');
    const d = { ...average('a', 1, HOUR), method: 'analytics:holt', mape: 9.5 };
    expect(forecastNote(d)).toContain('backtest MAPE 9.5%');
    expect(forecastNote({ ...d, mape: null })).toContain('not backtested');
  });
});
