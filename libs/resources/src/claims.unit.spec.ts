import { claimProblems, impliedPoolClaims, parseClaims, type ClaimContext } from './claims';
import { resolvePoolSpec, scopeApplies, type PoolSpec } from './pools/pool-spec';

const pools: PoolSpec[] = [
  resolvePoolSpec({ poolId: 'slots', kind: 'concurrency', capacity: 4 }),
  resolvePoolSpec({ poolId: 'gpu', kind: 'quantity', capacity: 2 }),
  resolvePoolSpec({
    poolId: 'openai',
    kind: 'rate',
    capacity: 60,
    windowMs: 60_000,
    scope: { kind: 'provider', value: 'openai' },
  }),
  resolvePoolSpec({
    poolId: 'ml',
    kind: 'concurrency',
    capacity: 2,
    scope: { kind: 'label', value: 'team=ml' },
  }),
  resolvePoolSpec({
    poolId: 's1-only',
    kind: 'concurrency',
    capacity: 1,
    scope: { kind: 'session', value: 's1' },
    defaultAmount: 0,
  }),
  resolvePoolSpec({ poolId: 'money', kind: 'budget', capacity: 100 }),
];
const ctx: ClaimContext = {
  pool: (id) => pools.find((p) => p.poolId === id),
  reservation: (id) =>
    id === 'r1' ? { reservationId: 'r1', poolId: 'gpu', amount: 1, from: 0, to: 1, taskId: 't9' } : undefined,
};

describe('claims', () => {
  it('accept pool and lock claims, a lock defaulting to exclusive', () => {
    const claims = [
      { pool: 'gpu', amount: 2 },
      { lock: 'repo:acme/api:src/**' },
      { lock: 'db:x', mode: 'shared' },
    ];
    expect(claimProblems(ctx, claims)).toEqual([]);
    expect(
      parseClaims(claims).map((c) => (c.kind === 'pool' ? c.poolId : `${c.name.raw} ${c.mode}`)),
    ).toEqual(['gpu', 'repo:acme/api:src/** exclusive', 'db:x shared']);
  });

  it('name what is wrong under the path given', () => {
    expect(
      claimProblems(
        ctx,
        [{ pool: 'gpu', amount: 3 }, { lock: 'repo:a//b' }, { pool: 'gpu', amount: 1, reservation: 'r1' }],
        't1',
        'tasks[2].claims',
      ),
    ).toEqual([
      {
        path: 'tasks[2].claims[0].amount',
        message: '3 units is more than pool "gpu" can ever give (capacity 2)',
      },
      { path: 'tasks[2].claims[1].lock', message: expect.stringContaining('"repo:a//b"') },
      { path: 'tasks[2].claims[2].pool', message: 'pool "gpu" is claimed twice' },
      { path: 'tasks[2].claims[2].reservation', message: 'reservation "r1" is for task t9' },
    ]);
  });

  it('are implied by pools whose scope applies, budgets in scope checked without an amount', () => {
    const implied = (sessionId: string, provider?: string, labels: Record<string, string> = {}) =>
      impliedPoolClaims(pools, sessionId, provider ? { agentId: 'a', provider, labels } : undefined).map(
        (c) => `${c.poolId}:${c.amount}`,
      );
    expect(implied('s0')).toEqual(['money:0', 'slots:1']);
    expect(implied('s1', 'openai', { team: 'ml' })).toEqual(['ml:1', 'money:0', 'openai:1', 'slots:1']);
    expect(impliedPoolClaims(pools, 's0', undefined, new Set(['slots'])).map((c) => c.poolId)).toEqual([
      'money',
    ]);
  });
});

describe('scopes', () => {
  it('match by provider, session and label', () => {
    const agent = { provider: 'anthropic', labels: { team: 'ml', tier: 'a=b' } };
    expect(scopeApplies({ kind: 'global', value: '' }, 's', undefined)).toBe(true);
    expect(scopeApplies({ kind: 'provider', value: 'anthropic' }, 's', agent)).toBe(true);
    expect(scopeApplies({ kind: 'provider', value: 'anthropic' }, 's', undefined)).toBe(false);
    expect(scopeApplies({ kind: 'session', value: 's' }, 's', undefined)).toBe(true);
    expect(scopeApplies({ kind: 'label', value: 'team=ml' }, 's', agent)).toBe(true);
    expect(scopeApplies({ kind: 'label', value: 'tier=a=b' }, 's', agent)).toBe(true);
    expect(scopeApplies({ kind: 'label', value: 'team=web' }, 's', agent)).toBe(false);
  });
});
