/**
 * An immutable string-keyed map: a hash array mapped trie (32-way, bitmap-compressed nodes).
 * `set` and `delete` copy the few small nodes on the key's path and share everything else with the
 * previous version; iteration visits only what is there.
 *
 * The allocator's state holds 10,000 allocations and waiters and is folded one event at a time;
 * copying a plain Map per event would make every decision O(n). Iteration follows hash order (stable
 * for a given set of keys, not insertion order): callers that show a list sort what they read.
 */
interface Leaf<V> {
  readonly kind: 0;
  readonly hash: number;
  readonly key: string;
  readonly value: V;
}
interface Branch<V> {
  readonly kind: 1;
  readonly bitmap: number;
  readonly slots: readonly Slot<V>[];
}
/** Keys whose whole 32-bit hashes collide. */
interface Bucket<V> {
  readonly kind: 2;
  readonly hash: number;
  readonly leaves: readonly Leaf<V>[];
}
type Slot<V> = Leaf<V> | Branch<V> | Bucket<V>;

const BITS = 5;
const MASK = 31;

export class PMap<V> {
  private static readonly EMPTY = new PMap<never>(undefined, 0);

  private constructor(
    private readonly root: Slot<V> | undefined,
    /** Number of entries. */
    readonly size: number,
  ) {}

  static empty<V>(): PMap<V> {
    return PMap.EMPTY as PMap<V>;
  }

  static of<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    let map = PMap.empty<V>();
    for (const [k, v] of entries) map = map.set(k, v);
    return map;
  }

  get(key: string): V | undefined {
    const h = hash(key);
    let node = this.root;
    let shift = 0;
    while (node !== undefined) {
      if (node.kind === 0) return node.key === key ? node.value : undefined;
      if (node.kind === 2) return node.hash === h ? node.leaves.find((l) => l.key === key)?.value : undefined;
      const bit = 1 << ((h >>> shift) & MASK);
      if ((node.bitmap & bit) === 0) return undefined;
      node = node.slots[popcount(node.bitmap & (bit - 1))];
      shift += BITS;
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A map with `key` set to `value` (values are never undefined); this one is unchanged. */
  set(key: string, value: V): PMap<V> {
    const h = hash(key);
    const added = { yes: false };
    const root =
      this.root === undefined ? leaf(h, key, value, added) : insert(this.root, 0, h, key, value, added);
    return root === this.root ? this : new PMap(root, this.size + (added.yes ? 1 : 0));
  }

  /** A map without `key`; this one when it has no such key. */
  delete(key: string): PMap<V> {
    if (this.root === undefined || !this.has(key)) return this;
    const root = remove(this.root, 0, hash(key), key);
    return root === undefined ? PMap.empty() : new PMap(root, this.size - 1);
  }

  /** `key` set to what `f` makes of its current value; deleted when `f` returns undefined. */
  update(key: string, f: (current: V | undefined) => V | undefined): PMap<V> {
    const next = f(this.get(key));
    return next === undefined ? this.delete(key) : this.set(key, next);
  }

  /** Calls `f` for every entry (faster than iterating). */
  forEach(f: (value: V, key: string) => void): void {
    if (this.root !== undefined) walk(this.root, f);
  }

  /** Every entry, as an array (in hash order). */
  toArray(): [string, V][] {
    const out: [string, V][] = [];
    this.forEach((v, k) => out.push([k, v]));
    return out;
  }

  entries(): IterableIterator<[string, V]> {
    return this.toArray()[Symbol.iterator]();
  }

  keys(): IterableIterator<string> {
    const out: string[] = [];
    this.forEach((_, k) => out.push(k));
    return out[Symbol.iterator]();
  }

  values(): IterableIterator<V> {
    const out: V[] = [];
    this.forEach((v) => out.push(v));
    return out[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}

function leaf<V>(h: number, key: string, value: V, added: { yes: boolean }): Leaf<V> {
  added.yes = true;
  return { kind: 0, hash: h, key, value };
}

function insert<V>(
  node: Slot<V>,
  shift: number,
  h: number,
  key: string,
  value: V,
  added: { yes: boolean },
): Slot<V> {
  if (node.kind === 0) {
    if (node.key === key) return node.value === value ? node : { kind: 0, hash: h, key, value };
    const fresh = leaf(h, key, value, added);
    if (node.hash === h) return { kind: 2, hash: h, leaves: [node, fresh] };
    return merge(node, fresh, shift);
  }
  if (node.kind === 2) {
    if (node.hash !== h) return merge(node, leaf(h, key, value, added), shift);
    const at = node.leaves.findIndex((l) => l.key === key);
    if (at < 0) return { kind: 2, hash: h, leaves: [...node.leaves, leaf(h, key, value, added)] };
    if (node.leaves[at]!.value === value) return node;
    const leaves = [...node.leaves];
    leaves[at] = { kind: 0, hash: h, key, value };
    return { kind: 2, hash: h, leaves };
  }
  const bit = 1 << ((h >>> shift) & MASK);
  const at = popcount(node.bitmap & (bit - 1));
  if ((node.bitmap & bit) === 0) {
    const slots = [...node.slots];
    slots.splice(at, 0, leaf(h, key, value, added));
    return { kind: 1, bitmap: node.bitmap | bit, slots };
  }
  const child = node.slots[at]!;
  const next = insert(child, shift + BITS, h, key, value, added);
  if (next === child) return node;
  const slots = [...node.slots];
  slots[at] = next;
  return { kind: 1, bitmap: node.bitmap, slots };
}

/** A branch holding two slots of different hashes, as deep as their hashes first differ. */
function merge<V>(a: Leaf<V> | Bucket<V>, b: Leaf<V>, shift: number): Slot<V> {
  const ia = (a.hash >>> shift) & MASK;
  const ib = (b.hash >>> shift) & MASK;
  if (ia === ib) return { kind: 1, bitmap: 1 << ia, slots: [merge(a, b, shift + BITS)] };
  return { kind: 1, bitmap: (1 << ia) | (1 << ib), slots: ia < ib ? [a, b] : [b, a] };
}

function remove<V>(node: Slot<V>, shift: number, h: number, key: string): Slot<V> | undefined {
  if (node.kind === 0) return undefined;
  if (node.kind === 2) {
    const leaves = node.leaves.filter((l) => l.key !== key);
    return leaves.length === 1 ? leaves[0] : { kind: 2, hash: node.hash, leaves };
  }
  const bit = 1 << ((h >>> shift) & MASK);
  const at = popcount(node.bitmap & (bit - 1));
  const next = remove(node.slots[at]!, shift + BITS, h, key);
  if (next === undefined) {
    const bitmap = node.bitmap & ~bit;
    if (bitmap === 0) return undefined;
    const slots = node.slots.filter((_, i) => i !== at);
    // A lone leaf or bucket can live higher up.
    if (slots.length === 1 && slots[0]!.kind !== 1) return slots[0];
    return { kind: 1, bitmap, slots };
  }
  if (node.slots.length === 1 && next.kind !== 1) return next;
  const slots = [...node.slots];
  slots[at] = next;
  return { kind: 1, bitmap: node.bitmap, slots };
}

function walk<V>(node: Slot<V>, f: (value: V, key: string) => void): void {
  if (node.kind === 0) f(node.value, node.key);
  else if (node.kind === 2) for (const l of node.leaves) f(l.value, l.key);
  else for (const s of node.slots) walk(s, f);
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser so that every bit is well mixed. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
