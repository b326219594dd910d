import { describe, expect, it } from '@jest/globals';
import { StreamVersions } from './stream-versions';

describe('StreamVersions', () => {
  it('remembers the last version set per stream', () => {
    const versions = new StreamVersions();
    versions.set('a', 1n);
    versions.set('a', 3n);
    expect(versions.get('a')).toBe(3n);
    expect(versions.get('b')).toBeUndefined();
  });

  it('forgets the least recently set stream beyond its capacity', () => {
    const versions = new StreamVersions(2);
    versions.set('a', 1n);
    versions.set('b', 1n);
    versions.set('a', 2n);
    versions.set('c', 1n);
    expect(versions.size).toBe(2);
    expect(versions.get('b')).toBeUndefined();
    expect(versions.get('a')).toBe(2n);
    expect(versions.get('c')).toBe(1n);
  });
});
