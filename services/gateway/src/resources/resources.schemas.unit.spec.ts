import { ValidationError } from '@orch/domain-kit';
import type { z } from 'zod';
import { ZodPipe } from '../validation/zod.pipe';
import { ClaimsSchema } from './claims.schemas';
import {
  AllocateBodySchema,
  DefinePoolBodySchema,
  ReserveBodySchema,
  ResolveConflictBodySchema,
  UpdatePoolBodySchema,
  parseScope,
} from './resources.schemas';

/** The field problems a body gets at the edge, as the problem+json `errors` would list them. */
function problems(schema: z.ZodType, value: unknown): { path: string; message: string }[] {
  try {
    new ZodPipe(schema).transform(value);
  } catch (err) {
    if (err instanceof ValidationError) return [...err.errors];
    throw err;
  }
  return [];
}
const paths = (schema: z.ZodType, value: unknown) => problems(schema, value).map((p) => p.path);

describe('parseScope', () => {
  it.each([
    ['global', { kind: 'global', value: '' }],
    ['provider:openai', { kind: 'provider', value: 'openai' }],
    ['session:6f1c', { kind: 'session', value: '6f1c' }],
    ['label:tier=gold', { kind: 'label', value: 'tier=gold' }],
    ['label:zone=eu:west', { kind: 'label', value: 'zone=eu:west' }],
  ])('reads %j', (text, scope) => {
    expect(parseScope(text)).toEqual(scope);
  });

  it.each([
    '',
    'globl',
    'global:x',
    'provider:',
    'session: ',
    'label:tier',
    'label:=gold',
    'team:a',
    'openai',
  ])('refuses %j', (text) => {
    expect(parseScope(text)).toBeUndefined();
  });
});

describe('DefinePoolBodySchema', () => {
  const rate = { id: 'openai-rpm', kind: 'rate', capacity: 60, window: '1m' };

  it('takes the window as ms or as a duration and the scope as a string or an object', () => {
    expect(DefinePoolBodySchema.parse(rate)).toMatchObject({ window: 60_000 });
    expect(DefinePoolBodySchema.parse({ ...rate, window: 90_000 })).toMatchObject({ window: 90_000 });
    expect(DefinePoolBodySchema.parse({ ...rate, scope: 'provider:openai' }).scope).toEqual({
      kind: 'provider',
      value: 'openai',
    });
    expect(
      DefinePoolBodySchema.parse({ ...rate, scope: { kind: 'label', value: 'tier=gold' } }).scope,
    ).toEqual({
      kind: 'label',
      value: 'tier=gold',
    });
    expect(DefinePoolBodySchema.parse({ ...rate, scope: { kind: 'global' } }).scope).toEqual({
      kind: 'global',
      value: '',
    });
  });

  it('says how to write a scope it cannot read', () => {
    expect(problems(DefinePoolBodySchema, { ...rate, scope: 'team:a' })).toEqual([
      {
        path: 'scope',
        message:
          '"team:a" is not a scope; write "global", "provider:<name>", "session:<id>" or "label:<key>=<value>"',
      },
    ]);
  });

  it.each([
    [{ ...rate, capacity: 0 }, 'capacity'],
    [{ ...rate, capacity: -5 }, 'capacity'],
    [{ ...rate, kind: 'tokens' }, 'kind'],
    [{ ...rate, id: 'Has Spaces' }, 'id'],
    [{ ...rate, window: 'soon' }, 'window'],
    [{ ...rate, window: '10ms' }, 'window'],
    [{ ...rate, window: undefined }, 'window'],
    [{ id: 'slots', kind: 'concurrency', capacity: 3, window: '1m' }, 'window'],
    [{ id: 'slots', kind: 'concurrency', capacity: 3, burst: 2 }, 'burst'],
    [{ id: 'slots', kind: 'concurrency', capacity: 3, softLimit: 0.5 }, 'softLimit'],
    [{ id: 'money', kind: 'budget', capacity: 100, softLimit: 1.5 }, 'softLimit'],
    [{ ...rate, scope: 'team:a' }, 'scope'],
    [{ ...rate, scope: { kind: 'provider', value: '' } }, 'scope.value'],
    [{ ...rate, scope: { kind: 'planet', value: 'mars' } }, 'scope.kind'],
    [{ ...rate, policy: 'coin-flip' }, 'policy'],
    [{ ...rate, defaultAmount: -1 }, 'defaultAmount'],
    [{ ...rate, colour: 'red' }, 'colour'],
  ])('names the field of %j', (body, path) => {
    expect(paths(DefinePoolBodySchema, body)).toContain(path);
  });
});

describe('other bodies', () => {
  it('wants at least one change in a pool update', () => {
    expect(paths(UpdatePoolBodySchema, {})).toEqual(['body']);
    expect(paths(UpdatePoolBodySchema, { capacity: 0 })).toEqual(['capacity']);
  });

  it('refuses a reservation that ends before it begins, at `to`', () => {
    const from = '2026-03-01T14:00:00Z';
    expect(problems(ReserveBodySchema, { pool: 'gpu', amount: 4, from, to: '2026-03-01T13:00:00Z' })).toEqual(
      [{ path: 'to', message: `must be after from (${from})` }],
    );
    expect(paths(ReserveBodySchema, { pool: 'gpu', amount: 4, from, to: from })).toEqual(['to']);
    expect(paths(ReserveBodySchema, { pool: 'gpu', amount: -4, from: 'tomorrow', to: from })).toEqual(
      expect.arrayContaining(['amount', 'from']),
    );
  });

  it('defaults an allocate request to incremental and wants a claim', () => {
    const taskId = '0b6f3f1e-8a59-4b8e-9a55-2c8d3f0f9b11';
    expect(AllocateBodySchema.parse({ taskId, claims: [{ lock: 'repo:a' }] })).toEqual({
      taskId,
      claims: [{ lock: 'repo:a', mode: 'exclusive' }],
      incremental: true,
    });
    expect(paths(AllocateBodySchema, { taskId, claims: [] })).toEqual(['claims']);
  });

  it('requires a winner to grant, and only to grant', () => {
    expect(paths(ResolveConflictBodySchema, { strategy: 'grant' })).toEqual(['winner']);
    expect(
      paths(ResolveConflictBodySchema, { strategy: 'abort', winner: '0b6f3f1e-8a59-4b8e-9a55-2c8d3f0f9b11' }),
    ).toEqual(['winner']);
    expect(paths(ResolveConflictBodySchema, { strategy: 'shrug' })).toEqual(['strategy']);
  });
});

describe('ClaimsSchema', () => {
  it('takes pool and lock claims, a lock exclusive unless said otherwise', () => {
    expect(
      ClaimsSchema.parse([
        { pool: 'gpu', amount: 2 },
        { pool: 'gpu-reserved', amount: 1, reservation: 'r1' },
        { lock: 'repo:acme/api:src/**' },
        { lock: 'db:orders', mode: 'shared' },
      ]),
    ).toEqual([
      { pool: 'gpu', amount: 2 },
      { pool: 'gpu-reserved', amount: 1, reservation: 'r1' },
      { lock: 'repo:acme/api:src/**', mode: 'exclusive' },
      { lock: 'db:orders', mode: 'shared' },
    ]);
  });

  it.each([
    [{ pool: 'gpu', amount: 0 }, '[0].amount'],
    [{ pool: 'gpu', amount: -1 }, '[0].amount'],
    [{ pool: 'gpu' }, '[0].amount'],
    [{ pool: 'gpu', amount: 1, mode: 'shared' }, '[0].mode'],
    [{ lock: 'repo:a//b' }, '[0].lock'],
    [{ lock: 'no-namespace' }, '[0].lock'],
    [{ lock: 'repo:src/a**' }, '[0].lock'],
    [{ lock: 'repo:a', mode: 'mostly' }, '[0].mode'],
    [{ lock: 'repo:a', amount: 1 }, '[0].amount'],
    [{ pool: 'gpu', amount: 1, lock: 'repo:a' }, '[0]'],
    [{}, '[0]'],
    [{ pool: 'gpu', amount: 1, weight: 3 }, '[0].weight'],
  ])('names the field of %j', (claim, path) => {
    expect(paths(ClaimsSchema, [claim])).toEqual([`body${path}`.replace(/^body/, '')]);
  });

  it('says what is wrong with a lock name', () => {
    expect(problems(ClaimsSchema, [{ lock: 'repo:a//b' }])[0]?.message).toContain('empty segment');
  });
});
