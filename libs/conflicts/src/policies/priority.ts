/**
 * Priority ordering of waiters with aging: a waiter gains one priority step per `agingStepMs` it has
 * waited, so a steady stream of newer, higher-priority requests cannot starve it.
 */

/** A party to contention: a task attempt asking for, or holding, a resource. */
export interface Contender {
  readonly id: string;
  readonly priority: number;
  /** ms since epoch the request was first made (age for wait-die/wound-wait and FIFO) */
  readonly since: number;
}

/**
 * priority + one step per `agingStepMs` waited (agingStepMs > 0), so nothing starves.
 * `agingStepMs = Infinity` turns aging off. Time before `since` counts as no wait.
 * @throws RangeError when agingStepMs is not > 0.
 */
export function effectivePriority(c: Contender, nowMs: number, agingStepMs: number): number {
  if (!(agingStepMs > 0)) throw new RangeError(`agingStepMs must be > 0, got ${agingStepMs}`);
  const waited = Math.max(0, nowMs - c.since);
  return c.priority + (Number.isFinite(agingStepMs) ? Math.floor(waited / agingStepMs) : 0);
}

/**
 * Orders waiters: higher effective priority first, then older `since`, then id (code-unit order).
 * A total order (0 only for equal ids), usable with Array.prototype.sort; negative means `a` first.
 */
export function compareWaiters(a: Contender, b: Contender, nowMs: number, agingStepMs: number): number {
  const pa = effectivePriority(a, nowMs, agingStepMs);
  const pb = effectivePriority(b, nowMs, agingStepMs);
  if (pa !== pb) return pb - pa > 0 ? 1 : -1;
  if (a.since !== b.since) return a.since < b.since ? -1 : 1;
  return compareIds(a.id, b.id);
}

/**
 * Whether `a` is older than `b`: earlier `since`, ties broken by the smaller id. A strict total order on
 * age, which wait-die and wound-wait need to be deadlock-free.
 */
export function isOlder(a: Contender, b: Contender): boolean {
  return a.since < b.since || (a.since === b.since && compareIds(a.id, b.id) < 0);
}

/** Plain code-unit order, identical on every machine (unlike localeCompare). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
