import type { PoolSpec } from './pool-spec';

/**
 * Per-kind accounting of one pool: what is held, the token bucket, the budget's period. Pure
 * functions of the pool's state and a time in ms; the allocator's evolve and decide share them so a
 * replay computes exactly what the decision saw.
 */
export interface PoolState {
  readonly spec: PoolSpec;
  /** concurrency / quantity: units held; budget: estimates held by running allocations; rate: 0. */
  readonly used: number;
  /** rate: tokens in the bucket at `tokensAt` (ms). */
  readonly tokens: number;
  readonly tokensAt: number;
  /** budget: start (ms) of the period `spent` belongs to (0 for a budget that never resets). */
  readonly periodStart: number;
  readonly spent: number;
  /** budget: whether the soft limit was reported in this period. */
  readonly softWarned: boolean;
}

/** Amounts are doubles (money, fractions of a gpu): comparisons allow this much rounding. */
export const EPSILON = 1e-9;

/** a <= b, allowing for rounding. */
export const fitsWithin = (a: number, b: number): boolean => a <= b + EPSILON * Math.max(1, Math.abs(b));

export function newPoolState(spec: PoolSpec, atMs: number): PoolState {
  return {
    spec,
    used: 0,
    tokens: spec.kind === 'rate' ? spec.burst : 0,
    tokensAt: atMs,
    periodStart: periodStartAt(spec, atMs),
    spent: 0,
    softWarned: false,
  };
}

// ---------------------------------------------------------------- rate: a token bucket

/** Tokens added per ms. */
export const refillPerMs = (spec: PoolSpec): number => spec.capacity / spec.windowMs;

/** Tokens in the bucket at `atMs` (refilled continuously, never above `burst`; time never runs backwards). */
export function tokensAt(pool: PoolState, atMs: number): number {
  const elapsed = Math.max(0, atMs - pool.tokensAt);
  return Math.min(pool.spec.burst, pool.tokens + elapsed * refillPerMs(pool.spec));
}

/** The pool after `amount` tokens were taken at `atMs`. */
export const takeTokens = (pool: PoolState, amount: number, atMs: number): PoolState => ({
  ...pool,
  tokens: tokensAt(pool, atMs) - amount,
  tokensAt: Math.max(atMs, pool.tokensAt),
});

/** The first whole ms at or after `atMs` when the bucket holds `amount` tokens. */
export function whenTokens(pool: PoolState, amount: number, atMs: number): number {
  const missing = amount - tokensAt(pool, atMs);
  if (fitsWithin(missing, 0)) return atMs;
  // Rounding may leave a hair above a whole ms (0.0010000000000000009 / 0.001): do not wait an extra ms for it.
  return Math.max(atMs, pool.tokensAt) + Math.ceil(missing / refillPerMs(pool.spec) - 1e-9);
}

// ---------------------------------------------------------------- budget: periods

/** Start of the period `atMs` falls in: periods are aligned on multiples of `windowMs` since the epoch. */
export const periodStartAt = (spec: PoolSpec, atMs: number): number =>
  spec.kind === 'budget' && spec.windowMs > 0 ? Math.floor(atMs / spec.windowMs) * spec.windowMs : 0;

/** Start of the next period, or undefined for a budget that never resets. */
export const nextPeriodStart = (spec: PoolSpec, atMs: number): number | undefined =>
  spec.kind === 'budget' && spec.windowMs > 0 ? periodStartAt(spec, atMs) + spec.windowMs : undefined;

/** The budget as it stands at `atMs`: a new period starts with nothing spent and no warning given. */
export function budgetAt(pool: PoolState, atMs: number): PoolState {
  const start = periodStartAt(pool.spec, atMs);
  return start > pool.periodStart ? { ...pool, periodStart: start, spent: 0, softWarned: false } : pool;
}

/** spent + held estimates: what the budget has committed in its period. */
export const committed = (pool: PoolState): number => pool.spent + pool.used;

// ---------------------------------------------------------------- reservations

/**
 * An amount of a concurrency or quantity pool set aside during [from, to): usable only by task
 * `taskId` (any attempt), or, when `taskId` is empty, by claims that name the reservation.
 */
export interface Reservation {
  readonly reservationId: string;
  readonly poolId: string;
  readonly amount: number;
  readonly from: number;
  readonly to: number;
  readonly taskId: string;
}

export const isActive = (r: Reservation, atMs: number): boolean => r.from <= atMs && atMs < r.to;

/** Whether a claim by `taskId` (naming `reservationId`, or '') may draw from `r`. */
export const entitled = (r: Reservation, taskId: string, reservationId: string): boolean =>
  r.taskId !== '' ? r.taskId === taskId : r.reservationId === reservationId;

/** The largest sum of amounts of `reservations` set aside at any one instant of [from, to). */
export function peakReserved(reservations: Iterable<Reservation>, from: number, to: number): number {
  const edges: [number, number][] = [];
  for (const r of reservations) {
    if (r.to <= from || r.from >= to) continue;
    edges.push([Math.max(r.from, from), r.amount], [r.to, -r.amount]);
  }
  // Ends before starts at the same instant: [a, b) and [b, c) never overlap.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, delta] of edges) {
    now += delta;
    peak = Math.max(peak, now);
  }
  return peak;
}
