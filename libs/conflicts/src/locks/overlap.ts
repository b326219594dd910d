import { GLOBSTAR, type LockMode, type LockName } from './lock-name';

/**
 * Whether two lock names overlap: some concrete name lies in both subtrees (a lock covers its name and
 * everything below it). Names in different namespaces never overlap.
 *
 * Algorithm. A name's subtree is the set of concrete segment sequences that have a prefix matched by
 * its pattern. Read both patterns against one imaginary concrete sequence, as a product of their two
 * segment automata: a state (i, j) means the first i segments of `a` and the first j of `b` can match
 * the same concrete prefix. From (i, j):
 *   - a[i] is `**`: it may match nothing -> (i+1, j), or swallow the concrete segment that b[j]
 *     matches when b[j] is an ordinary segment -> (i, j+1) (every segment pattern matches something);
 *   - the same with the roles swapped;
 *   - two ordinary segments both match one concrete segment -> (i+1, j+1), decided by
 *     {@link segmentsIntersect}.
 * The subtrees meet as soon as either pattern is used up (i = |a| or j = |b|): what remains of the
 * other pattern matches some extension of the common prefix, which the used-up name covers.
 * Transitions only move right or down, so one row-major pass over the (|a|+1) x (|b|+1) table decides
 * it. Cost: O(|a|·|b|) states, and the segment tests add up to at most O(length(a)·length(b))
 * character pairs (each segment pair is tested once) - under 512² for the longest names, and a few
 * string comparisons for the usual concrete names.
 */
export function locksOverlap(a: LockName, b: LockName): boolean {
  if (a.namespace !== b.namespace) return false;
  const as = a.segments;
  const bs = b.segments;
  const width = bs.length + 1;
  const reach = new Uint8Array((as.length + 1) * width);
  reach[0] = 1;
  for (let i = 0; i <= as.length; i++) {
    for (let j = 0; j <= bs.length; j++) {
      if (reach[i * width + j] === 0) continue;
      if (i === as.length || j === bs.length) return true;
      const x = as[i]!;
      const y = bs[j]!;
      if (x === GLOBSTAR) {
        reach[(i + 1) * width + j] = 1;
        reach[i * width + j + 1] = 1; // `**` swallows what y matches (or y = `**` matches nothing)
      }
      if (y === GLOBSTAR) {
        reach[i * width + j + 1] = 1;
        reach[(i + 1) * width + j] = 1;
      }
      if (x !== GLOBSTAR && y !== GLOBSTAR && segmentsIntersect(x, y)) reach[(i + 1) * width + j + 1] = 1;
    }
  }
  return false;
}

/**
 * Whether two single-segment patterns (`*` = any characters, `?` = one character, anything else is
 * literal; not `**`) both match some non-empty string.
 *
 * Literal heads and tails (the text before the first and after the last wildcard) are compared first,
 * which settles most pairs; otherwise a product of the two pattern automata is explored: a state
 * (p, q) means some string is matched by x[0..p) and y[0..q) alike; `*` may match nothing (move past
 * it) or one more character (stay), `?` and literals consume one character, and two literals must be
 * equal. O(|x|·|y|) time, O(|y|) memory per row. The empty string is no concern: only all-`*`
 * patterns match it, and two of those also share "x".
 */
export function segmentsIntersect(x: string, y: string): boolean {
  if (x === y) return true;
  const xWild = hasWildcard(x);
  const yWild = hasWildcard(y);
  if (!xWild && !yWild) return false;
  if (!xWild) return segmentMatches(y, x);
  if (!yWild) return segmentMatches(x, y);
  if (!literalEndsAgree(x, y)) return false;
  return productAccepts(x, y);
}

/** Whether the segment pattern matches the concrete segment `text`. */
export function segmentMatches(pattern: string, text: string): boolean {
  // Classic greedy matcher with one backtrack point per `*`: O(|pattern|·|text|) at worst.
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      star = p++;
      resume = t;
    } else if (c !== undefined && (c === '?' || c === text[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Modes of two overlapping holds that may coexist: only shared with shared. */
export function modesCompatible(a: LockMode, b: LockMode): boolean {
  return a === 'shared' && b === 'shared';
}

const hasWildcard = (s: string): boolean => s.includes('*') || s.includes('?');

/** The literal text before the first and after the last wildcard must agree where both have it. */
function literalEndsAgree(x: string, y: string): boolean {
  for (let k = 0; k < x.length && k < y.length; k++) {
    const a = x[k]!;
    const b = y[k]!;
    if (a === '*' || b === '*') break;
    if (a !== '?' && b !== '?' && a !== b) return false;
  }
  for (let k = 1; k <= x.length && k <= y.length; k++) {
    const a = x[x.length - k]!;
    const b = y[y.length - k]!;
    if (a === '*' || b === '*') break;
    if (a !== '?' && b !== '?' && a !== b) return false;
  }
  return true;
}

/** The product-automaton search of {@link segmentsIntersect}, row by row over positions of `x`. */
function productAccepts(x: string, y: string): boolean {
  const width = y.length + 1;
  let row = new Uint8Array(width);
  row[0] = 1;
  for (let p = 0; p <= x.length; p++) {
    const next = new Uint8Array(width);
    const cx = x[p];
    for (let q = 0; q <= y.length; q++) {
      if (row[q] === 0) continue;
      const cy = y[q];
      if (cy === '*' && q + 1 <= y.length) row[q + 1] = 1; // y's star matches nothing (same row, later q)
      if (cx === '*') {
        next[q] = 1; // x's star matches nothing
        if (cy !== undefined && cy !== '*') row[q + 1] = 1; // x's star swallows the character cy takes
      }
      if (cy === '*' && cx !== undefined && cx !== '*') next[q] = 1; // y's star swallows cx's character
      if (
        cx !== undefined &&
        cy !== undefined &&
        cx !== '*' &&
        cy !== '*' &&
        (cx === '?' || cy === '?' || cx === cy)
      )
        next[q + 1] = 1;
    }
    if (p === x.length) return row[y.length] === 1;
    row = next;
  }
  return false;
}
