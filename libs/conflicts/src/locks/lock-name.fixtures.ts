/**
 * Test support: an independent reference for lock-name matching (regular expressions over the
 * segments) and small generators, used by the property tests to check the glob intersection.
 */
import fc from 'fast-check';
import type { LockName } from './lock-name';

/** A regular expression matching the concrete names (written "/s1/s2...") that `segments` matches. */
export function patternRegExp(segments: readonly string[]): RegExp {
  const body = segments
    .map((s) =>
      s === '**'
        ? '(?:/[^/]+)*'
        : `/${[...s].map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}`,
    )
    .join('');
  return new RegExp(`^${body}$`);
}

/** Whether the concrete `name` (namespace, segments) lies in the subtree of the lock `pattern`. */
export function inSubtree(pattern: LockName, namespace: string, name: readonly string[]): boolean {
  if (pattern.namespace !== namespace) return false;
  const re = patternRegExp(pattern.segments);
  for (let k = 0; k <= name.length; k++)
    if (
      re.test(
        name
          .slice(0, k)
          .map((s) => `/${s}`)
          .join(''),
      )
    )
      return true;
  return false;
}

/** Every string of length 1..maxLength over `alphabet`. */
export function stringsUpTo(alphabet: readonly string[], maxLength: number): string[] {
  const out: string[] = [];
  let layer = [''];
  for (let n = 1; n <= maxLength; n++) {
    layer = layer.flatMap((prefix) => alphabet.map((c) => prefix + c));
    out.push(...layer);
  }
  return out;
}

/** Every sequence of 0..maxLength items of `items`. */
export function sequencesUpTo(items: readonly string[], maxLength: number): string[][] {
  const out: string[][] = [[]];
  let layer: string[][] = [[]];
  for (let n = 1; n <= maxLength; n++) {
    layer = layer.flatMap((prefix) => items.map((s) => [...prefix, s]));
    out.push(...layer);
  }
  return out;
}

/** One segment pattern (not `**`) of 1..maxTokens tokens over `letters`, `?` and `*`, with no `**` run. */
export const segmentPattern = (letters: readonly string[], maxTokens: number) =>
  fc
    .array(fc.constantFrom(...letters, '?', '*'), { minLength: 1, maxLength: maxTokens })
    .map((tokens) => tokens.join('').replace(/\*+/g, '*'));

/** A lock name (as a plain LockName) of the given namespaces, ordinary segments and `**` segments. */
export const lockNames = (opts: {
  namespaces: readonly string[];
  letters: readonly string[];
  maxTokens: number;
  maxOrdinary: number;
  maxGlobstars: number;
}) =>
  fc
    .record({
      namespace: fc.constantFrom(...opts.namespaces),
      ordinary: fc.array(segmentPattern(opts.letters, opts.maxTokens), { maxLength: opts.maxOrdinary }),
      globstars: fc.array(fc.nat(), { maxLength: opts.maxGlobstars }),
    })
    .filter((r) => r.ordinary.length + r.globstars.length > 0)
    .map(({ namespace, ordinary, globstars }): LockName => {
      const segments = [...ordinary];
      for (const at of globstars) segments.splice(at % (segments.length + 1), 0, '**');
      return { raw: `${namespace}:${segments.join('/')}`, namespace, segments };
    });
