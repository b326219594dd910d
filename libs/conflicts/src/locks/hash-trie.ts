/**
 * An immutable string-keyed map (a hash array mapped trie): `set` and `delete` copy only the path to
 * one leaf - at most a few 32-slot arrays - and share everything else with the previous version, so
 * a state folded one event at a time never copies a whole map. Iteration follows hash order, not
 * insertion order.
 */
export class HashTrie<V> {
  private static readonly EMPTY = new HashTrie<never>(undefined, 0);

  private constructor(
    private readonly root: Node<V> | undefined,
    readonly size: number,
  ) {}

  static empty<V>(): HashTrie<V> {
    return HashTrie.EMPTY;
  }

  get(key: string): V | undefined {
    const hash = hashOf(key);
    let node = this.root;
    for (let depth = 0; node !== undefined; depth++) {
      if (node.kind === 'leaf') return node.entries.find((e) => e.key === key)?.value;
      node = node.slots[slotOf(hash, depth)];
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A map with `key` set to `value`; this one is unchanged. */
  set(key: string, value: V): HashTrie<V> {
    const result = setIn(this.root, 0, { key, hash: hashOf(key), value });
    if (result.node === this.root) return this;
    return new HashTrie(result.node, this.size + (result.added ? 1 : 0));
  }

  /** A map without `key`; this one when it has no such key. */
  delete(key: string): HashTrie<V> {
    if (this.root === undefined) return this;
    const root = deleteIn(this.root, 0, key, hashOf(key));
    return root === this.root ? this : new HashTrie(root, this.size - 1);
  }

  *entries(): IterableIterator<[string, V]> {
    if (this.root) yield* entriesOf(this.root);
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }
}

interface Entry<V> {
  readonly key: string;
  readonly hash: number;
  readonly value: V;
}

type Node<V> =
  | { readonly kind: 'leaf'; readonly entries: readonly Entry<V>[] }
  | { readonly kind: 'branch'; readonly slots: readonly (Node<V> | undefined)[] };

const BITS = 5;
const WIDTH = 1 << BITS;
/** Entries a leaf holds before it splits into a branch. */
const LEAF_SIZE = 8;
/** Below this depth the 32 hash bits are used up: leaves just grow (only on full hash collisions). */
const MAX_DEPTH = 6;

const slotOf = (hash: number, depth: number): number => (hash >>> (depth * BITS)) & (WIDTH - 1);

function setIn<V>(
  node: Node<V> | undefined,
  depth: number,
  entry: Entry<V>,
): { node: Node<V>; added: boolean } {
  if (node === undefined) return { node: { kind: 'leaf', entries: [entry] }, added: true };
  if (node.kind === 'branch') {
    const at = slotOf(entry.hash, depth);
    const child = node.slots[at];
    const result = setIn(child, depth + 1, entry);
    if (result.node === child) return { node, added: false };
    const slots = [...node.slots];
    slots[at] = result.node;
    return { node: { kind: 'branch', slots }, added: result.added };
  }
  const index = node.entries.findIndex((e) => e.key === entry.key);
  if (index >= 0) {
    if (node.entries[index]!.value === entry.value) return { node, added: false };
    const entries = [...node.entries];
    entries[index] = entry;
    return { node: { kind: 'leaf', entries }, added: false };
  }
  const entries = [...node.entries, entry];
  if (entries.length <= LEAF_SIZE || depth >= MAX_DEPTH)
    return { node: { kind: 'leaf', entries }, added: true };
  let branch: Node<V> = { kind: 'branch', slots: new Array<undefined>(WIDTH).fill(undefined) };
  for (const e of entries) branch = setIn(branch, depth, e).node;
  return { node: branch, added: true };
}

function deleteIn<V>(node: Node<V>, depth: number, key: string, hash: number): Node<V> | undefined {
  if (node.kind === 'leaf') {
    const entries = node.entries.filter((e) => e.key !== key);
    if (entries.length === node.entries.length) return node;
    return entries.length === 0 ? undefined : { kind: 'leaf', entries };
  }
  const at = slotOf(hash, depth);
  const child = node.slots[at];
  if (child === undefined) return node;
  const next = deleteIn(child, depth + 1, key, hash);
  if (next === child) return node;
  const slots = [...node.slots];
  slots[at] = next;
  return slots.every((s) => s === undefined) ? undefined : { kind: 'branch', slots };
}

function* entriesOf<V>(node: Node<V>): IterableIterator<[string, V]> {
  if (node.kind === 'leaf') for (const e of node.entries) yield [e.key, e.value];
  else for (const child of node.slots) if (child) yield* entriesOf(child);
}

/** FNV-1a over the UTF-16 code units. */
function hashOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
