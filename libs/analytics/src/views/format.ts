import { rfc3339 } from '@orch/domain-kit';

/** An RFC 3339 timestamp of ms since the epoch, or null for -1 / NaN (never happened). */
export const iso = (ms: number): string | null =>
  ms >= 0 && Number.isFinite(ms) ? rfc3339(new Date(ms)) : null;

/** An RFC 3339 timestamp of a time known to be valid. */
export const isoAt = (ms: number): string => rfc3339(new Date(ms));

/** `n` rounded to `digits` decimals. */
export const round = (n: number, digits = 4): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** a / b rounded, or null when b is 0. */
export const ratio = (a: number, b: number, digits = 4): number | null =>
  b > 0 ? round(a / b, digits) : null;

/** Sorts by a string key. */
export const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
