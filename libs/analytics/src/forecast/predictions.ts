import { ValidationError } from '@orch/domain-kit';
import type { AnalyticsState } from '../projection/state';
import { retentionCutoffs } from '../projection/evolve';
import { dense, HOUR_MS, hourOf } from '../series';
import { isoAt, round } from '../views/format';
import { accuracyOf, backtest, maseScale, type Accuracy } from './backtest';
import { holtWinters, seasonalNaive } from './holt-winters';
import { Z80, Z95, type ForecastMethod, type ModelDescription } from './model';

/**
 * `predictions`: what `GET /api/analytics/predictions?horizonHours=` answers - demand per pool,
 * per provider and in total, forecast hour by hour with prediction intervals, each with the
 * accuracy its method reached when backtested on the same series.
 *
 * Demand series (tasks per hour): a pool's is the tasks that asked for it (once per readiness);
 * a provider's is the tasks assigned to its agents; the total is the tasks submitted. The current
 * hour is incomplete, so history ends before it and the first forecast step is the current hour.
 */

/** The horizons the product offers. Any whole number of hours from 1 to 168 is accepted. */
export const FORECAST_HORIZONS = [6, 12, 24, 48, 168] as const;
export const MAX_HORIZON_HOURS = 168;

export interface ForecastPointView {
  /** Start of the hour forecast. */
  readonly at: string;
  readonly mean: number;
  readonly lower80: number;
  readonly upper80: number;
  readonly lower95: number;
  readonly upper95: number;
}

/** Errors in percent (MAPE, sMAPE); MASE < 1 beats the in-sample seasonal naive step. */
export interface AccuracyView {
  readonly points: number;
  readonly mape: number | null;
  readonly smape: number | null;
  readonly mase: number | null;
  readonly mae: number | null;
  readonly coverage80: number | null;
  readonly coverage95: number | null;
}

export interface BacktestView {
  /** rolling-origin: forecasts from several past origins, each seeing only the data before it. */
  readonly method: 'rolling-origin';
  readonly origins: number;
  /** First and last origin (start of the first hour forecast from it). */
  readonly firstOrigin: string;
  readonly lastOrigin: string;
  readonly horizonHours: number;
  readonly model: AccuracyView;
  /** The seasonal naive forecast (the value a day earlier) at the same origins. */
  readonly baseline: AccuracyView & { readonly method: string };
  /** 1 - MASE(model) / MASE(baseline): above 0 when the model beats the baseline. */
  readonly skill: number | null;
}

export interface SeriesForecastView {
  readonly scope: 'pool' | 'provider' | 'total';
  /** Pool id, provider name, or 'all'. */
  readonly key: string;
  readonly unit: 'tasks/hour';
  readonly history: {
    readonly hours: number;
    readonly from: string;
    readonly to: string;
    readonly meanPerHour: number;
    readonly last24Hours: number;
  };
  readonly model: ModelDescription;
  readonly points: readonly ForecastPointView[];
  /** Null when the history is too short to backtest this horizon; `note` says why. */
  readonly accuracy: BacktestView | null;
  readonly note?: string;
}

export interface PredictionsView {
  readonly horizonHours: number;
  /** Start of the first hour forecast. */
  readonly origin: string | null;
  readonly series: readonly SeriesForecastView[];
}

export interface PredictionOptions {
  /** The view's "now" (default: the latest event's time). */
  readonly at?: Date;
  /** The forecasting method (default: `holtWinters()`). */
  readonly method?: ForecastMethod;
  /** The baseline it is compared with (default: `seasonalNaive(24)`). */
  readonly baseline?: ForecastMethod;
}

/** Hours of history a series needs before it is forecast at all. */
const MIN_HISTORY_HOURS = 2;
/** Hours of history the backtest wants before its first origin. */
const MIN_TRAIN_HOURS = 24;

const accuracyView = (a: Accuracy): AccuracyView => ({
  points: a.points,
  mape: a.mape === null ? null : round(a.mape, 2),
  smape: a.smape === null ? null : round(a.smape, 2),
  mase: a.mase === null ? null : round(a.mase, 4),
  mae: a.mae === null ? null : round(a.mae, 4),
  coverage80: a.coverage80 === null ? null : round(a.coverage80, 4),
  coverage95: a.coverage95 === null ? null : round(a.coverage95, 4),
});

/**
 * Forecasts of one hourly series for `horizon` hours, and their backtested accuracy beside the
 * seasonal naive baseline's. `originMs` is the start of the first hour forecast.
 */
export function forecastSeries(
  history: readonly number[],
  horizon: number,
  originMs: number,
  method: ForecastMethod = holtWinters(),
  baselineMethod: ForecastMethod = seasonalNaive(24),
): Pick<SeriesForecastView, 'model' | 'points' | 'accuracy' | 'note'> {
  const f = method.forecast(history, horizon);
  const points = f.mean.map((mean, i) => {
    const sd = f.sigma[i]!;
    return {
      at: isoAt(originMs + i * HOUR_MS),
      mean: round(mean, 3),
      lower80: round(Math.max(0, mean - Z80 * sd), 3),
      upper80: round(mean + Z80 * sd, 3),
      lower95: round(Math.max(0, mean - Z95 * sd), 3),
      upper95: round(mean + Z95 * sd, 3),
    };
  });
  const options = { minTrain: MIN_TRAIN_HOURS };
  const model = backtest(history, horizon, method, options);
  if (model.origins.length === 0)
    return {
      model: f.model,
      points,
      accuracy: null,
      note: `not enough history to backtest ${horizon} h ahead: ${history.length} h, ${MIN_TRAIN_HOURS + horizon} h needed`,
    };
  const base = backtest(history, horizon, baselineMethod, options);
  const scale = maseScale(history, 24);
  const modelAccuracy = accuracyOf(model.points, scale);
  const baseAccuracy = accuracyOf(base.points, scale);
  const firstOrigin = originMs - (history.length - model.origins[0]!) * HOUR_MS;
  const lastOrigin = originMs - (history.length - model.origins[model.origins.length - 1]!) * HOUR_MS;
  return {
    model: f.model,
    points,
    accuracy: {
      method: 'rolling-origin',
      origins: model.origins.length,
      firstOrigin: isoAt(firstOrigin),
      lastOrigin: isoAt(lastOrigin),
      horizonHours: horizon,
      model: accuracyView(modelAccuracy),
      baseline: { method: baselineMethod.name, ...accuracyView(baseAccuracy) },
      skill:
        modelAccuracy.mase !== null && baseAccuracy.mase !== null && baseAccuracy.mase > 0
          ? round(1 - modelAccuracy.mase / baseAccuracy.mase, 4)
          : null,
    },
  };
}

/**
 * Demand forecasts for the next `horizonHours` hours (see the file's comment).
 * Throws ValidationError unless `horizonHours` is a whole number from 1 to 168.
 */
export function predictions(
  state: AnalyticsState,
  horizonHours: number,
  options: PredictionOptions = {},
): PredictionsView {
  if (!Number.isInteger(horizonHours) || horizonHours < 1 || horizonHours > MAX_HORIZON_HOURS)
    throw new ValidationError(`horizonHours must be a whole number from 1 to ${MAX_HORIZON_HOURS}`, [
      {
        path: 'horizonHours',
        message: `must be a whole number from 1 to ${MAX_HORIZON_HOURS} (e.g. 6, 12, 24, 48, 168)`,
      },
    ]);
  const nowMs = options.at?.getTime() ?? state.clock;
  if (nowMs < 0) return { horizonHours, origin: null, series: [] };
  const originHour = hourOf(nowMs);
  const minHour = retentionCutoffs(state).demandHour;
  const method = options.method ?? holtWinters();
  const baseline = options.baseline ?? seasonalNaive(24);

  const candidates: {
    scope: SeriesForecastView['scope'];
    key: string;
    series: ReadonlyMap<number, number>;
  }[] = [
    { scope: 'total', key: 'all', series: state.submittedHourly },
    ...[...state.pools.values()]
      .sort((a, b) => (a.pool < b.pool ? -1 : 1))
      .map((p) => ({ scope: 'pool' as const, key: p.pool, series: p.demand })),
    ...[...state.providers.values()]
      .sort((a, b) => (a.provider < b.provider ? -1 : 1))
      .map((p) => ({ scope: 'provider' as const, key: p.provider, series: p.demand })),
  ];

  const series: SeriesForecastView[] = [];
  for (const c of candidates) {
    let first = Infinity;
    for (const h of c.series.keys()) if (h >= minHour && h < originHour && h < first) first = h;
    if (!Number.isFinite(first) || originHour - first < MIN_HISTORY_HOURS) continue;
    const history = dense(c.series, first, originHour);
    const total = history.reduce((a, b) => a + b, 0);
    series.push({
      scope: c.scope,
      key: c.key,
      unit: 'tasks/hour',
      history: {
        hours: history.length,
        from: isoAt(first * HOUR_MS),
        to: isoAt(originHour * HOUR_MS),
        meanPerHour: round(total / history.length, 3),
        last24Hours: history.slice(-24).reduce((a, b) => a + b, 0),
      },
      ...forecastSeries(history, horizonHours, originHour * HOUR_MS, method, baseline),
    });
  }
  return { horizonHours, origin: isoAt(originHour * HOUR_MS), series };
}
