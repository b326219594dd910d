import { rollingOrigins } from './holt-winters';
import { Z80, Z95, type ForecastMethod } from './model';

/**
 * Rolling-origin evaluation ("time series cross-validation"): the method forecasts from several
 * origins inside the series, seeing only what came before each, and is scored on what followed.
 * The method chooses its parameters anew at every origin, so the score measures the whole procedure
 * as it is used, not a model tuned on the data it is scored on.
 */

/** One forecast step scored against what happened. */
export interface BacktestPoint {
  /** Index of the first step forecast (the history was series[0..origin)). */
  readonly origin: number;
  /** 1 = the first step after the origin. */
  readonly step: number;
  readonly actual: number;
  readonly forecast: number;
  readonly lower80: number;
  readonly upper80: number;
  readonly lower95: number;
  readonly upper95: number;
}

/** Forecast errors over a backtest. Percentages are in percent (12.5 = 12.5%). */
export interface Accuracy {
  /** Forecast steps scored. */
  readonly points: number;
  /** Mean absolute percentage error over the steps whose actual value is not 0; null if none. */
  readonly mape: number | null;
  /** Steps MAPE could use (actual not 0). */
  readonly mapePoints: number;
  /** Symmetric MAPE: mean of 200|f - a| / (|f| + |a|), a step with both 0 counting as 0. */
  readonly smape: number | null;
  /** Mean absolute error scaled by the in-sample MAE of the seasonal naive forecast (< 1: better). */
  readonly mase: number | null;
  readonly mae: number | null;
  /** Share of actual values inside the 80% and 95% prediction intervals. */
  readonly coverage80: number | null;
  readonly coverage95: number | null;
}

export interface BacktestOptions {
  /** Origins to forecast from (default 8). */
  readonly origins?: number;
  /** History required before the first origin (default 24). */
  readonly minTrain?: number;
}

export interface Backtest {
  readonly horizon: number;
  /** The origins used, ascending. */
  readonly origins: readonly number[];
  readonly points: readonly BacktestPoint[];
}

/** Forecasts `horizon` steps from each rolling origin of `series` (see `rollingOrigins`). */
export function backtest(
  series: readonly number[],
  horizon: number,
  method: ForecastMethod,
  options: BacktestOptions = {},
): Backtest {
  const origins = rollingOrigins(series.length, horizon, options.minTrain ?? 24, options.origins ?? 8);
  const points: BacktestPoint[] = [];
  for (const origin of origins) {
    const f = method.forecast(series.slice(0, origin), horizon);
    for (let step = 1; step <= horizon; step++) {
      const mean = f.mean[step - 1]!;
      const sd = f.sigma[step - 1]!;
      points.push({
        origin,
        step,
        actual: series[origin + step - 1]!,
        forecast: mean,
        lower80: Math.max(0, mean - Z80 * sd),
        upper80: mean + Z80 * sd,
        lower95: Math.max(0, mean - Z95 * sd),
        upper95: mean + Z95 * sd,
      });
    }
  }
  return { horizon, origins, points };
}

/**
 * The scale of MASE: the mean absolute difference between each value and the one a season before
 * (the seasonal naive forecast's one-step error), over `series`. Null when it is 0 or undefined.
 */
export function maseScale(series: readonly number[], period: number): number | null {
  const m = series.length > period ? period : 1;
  let sum = 0;
  let n = 0;
  for (let t = m; t < series.length; t++) {
    sum += Math.abs(series[t]! - series[t - m]!);
    n++;
  }
  return n > 0 && sum > 0 ? sum / n : null;
}

/** The errors of `points`, MASE scaled by `scale` (see `maseScale`). */
export function accuracyOf(points: readonly BacktestPoint[], scale: number | null): Accuracy {
  let ape = 0;
  let mapePoints = 0;
  let sape = 0;
  let ae = 0;
  let in80 = 0;
  let in95 = 0;
  for (const p of points) {
    const err = Math.abs(p.forecast - p.actual);
    ae += err;
    if (p.actual !== 0) {
      ape += err / Math.abs(p.actual);
      mapePoints++;
    }
    const denominator = Math.abs(p.forecast) + Math.abs(p.actual);
    if (denominator > 0) sape += (2 * err) / denominator;
    if (p.actual >= p.lower80 && p.actual <= p.upper80) in80++;
    if (p.actual >= p.lower95 && p.actual <= p.upper95) in95++;
  }
  const n = points.length;
  const mae = n > 0 ? ae / n : null;
  return {
    points: n,
    mape: mapePoints > 0 ? (100 * ape) / mapePoints : null,
    mapePoints,
    smape: n > 0 ? (100 * sape) / n : null,
    mase: mae !== null && scale !== null ? mae / scale : null,
    mae,
    coverage80: n > 0 ? in80 / n : null,
    coverage95: n > 0 ? in95 / n : null,
  };
}
