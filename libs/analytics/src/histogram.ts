import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';

/**
 * HDR histograms of durations (ms) and other non-negative magnitudes, on hdr-histogram-js's
 * JavaScript implementation (no WebAssembly: deterministic and synchronous, so it runs the same in
 * Jest, a service and a rebuild).
 *
 * Two precisions: 2 significant digits (values within 1%) for the lasting per-entity histograms, 1
 * digit (within 10%) for the short-lived hourly window histograms that anomaly detection compares,
 * which are kept per agent per hour and must stay small (about 1 KB each).
 */
export type { Histogram } from 'hdr-histogram-js';

export type Precision = 1 | 2;

/** The precision of lasting histograms (per agent, provider, task type, session, pool, lock). */
export const PRECISE: Precision = 2;
/** The precision of hourly window histograms. */
export const COARSE: Precision = 1;

/** Values above this are recorded as this (about 31 years in ms): a bad clock must not throw. */
const MAX_VALUE = 1e12;

/**
 * The range a histogram covers before it first grows (about 16 s in ms): most waits and run times
 * fall in it, so recording seldom resizes, and an idle histogram stays small (4 KB at 2 digits).
 */
const INITIAL_HIGHEST = 2 ** 14;

/**
 * An empty histogram that grows to fit what it records. `packed` stores its counts sparsely: smaller
 * and cheaper to create, a little slower to record into - for the many short-lived histograms of
 * sessions.
 */
export const newHistogram = (precision: Precision = PRECISE, packed = false): Histogram =>
  build({
    bitBucketSize: packed ? 'packed' : 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: INITIAL_HIGHEST,
    numberOfSignificantValueDigits: precision,
    useWebAssembly: false,
  });

/** Records `value` rounded to an integer; negative values (clock skew) count as 0. */
export function recordValue(h: Histogram, value: number): void {
  const v = !(value > 0) ? 0 : value >= MAX_VALUE ? MAX_VALUE : Math.round(value);
  h.recordValue(v);
}

/** Percentiles of a histogram, in its unit (ms for durations). */
export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** The summary of `h`, or null when it recorded nothing. */
export function summarise(h: Histogram | undefined): Summary | null {
  if (!h || h.totalCount === 0) return null;
  return {
    count: h.totalCount,
    mean: Math.round(h.mean * 100) / 100,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    // From the buckets, like the percentiles: the exact maximum a histogram saw is not encoded.
    max: h.getValueAtPercentile(100),
  };
}

/** The histogram as a compact string (HdrHistogram's compressed V2 encoding, base64). */
export const encodeHistogram = (h: Histogram): string => encodeIntoCompressedBase64(h);

/** A histogram from `encodeHistogram`'s string; it keeps growing to fit what it records next. */
export function decodeHistogram(encoded: string, packed = false): Histogram {
  const h = decodeFromCompressedBase64(encoded, packed ? 'packed' : 32, false);
  h.autoResize = true;
  return h;
}

/** One histogram holding the counts of every given one; undefined when none is given. */
export function mergeHistograms(
  histograms: Iterable<Histogram | undefined>,
  precision: Precision,
): Histogram | undefined {
  let merged: Histogram | undefined;
  for (const h of histograms) {
    if (!h || h.totalCount === 0) continue;
    merged ??= newHistogram(precision);
    merged.add(h);
  }
  return merged;
}
