import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  it('returns a value until its TTL passes', () => {
    let now = 0;
    const cache = new TtlCache<string, number>(100, 10, () => now);
    cache.set('a', 1);
    now = 99;
    expect(cache.get('a')).toBe(1);
    now = 100;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps a cached miss (null) apart from an absent entry', () => {
    const cache = new TtlCache<string, number | null>(100, 10);
    cache.set('unknown', null);
    expect(cache.get('unknown')).toBeNull();
    expect(cache.get('other')).toBeUndefined();
  });

  it('evicts the oldest entry beyond its capacity', () => {
    const cache = new TtlCache<string, number>(1000, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe(2);
    expect(cache.get('c')).toBe(3);
  });

  it('drops entries by value and caches nothing with a zero TTL', () => {
    const cache = new TtlCache<string, { id: string }>(1000, 10);
    cache.set('h1', { id: 'k1' });
    cache.set('h2', { id: 'k2' });
    cache.deleteWhere((v) => v.id === 'k1');
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toEqual({ id: 'k2' });
    const off = new TtlCache<string, number>(0, 10);
    off.set('a', 1);
    expect(off.get('a')).toBeUndefined();
  });
});
