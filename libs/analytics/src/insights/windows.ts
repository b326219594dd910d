import { mergeHistograms, COARSE, type Histogram } from '../histogram';
import type { StageBucket, WindowBucket } from '../projection/state';
import { HOUR_MS, hourOf } from '../series';
import { isoAt } from '../views/format';

/**
 * The recent window and the baseline before it, in whole hour buckets.
 *
 * The window is every hour bucket that overlaps [now - windowHours, now]: with the default of one
 * hour at 10:20, the buckets of 09:00 and 10:00 (80 minutes of data). The baseline is the
 * `baselineHours` buckets just before it.
 */
export interface Windows {
  readonly now: number;
  /** Hour indexes [from, to) of the window. */
  readonly window: { readonly from: number; readonly to: number };
  readonly baseline: { readonly from: number; readonly to: number };
}

export interface WindowOptions {
  /** Hours back from now the window reaches (default 1). */
  readonly windowHours?: number;
  /** Hours of baseline before the window (default 24). */
  readonly baselineHours?: number;
}

/** A range of time as the views report it. */
export interface RangeView {
  readonly from: string;
  readonly to: string;
  readonly hours: number;
}

/**
 * The window and baseline at `nowMs`, neither reaching before `minHour` (the first hour the state
 * still keeps: older buckets may linger until pruned and must not be read).
 */
export function windowsAt(nowMs: number, options: WindowOptions = {}, minHour = -Infinity): Windows {
  const windowHours = options.windowHours ?? 1;
  const baselineHours = options.baselineHours ?? 24;
  const to = hourOf(nowMs) + 1;
  const from = Math.max(minHour, Math.min(to, hourOf(nowMs - windowHours * HOUR_MS)));
  return {
    now: nowMs,
    window: { from, to },
    baseline: { from: Math.max(minHour, Math.min(from, from - baselineHours)), to: from },
  };
}

export const rangeView = (r: { from: number; to: number }): RangeView => ({
  from: isoAt(r.from * HOUR_MS),
  to: isoAt(r.to * HOUR_MS),
  hours: r.to - r.from,
});

/** The buckets of `map` within the hours [from, to). */
export function bucketsIn<V>(map: ReadonlyMap<number, V>, r: { from: number; to: number }): V[] {
  const out: V[] = [];
  for (const [h, b] of map) if (h >= r.from && h < r.to) out.push(b);
  return out;
}

/** Outcomes of a subject over some hours. */
export interface WindowTotals {
  readonly outcomes: number;
  readonly failures: number;
  readonly costUsd: number;
  readonly costed: number;
  readonly runTime: Histogram | undefined;
  readonly queueWait: Histogram | undefined;
}

export function totalsOf(buckets: readonly WindowBucket[]): WindowTotals {
  let outcomes = 0;
  let failures = 0;
  let costUsd = 0;
  let costed = 0;
  for (const b of buckets) {
    outcomes += b.outcomes;
    failures += b.failures;
    costUsd += b.costUsd;
    costed += b.costed;
  }
  return {
    outcomes,
    failures,
    costUsd,
    costed,
    runTime: mergeHistograms(
      buckets.map((b) => b.runTime),
      COARSE,
    ),
    queueWait: mergeHistograms(
      buckets.map((b) => b.queueWait),
      COARSE,
    ),
  };
}

/** Time tasks spent per stage over some hours, and who made them wait. */
export interface StageTotals {
  agentMs: number;
  agentWaits: number;
  resourcesMs: number;
  resourcesWaits: number;
  lockMs: number;
  lockWaits: number;
  budgetMs: number;
  budgetWaits: number;
  runningMs: number;
  runs: number;
  readonly byPool: Map<string, [number, number]>;
  readonly byLock: Map<string, [number, number]>;
  readonly byAgent: Map<string, [number, number]>;
}

function addInto(into: Map<string, [number, number]>, from: ReadonlyMap<string, [number, number]>): void {
  for (const [k, [ms, n]] of from) {
    const pair = into.get(k);
    if (pair) {
      pair[0] += ms;
      pair[1] += n;
    } else into.set(k, [ms, n]);
  }
}

export function stageTotals(buckets: readonly StageBucket[]): StageTotals {
  const t: StageTotals = {
    agentMs: 0,
    agentWaits: 0,
    resourcesMs: 0,
    resourcesWaits: 0,
    lockMs: 0,
    lockWaits: 0,
    budgetMs: 0,
    budgetWaits: 0,
    runningMs: 0,
    runs: 0,
    byPool: new Map(),
    byLock: new Map(),
    byAgent: new Map(),
  };
  for (const b of buckets) {
    t.agentMs += b.agentMs;
    t.agentWaits += b.agentWaits;
    t.resourcesMs += b.resourcesMs;
    t.resourcesWaits += b.resourcesWaits;
    t.lockMs += b.lockMs;
    t.lockWaits += b.lockWaits;
    t.budgetMs += b.budgetMs;
    t.budgetWaits += b.budgetWaits;
    t.runningMs += b.runningMs;
    t.runs += b.runs;
    addInto(t.byPool, b.byPool);
    addInto(t.byLock, b.byLock);
    addInto(t.byAgent, b.byAgent);
  }
  return t;
}

/** Mean and sample standard deviation; undefined with fewer than 2 values. */
export function meanSd(values: readonly number[]): { mean: number; sd: number } | undefined {
  if (values.length < 2) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, sd: Math.sqrt(variance) };
}
