import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { DemandForecast, PoolUsage } from '@orch/resources';

/**
 * Predicted demand per pool for the monitoring view: analytics' forecasts where analytics has
 * them, the moving average of recent usage elsewhere.
 *
 * analytics' `GetPredictions` body is `{horizons: PredictionsView[]}`; each view has one series per
 * pool (`scope: 'pool'`, `key`: the pool id) counting the tasks that asked for the pool, in
 * tasks per hour, forecast hour by hour (`points[].mean`) from the start of the current hour, with
 * the accuracy its model reached when backtested (`accuracy.model.mape`, in percent).
 *
 * Conversion to the pool's terms (the terms its capacity is in, as {@link DemandForecast.demand}):
 * - expected tasks over the horizon = the sum of the hourly means over `horizonMs` (the last hour
 *   weighted by the fraction of it inside the horizon; beyond the 168 hours forecast, the mean
 *   rate of those hours);
 * - rate pools (capacity per `windowMs`): those tasks spread evenly over the horizon, counted per
 *   window, times the units a task takes (the pool's default amount, else 1);
 * - other kinds (units held, or spent in a period): the series counts tasks, not units or how long
 *   they hold them, so the moving average of held + waiting is scaled by the forecast rate over
 *   the recent rate (Little's law with the recent amount and hold per task). A pool whose recent
 *   rate is 0 or that has no moving average keeps the moving average (or none).
 */

const HOUR_MS = 3_600_000;

/** The horizons analytics accepts: whole hours from 1 to 168. */
export const MAX_ANALYTICS_HORIZON_HOURS = 168;

/** A demand forecast of either method; `method` is `moving-average` or `analytics:<model>`. */
export type PoolDemand = Omit<DemandForecast, 'method'> & {
  readonly method: string;
  /** analytics: the model's backtested MAPE in percent; null when not backtested or not analytics. */
  readonly mape: number | null;
};

/** One pool's series as analytics' predictions view carries it (only the fields used here). */
export interface PoolSeriesForecast {
  readonly poolId: string;
  readonly model: string;
  /** Forecast mean of each hour, tasks per hour, from the start of the current hour. */
  readonly means: readonly number[];
  /** Hours of history the forecast rests on. */
  readonly historyHours: number;
  /** Tasks in the last 24 hours of history (fewer hours when the history is shorter). */
  readonly last24Hours: number;
  readonly mape: number | null;
}

/** The horizon, in whole hours analytics accepts, that covers `horizonMs`. */
export function horizonHoursOf(horizonMs: number): number {
  const hours = Math.ceil(horizonMs / HOUR_MS);
  return Math.min(MAX_ANALYTICS_HORIZON_HOURS, Math.max(1, Number.isFinite(hours) ? hours : 1));
}

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
const num = (v: JsonValue | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

/**
 * The pool series of analytics' predictions body for `horizonHours` (a view of that horizon,
 * else the first); malformed entries are skipped.
 */
export function poolSeriesOf(body: JsonObject | undefined, horizonHours: number): PoolSeriesForecast[] {
  const horizons = body?.['horizons'];
  if (!Array.isArray(horizons)) return [];
  const views = horizons.filter(isObject);
  const view = views.find((v) => v['horizonHours'] === horizonHours) ?? views[0];
  const series = view?.['series'];
  if (!Array.isArray(series)) return [];
  const out: PoolSeriesForecast[] = [];
  for (const s of series.filter(isObject)) {
    if (s['scope'] !== 'pool' || typeof s['key'] !== 'string' || !Array.isArray(s['points'])) continue;
    const means = s['points'].map((p) => (isObject(p) ? num(p['mean']) : null));
    if (means.some((m) => m === null)) continue;
    const history = isObject(s['history']) ? s['history'] : {};
    const model =
      isObject(s['model']) && typeof s['model']['method'] === 'string' ? s['model']['method'] : '';
    const accuracy = isObject(s['accuracy']) ? s['accuracy'] : undefined;
    out.push({
      poolId: s['key'],
      model: model || 'unknown',
      means: means as number[],
      historyHours: num(history['hours']) ?? 0,
      last24Hours: num(history['last24Hours']) ?? 0,
      mape: accuracy && isObject(accuracy['model']) ? num(accuracy['model']['mape']) : null,
    });
  }
  return out;
}

/** Tasks expected over `horizonMs` from hourly means (the last hour weighted by its share). */
export function expectedTasks(means: readonly number[], horizonMs: number): number {
  const hours = horizonMs / HOUR_MS;
  let total = 0;
  means.forEach((mean, i) => {
    total += Math.max(0, mean) * Math.min(1, Math.max(0, hours - i));
  });
  return total;
}

/**
 * The monitoring view's demand: for each pool in `usage`, analytics' forecast converted to the
 * pool's terms (see the file's comment) when `analytics` has the pool and it converts, else the
 * pool's moving average. Sorted by pool id.
 */
export function mergeDemand(
  usage: readonly PoolUsage[],
  movingAverage: readonly DemandForecast[],
  analytics: readonly PoolSeriesForecast[],
  horizonMs: number,
): PoolDemand[] {
  const average = new Map(movingAverage.map((f) => [f.poolId, f]));
  const forecast = new Map(analytics.map((f) => [f.poolId, f]));
  const out: PoolDemand[] = [];
  for (const u of usage) {
    const ma = average.get(u.poolId);
    const f = forecast.get(u.poolId);
    const demand = f ? converted(u, f, ma, horizonMs) : null;
    if (f && demand !== null)
      out.push({
        poolId: u.poolId,
        demand,
        capacity: u.capacity,
        horizonMs,
        method: `analytics:${f.model}`,
        samples: f.historyHours,
        mape: f.mape,
      });
    else if (ma) out.push({ ...ma, mape: null });
  }
  return out.sort((a, b) => (a.poolId < b.poolId ? -1 : 1));
}

function converted(
  u: PoolUsage,
  f: PoolSeriesForecast,
  ma: DemandForecast | undefined,
  horizonMs: number,
): number | null {
  // the forecast covers at most 168 hours: a longer horizon is taken at the forecast's mean rate
  const coveredMs = Math.min(horizonMs, f.means.length * HOUR_MS);
  if (!(coveredMs > 0)) return null;
  const perMs = expectedTasks(f.means, coveredMs) / coveredMs;
  if (u.kind === 'rate' && u.spec.windowMs > 0) {
    const perTask = u.spec.defaultAmount > 0 ? u.spec.defaultAmount : 1;
    return perMs * perTask * u.spec.windowMs;
  }
  const recentHours = Math.min(24, f.historyHours);
  const recentRate = recentHours > 0 ? f.last24Hours / recentHours : 0;
  if (!ma || !(recentRate > 0)) return null;
  return (ma.demand * perMs * HOUR_MS) / recentRate;
}

/** A note on the forecast behind an action, for its reason (analytics forecasts only). */
export function forecastNote(d: PoolDemand | undefined): string {
  if (!d || d.method === 'moving-average') return '';
  const accuracy = d.mape === null ? 'not backtested' : `backtest MAPE ${d.mape}%`;
  return ` (forecast ${d.method}, ${accuracy})`;
}
