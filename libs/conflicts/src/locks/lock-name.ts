import { ValidationError, type FieldProblem } from '@orch/domain-kit';

/** How a lock is held: shared holders coexist, an exclusive holder excludes every overlapping hold. */
export type LockMode = 'exclusive' | 'shared';

export const LOCK_MODES: readonly LockMode[] = Object.freeze(['exclusive', 'shared'] as const);

/** Whether `value` is a lock mode. */
export const isLockMode = (value: unknown): value is LockMode => value === 'exclusive' || value === 'shared';

/**
 * A parsed lock name `<namespace>:<path>`, e.g. `repo:acme/api:src/auth/**`.
 *
 * `namespace` is lower-cased (namespaces compare case-insensitively); `segments` are the path split on
 * '/' and ':' (both separators mean the same), case kept. A segment `**` stands for zero or more whole
 * segments; other segments may hold `*` (any characters within the segment) and `?` (one character).
 */
export interface LockName {
  /** The name as written by the client (what events and messages show). */
  readonly raw: string;
  readonly namespace: string;
  readonly segments: readonly string[];
}

/** Longest lock name accepted, in characters. */
export const MAX_LOCK_NAME_LENGTH = 512;

/** The segment that matches zero or more whole segments. */
export const GLOBSTAR = '**';

const NAMESPACE = /^[a-z0-9_.-]+$/i;
const SEPARATOR = /[/:]/;

/**
 * Every problem of the lock name `raw`, at field `path` (e.g. `claims[0].lock`); [] when it is valid.
 * Each message quotes the name and says what is wrong, e.g. `"repo:a//b" has an empty segment`.
 */
export function lockNameProblems(path: string, raw: string): FieldProblem[] {
  const problem = (message: string): FieldProblem[] => [{ path, message }];
  if (typeof raw !== 'string') return problem('must be a lock name string such as "repo:acme/api:src/**"');
  const shown = quote(raw);
  if (raw.length > MAX_LOCK_NAME_LENGTH)
    return problem(`${shown} is ${raw.length} characters long; at most ${MAX_LOCK_NAME_LENGTH} are allowed`);
  const bad = [...raw].findIndex((ch) => ch < ' ' || ch > '~');
  if (bad >= 0) {
    const code = raw.codePointAt(bad)!.toString(16).toUpperCase().padStart(4, '0');
    return problem(
      `${shown} contains U+${code} at position ${bad + 1}; only printable ASCII characters are allowed`,
    );
  }
  if (raw.trim() === '')
    return problem('must not be empty; write a lock name such as "repo:acme/api:src/**"');
  if (raw.trim() !== raw) return problem(`${shown} starts or ends with spaces`);
  const colon = raw.indexOf(':');
  if (colon < 0)
    return problem(`${shown} has no namespace: write it as <namespace>:<path>, e.g. "repo:${raw}"`);
  const namespace = raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  const problems: FieldProblem[] = [];
  if (namespace === '') problems.push(...problem(`${shown} has an empty namespace before the first ':'`));
  else if (!NAMESPACE.test(namespace))
    problems.push(
      ...problem(
        `${shown} has namespace "${namespace}"; a namespace uses only letters, digits, '_', '.' and '-'`,
      ),
    );
  if (rest === '') return [...problems, ...problem(`${shown} has an empty path after "${namespace}:"`)];
  problems.push(...pathProblems(path, shown, rest));
  return problems;
}

function pathProblems(path: string, shown: string, rest: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const segments = rest.split(SEPARATOR);
  if (segments[0] === '')
    problems.push({ path, message: `${shown} has an empty segment: its path starts with a separator` });
  if (segments.length > 1 && segments[segments.length - 1] === '')
    problems.push({ path, message: `${shown} has an empty segment: it ends with a separator` });
  const inner = segments.slice(1, -1).findIndex((s) => s === '');
  if (inner >= 0) {
    const before = segments.slice(0, inner + 1).join('/');
    problems.push({
      path,
      message: `${shown} has an empty segment (two separators in a row after "${before}")`,
    });
  }
  const mixed = segments.find((s) => s.includes(GLOBSTAR) && s !== GLOBSTAR);
  if (mixed !== undefined)
    problems.push({
      path,
      message: `${shown} has segment "${mixed}": '**' must be a whole segment on its own (use '*' within a segment)`,
    });
  return problems;
}

/**
 * The lock name `raw`, parsed.
 * @throws ValidationError (field `lock`) when it is malformed (see {@link lockNameProblems}).
 */
export function parseLockName(raw: string): LockName {
  const problems = lockNameProblems('lock', raw);
  if (problems.length > 0) throw new ValidationError('invalid lock name', problems);
  const colon = raw.indexOf(':');
  return Object.freeze({
    raw,
    namespace: raw.slice(0, colon).toLowerCase(),
    segments: Object.freeze(raw.slice(colon + 1).split(SEPARATOR)),
  });
}

/** Whether a segment holds a wildcard (`*`, `?` or is `**`), i.e. may match more than itself. */
export const isGlobSegment = (segment: string): boolean => segment.includes('*') || segment.includes('?');

/** Whether the name holds no wildcard: it names one thing (and its subtree). */
export const isConcreteLockName = (name: LockName): boolean => !name.segments.some(isGlobSegment);

/** Lock names quoted for a message, long ones cut short. */
function quote(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 60)}...` : raw);
}
