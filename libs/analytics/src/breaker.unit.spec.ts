import { CircuitBreaker, DEFAULT_BREAKER_OPTIONS } from '@orch/coordination';
import fc from 'fast-check';
import { Breaker } from './breaker';

const T0 = Date.parse('2026-11-21T10:00:00Z');

describe('the breaker analytics follows', () => {
  it('is in the state coordination breaker is in after any sequence of outcomes', () => {
    const outcomes = fc.array(fc.record({ ok: fc.boolean(), gapMs: fc.integer({ min: 0, max: 40_000 }) }), {
      maxLength: 200,
    });
    fc.assert(
      fc.property(outcomes, fc.integer({ min: 0, max: 60_000 }), (steps, lateMs) => {
        const theirs = new CircuitBreaker(DEFAULT_BREAKER_OPTIONS);
        const ours = new Breaker();
        let at = T0;
        for (const { ok, gapMs } of steps) {
          at += gapMs;
          theirs.record(ok, new Date(at));
          ours.record(ok, at);
          expect(ours.state(at)).toBe(theirs.state(new Date(at)));
        }
        expect(ours.state(at + lateMs)).toBe(theirs.state(new Date(at + lateMs)));
      }),
    );
  });

  it('remembers its last trip and the successes since', () => {
    const b = new Breaker();
    for (let i = 0; i < 5; i++) b.record(false, T0 + i);
    expect(b.lastTrip).toEqual({ at: T0 + 4, outcomes: 5, failures: 5 });
    b.record(true, T0 + 10); // a late result while open
    expect(b.state(T0 + 10)).toBe('open');
    expect(b.successesSinceTrip).toBe(1);
  });

  it('keeps at most 1,000 outcomes in its window, like coordination', () => {
    const b = new Breaker();
    for (let i = 0; i < 3_000; i++) b.record(true, T0 + i);
    expect(b.outcomes).toBe(1_000);
    expect(b.failures).toBe(0);
  });
});
