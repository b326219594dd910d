import { ValidationError } from '@orch/domain-kit';
import { retryDelayMs } from './retry';

describe('retryDelayMs', () => {
  it('doubles from the base with each failure, up to the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, 1_000, 10_000, 0.999999))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
  });

  it('keeps half of the backoff and spreads the other half with the jitter (equal jitter)', () => {
    expect([0, 0.5].map((j) => retryDelayMs(3, 1_000, 60_000, j))).toEqual([2_000, 3_000]);
  });

  it('does not overflow after very many failures', () =>
    expect(retryDelayMs(5_000, 1_000, 60_000, 0)).toBe(30_000));

  it('refuses a jitter outside [0, 1)', () => {
    for (const j of [-0.1, 1, Number.NaN])
      expect(() => retryDelayMs(1, 1_000, 2_000, j)).toThrow(ValidationError);
  });
});
