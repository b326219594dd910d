/**
 * Durations as clients write them for a pool's window: a number of milliseconds (`60000`) or a
 * string of one or more `<number><unit>` parts (`"1m"`, `"30s"`, `"1h30m"`, `"1.5h"`, `"250ms"`,
 * `"1d"`), units `ms`, `s`, `m`, `h` and `d`. A string of digits alone is milliseconds too.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
const DIGITS = /^\d+$/;

/** What a duration may be written as, for messages and documentation. */
export const DURATION_FORMAT = 'milliseconds, or a duration such as "30s", "1m", "1h30m" or "1d"';

/**
 * The milliseconds `text` stands for, or undefined when it is not a duration. Parts add up
 * (`"1h30m"` = 5,400,000); each unit may appear once and units go from largest to smallest.
 * The result is rounded to a whole millisecond.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s === '') return undefined;
  if (DIGITS.test(s)) return Number(s);
  let total = 0;
  let at = 0;
  let lastScale = Number.POSITIVE_INFINITY;
  while (at < s.length) {
    PART.lastIndex = at;
    const match = PART.exec(s);
    if (!match) return undefined;
    const scale = UNIT_MS[match[2]!]!;
    if (scale >= lastScale) return undefined;
    lastScale = scale;
    total += Number(match[1]) * scale;
    at = PART.lastIndex;
  }
  return Math.round(total);
}
