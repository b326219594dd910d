import { ValidationError } from '@orch/domain-kit';
import { isConcreteLockName, lockNameProblems, parseLockName } from './lock-name';

const messages = (raw: string) => lockNameProblems('claims[0].lock', raw).map((p) => p.message);

describe('parseLockName', () => {
  it('splits the namespace and the path segments on both separators', () => {
    const name = parseLockName('repo:acme/api:src/auth/**');
    expect(name).toEqual({
      raw: 'repo:acme/api:src/auth/**',
      namespace: 'repo',
      segments: ['acme', 'api', 'src', 'auth', '**'],
    });
  });

  it('lower-cases the namespace and keeps the case of the path', () => {
    const name = parseLockName('Repo:Acme/API');
    expect(name.namespace).toBe('repo');
    expect(name.segments).toEqual(['Acme', 'API']);
    expect(name.raw).toBe('Repo:Acme/API');
  });

  it('throws a ValidationError with the problems of a malformed name', () => {
    const attempt = () => parseLockName('repo:a//b');
    expect(attempt).toThrow(ValidationError);
    try {
      attempt();
    } catch (e) {
      expect((e as ValidationError).errors).toEqual([
        { path: 'lock', message: expect.stringContaining('empty segment') },
      ]);
    }
  });

  it('tells concrete names from globs', () => {
    expect(isConcreteLockName(parseLockName('db:orders/2026'))).toBe(true);
    expect(isConcreteLockName(parseLockName('db:orders/20?6'))).toBe(false);
    expect(isConcreteLockName(parseLockName('db:orders/**'))).toBe(false);
  });
});

describe('lockNameProblems', () => {
  it('accepts well-formed names, globs included', () => {
    for (const raw of [
      'repo:acme/api',
      'repo:acme/api:src/auth/**',
      'db:x',
      'branch.v2-x_y:*/feat?',
      'r:**',
      'r:a b/c',
    ])
      expect(lockNameProblems('lock', raw)).toEqual([]);
  });

  it('reports an empty segment with the field path and the name', () => {
    expect(lockNameProblems('claims[0].lock', 'repo:a//b')).toEqual([
      {
        path: 'claims[0].lock',
        message: '"repo:a//b" has an empty segment (two separators in a row after "a")',
      },
    ]);
  });

  it('reports separators at either end of the path as empty segments', () => {
    expect(messages('repo:/a')).toEqual(['"repo:/a" has an empty segment: its path starts with a separator']);
    expect(messages('repo:a/')).toEqual(['"repo:a/" has an empty segment: it ends with a separator']);
    expect(messages('repo:a:')).toEqual(['"repo:a:" has an empty segment: it ends with a separator']);
  });

  it('reports a missing namespace separator with an example', () => {
    expect(messages('acme/api')).toEqual([
      '"acme/api" has no namespace: write it as <namespace>:<path>, e.g. "repo:acme/api"',
    ]);
  });

  it('reports an empty namespace and an empty path', () => {
    expect(messages(':acme/api')).toEqual(['":acme/api" has an empty namespace before the first \':\'']);
    expect(messages('repo:')).toEqual(['"repo:" has an empty path after "repo:"']);
  });

  it('reports a namespace with characters a namespace cannot have', () => {
    expect(messages('re po:a')).toEqual([
      "\"re po:a\" has namespace \"re po\"; a namespace uses only letters, digits, '_', '.' and '-'",
    ]);
    expect(messages('*:a')).toHaveLength(1);
  });

  it("reports '**' sharing a segment with other characters", () => {
    for (const raw of ['repo:a/**b', 'repo:a**/b', 'repo:***'])
      expect(messages(raw)).toEqual([expect.stringMatching(/'\*\*' must be a whole segment on its own/)]);
    expect(messages('repo:a/b**')[0]).toBe(
      `"repo:a/b**" has segment "b**": '**' must be a whole segment on its own (use '*' within a segment)`,
    );
  });

  it('reports characters outside printable ASCII with their code and position', () => {
    expect(messages('repo:caf\u00e9')).toEqual([
      '"repo:café" contains U+00E9 at position 9; only printable ASCII characters are allowed',
    ]);
    expect(messages('repo:a\tb')[0]).toMatch(/contains U\+0009 at position 7/);
  });

  it('reports a name that is too long, without quoting all of it', () => {
    const raw = `repo:${'a'.repeat(600)}`;
    const [message] = messages(raw);
    expect(message).toMatch(/is 605 characters long; at most 512 are allowed$/);
    expect(message!.length).toBeLessThan(200);
    expect(messages(`repo:${'a'.repeat(507)}`)).toEqual([]);
  });

  it('reports empty, blank and padded names and non-strings', () => {
    expect(messages('')).toEqual(['must not be empty; write a lock name such as "repo:acme/api:src/**"']);
    expect(messages('   ')).toHaveLength(1);
    expect(messages(' repo:a')).toEqual(['" repo:a" starts or ends with spaces']);
    expect(messages(42 as unknown as string)).toEqual([
      'must be a lock name string such as "repo:acme/api:src/**"',
    ]);
  });

  it('reports every problem of a name with several', () => {
    expect(messages('r p:a//b**')).toHaveLength(3);
  });
});
