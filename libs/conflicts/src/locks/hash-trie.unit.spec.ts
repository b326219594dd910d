import fc from 'fast-check';
import { HashTrie } from './hash-trie';

describe('HashTrie', () => {
  it('behaves like a Map under any sequence of sets and deletes, and old versions stay as they were', () => {
    // Up to 400 keys: leaves split into branches several levels deep.
    const keys = fc.integer({ min: 0, max: 400 }).map((n) => `k${n}`);
    const ops = fc.array(fc.record({ key: keys, value: fc.option(fc.nat(), { nil: undefined }) }), {
      maxLength: 800,
    });
    fc.assert(
      fc.property(ops, (history) => {
        let trie = HashTrie.empty<number>();
        let model = new Map<string, number>();
        const versions: [HashTrie<number>, Map<string, number>][] = [];
        for (const { key, value } of history) {
          if (value === undefined) {
            trie = trie.delete(key);
            model = new Map(model);
            model.delete(key);
          } else {
            trie = trie.set(key, value);
            model = new Map(model).set(key, value);
          }
          versions.push([trie, model]);
        }
        for (const [t, m] of versions.filter((_, i) => i % 50 === 0 || i === versions.length - 1)) {
          expect(t.size).toBe(m.size);
          expect(new Map(t.entries())).toEqual(m);
          for (const key of ['k0', 'k1', 'k77', 'k400']) expect(t.get(key)).toBe(m.get(key));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('returns itself for a no-op set or delete', () => {
    const trie = HashTrie.empty<number>().set('a', 1);
    expect(trie.set('a', 1)).toBe(trie);
    expect(trie.delete('b')).toBe(trie);
  });
});
