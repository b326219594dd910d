/**
 * Monitoring and demand (pure): utilization over time from samples of {@link poolUsage}, a
 * moving-average demand forecast (services/resources prefers analytics' forecasts when it has them), and the scaling
 * actions it implies, each with the numbers it rests on.
 */
import type { PoolUsage } from '../allocator/queries';

/** One observation of a pool (the service samples poolUsage periodically and keeps a history). */
export interface UsageSample {
  readonly poolId: string;
  /** ms since the epoch. */
  readonly at: number;
  readonly used: number;
  readonly capacity: number;
  /** Units asked for by waiters short on the pool: demand that is not served. */
  readonly waitingDemand: number;
}

export const sampleOf = (u: PoolUsage, at: Date): UsageSample => ({
  poolId: u.poolId,
  at: at.getTime(),
  used: u.used,
  capacity: u.capacity,
  waitingDemand: u.waitingDemand,
});

export interface UtilizationPoint {
  /** Start of the bucket, ms. */
  readonly at: number;
  /** Mean used / capacity over the samples in the bucket. */
  readonly utilization: number;
  /** Mean used + waiting demand. */
  readonly demand: number;
  readonly samples: number;
}

/** Utilization of `poolId` over time, averaged in buckets of `bucketMs` aligned on the epoch, oldest first. */
export function utilizationSeries(
  samples: readonly UsageSample[],
  poolId: string,
  bucketMs: number,
): UtilizationPoint[] {
  if (!(bucketMs > 0)) throw new RangeError(`bucketMs must be > 0, got ${bucketMs}`);
  const buckets = new Map<number, { u: number; d: number; n: number }>();
  for (const s of samples) {
    if (s.poolId !== poolId || !(s.capacity > 0)) continue;
    const at = Math.floor(s.at / bucketMs) * bucketMs;
    const b = buckets.get(at) ?? { u: 0, d: 0, n: 0 };
    buckets.set(at, { u: b.u + s.used / s.capacity, d: b.d + s.used + s.waitingDemand, n: b.n + 1 });
  }
  return [...buckets]
    .sort((a, b) => a[0] - b[0])
    .map(([at, b]) => ({ at, utilization: b.u / b.n, demand: b.d / b.n, samples: b.n }));
}

export interface DemandForecast {
  readonly poolId: string;
  /** Units expected to be asked for (held plus waiting) over the horizon. */
  readonly demand: number;
  readonly capacity: number;
  readonly horizonMs: number;
  /** 'moving-average' from this library; services may merge in others (`analytics:<model>`). */
  readonly method: string;
  /** Samples the average rests on. */
  readonly samples: number;
}

/**
 * Predicted demand per pool: the mean of held + waiting over the last `windowMs` (default: the
 * horizon) of each pool's history, ending at its latest sample. A moving average: it follows the
 * recent level and lags trends; analytics' forecasts replace it when available.
 */
export function demandForecast(
  history: readonly UsageSample[],
  horizonMs: number,
  options: { readonly windowMs?: number } = {},
): DemandForecast[] {
  if (!(horizonMs > 0)) throw new RangeError(`horizonMs must be > 0, got ${horizonMs}`);
  const windowMs = options.windowMs ?? horizonMs;
  const byPool = new Map<string, UsageSample[]>();
  for (const s of history) byPool.set(s.poolId, [...(byPool.get(s.poolId) ?? []), s]);
  const out: DemandForecast[] = [];
  for (const [poolId, samples] of byPool) {
    const latest = samples.reduce((a, b) => (b.at > a.at ? b : a));
    const recent = samples.filter((s) => s.at > latest.at - windowMs);
    const demand = recent.reduce((sum, s) => sum + s.used + s.waitingDemand, 0) / recent.length;
    out.push({
      poolId,
      demand,
      capacity: latest.capacity,
      horizonMs,
      method: 'moving-average',
      samples: recent.length,
    });
  }
  return out.sort((a, b) => (a.poolId < b.poolId ? -1 : 1));
}

export type ScalingActionKind = 'raise_pool' | 'add_agents' | 'shift_work';

export interface ScalingAction {
  readonly kind: ScalingActionKind;
  readonly poolId: string;
  /** add_agents: the provider to add agents of; shift_work: the provider to move work away from. */
  readonly provider: string;
  /** shift_work: the provider with headroom, and its pool. */
  readonly toProvider: string;
  readonly toPoolId: string;
  readonly capacity: number;
  readonly demand: number;
  readonly utilization: number;
  /** raise_pool: the capacity that brings predicted utilization to the target. */
  readonly suggestedCapacity: number;
  /** shift_work: units free in the other provider's pool. */
  readonly headroom: number;
  readonly reason: string;
}

export interface ScalingOptions {
  /** Raise a pool whose predicted demand is above this fraction of its capacity (default 0.9). */
  readonly raiseAbove?: number;
  /** The utilization a raised pool should be at (default 0.75). */
  readonly target?: number;
  /** A pool at or above this utilization, or with waiters, is saturated (default 0.9). */
  readonly saturatedAt?: number;
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

/**
 * The scaling actions usage and demand imply:
 * - raise_pool: predicted demand (now's held + waiting when there is no forecast) above 90% of capacity;
 * - add_agents: a provider-scoped rate or concurrency pool is saturated (90% used, or waiters);
 * - shift_work: and another provider's pool of the same kind and unit has headroom.
 */
export function scalingActions(
  usage: readonly PoolUsage[],
  forecasts: readonly DemandForecast[] = [],
  options: ScalingOptions = {},
): ScalingAction[] {
  const raiseAbove = options.raiseAbove ?? 0.9;
  const target = options.target ?? 0.75;
  const saturatedAt = options.saturatedAt ?? 0.9;
  const forecast = new Map(forecasts.map((f) => [f.poolId, f]));
  const actions: ScalingAction[] = [];
  const none = { provider: '', toProvider: '', toPoolId: '', suggestedCapacity: 0, headroom: 0 };
  for (const u of usage) {
    const demand = forecast.get(u.poolId)?.demand ?? u.used + u.waitingDemand;
    if (demand > raiseAbove * u.capacity) {
      const suggested = u.kind === 'budget' ? round(demand / target) : Math.ceil(demand / target);
      actions.push({
        ...none,
        kind: 'raise_pool',
        poolId: u.poolId,
        capacity: u.capacity,
        demand: round(demand),
        utilization: round(u.utilization),
        suggestedCapacity: suggested,
        reason:
          `pool "${u.poolId}": predicted demand ${round(demand)} ${u.unit} is ${Math.round((100 * demand) / u.capacity)}% ` +
          `of its capacity ${u.capacity}; ${suggested} would keep it near ${Math.round(target * 100)}%`,
      });
    }
  }
  const providerPools = usage.filter(
    (u) => u.scope.kind === 'provider' && (u.kind === 'rate' || u.kind === 'concurrency'),
  );
  const saturated = (u: PoolUsage): boolean => u.utilization >= saturatedAt || u.waiting > 0;
  for (const u of providerPools) {
    if (!saturated(u)) continue;
    const provider = u.scope.value;
    const demand = forecast.get(u.poolId)?.demand ?? u.used + u.waitingDemand;
    actions.push({
      ...none,
      kind: 'add_agents',
      poolId: u.poolId,
      provider,
      capacity: u.capacity,
      demand: round(demand),
      utilization: round(u.utilization),
      reason:
        `provider ${provider} is saturated: pool "${u.poolId}" is ${Math.round(u.utilization * 100)}% used` +
        (u.waiting > 0 ? ` with ${u.waiting} waiting for ${round(u.waitingDemand)} ${u.unit}` : ''),
    });
    const alternatives = providerPools
      .filter((o) => o.scope.value !== provider && o.kind === u.kind && o.unit === u.unit && !saturated(o))
      .filter((o) => o.available > 0)
      .sort((a, b) => b.available - a.available);
    const best = alternatives[0];
    if (best)
      actions.push({
        ...none,
        kind: 'shift_work',
        poolId: u.poolId,
        provider,
        toProvider: best.scope.value,
        toPoolId: best.poolId,
        capacity: u.capacity,
        demand: round(demand),
        utilization: round(u.utilization),
        headroom: round(best.available),
        reason:
          `provider ${provider} is saturated (${Math.round(u.utilization * 100)}% of "${u.poolId}") while ` +
          `${best.scope.value} has ${round(best.available)} ${best.unit} free in "${best.poolId}"`,
      });
  }
  return actions;
}
