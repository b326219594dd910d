import fc from 'fast-check';
import { parseLockName, type LockName } from './lock-name';
import {
  inSubtree,
  lockNames,
  patternRegExp,
  segmentPattern,
  sequencesUpTo,
  stringsUpTo,
} from './lock-name.fixtures';
import { locksOverlap, modesCompatible, segmentMatches, segmentsIntersect } from './overlap';

const overlap = (a: string, b: string) => locksOverlap(parseLockName(a), parseLockName(b));

describe('locksOverlap', () => {
  it.each([
    ['repo:acme/api:src/**', 'repo:acme/api:src/auth/login.ts'],
    ['repo:acme/api', 'repo:acme/api:src/x.ts'],
    ['repo:acme/*:src', 'repo:acme/api'],
    ['repo:a/**/z', 'repo:a/b/**'],
    ['repo:a/**/z', 'repo:a/b/c'],
    ['repo:**', 'repo:anything/at/all'],
    ['repo:a/x*', 'repo:a/*y'],
    ['repo:a/??', 'repo:a/a*b'],
    ['repo:a/b', 'repo:a:b'],
    ['REPO:a', 'repo:a'],
    ['repo:a/*/c', 'repo:a/b/*'],
  ])('%s overlaps %s', (a, b) => {
    expect(overlap(a, b)).toBe(true);
  });

  it.each([
    ['repo:a/b', 'repo:a/c'],
    ['repo:x', 'db:x'],
    ['repo:a/*.ts', 'repo:a/*.js'],
    ['repo:a/x*y', 'repo:a/*z'],
    ['repo:a/?', 'repo:a/ab'],
    ['repo:a/b/c', 'repo:a/b/d/**'],
    ['repo:a/*/c', 'repo:a/*/d'],
    ['repo:A', 'repo:a'],
    ['repo:a/**/z.ts', 'repo:b/**'],
  ])('%s does not overlap %s', (a, b) => {
    expect(overlap(a, b)).toBe(false);
  });

  // Witness bound (both directions are checked). Patterns have at most 2 ordinary segments of at most
  // 2 tokens over {x, y, ?, *}, plus up to 2 `**`. Every segment of a shortest common name is matched
  // by at least one ordinary pattern segment, so it has at most 4 segments; a segment matched by
  // patterns of at most 2 tokens needs at most 2 characters, all from {x, y}. Enumerating every name
  // of 0..4 segments of 1..2 characters over {x, y} therefore finds a witness whenever one exists.
  const witnessSegments = stringsUpTo(['x', 'y'], 2);
  const candidates = sequencesUpTo(witnessSegments, 4);
  const small = lockNames({
    namespaces: ['a', 'b'],
    letters: ['x', 'y'],
    maxTokens: 2,
    maxOrdinary: 2,
    maxGlobstars: 2,
  });

  it('agrees with a brute-force search for a common concrete name', () => {
    fc.assert(
      fc.property(small, small, (a, b) => {
        const witness = candidates.find(
          (name) => inSubtree(a, a.namespace, name) && inSubtree(b, a.namespace, name),
        );
        expect(locksOverlap(a, b)).toBe(witness !== undefined);
      }),
      { numRuns: 300 },
    );
  });

  it('is symmetric', () => {
    const names = lockNames({
      namespaces: ['a', 'b'],
      letters: ['x', 'y', 'z'],
      maxTokens: 5,
      maxOrdinary: 5,
      maxGlobstars: 3,
    });
    fc.assert(
      fc.property(names, names, (a, b) => {
        expect(locksOverlap(a, b)).toBe(locksOverlap(b, a));
      }),
      { numRuns: 500 },
    );
  });

  it('holds for a name and itself, and for a name and any name below it', () => {
    const names = lockNames({
      namespaces: ['a'],
      letters: ['x', 'y'],
      maxTokens: 3,
      maxOrdinary: 3,
      maxGlobstars: 2,
    });
    fc.assert(
      fc.property(names, fc.array(fc.constantFrom('x', 'yy', '*', '**'), { maxLength: 3 }), (a, below) => {
        const child: LockName = { raw: '', namespace: a.namespace, segments: [...a.segments, ...below] };
        expect(locksOverlap(a, a)).toBe(true);
        expect(locksOverlap(a, child)).toBe(true);
      }),
    );
  });
});

describe('segmentsIntersect', () => {
  it('agrees with a brute-force search for a common string', () => {
    // A shortest common string needs at most |x| + |y| characters: each character advances at least
    // one of the two patterns (a character both stars would absorb can be dropped).
    const strings = stringsUpTo(['x', 'y'], 8);
    const pattern = segmentPattern(['x', 'y'], 4);
    fc.assert(
      fc.property(pattern, pattern, (x, y) => {
        const rx = patternRegExp([x]);
        const ry = patternRegExp([y]);
        const witness = strings.find((s) => rx.test(`/${s}`) && ry.test(`/${s}`));
        expect(segmentsIntersect(x, y)).toBe(witness !== undefined);
      }),
      { numRuns: 500 },
    );
  });

  it('settles literal pairs and literal heads and tails', () => {
    expect(segmentsIntersect('login.ts', 'login.ts')).toBe(true);
    expect(segmentsIntersect('login.ts', 'login.js')).toBe(false);
    expect(segmentsIntersect('a*', 'b*')).toBe(false);
    expect(segmentsIntersect('*a', '*b')).toBe(false);
    expect(segmentsIntersect('a*c', '?b*')).toBe(true);
  });
});

describe('segmentMatches', () => {
  it('agrees with the reference regular expression', () => {
    const strings = fc.stringMatching(/^[xy]{1,7}$/);
    fc.assert(
      fc.property(segmentPattern(['x', 'y'], 5), strings, (pattern, text) => {
        expect(segmentMatches(pattern, text)).toBe(patternRegExp([pattern]).test(`/${text}`));
      }),
      { numRuns: 500 },
    );
  });
});

describe('modesCompatible', () => {
  it('lets only shared holds coexist', () => {
    expect(modesCompatible('shared', 'shared')).toBe(true);
    expect(modesCompatible('shared', 'exclusive')).toBe(false);
    expect(modesCompatible('exclusive', 'shared')).toBe(false);
    expect(modesCompatible('exclusive', 'exclusive')).toBe(false);
  });
});
