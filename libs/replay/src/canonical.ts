import { canonicalJson } from '@orch/domain-kit';

/**
 * The first place two JSON values differ, as a path (`data.selection.candidates[0].score`,
 * '' for the values themselves) with both sides; undefined when they are equal as JSON.
 * Object keys are compared as sets, so key order never counts; a property whose value is
 * undefined counts as absent, as in JSON.
 */
export function firstDifference(
  expected: unknown,
  actual: unknown,
  path = '',
): { path: string; expected: unknown; actual: unknown } | undefined {
  if (Object.is(expected, actual)) return undefined;
  const bothArrays = Array.isArray(expected) && Array.isArray(actual);
  if (bothArrays) {
    const n = Math.max(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      const d = firstDifference(expected[i], actual[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    for (const key of keys) {
      const d = firstDifference(expected[key], actual[key], path === '' ? key : `${path}.${key}`);
      if (d) return d;
    }
    return undefined;
  }
  return canonicalJson(expected) === canonicalJson(actual) ? undefined : { path, expected, actual };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
