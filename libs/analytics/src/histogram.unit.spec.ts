import {
  COARSE,
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  newHistogram,
  PRECISE,
  recordValue,
  summarise,
} from './histogram';

describe('histograms', () => {
  it('reports percentiles within 1% at two significant digits', () => {
    const h = newHistogram(PRECISE);
    for (let v = 1; v <= 10_000; v++) recordValue(h, v * 10);
    const s = summarise(h)!;
    expect(s.count).toBe(10_000);
    for (const [actual, expected] of [
      [s.p50, 50_000],
      [s.p90, 90_000],
      [s.p99, 99_000],
      [s.max, 100_000],
    ] as const)
      expect(Math.abs(actual - expected) / expected).toBeLessThan(0.01);
  });

  it('records a negative or absurd value at the edges instead of throwing', () => {
    const h = newHistogram(PRECISE);
    recordValue(h, -5);
    recordValue(h, Number.NaN);
    recordValue(h, 1e300);
    const s = summarise(h)!;
    expect(s.count).toBe(3);
    expect(h.getValueAtPercentile(50)).toBe(0);
    expect(s.max).toBeGreaterThan(9e11);
  });

  it('survives its string encoding and keeps growing afterwards', () => {
    const h = newHistogram(PRECISE);
    [3, 700, 42_000].forEach((v) => recordValue(h, v));
    const back = decodeHistogram(encodeHistogram(h));
    expect(summarise(back)).toEqual(summarise(h));
    recordValue(back, 3_600_000_000);
    expect(summarise(back)!.count).toBe(4);
  });

  it('summarises nothing as null and merges only what has counts', () => {
    expect(summarise(undefined)).toBeNull();
    expect(summarise(newHistogram())).toBeNull();
    const a = newHistogram(COARSE);
    const b = newHistogram(COARSE);
    recordValue(a, 100);
    recordValue(b, 200);
    expect(summarise(mergeHistograms([a, undefined, b, newHistogram(COARSE)], COARSE))!.count).toBe(2);
    expect(mergeHistograms([undefined], COARSE)).toBeUndefined();
  });
});
