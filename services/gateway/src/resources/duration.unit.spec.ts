import fc from 'fast-check';
import { parseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4_000 + 5],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    [' 2M ', 120_000],
    ['60000', 60_000],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '   ', 'm', '1x', '1 m', 'ten seconds', '-1s', '1m1h', '1s1s', '1.s', 'PT1M', '1m30'])(
    'refuses %j',
    (text) => {
      expect(parseDuration(text)).toBeUndefined();
    },
  );

  it('adds up the parts of any well-formed compound duration', () => {
    const units = [
      ['d', 86_400_000],
      ['h', 3_600_000],
      ['m', 60_000],
      ['s', 1_000],
      ['ms', 1],
    ] as const;
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.nat({ max: 999 }), { nil: undefined }), { minLength: 5, maxLength: 5 }),
        (counts) => {
          const parts = units.flatMap(([unit, scale], i) =>
            counts[i] === undefined ? [] : [{ text: `${counts[i]}${unit}`, ms: counts[i]! * scale }],
          );
          fc.pre(parts.length > 0);
          expect(parseDuration(parts.map((p) => p.text).join(''))).toBe(
            parts.reduce((sum, p) => sum + p.ms, 0),
          );
        },
      ),
    );
  });
});
