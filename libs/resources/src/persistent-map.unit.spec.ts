import fc from 'fast-check';
import { PMap } from './persistent-map';

describe('PMap', () => {
  it('behaves like a Map under any sequence of sets and deletes, and never changes an earlier version', () =>
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 300 }),
        (ops) => {
          let map = PMap.empty<number>();
          const model = new Map<string, number>();
          const versions: [PMap<number>, [string, number][]][] = [];
          for (const [set, key, value] of ops) {
            if (set) {
              map = map.set(key, value);
              model.set(key, value);
            } else {
              map = map.delete(key);
              model.delete(key);
            }
            versions.push([map, [...model].sort()]);
          }
          for (const [version, entries] of versions) {
            expect(version.size).toBe(entries.length);
            expect(version.toArray().sort()).toEqual(entries);
            for (const [k, v] of entries) expect(version.get(k)).toBe(v);
          }
        },
      ),
    ));

  it('returns itself when a set or delete changes nothing', () => {
    const map = PMap.of([['a', 1]]);
    expect(map.set('a', 1)).toBe(map);
    expect(map.delete('b')).toBe(map);
  });

  it('keeps keys whose hashes collide apart', () => {
    // Enough keys that 32-bit hash collisions and deep branches both occur.
    let map = PMap.empty<number>();
    for (let i = 0; i < 20_000; i++) map = map.set(`k${i}`, i);
    for (let i = 0; i < 20_000; i += 2) map = map.delete(`k${i}`);
    expect(map.size).toBe(10_000);
    for (let i = 0; i < 20_000; i++) expect(map.get(`k${i}`)).toBe(i % 2 === 0 ? undefined : i);
  });
});
