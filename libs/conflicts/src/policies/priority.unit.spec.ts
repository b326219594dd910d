import fc from 'fast-check';
import { compareWaiters, effectivePriority, type Contender } from './priority';

const c = (id: string, priority: number, since: number): Contender => ({ id, priority, since });
const sign = (n: number) => (n > 0 ? 1 : n < 0 ? -1 : 0);

describe('effectivePriority', () => {
  it('adds one step per agingStepMs waited', () => {
    const waiter = c('a', 2, 10_000);
    expect(effectivePriority(waiter, 10_000, 1_000)).toBe(2);
    expect(effectivePriority(waiter, 10_999, 1_000)).toBe(2);
    expect(effectivePriority(waiter, 13_500, 1_000)).toBe(5);
  });

  it('counts no wait before the request was made, and no aging with an infinite step', () => {
    expect(effectivePriority(c('a', 2, 10_000), 5_000, 1_000)).toBe(2);
    expect(effectivePriority(c('a', 2, 0), 1e12, Infinity)).toBe(2);
  });

  it('refuses a step that is not positive', () => {
    expect(() => effectivePriority(c('a', 0, 0), 0, 0)).toThrow(RangeError);
    expect(() => effectivePriority(c('a', 0, 0), 0, NaN)).toThrow(RangeError);
  });
});

describe('compareWaiters', () => {
  const contender = fc.record({
    id: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    priority: fc.integer({ min: -3, max: 3 }),
    since: fc.integer({ min: 0, max: 5_000 }),
  });
  const now = fc.integer({ min: 0, max: 20_000 });
  const step = fc.integer({ min: 1, max: 3_000 });

  it('is a total order: antisymmetric, transitive, and 0 only for the same id, age and effective priority', () => {
    fc.assert(
      fc.property(contender, contender, contender, now, step, (a, b, x, t, s) => {
        const cmp = (p: Contender, q: Contender) => sign(compareWaiters(p, q, t, s));
        expect(cmp(a, b) + cmp(b, a)).toBe(0);
        const same =
          a.id === b.id && a.since === b.since && effectivePriority(a, t, s) === effectivePriority(b, t, s);
        expect(cmp(a, b) === 0).toBe(same);
        if (cmp(a, b) <= 0 && cmp(b, x) <= 0) expect(cmp(a, x)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 1_000 },
    );
  });

  it('puts higher effective priority first, then older, then smaller id', () => {
    fc.assert(
      fc.property(fc.array(contender, { maxLength: 12 }), now, step, (waiters, t, s) => {
        const sorted = [...waiters].sort((p, q) => compareWaiters(p, q, t, s));
        for (let i = 1; i < sorted.length; i++) {
          const [p, q] = [sorted[i - 1]!, sorted[i]!];
          const [ep, eq] = [effectivePriority(p, t, s), effectivePriority(q, t, s)];
          expect(ep).toBeGreaterThanOrEqual(eq);
          if (ep === eq) expect(p.since).toBeLessThanOrEqual(q.since);
          if (ep === eq && p.since === q.since) expect(p.id <= q.id).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('lets an older waiter overtake a higher-priority newcomer once it has aged enough', () => {
    const old = c('old', 0, 0);
    const newcomer = c('new', 3, 9_000);
    expect(compareWaiters(old, newcomer, 9_000, 1_000)).toBeLessThan(0); // 0 + 9 steps > 3
    expect(compareWaiters(old, newcomer, 9_000, Infinity)).toBeGreaterThan(0);
  });
});

describe('no starvation under aging', () => {
  const TICK = 1_000;
  const MAX_PRIORITY = 10;

  /**
   * One queue served once per tick, the head by compareWaiters; `w` (priority `pw`, since 0) and the
   * initial waiters are there at 0, and every tick brings the newcomers of the (cyclically repeated)
   * arrival pattern, all with a priority above `pw`. Returns the tick `w` is served at, or undefined.
   */
  function serve(opts: {
    pw: number;
    initial: number[];
    pattern: number[][];
    agingStepMs: number;
    maxTicks: number;
  }): number | undefined {
    let queue: Contender[] = [c('w', opts.pw, 0), ...opts.initial.map((p, i) => c(`i${i}`, p, 0))];
    for (let tick = 1; tick <= opts.maxTicks; tick++) {
      const now = tick * TICK;
      const arrivals = opts.pattern[(tick - 1) % opts.pattern.length]!;
      queue = [...queue, ...arrivals.map((p, k) => c(`n${tick}.${k}`, p, now))];
      const head = queue.reduce((best, x) => (compareWaiters(x, best, now, opts.agingStepMs) < 0 ? x : best));
      if (head.id === 'w') return tick;
      queue = queue.filter((x) => x !== head);
    }
    return undefined;
  }

  const scenario = fc
    .record({
      pw: fc.integer({ min: 0, max: 3 }),
      initial: fc.array(fc.integer({ min: 0, max: MAX_PRIORITY }), { maxLength: 5 }),
      pattern: fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
      agingSteps: fc.integer({ min: 1, max: 4 }),
    })
    .map((s) => ({
      ...s,
      // Newcomers always outrank w on priority: a queue that keeps receiving higher-priority work.
      pattern: s.pattern.map((ticks) => ticks.map((p) => s.pw + 1 + (p % (MAX_PRIORITY - s.pw)))),
      agingStepMs: s.agingSteps * TICK,
    }));

  it('serves every waiter within a bound set by the arrivals before its aging cut-off', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        // A newcomer arriving at or after (MAX_PRIORITY - pw + 1) aging steps ranks below w from then on
        // (its aged priority is at most MAX_PRIORITY + its own steps, w's is pw + w's steps), so only the
        // initial waiters and the newcomers before that cut-off can be served before w.
        const cutoffTick = Math.ceil(((MAX_PRIORITY - s.pw + 1) * s.agingStepMs) / TICK);
        let before = s.initial.length;
        for (let tick = 1; tick < cutoffTick; tick++)
          before += s.pattern[(tick - 1) % s.pattern.length]!.length;
        const served = serve({ ...s, maxTicks: before + 1 });
        expect(served).toBeDefined();
        expect(served!).toBeLessThanOrEqual(before + 1);
      }),
      { numRuns: 300 },
    );
  });

  it('starves the same waiter without aging', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(serve({ ...s, agingStepMs: Infinity, maxTicks: 200 })).toBeUndefined();
      }),
      { numRuns: 30 },
    );
  });
});
