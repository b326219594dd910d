import type { ForecastMethod, ModelDescription, PointForecast } from './model';

/**
 * Exponential smoothing in the additive error-correction form (ETS(A,Ad,A) and its special cases,
 * Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", ch. 8):
 *
 *   forecast  f_t = l + phi*b + s[t mod m]          error e_t = y_t - f_t
 *   level     l  <- l + phi*b + alpha*e_t
 *   trend     b  <- phi*b + beta*e_t                 (beta = 0: no trend)
 *   season    s[t mod m] <- s[t mod m] + gamma*e_t   (m = 0: no season)
 *
 * h steps ahead: l + (phi + ... + phi^h)*b + s[(t+h-1) mod m], with variance
 * sigma^2 * (1 + sum_{j<h} c_j^2), c_j = alpha + beta*(phi + ... + phi^j) + gamma*[j mod m = 0],
 * sigma^2 the variance of the one-step errors.
 *
 * `holtWinters()` chooses, on the history it is given only, among simple exponential smoothing,
 * damped Holt and additive Holt-Winters with a daily (24) or weekly (168) season when there are
 * three seasons of history, and among their smoothing parameters on a small grid, by the mean
 * absolute error of forecasts from rolling origins inside that history (one-step errors when it is
 * too short for them).
 */

export interface EtsParams {
  readonly alpha: number;
  /** Trend smoothing; 0 means no trend. */
  readonly beta: number;
  /** Season smoothing, used when `period` > 0. */
  readonly gamma: number;
  /** Trend damping (1: none). */
  readonly phi: number;
  /** Season length in steps; 0 means no season. */
  readonly period: number;
}

interface Pass {
  level: number;
  trend: number;
  season: Float64Array;
  /** One-step squared and absolute errors after the burn-in, and how many. */
  sse: number;
  sae: number;
  residuals: number;
  /** Absolute errors of the multi-step forecasts from the origins, and how many. */
  originAbsError: number;
  originPoints: number;
}

/** Steps of history a model with `params` needs before it can forecast. */
export const minHistory = (params: EtsParams): number => (params.period > 0 ? 2 * params.period : 5);

/** phi + phi^2 + ... + phi^h for h = 0..horizon. */
function dampedSums(phi: number, horizon: number): Float64Array {
  const sums = new Float64Array(horizon + 1);
  let power = 1;
  for (let h = 1; h <= horizon; h++) {
    power *= phi;
    sums[h] = sums[h - 1]! + power;
  }
  return sums;
}

/**
 * Runs the filter over `y` (at least `minHistory(params)` long). At each origin t of `origins`
 * (ascending, with t + horizon <= y.length), scores the forecasts of y[t..t+horizon) made from
 * y[0..t), clamped at 0 as reported.
 */
function run(y: readonly number[], p: EtsParams, origins: readonly number[] = [], horizon = 0): Pass {
  const n = y.length;
  const m = p.period;
  const season = new Float64Array(m);
  let level: number;
  let trend = 0;
  let start: number;
  if (m > 0) {
    let mean1 = 0;
    let mean2 = 0;
    for (let i = 0; i < m; i++) {
      mean1 += y[i]!;
      mean2 += y[i + m]!;
    }
    mean1 /= m;
    mean2 /= m;
    if (p.beta > 0) trend = (mean2 - mean1) / m;
    level = mean1 - (trend * (m - 1)) / 2;
    let sum = 0;
    for (let i = 0; i < m; i++) {
      season[i] = (y[i]! - mean1 + (y[i + m]! - mean2)) / 2;
      sum += season[i]!;
    }
    for (let i = 0; i < m; i++) season[i] = season[i]! - sum / m;
    start = 0;
  } else {
    level = y[0]!;
    if (p.beta > 0 && n > 1) {
      const k = Math.min(n - 1, 4);
      trend = (y[k]! - y[0]!) / k;
    }
    start = 1;
  }
  const burn = m > 0 ? m : 2;
  const sums = dampedSums(p.phi, horizon);
  const pass: Pass = {
    level,
    trend,
    season,
    sse: 0,
    sae: 0,
    residuals: 0,
    originAbsError: 0,
    originPoints: 0,
  };
  let next = 0;
  while (next < origins.length && origins[next]! < start) next++;
  for (let t = start; t <= n; t++) {
    while (next < origins.length && origins[next] === t) {
      for (let h = 1; h <= horizon; h++) {
        const i = t + h - 1;
        const f = level + sums[h]! * trend + (m > 0 ? season[i % m]! : 0);
        pass.originAbsError += Math.abs(y[i]! - Math.max(0, f));
        pass.originPoints++;
      }
      next++;
    }
    if (t === n) break;
    const si = m > 0 ? t % m : 0;
    const e = y[t]! - (level + p.phi * trend + (m > 0 ? season[si]! : 0));
    if (t >= burn) {
      pass.sse += e * e;
      pass.sae += Math.abs(e);
      pass.residuals++;
    }
    level = level + p.phi * trend + p.alpha * e;
    trend = p.phi * trend + p.beta * e;
    if (m > 0) season[si] = season[si]! + p.gamma * e;
  }
  pass.level = level;
  pass.trend = trend;
  return pass;
}

/** The model fitted to all of `y` with `params`, forecasting `horizon` steps after it. */
export function fitEts(y: readonly number[], params: EtsParams, horizon: number): PointForecast {
  if (y.length < minHistory(params))
    throw new RangeError(`${describe(params).method} needs at least ${minHistory(params)} points`);
  const pass = run(y, params);
  const n = y.length;
  const m = params.period;
  const sigma2 = pass.residuals > 0 ? pass.sse / pass.residuals : 0;
  const sums = dampedSums(params.phi, horizon);
  const mean: number[] = [];
  const sigma: number[] = [];
  let spread = 0;
  for (let h = 1; h <= horizon; h++) {
    if (h > 1) {
      const j = h - 1;
      const c = params.alpha + params.beta * sums[j]! + (m > 0 && j % m === 0 ? params.gamma : 0);
      spread += c * c;
    }
    const f = pass.level + sums[h]! * pass.trend + (m > 0 ? pass.season[(n + h - 1) % m]! : 0);
    mean.push(Math.max(0, f));
    sigma.push(Math.sqrt(sigma2 * (1 + spread)));
  }
  return { mean, sigma, model: describe(params) };
}

function describe(p: EtsParams): ModelDescription {
  const method = p.period > 0 ? 'holt-winters' : p.beta > 0 ? 'holt' : 'ses';
  return {
    method,
    period: p.period,
    params: { alpha: p.alpha, beta: p.beta, gamma: p.period > 0 ? p.gamma : 0, phi: p.beta > 0 ? p.phi : 1 },
  };
}

// ---------------------------------------------------------------- parameter choice

const ALPHAS = [0.05, 0.1, 0.2, 0.35, 0.5, 0.75];
const TRENDS: readonly { beta: number; phi: number }[] = [
  { beta: 0, phi: 1 },
  { beta: 0.01, phi: 0.98 },
  { beta: 0.05, phi: 0.98 },
];
const GAMMAS = [0.05, 0.15, 0.3];

export interface HoltWintersOptions {
  /** Season lengths to try, each when the history holds `minSeasons` of it (default 24 and 168). */
  readonly periods?: readonly number[];
  /** Seasons of history a seasonal model needs (default 3). */
  readonly minSeasons?: number;
  /** Rolling origins inside the history used to choose the model (default 12). */
  readonly innerOrigins?: number;
}

/** The models tried on a history of `n` steps. */
export function candidateModels(n: number, options: HoltWintersOptions = {}): EtsParams[] {
  const out: EtsParams[] = [];
  for (const alpha of ALPHAS)
    for (const t of TRENDS) if (t.beta <= alpha) out.push({ alpha, ...t, gamma: 0, period: 0 });
  const minSeasons = options.minSeasons ?? 3;
  for (const period of options.periods ?? [24, 168]) {
    if (n < minSeasons * period) continue;
    for (const alpha of ALPHAS.slice(0, 5))
      for (const t of TRENDS)
        for (const gamma of GAMMAS)
          if (t.beta <= alpha && gamma <= 1 - alpha) out.push({ alpha, ...t, gamma, period });
  }
  return out;
}

/**
 * Origins (ascending) for scoring `horizon`-step forecasts inside a series of `n` steps: the last one
 * leaves exactly `horizon` steps after it, the others step back by half the horizon (1 to 24 steps),
 * none before `minTrain`.
 */
export function rollingOrigins(n: number, horizon: number, minTrain: number, count: number): number[] {
  const stride = Math.max(1, Math.min(24, Math.ceil(horizon / 2)));
  const origins: number[] = [];
  for (let k = 0; k < count; k++) {
    const o = n - horizon - k * stride;
    if (o < Math.max(1, minTrain)) break;
    origins.unshift(o);
  }
  return origins;
}

/** The candidate with the least rolling-origin error on `y` (or one-step error when `y` is short). */
export function chooseModel(
  y: readonly number[],
  horizon: number,
  options: HoltWintersOptions = {},
): EtsParams | undefined {
  const candidates = candidateModels(y.length, options);
  if (candidates.length === 0) return undefined;
  const minTrain = Math.max(...candidates.map(minHistory));
  const origins = rollingOrigins(y.length, horizon, minTrain, options.innerOrigins ?? 12);
  let best: EtsParams | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const pass = run(y, c, origins, horizon);
    const score =
      origins.length > 0
        ? pass.originAbsError / Math.max(1, pass.originPoints)
        : pass.residuals > 0
          ? pass.sae / pass.residuals
          : Infinity;
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best ?? candidates[0];
}

/** The mean of a history too short for any model, with its spread. */
function meanForecast(y: readonly number[], horizon: number): PointForecast {
  const n = y.length;
  const mean = n > 0 ? y.reduce((a, b) => a + b, 0) / n : 0;
  const variance = n > 1 ? y.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return {
    mean: new Array<number>(horizon).fill(mean),
    sigma: new Array<number>(horizon).fill(Math.sqrt(variance)),
    model: { method: 'mean', period: 0, params: {} },
  };
}

/** Exponential smoothing that picks its own model and parameters (see the file's comment). */
export function holtWinters(options: HoltWintersOptions = {}): ForecastMethod {
  return {
    name: 'holt-winters',
    forecast(history, horizon) {
      if (history.length < 5) return meanForecast(history, horizon);
      const params = chooseModel(history, horizon, options);
      return params ? fitEts(history, params, horizon) : meanForecast(history, horizon);
    },
  };
}

/**
 * The seasonal naive baseline: each step repeats the value one season earlier (the last value when
 * the history is shorter than a season). Its spread grows with the number of seasons ahead.
 */
export function seasonalNaive(period = 24): ForecastMethod {
  return {
    name: 'seasonal-naive',
    forecast(history, horizon) {
      const n = history.length;
      if (n === 0) return meanForecast(history, horizon);
      const m = n >= period ? period : 1;
      let sq = 0;
      let k = 0;
      for (let t = m; t < n; t++) {
        sq += (history[t]! - history[t - m]!) ** 2;
        k++;
      }
      const sd = k > 0 ? Math.sqrt(sq / k) : 0;
      const mean: number[] = [];
      const sigma: number[] = [];
      for (let h = 1; h <= horizon; h++) {
        mean.push(history[n - m + ((h - 1) % m)]!);
        sigma.push(sd * Math.sqrt(Math.floor((h - 1) / m) + 1));
      }
      return {
        mean,
        sigma,
        model: { method: m > 1 ? 'seasonal-naive' : 'naive', period: m > 1 ? m : 0, params: {} },
      };
    },
  };
}
