import { HashTrie } from './hash-trie';
import { GLOBSTAR, isGlobSegment, type LockMode, type LockName } from './lock-name';
import { locksOverlap, modesCompatible, segmentMatches } from './overlap';

/** One lock held by one holder (an allocation or a task attempt id). */
export interface LockHold {
  readonly holder: string;
  readonly name: LockName;
  readonly mode: LockMode;
}

/**
 * Holders (ids, each once, in hold order) whose holds conflict with `name`/`mode`; `requester`'s own
 * holds never conflict. A hold conflicts when it overlaps the name and the two modes are not both
 * shared. Holders are ordered by their first conflicting hold. Scans every hold: see {@link LockIndex}
 * for the indexed version.
 */
export function lockBlockers(
  holds: Iterable<LockHold>,
  name: LockName,
  mode: LockMode,
  requester: string,
): string[] {
  const blockers = new Set<string>();
  for (const h of holds) {
    if (h.holder === requester || blockers.has(h.holder) || modesCompatible(mode, h.mode)) continue;
    if (locksOverlap(name, h.name)) blockers.add(h.holder);
  }
  return [...blockers];
}

/** A hold as the index keeps it: with its insertion number and where it sits in the trie. */
interface Entry {
  readonly seq: number;
  readonly hold: LockHold;
  /** The segments before the first glob segment: the trie path the hold is filed under. */
  readonly prefix: readonly string[];
}

/** A trie node: one concrete segment path inside a namespace. */
interface TrieNode {
  /** Holds whose concrete prefix is exactly this path (by seq): they end here or go on with a glob. */
  readonly here: HashTrie<Entry>;
  readonly children: HashTrie<TrieNode>;
  /** Holds in this subtree, to prune empty nodes. */
  readonly count: number;
}

const EMPTY_NODE: TrieNode = { here: HashTrie.empty(), children: HashTrie.empty(), count: 0 };

/**
 * Lock holds indexed for {@link lockBlockers}-equal answers without scanning every hold, immutable:
 * `add` and `removeHolder` return a new index that shares all untouched structure with this one
 * (O(depth of the name) small copies), so a decider state can keep one per version.
 *
 * Holds are filed per namespace in a trie of concrete segments: a hold sits at the node of its
 * concrete prefix (the segments before its first glob). A query walks its own concrete prefix and
 * checks only (1) the holds filed on that path (ancestors of the name, or holds that continue with a
 * glob there) and (2) once the name ends or reaches a glob, the subtrees below that can match it (for a
 * segment glob such as `*.ts`, only the children whose segment it matches). Holds in other namespaces
 * or under other concrete segments are never looked at.
 *
 * A hold equal to one the holder already has (same name segments and mode) is not added twice.
 * `holds()` yields holds in the order they were added, and `blockers` orders holders by their first
 * conflicting hold in that order, exactly like `lockBlockers(index.holds(), ...)`.
 */
export class LockIndex {
  private static readonly EMPTY = new LockIndex(HashTrie.empty(), HashTrie.empty(), 0, 0);

  private constructor(
    private readonly namespaces: HashTrie<TrieNode>,
    private readonly byHolder: HashTrie<readonly Entry[]>,
    private readonly nextSeq: number,
    private readonly count: number,
  ) {}

  static empty(): LockIndex {
    return LockIndex.EMPTY;
  }

  /** An index built from `holds`, in their order. */
  static of(holds: Iterable<LockHold>): LockIndex {
    let index = LockIndex.empty();
    for (const h of holds) index = index.add(h);
    return index;
  }

  /** Number of holds. */
  get size(): number {
    return this.count;
  }

  /** An index with `h` added (this one when the holder already holds the same name in the same mode). */
  add(h: LockHold): LockIndex {
    const mine = this.byHolder.get(h.holder) ?? [];
    if (mine.some((e) => sameHold(e.hold, h))) return this;
    const entry: Entry = { seq: this.nextSeq, hold: h, prefix: concretePrefix(h.name) };
    const root = this.namespaces.get(h.name.namespace) ?? EMPTY_NODE;
    return new LockIndex(
      this.namespaces.set(h.name.namespace, insert(root, entry, 0)),
      this.byHolder.set(h.holder, [...mine, entry]),
      this.nextSeq + 1,
      this.count + 1,
    );
  }

  /** An index without any hold of `holder` (this one when it holds nothing). */
  removeHolder(holder: string): LockIndex {
    const mine = this.byHolder.get(holder);
    if (mine === undefined) return this;
    let namespaces = this.namespaces;
    for (const entry of mine) {
      const ns = entry.hold.name.namespace;
      const root = remove(namespaces.get(ns)!, entry, 0);
      namespaces = root === undefined ? namespaces.delete(ns) : namespaces.set(ns, root);
    }
    return new LockIndex(namespaces, this.byHolder.delete(holder), this.nextSeq, this.count - mine.length);
  }

  /** The holds of `holder`, in the order they were added. */
  holdsOf(holder: string): readonly LockHold[] {
    return (this.byHolder.get(holder) ?? []).map((e) => e.hold);
  }

  /** Every hold, in the order they were added. O(n log n): meant for queries, not hot paths. */
  holds(): LockHold[] {
    const entries: Entry[] = [];
    for (const mine of this.byHolder.values()) entries.push(...mine);
    return entries.sort((a, b) => a.seq - b.seq).map((e) => e.hold);
  }

  /** Same answer as `lockBlockers(this.holds(), name, mode, requester)`, looking only where overlaps can be. */
  blockers(name: LockName, mode: LockMode, requester: string): string[] {
    const root = this.namespaces.get(name.namespace);
    if (root === undefined) return [];
    const first = new Map<string, number>();
    const consider = (e: Entry, certain: boolean): void => {
      const { holder } = e.hold;
      if (holder === requester || modesCompatible(mode, e.hold.mode)) return;
      const seen = first.get(holder);
      if (seen !== undefined && seen < e.seq) return;
      if (certain || locksOverlap(name, e.hold.name)) first.set(holder, e.seq);
    };
    /** Every hold filed under `node`; `certain` when they all lie in the name's subtree. */
    const considerSubtree = (node: TrieNode, certain: boolean): void => {
      for (const e of node.here.values()) consider(e, certain);
      for (const child of node.children.values()) considerSubtree(child, certain);
    };
    let node: TrieNode | undefined = root;
    for (let depth = 0; node !== undefined; depth++) {
      for (const e of node.here.values()) consider(e, false);
      const segment = name.segments[depth];
      if (segment === undefined) {
        // The name ends here: every hold filed below lies in its subtree.
        for (const child of node.children.values()) considerSubtree(child, true);
        break;
      }
      if (isGlobSegment(segment)) {
        for (const [key, child] of node.children.entries())
          if (segment === GLOBSTAR || segmentMatches(segment, key)) considerSubtree(child, false);
        break;
      }
      node = node.children.get(segment);
    }
    return [...first.entries()].sort((a, b) => a[1] - b[1]).map(([holder]) => holder);
  }
}

function sameHold(a: LockHold, b: LockHold): boolean {
  return (
    a.mode === b.mode &&
    a.name.namespace === b.name.namespace &&
    a.name.segments.length === b.name.segments.length &&
    a.name.segments.every((s, i) => s === b.name.segments[i])
  );
}

function concretePrefix(name: LockName): readonly string[] {
  const glob = name.segments.findIndex(isGlobSegment);
  return glob < 0 ? name.segments : name.segments.slice(0, glob);
}

function insert(node: TrieNode, entry: Entry, depth: number): TrieNode {
  const segment = entry.prefix[depth];
  if (segment === undefined)
    return { here: node.here.set(String(entry.seq), entry), children: node.children, count: node.count + 1 };
  const child = insert(node.children.get(segment) ?? EMPTY_NODE, entry, depth + 1);
  return { here: node.here, children: node.children.set(segment, child), count: node.count + 1 };
}

/** The node without `entry`, or undefined when nothing is left under it. */
function remove(node: TrieNode, entry: Entry, depth: number): TrieNode | undefined {
  if (node.count <= 1) return undefined;
  const segment = entry.prefix[depth];
  if (segment === undefined)
    return { here: node.here.delete(String(entry.seq)), children: node.children, count: node.count - 1 };
  const child = remove(node.children.get(segment)!, entry, depth + 1);
  const children = child === undefined ? node.children.delete(segment) : node.children.set(segment, child);
  return { here: node.here, children, count: node.count - 1 };
}
