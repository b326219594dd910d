/**
 * Time buckets and gauges. Buckets are indexed by whole minutes or hours since the epoch (UTC), so a
 * bucket's index is also its start time and two folds of the same events agree on every bucket.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS);
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

/** What a gauge did during one minute. */
export interface GaugeMinute {
  /** The highest value it held during the minute. */
  peak: number;
  /** The value integrated over the minute (value x ms); divide by 60,000 for the mean. */
  integral: number;
}

/**
 * A level over time (a pool's allocated amount, a provider's busy slots or its capacity) kept per
 * minute: its peak and its time integral, from which a window's mean follows. Changes arrive in
 * event time; a change dated before the previous one is applied at the previous one's time, so the
 * integral never runs backwards.
 */
export class Gauge {
  value = 0;
  /** When `value` was set (ms); -1 before the first change. */
  since = -1;
  readonly minutes = new Map<number, GaugeMinute>();

  /** Sets the level at `at`, integrating the previous level up to then. */
  set(value: number, at: number, retentionMinutes: number): void {
    if (this.since >= 0 && at < this.since) at = this.since;
    this.advance(at, retentionMinutes);
    this.value = value;
    if (value > 0) this.minute(minuteOf(at)).peak = Math.max(this.minute(minuteOf(at)).peak, value);
  }

  /** Integrates the current level from `since` up to `at`. */
  advance(at: number, retentionMinutes: number): void {
    if (this.since < 0 || at <= this.since) {
      if (this.since < 0) this.since = at;
      return;
    }
    if (this.value > 0) {
      // Only the retained minutes matter: a level held for days is integrated over the last ones.
      let from = Math.max(this.since, (minuteOf(at) - retentionMinutes + 1) * MINUTE_MS);
      while (from < at) {
        const m = minuteOf(from);
        const to = Math.min(at, (m + 1) * MINUTE_MS);
        const bucket = this.minute(m);
        bucket.integral += this.value * (to - from);
        if (this.value > bucket.peak) bucket.peak = this.value;
        from = to;
      }
    }
    this.since = at;
  }

  /**
   * Peak and mean over the minutes [fromMinute, toMinute), counting the current level from `since`
   * up to `nowMs` as well (a level that has not changed for a while is still held).
   */
  window(fromMinute: number, toMinute: number, nowMs: number): { peak: number; mean: number } {
    let peak = 0;
    let integral = 0;
    for (const [m, b] of this.minutes) {
      if (m < fromMinute || m >= toMinute) continue;
      integral += b.integral;
      if (b.peak > peak) peak = b.peak;
    }
    const windowStart = fromMinute * MINUTE_MS;
    const windowEnd = Math.min(toMinute * MINUTE_MS, nowMs);
    if (this.since >= 0 && this.value > 0 && windowEnd > this.since) {
      integral += this.value * (windowEnd - Math.max(this.since, windowStart));
      peak = Math.max(peak, this.value);
    }
    const span = Math.max(1, windowEnd - windowStart);
    return { peak, mean: integral / span };
  }

  /** Forgets minutes before `minMinute`. */
  prune(minMinute: number): void {
    pruneBefore(this.minutes, minMinute);
  }

  private minute(m: number): GaugeMinute {
    let b = this.minutes.get(m);
    if (!b) this.minutes.set(m, (b = { peak: 0, integral: 0 }));
    return b;
  }
}

/**
 * Deletes the keys below `min` of a map whose keys were mostly inserted in increasing order: it
 * stops at the first key it keeps, so a late, older key may stay a little longer (views and
 * snapshots filter by range, so it is never seen).
 */
export function pruneBefore<V>(map: Map<number, V>, min: number): void {
  for (const key of map.keys()) {
    if (key >= min) return;
    map.delete(key);
  }
}

/** Adds `n` to the counter of `key`. */
export function addTo(map: Map<number, number>, key: number, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** The counts of `map` for the keys [from, to), zero where a key is missing. */
export function dense(map: ReadonlyMap<number, number>, from: number, to: number): number[] {
  const out = new Array<number>(Math.max(0, to - from)).fill(0);
  for (const [k, v] of map) if (k >= from && k < to) out[k - from] = v;
  return out;
}
