import type { AnalyticsEvent } from '../events';
import { poolClaimsOf, resourceFactOf } from './resource-facts';

const event = (type: string, data: unknown): AnalyticsEvent => ({
  type,
  data,
  occurredAt: '2026-11-21T10:00:00Z',
  globalPosition: 1n,
});
const T = Date.parse('2026-11-21T10:00:00Z');

describe('reading the resources events', () => {
  it('reads a pool definition in any of the likely spellings, with only the fields given', () => {
    expect(
      resourceFactOf(
        event('PoolDefined', { id: 'rpm', kind: 'rate', capacity: '60', unit: 'requests', window: '1m' }),
      ),
    ).toEqual({
      kind: 'pool',
      pool: 'rpm',
      poolKind: 'rate',
      capacity: 60,
      unit: 'requests',
      windowMs: 60_000,
      at: T,
    });
    expect(resourceFactOf(event('PoolUpdated', { poolId: 'gpu', limit: 8, brandNew: true }))).toEqual({
      kind: 'pool',
      pool: 'gpu',
      capacity: 8,
      at: T,
    });
  });

  it('reads allocations as a list or as one pool, keyed by attempt or by task', () => {
    expect(
      resourceFactOf(
        event('ResourcesAllocated', {
          allocationId: 't1#3',
          grants: [{ pool: 'gpu', quantity: 2 }, { poolId: 'cpu' }],
        }),
      ),
    ).toEqual({
      kind: 'allocated',
      taskId: 't1',
      items: [
        { pool: 'gpu', amount: 2 },
        { pool: 'cpu', amount: 1 },
      ],
      at: T,
    });
    expect(
      resourceFactOf(
        event('ResourcesAllocated', {
          taskId: 't2',
          poolId: 'gpu',
          amount: '4',
          allocatedAt: '2026-11-21T10:00:09Z',
        }),
      ),
    ).toMatchObject({
      items: [{ pool: 'gpu', amount: 4 }],
      at: T + 9_000,
    });
  });

  it('tells what a blocked allocation waits for', () => {
    expect(
      resourceFactOf(event('AllocationBlocked', { taskId: 't1#1', lock: 'repo:a:src/**', reason: 'held' })),
    ).toMatchObject({
      kind: 'blocked',
      waitingFor: 'lock',
      on: 'repo:a:src/**',
    });
    expect(
      resourceFactOf(
        event('AllocationBlocked', {
          taskId: 't1',
          waitingFor: 'budget',
          claims: [{ pool: 'usd', amount: 5 }],
        }),
      ),
    ).toMatchObject({
      waitingFor: 'budget',
      on: 'usd',
      items: [{ pool: 'usd', amount: 5 }],
    });
  });

  it('reads a release of everything a task holds, or of some pools', () => {
    expect(resourceFactOf(event('ResourcesReleased', { taskId: 't1#1' }))).toEqual({
      kind: 'released',
      taskId: 't1',
      items: undefined,
      at: T,
    });
    expect(
      resourceFactOf(
        event('ResourcesReleased', { taskId: 't1', allocations: [{ poolId: 'gpu', amount: 1 }] }),
      ),
    ).toMatchObject({
      items: [{ pool: 'gpu', amount: 1 }],
    });
  });

  it('reads a reconciliation as the difference between actual and estimated usage', () => {
    expect(
      resourceFactOf(
        event('UsageReconciled', { taskId: 't1#1', poolId: 'usd', estimated: 0.5, actual: 0.8 }),
      ),
    ).toMatchObject({
      kind: 'reconciled',
      pool: 'usd',
      actual: 0.8,
      delta: expect.closeTo(0.3, 9),
    });
  });

  it('gives nothing for an event missing its pool or task, or not a resources event', () => {
    expect(resourceFactOf(event('PoolDefined', { kind: 'rate' }))).toBeUndefined();
    expect(resourceFactOf(event('ResourcesAllocated', { poolId: 'gpu' }))).toBeUndefined();
    expect(resourceFactOf(event('AllocationBlocked', 'nonsense'))).toBeUndefined();
    expect(resourceFactOf(event('TaskAssigned', { taskId: 't1' }))).toBeUndefined();
  });

  it('reads the pools a task claims, skipping its locks', () => {
    expect(
      poolClaimsOf([
        { pool: 'gpu', amount: 2 },
        { lock: 'repo:a:**', mode: 'exclusive' },
        { pool: 'rpm' },
        'junk',
      ]),
    ).toEqual([
      { pool: 'gpu', amount: 2 },
      { pool: 'rpm', amount: 1 },
    ]);
    expect(poolClaimsOf(undefined)).toEqual([]);
  });
});
