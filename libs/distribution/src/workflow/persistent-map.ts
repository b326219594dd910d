/**
 * An immutable string-keyed map whose updates cost O(size / 64) instead of O(size).
 *
 * A workflow's state is folded one event at a time and a workflow may hold 10,000 tasks: copying a
 * plain Map on every event would make submitting or replaying a large DAG quadratic. Entries live
 * in 64 buckets chosen by a hash of the key; `set` copies the bucket array and the one bucket it
 * touches, and shares the rest with the previous version.
 *
 * Iteration follows bucket order, not insertion order; callers that need a stable, meaningful
 * order sort what they read.
 */
export class PersistentMap<V> {
  private static readonly BUCKETS = 64;

  private constructor(
    private readonly buckets: readonly (ReadonlyMap<string, V> | undefined)[],
    readonly size: number,
  ) {}

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(new Array<undefined>(PersistentMap.BUCKETS).fill(undefined), 0);
  }

  get(key: string): V | undefined {
    return this.buckets[bucketOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.buckets[bucketOf(key)]?.has(key) ?? false;
  }

  /** A map with `key` set to `value`; this one is unchanged. */
  set(key: string, value: V): PersistentMap<V> {
    const at = bucketOf(key);
    const bucket = new Map(this.buckets[at]);
    const added = bucket.has(key) ? 0 : 1;
    bucket.set(key, value);
    const buckets = [...this.buckets];
    buckets[at] = bucket;
    return new PersistentMap(buckets, this.size + added);
  }

  *values(): IterableIterator<V> {
    for (const bucket of this.buckets) if (bucket) yield* bucket.values();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const bucket of this.buckets) if (bucket) yield* bucket.entries();
  }
}

/** FNV-1a over the UTF-16 code units, folded to a bucket index. */
function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 64;
}
