import type { PoolInfo } from '../projection/state';
import { MINUTE_MS } from '../series';

/** How much of a pool was used over a range of minutes (0..1, above 1 when over capacity). */
export interface PoolUse {
  readonly mean: number;
  readonly peak: number;
  /** The highest amount held (concurrency, quantity, budget) or taken in a minute (rate). */
  readonly peakAmount: number;
}

/** A rate pool's capacity per minute (its capacity is per window; one minute when unknown). */
export const perMinuteCapacity = (pool: PoolInfo): number =>
  (pool.capacity * MINUTE_MS) / (pool.windowMs > 0 ? pool.windowMs : MINUTE_MS);

/**
 * Utilisation of `pool` over the minutes [fromMinute, toMinute), up to `nowMs`; undefined when its
 * capacity is unknown. A rate pool's use is what it granted per minute against its per-minute
 * capacity; other pools' is the amount held over time against their capacity.
 */
export function poolUse(
  pool: PoolInfo,
  fromMinute: number,
  toMinute: number,
  nowMs: number,
): PoolUse | undefined {
  if (!(pool.capacity > 0)) return undefined;
  if (pool.kind === 'rate') {
    const cap = perMinuteCapacity(pool);
    let sum = 0;
    let peakAmount = 0;
    for (const [m, b] of pool.minutes) {
      if (m < fromMinute || m >= toMinute) continue;
      sum += b.allocatedAmount;
      peakAmount = Math.max(peakAmount, b.allocatedAmount);
    }
    const minutes = Math.max(1, Math.min(toMinute, Math.ceil(nowMs / MINUTE_MS)) - fromMinute);
    return { mean: sum / minutes / cap, peak: peakAmount / cap, peakAmount };
  }
  const w = pool.gauge.window(fromMinute, toMinute, nowMs);
  return { mean: w.mean / pool.capacity, peak: w.peak / pool.capacity, peakAmount: w.peak };
}

/** Allocations blocked and tasks that asked for the pool in the minutes [fromMinute, toMinute). */
export function poolActivity(
  pool: PoolInfo,
  fromMinute: number,
  toMinute: number,
): { blocked: number; demand: number; allocations: number; peakDemandAmount: number } {
  let blocked = 0;
  let demand = 0;
  let allocations = 0;
  let peakDemandAmount = 0;
  for (const [m, b] of pool.minutes) {
    if (m < fromMinute || m >= toMinute) continue;
    blocked += b.blocked;
    demand += b.demand;
    allocations += b.allocations;
    peakDemandAmount = Math.max(peakDemandAmount, b.demandAmount);
  }
  return { blocked, demand, allocations, peakDemandAmount };
}

/** The amount the pool's waiting tasks ask for. */
export const waitingAmount = (pool: PoolInfo): number => {
  let sum = 0;
  for (const a of pool.waiting.values()) sum += a;
  return sum;
};
