import fc from 'fast-check';
import { PersistentMap } from './persistent-map';

describe('PersistentMap', () => {
  it('leaves the map it was set from unchanged', () => {
    const empty = PersistentMap.empty<number>();
    const one = empty.set('a', 1);
    const two = one.set('a', 2);
    expect([empty.get('a'), one.get('a'), two.get('a')]).toEqual([undefined, 1, 2]);
    expect([empty.size, one.size, two.size]).toEqual([0, 1, 1]);
    expect(two.has('a') && !empty.has('a')).toBe(true);
  });

  it('behaves like a Map over any sequence of writes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.integer())), (writes) => {
        const expected = new Map<string, number>();
        let actual = PersistentMap.empty<number>();
        for (const [k, v] of writes) {
          expected.set(k, v);
          actual = actual.set(k, v);
        }
        expect(actual.size).toBe(expected.size);
        expect(new Map(actual.entries())).toEqual(expected);
        expect([...actual.values()].sort()).toEqual([...expected.values()].sort());
      }),
    );
  });
});
