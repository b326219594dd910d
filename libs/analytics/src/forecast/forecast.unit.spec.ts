import { ValidationError } from '@orch/domain-kit';
import { evolveAll } from '../projection/evolve';
import { initialAnalyticsState } from '../projection/state';
import { HOUR_MS } from '../series';
import { accuracyOf, backtest, maseScale, type BacktestPoint } from './backtest';
import { candidateModels, fitEts, holtWinters, seasonalNaive } from './holt-winters';
import { forecastSeries, predictions } from './predictions';
import { syntheticEvents, syntheticLoad, DEFAULT_SYNTHETIC_START } from './synthetic';

const WEEK = 168;

/** MAPE recomputed from scratch: mean |actual - forecast| / |actual| over non-zero actuals, in %. */
function mapeOf(points: readonly { actual: number; forecast: number }[]): number {
  const used = points.filter((p) => p.actual !== 0);
  return (
    (100 * used.reduce((sum, p) => sum + Math.abs(p.actual - p.forecast) / Math.abs(p.actual), 0)) /
    used.length
  );
}

describe('the synthetic seasonal load', () => {
  it('follows its documented formula: daily cycle, weekly factor and trend', () => {
    const load = syntheticLoad({
      hours: 2 * WEEK,
      base: 100,
      dailyAmplitude: 0.5,
      peakHour: 14,
      trendPerWeek: 0.1,
      noise: 0,
    });
    // Monday 14:00 is the first peak; Saturday has a factor of 0.6; a week later the trend adds 10%.
    expect(load.expected[14]).toBeCloseTo(100 * (1 + 0.1 * (14 / WEEK)) * 1.5, 9);
    expect(load.expected[2]).toBeCloseTo(
      100 * (1 + 0.1 * (2 / WEEK)) * (1 + 0.5 * Math.cos((2 * Math.PI * -12) / 24)),
      9,
    );
    expect(load.expected[5 * 24 + 14]).toBeCloseTo(100 * (1 + 0.1 * ((5 * 24 + 14) / WEEK)) * 0.6 * 1.5, 9);
    expect(load.values).toEqual(load.expected.map((e) => Math.round(e)));
    expect(load.start).toEqual(DEFAULT_SYNTHETIC_START);
  });

  it('draws the same noise for the same seed, and other noise for another', () => {
    const a = syntheticLoad({ hours: 200, seed: 3 }).values;
    expect(syntheticLoad({ hours: 200, seed: 3 }).values).toEqual(a);
    expect(syntheticLoad({ hours: 200, seed: 4 }).values).not.toEqual(a);
    expect(a.every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
  });
});

describe('Holt-Winters', () => {
  it('continues a noiseless daily pattern almost exactly', () => {
    const load = syntheticLoad({
      hours: 14 * 24 + 24,
      noise: 0,
      trendPerWeek: 0,
      weekly: [1, 1, 1, 1, 1, 1, 1],
    });
    const history = load.expected.slice(0, 14 * 24);
    const f = holtWinters().forecast(history, 24);
    expect(f.model.method).toBe('holt-winters');
    f.mean.forEach((m, i) => expect(Math.abs(m - load.expected[14 * 24 + i]!)).toBeLessThan(1));
  });

  it('falls back to models without a season when the history is shorter than three days', () => {
    const history = syntheticLoad({ hours: 40 }).values;
    expect(candidateModels(history.length).every((c) => c.period === 0)).toBe(true);
    expect(['ses', 'holt']).toContain(holtWinters().forecast(history, 6).model.method);
    expect(holtWinters().forecast([3, 4], 6)).toMatchObject({
      mean: [3.5, 3.5, 3.5, 3.5, 3.5, 3.5],
      model: { method: 'mean' },
    });
  });

  it('widens its prediction intervals with the horizon', () => {
    const history = syntheticLoad({ hours: 4 * WEEK, seed: 9 }).values;
    const f = holtWinters().forecast(history, 48);
    for (let i = 1; i < f.sigma.length; i++)
      expect(f.sigma[i]!).toBeGreaterThanOrEqual(f.sigma[i - 1]! - 1e-9);
    expect(f.sigma[0]!).toBeGreaterThan(0);
  });

  it('refuses to fit a seasonal model on less than two seasons', () => {
    expect(() => fitEts([1, 2, 3], { alpha: 0.2, beta: 0, gamma: 0.1, phi: 1, period: 24 }, 6)).toThrow(
      RangeError,
    );
  });
});

describe('backtesting on a generated seasonal load (six weeks of hourly tasks)', () => {
  const series = syntheticLoad({ hours: 6 * WEEK, seed: 11 }).values;
  const scale = maseScale(series, 24);

  it.each([6, 24, 168])('beats the seasonal naive baseline %i hours ahead', (horizon) => {
    const model = accuracyOf(backtest(series, horizon, holtWinters()).points, scale);
    const naive = accuracyOf(backtest(series, horizon, seasonalNaive(24)).points, scale);
    expect(model.points).toBe(8 * horizon);
    expect(model.mase!).toBeLessThan(naive.mase!);
    expect(model.smape!).toBeLessThan(naive.smape!);
    expect(model.mape!).toBeLessThan(naive.mape!);
  });

  it('reports the MAPE an independent recomputation of its forecasts gives', () => {
    const horizon = 24;
    const reported = forecastSeries(series, horizon, Date.parse('2026-02-16T00:00:00Z'));
    const points: BacktestPoint[] = [...backtest(series, horizon, holtWinters()).points];
    // Each scored forecast again, from only the history before its origin, and its actual value.
    const origins = [...new Set(points.map((p) => p.origin))];
    const refits = new Map(origins.map((o) => [o, holtWinters().forecast(series.slice(0, o), horizon)]));
    const recomputed = points.map((p) => ({
      actual: series[p.origin + p.step - 1]!,
      forecast: refits.get(p.origin)!.mean[p.step - 1]!,
    }));
    expect(origins).toHaveLength(8);
    expect(points.every((p) => p.origin + p.step - 1 < series.length)).toBe(true);
    expect(recomputed.map((p) => p.actual)).toEqual(points.map((p) => p.actual));
    expect(reported.accuracy!.model.mape).toBeCloseTo(mapeOf(recomputed), 2);
    expect(reported.accuracy!.baseline.mape).toBeCloseTo(
      mapeOf(
        points.map((p) => ({
          actual: p.actual,
          forecast: seasonalNaive(24).forecast(series.slice(0, p.origin), horizon).mean[p.step - 1]!,
        })),
      ),
      2,
    );
  });

  it('gives prediction intervals that hold most of what happened', () => {
    const a = accuracyOf(backtest(series, 24, holtWinters()).points, scale);
    expect(a.coverage95!).toBeGreaterThan(0.8);
    expect(a.coverage80!).toBeLessThanOrEqual(a.coverage95!);
  });
});

describe('the predictions view', () => {
  const load = syntheticLoad({ hours: 4 * WEEK, base: 12, seed: 5 });
  const events = syntheticEvents(load, { pool: 'gpu', provider: 'acme' });
  const state = evolveAll(initialAnalyticsState(), events);
  const end = load.start.getTime() + 4 * WEEK * HOUR_MS;

  it('forecasts demand per pool, per provider and in total, from the hour after the history', () => {
    const p = predictions(state, 24, { at: new Date(end + 10 * 60_000) });
    expect(p.origin).toBe('2026-02-02T00:00:00Z');
    expect(p.series.map((s) => `${s.scope}:${s.key}`)).toEqual(['total:all', 'pool:gpu', 'provider:acme']);
    for (const s of p.series) {
      expect(s.history.hours).toBe(4 * WEEK);
      expect(s.history.last24Hours).toBe(load.values.slice(-24).reduce((a, b) => a + b, 0));
      expect(s.points).toHaveLength(24);
      expect(s.points[0]!.at).toBe('2026-02-02T00:00:00Z');
      for (const point of s.points) {
        expect(point.lower95).toBeLessThanOrEqual(point.lower80);
        expect(point.lower80).toBeLessThanOrEqual(point.mean);
        expect(point.mean).toBeLessThanOrEqual(point.upper80);
        expect(point.upper80).toBeLessThanOrEqual(point.upper95);
      }
      expect(s.accuracy).toMatchObject({ method: 'rolling-origin', origins: 8, horizonHours: 24 });
      expect(s.accuracy!.baseline.method).toBe('seasonal-naive');
      expect(s.accuracy!.skill!).toBeGreaterThan(0);
    }
  });

  it('says when the history is too short to backtest the horizon', () => {
    const p = predictions(state, 168, { at: new Date(load.start.getTime() + 100 * HOUR_MS) });
    expect(p.series[0]!.accuracy).toBeNull();
    expect(p.series[0]!.note).toMatch(/not enough history/);
    expect(p.series[0]!.points).toHaveLength(168);
  });

  it('refuses a horizon that is not a whole number of hours from 1 to 168', () => {
    for (const h of [0, 169, 1.5, Number.NaN]) expect(() => predictions(state, h)).toThrow(ValidationError);
  });

  it('has nothing to forecast before any event', () => {
    expect(predictions(initialAnalyticsState(), 6)).toEqual({ horizonHours: 6, origin: null, series: [] });
  });
});
