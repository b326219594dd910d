import fc from 'fast-check';
import type { Contender } from '../policies/priority';
import { chooseVictim, findCycle } from './wait-for';

const graphOf = (edges: Record<string, string[]>) => (id: string) => edges[id] ?? [];

describe('findCycle', () => {
  it('returns the cycle through the start without repeating it', () => {
    const waitsFor = graphOf({ a: ['b'], b: ['c', 'd'], c: [], d: ['a'] });
    expect(findCycle(waitsFor, 'a')).toEqual(['a', 'b', 'd']);
  });

  it('ignores cycles that do not pass through the start', () => {
    expect(findCycle(graphOf({ a: ['b'], b: ['c'], c: ['b'] }), 'a')).toBeUndefined();
  });

  it('reports a waiter that waits for itself', () => {
    expect(findCycle(graphOf({ a: ['a'] }), 'a')).toEqual(['a']);
  });

  it('handles a long chain without recursion', () => {
    const n = 50_000;
    const cycle = findCycle((id) => [`${(Number(id) + 1) % n}`], '0');
    expect(cycle).toHaveLength(n);
  });

  const nodes = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
  const graphs = fc
    .array(fc.tuple(fc.constantFrom(...nodes), fc.constantFrom(...nodes)), { maxLength: 18 })
    .map((edges) => {
      const out = new Map<string, string[]>();
      for (const [from, to] of edges)
        if (!(out.get(from) ?? []).includes(to)) out.set(from, [...(out.get(from) ?? []), to]);
      return out;
    });

  /** Brute force: is the start reachable from itself in one or more steps (breadth-first)? */
  const onCycle = (g: Map<string, string[]>, start: string): boolean => {
    const seen = new Set<string>();
    let frontier = g.get(start) ?? [];
    while (frontier.length > 0) {
      if (frontier.includes(start)) return true;
      const next: string[] = [];
      for (const id of frontier) {
        if (seen.has(id)) continue;
        seen.add(id);
        next.push(...(g.get(id) ?? []));
      }
      frontier = next;
    }
    return false;
  };

  it('finds a real cycle exactly when one passes through the start, asking each node once', () => {
    fc.assert(
      fc.property(graphs, fc.constantFrom(...nodes), (g, start) => {
        const asked: string[] = [];
        const cycle = findCycle((id) => (asked.push(id), g.get(id) ?? []), start);
        expect(cycle !== undefined).toBe(onCycle(g, start));
        expect(new Set(asked).size).toBe(asked.length);
        if (cycle === undefined) return;
        expect(cycle[0]).toBe(start);
        expect(new Set(cycle).size).toBe(cycle.length);
        cycle.forEach((id, i) => expect(g.get(id)).toContain(cycle[(i + 1) % cycle.length]));
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('chooseVictim', () => {
  const c = (id: string, priority: number, since: number): Contender => ({ id, priority, since });

  it('picks the lowest priority first', () => {
    expect(chooseVictim([c('a', 3, 1), c('b', 1, 0), c('c', 2, 9)]).id).toBe('b');
  });

  it('then the youngest (largest since)', () => {
    expect(chooseVictim([c('a', 1, 5), c('b', 1, 9), c('c', 1, 7)]).id).toBe('b');
  });

  it('then the largest id', () => {
    expect(chooseVictim([c('t-2', 1, 5), c('t-10', 1, 5), c('t-3', 1, 5)]).id).toBe('t-3');
  });

  it('does not depend on the order of the cycle', () => {
    const contenders = fc.array(
      fc.record({
        id: fc.constantFrom('a', 'b', 'c', 'd'),
        priority: fc.integer({ min: 0, max: 3 }),
        since: fc.integer({ min: 0, max: 3 }),
      }),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(contenders, (cycle) => {
        const unique = [...new Map(cycle.map((x) => [x.id, x])).values()];
        expect(chooseVictim([...unique].reverse())).toBe(chooseVictim(unique));
      }),
    );
  });

  it('refuses an empty cycle', () => {
    expect(() => chooseVictim([])).toThrow(RangeError);
  });
});
