import { ConflictError, IllegalStateError, NotFoundError, ValidationError } from '@orch/domain-kit';
import type { AllocatorCommand } from './allocator.commands';
import { allocatorDecider } from './allocator.decider';
import {
  AllocatorRun,
  agent,
  all,
  allocate,
  definePool,
  given,
  grantedTasks,
  history,
  lock,
  only,
  pool,
  release,
  reserve,
  t,
  tick,
  ts,
  types,
} from './allocator.fixtures';
import { ALLOCATOR_STREAM, type AllocatorEvent } from './allocator.events';

/** The field problems a rejected command reports. */
function problemsOf(
  history: readonly AllocatorEvent[],
  command: AllocatorCommand,
): { path: string; message: string }[] {
  const decider = allocatorDecider();
  const state = history.reduce(decider.evolve, decider.initialState());
  try {
    decider.decide(command, state);
  } catch (e) {
    if (e instanceof ValidationError) return [...e.errors];
    throw e;
  }
  throw new Error('expected a ValidationError');
}

const slots = definePool('slots', 'concurrency', 2, { defaultAmount: 0 });
const slotsDefined: AllocatorEvent = {
  type: 'PoolDefined',
  data: {
    spec: {
      poolId: 'slots',
      kind: 'concurrency',
      capacity: 2,
      unit: 'slots',
      windowMs: '0',
      burst: 0,
      scope: { kind: 'global', value: '' },
      softLimit: 0,
      policy: 'queue',
      defaultAmount: 0,
    },
    at: ts(0),
  },
};

it('lives on one stream', () => expect(ALLOCATOR_STREAM).toBe('resources-allocator'));

describe('DefinePool', () => {
  it('defines a pool with its defaults resolved', () => given([]).when(slots).then([slotsDefined]));

  it('resolves a rate pool burst to its capacity and a budget soft limit to 0.8', () => {
    const [rate] = allocatorDecider().decide(
      definePool('rpm', 'rate', 60, { windowMs: 60_000 }),
      allocatorDecider().initialState(),
    );
    expect(rate?.type === 'PoolDefined' && rate.data.spec).toMatchObject({
      burst: 60,
      windowMs: '60000',
      defaultAmount: 1,
      unit: 'requests',
    });
    const [budget] = allocatorDecider().decide(
      definePool('money', 'budget', 100),
      allocatorDecider().initialState(),
    );
    expect(budget?.type === 'PoolDefined' && budget.data.spec).toMatchObject({
      softLimit: 0.8,
      defaultAmount: 0,
      unit: 'usd',
    });
  });

  it('is a no-op for the same definition again', () => given([slotsDefined]).when(slots).then([]));

  it('refuses another definition under an existing id', () =>
    given([slotsDefined])
      .when(definePool('slots', 'concurrency', 3, { defaultAmount: 0 }))
      .thenThrows(ConflictError, /already defined differently/));

  it.each([
    [{ poolId: 'Bad Id' }, 'poolId'],
    [{ kind: 'gpu' }, 'kind'],
    [{ capacity: 0 }, 'capacity'],
    [{ capacity: Number.POSITIVE_INFINITY }, 'capacity'],
    [{ kind: 'rate', windowMs: undefined }, 'windowMs'],
    [{ kind: 'rate', windowMs: 500 }, 'windowMs'],
    [{ kind: 'concurrency', windowMs: 60_000 }, 'windowMs'],
    [{ kind: 'rate', windowMs: 60_000, burst: -1 }, 'burst'],
    [{ kind: 'quantity', burst: 2 }, 'burst'],
    [{ kind: 'budget', softLimit: 1.5 }, 'softLimit'],
    [{ kind: 'concurrency', softLimit: 0.5 }, 'softLimit'],
    [{ scope: { kind: 'team', value: 'x' } }, 'scope.kind'],
    [{ scope: { kind: 'provider', value: '' } }, 'scope.value'],
    [{ scope: { kind: 'label', value: 'nolabel' } }, 'scope.value'],
    [{ scope: { kind: 'global', value: 'x' } }, 'scope.value'],
    [{ policy: 'lottery' }, 'policy'],
    [{ defaultAmount: -1 }, 'defaultAmount'],
    [{ capacity: 2, defaultAmount: 3 }, 'defaultAmount'],
  ])('rejects %j naming %s', (change, path) => {
    const command = { ...definePool('p', 'concurrency', 4), ...change } as AllocatorCommand;
    expect(problemsOf([], command).map((p) => p.path)).toContain(path);
  });
});

describe('UpdatePool', () => {
  it('records the whole new definition', () =>
    given([slotsDefined])
      .when({ type: 'UpdatePool', poolId: 'slots', capacity: 5, policy: 'preempt', at: t(1) })
      .then([
        {
          type: 'PoolUpdated',
          data: {
            poolId: 'slots',
            spec: { ...slotsDefined.data.spec, capacity: 5, policy: 'preempt' },
            at: ts(1),
          },
        } as AllocatorEvent,
      ]));

  it('is a no-op when nothing changes', () =>
    given([slotsDefined])
      .when({ type: 'UpdatePool', poolId: 'slots', capacity: 2, at: t(1) })
      .then([]));

  it('grants the waiters that now fit, in queue order', () => {
    const run = new AllocatorRun();
    run.all(slots, allocate('a', [pool('slots', 2)]), allocate('b', [pool('slots', 1)], { at: t(1) }));
    run.run(allocate('c', [pool('slots', 2)], { at: t(2) }));
    const events = run.run({ type: 'UpdatePool', poolId: 'slots', capacity: 5, at: t(3) });
    expect(types(events)).toEqual([
      'PoolUpdated',
      'ResourcesAllocated',
      'ConflictResolved',
      'ResourcesAllocated',
      'ConflictResolved',
    ]);
    expect(grantedTasks(events)).toEqual(['b', 'c']);
  });

  it('refuses a waiter that asks for more than the pool can now ever give', () => {
    const run = new AllocatorRun();
    run.all(slots, allocate('a', [pool('slots', 2)]), allocate('b', [pool('slots', 2)], { at: t(1) }));
    const events = run.run({ type: 'UpdatePool', poolId: 'slots', capacity: 1, at: t(2) });
    expect(only(events, 'AllocationRefused')).toMatchObject({ taskId: 'b' });
    expect(only(events, 'AllocationRefused').reason).toMatch(
      /at most 1 slots at once, less than the 2 b asks for/,
    );
    expect(run.state.waiters.size).toBe(0);
  });

  it('refuses a capacity below what is reserved ahead', () =>
    given(history(definePool('gpu', 'quantity', 4), reserve('r1', 'gpu', 3, 0, 3_600_000)))
      .when({ type: 'UpdatePool', poolId: 'gpu', capacity: 2, at: t(1) })
      .thenThrows(ConflictError, /3 units reserved/));

  it('rejects bad values with their paths, and unknown pools', () => {
    expect(
      problemsOf([slotsDefined], { type: 'UpdatePool', poolId: 'slots', capacity: -1, at: t(1) }),
    ).toEqual([{ path: 'capacity', message: 'must be a finite number greater than 0' }]);
    expect(
      problemsOf([slotsDefined], {
        type: 'UpdatePool',
        poolId: 'slots',
        softLimit: 0.5,
        burst: 2,
        policy: 'x',
        at: t(1),
      }).map((p) => p.path),
    ).toEqual(['softLimit', 'policy', 'burst']);
    given([])
      .when({ type: 'UpdatePool', poolId: 'nope', capacity: 1, at: t(1) })
      .thenThrows(NotFoundError);
  });
});

describe('SetPolicy', () => {
  it('records the policy of a lock namespace, lower-cased', () =>
    given([])
      .when({ type: 'SetPolicy', namespace: 'Repo', policy: 'wait-die', at: t(0) })
      .then([{ type: 'PolicySet', data: { namespace: 'repo', policy: 'wait-die', at: ts(0) } }]));

  it('is a no-op when unchanged', () =>
    given(history({ type: 'SetPolicy', namespace: 'repo', policy: 'manual', at: t(0) }))
      .when({ type: 'SetPolicy', namespace: 'REPO', policy: 'manual', at: t(1) })
      .then([]));

  it('rejects a bad namespace or policy', () =>
    expect(
      problemsOf([], { type: 'SetPolicy', namespace: 'a b', policy: 'nope', at: t(0) }).map((p) => p.path),
    ).toEqual(['namespace', 'policy']));
});

describe('Reserve', () => {
  const gpu = definePool('gpu', 'quantity', 4);

  it('sets an amount aside for a window', () =>
    given(history(gpu))
      .when(reserve('r1', 'gpu', 2, 1000, 5000, 'train'))
      .then([
        {
          type: 'ReservationCreated',
          data: {
            reservationId: 'r1',
            poolId: 'gpu',
            amount: 2,
            from: ts(1000),
            to: ts(5000),
            taskId: 'train',
            at: ts(0),
          },
        },
      ]));

  it('is a no-op for the same reservation again, a conflict for other terms', () => {
    const before = history(gpu, reserve('r1', 'gpu', 2, 1000, 5000));
    given(before)
      .when(reserve('r1', 'gpu', 2, 1000, 5000))
      .then([]);
    given(before)
      .when(reserve('r1', 'gpu', 3, 1000, 5000))
      .thenThrows(ConflictError, /other terms/);
  });

  it('refuses overlapping reservations beyond the capacity, and accepts back-to-back ones', () => {
    const before = history(gpu, reserve('r1', 'gpu', 3, 1000, 5000));
    given(before)
      .when(reserve('r2', 'gpu', 2, 4999, 6000))
      .thenThrows(ConflictError, /3 of them already reserved/);
    given(before)
      .when(reserve('r2', 'gpu', 4, 5000, 6000))
      .then([
        {
          type: 'ReservationCreated',
          data: {
            reservationId: 'r2',
            poolId: 'gpu',
            amount: 4,
            from: ts(5000),
            to: ts(6000),
            taskId: '',
            at: ts(0),
          },
        },
      ]);
  });

  it('rejects reservations that end before they begin, lie in the past, or do not fit the pool', () => {
    const before = history(gpu, definePool('rpm', 'rate', 10, { windowMs: 60_000 }));
    expect(problemsOf(before, reserve('r1', 'gpu', 2, 5000, 1000))).toEqual([
      { path: 'to', message: 'must be after from: the reservation ends before it begins' },
    ]);
    expect(problemsOf(before, reserve('r1', 'gpu', 2, -5000, -1000))[0]?.path).toBe('to');
    expect(problemsOf(before, reserve('r1', 'gpu', 0, 0, 1000))[0]?.path).toBe('amount');
    expect(problemsOf(before, reserve('r1', 'gpu', 5, 0, 1000))[0]?.path).toBe('amount');
    expect(problemsOf(before, reserve('r1', 'rpm', 1, 0, 1000))[0]).toEqual({
      path: 'poolId',
      message: 'pool "rpm" is a rate pool; only concurrency and quantity pools take reservations',
    });
    expect(problemsOf(before, reserve('R 1', 'gpu', 1, 0, 1000))[0]?.path).toBe('reservationId');
    given(before)
      .when(reserve('r1', 'nope', 1, 0, 1000))
      .thenThrows(NotFoundError);
  });
});

describe('Allocate', () => {
  const base = history(slots);

  it('grants claims that fit, all at once', () =>
    given(base)
      .when(allocate('a', [pool('slots', 1), lock('repo:acme/api:src/**')]))
      .then([
        {
          type: 'ResourcesAllocated',
          data: {
            allocationId: 'a#1',
            taskId: 'a',
            attempt: 1,
            sessionId: 's1',
            priority: 0,
            grants: [{ poolId: 'slots', amount: 1, reservationId: '' }],
            locks: [{ lock: 'repo:acme/api:src/**', mode: 'exclusive' }],
            incremental: false,
            since: ts(0),
            at: ts(0),
          },
        },
      ]));

  it('grants nothing when one claim does not fit, and says why', () => {
    const run = new AllocatorRun();
    run.all(slots, allocate('a', [lock('repo:acme/api')]));
    const events = run.run(allocate('b', [pool('slots', 1), lock('repo:acme/api:src/x.ts')], { at: t(5) }));
    expect(types(events)).toEqual(['AllocationBlocked', 'ConflictDetected']);
    expect(only(events, 'AllocationBlocked')).toEqual({
      allocationId: 'b#1',
      taskId: 'b',
      attempt: 1,
      sessionId: 's1',
      priority: 0,
      claims: [
        { pool: 'slots', amount: 1, lock: '', mode: '', reservation: '' },
        { pool: '', amount: 0, lock: 'repo:acme/api:src/x.ts', mode: 'exclusive', reservation: '' },
      ],
      incremental: false,
      policy: '',
      waitingFor: 'lock',
      reason:
        'b (attempt 1) needs lock "repo:acme/api:src/x.ts" (exclusive), held by a (repo:acme/api, exclusive)',
      blockers: ['a'],
      waitingOnPools: [],
      waitingOnLocks: ['repo:acme/api:src/x.ts'],
      conflictId: 'conflict-1',
      since: ts(5),
      at: ts(5),
      parkedOn: 'lock:repo:acme/api:src/x.ts',
    });
    expect(only(events, 'ConflictDetected')).toEqual({
      conflictId: 'conflict-1',
      kind: 'lock',
      resource: 'repo:acme/api:src/x.ts',
      allocationId: 'b#1',
      parties: [
        { taskId: 'b', attempt: 1, priority: 0, role: 'waiter' },
        { taskId: 'a', attempt: 1, priority: 0, role: 'holder' },
      ],
      policy: 'queue',
      since: ts(5),
      at: ts(5),
    });
    expect(run.state.pools.get('slots')?.used).toBe(0);
  });

  it('is idempotent: a granted or waiting attempt asked again gives no events', () => {
    const granted = history(slots, allocate('a', [pool('slots', 2)]));
    given(granted)
      .when(allocate('a', [pool('slots', 2)], { at: t(9) }))
      .then([]);
    const waiting = history(slots, allocate('a', [pool('slots', 2)]), allocate('b', [pool('slots', 1)]));
    given(waiting)
      .when(allocate('b', [pool('slots', 1)], { at: t(9) }))
      .then([]);
  });

  it('treats another attempt of a task as another allocation', () => {
    const events = history(
      slots,
      allocate('a', [pool('slots', 1)]),
      allocate('a', [pool('slots', 1)], { attempt: 2 }),
    );
    expect(all(events, 'ResourcesAllocated').map((d) => d.allocationId)).toEqual(['a#1', 'a#2']);
  });

  it('adds the claims implied by pools in scope, and a declared claim replaces the implied one', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('global', 'concurrency', 10),
      definePool('openai-rpm', 'rate', 60, {
        windowMs: 60_000,
        scope: { kind: 'provider', value: 'openai' },
      }),
      definePool('team-gpu', 'quantity', 4, { scope: { kind: 'label', value: 'team=ml' }, defaultAmount: 1 }),
      definePool('s9', 'concurrency', 1, { scope: { kind: 'session', value: 's9' } }),
      definePool('money', 'budget', 50),
    );
    const events = run.run(allocate('a', [pool('global', 3)], { agent: agent('openai', { team: 'ml' }) }));
    expect(only(events, 'ResourcesAllocated').grants).toEqual([
      { poolId: 'global', amount: 3, reservationId: '' },
      { poolId: 'money', amount: 0, reservationId: '' },
      { poolId: 'openai-rpm', amount: 1, reservationId: '' },
      { poolId: 'team-gpu', amount: 1, reservationId: '' },
    ]);
    const other = run.run(allocate('b', [], { agent: agent('anthropic'), sessionId: 's9' }));
    expect(only(other, 'ResourcesAllocated').grants.map((g) => g.poolId)).toEqual(['global', 'money', 's9']);
  });

  it('rejects invalid claims naming each by its index', () => {
    const before = history(
      slots,
      definePool('rpm', 'rate', 10, { windowMs: 60_000, burst: 2 }),
      definePool('gpu', 'quantity', 4),
      reserve('r1', 'gpu', 1, 0, 9000, 'other'),
    );
    const problems = problemsOf(
      before,
      allocate('a', [
        pool('nope', 1),
        pool('slots', -1),
        { lock: 'repo://x' },
        pool('slots', 3),
        pool('rpm', 3),
        { lock: 'repo:x', mode: 'owner' },
        { pool: 'gpu', amount: 1, reservation: 'r1' },
        { pool: 'gpu', amount: 1, lock: 'repo:y' },
        {},
        { lock: 'repo:x' },
        'x' as never,
      ]),
    );
    expect([...new Set(problems.map((p) => p.path))]).toEqual([
      'claims[0].pool',
      'claims[1].amount',
      'claims[2].lock',
      'claims[3].pool',
      'claims[3].amount',
      'claims[4].amount',
      'claims[5].mode',
      'claims[6].reservation',
      'claims[7]',
      'claims[8]',
      'claims[9].lock',
      'claims[10]',
    ]);
    expect(problems.find((p) => p.path === 'claims[0].pool')?.message).toBe('unknown pool "nope"');
    expect(problems.find((p) => p.path === 'claims[4].amount')?.message).toMatch(
      /more than pool "rpm" can ever give \(burst 2\)/,
    );
    expect(problems.find((p) => p.path === 'claims[3].pool')?.message).toBe('pool "slots" is claimed twice');
    expect(problems.find((p) => p.path === 'claims[6].reservation')?.message).toBe(
      'reservation "r1" is for task other',
    );
  });

  it('rejects bad request fields with their paths', () => {
    const problems = problemsOf([slotsDefined], {
      ...allocate('a#b', []),
      attempt: 0,
      priority: 1.5,
      policy: 'coin-flip',
    });
    expect(problems.map((p) => p.path)).toEqual(['taskId', 'attempt', 'priority', 'policy']);
  });
});

describe('Release', () => {
  it('gives back pools and locks, not rate tokens, and grants waiters that now fit', () => {
    const run = new AllocatorRun();
    run.all(
      slots,
      definePool('rpm', 'rate', 60, { windowMs: 60_000, defaultAmount: 0 }),
      allocate('a', [pool('slots', 2), pool('rpm', 1), lock('db:main')]),
      allocate('b', [pool('slots', 1), lock('db:main', 'shared')], { at: t(1) }),
    );
    const events = run.run(release('a', { at: t(2) }));
    expect(events[0]).toEqual({
      type: 'ResourcesReleased',
      data: {
        allocationId: 'a#1',
        taskId: 'a',
        attempt: 1,
        sessionId: 's1',
        returned: [{ poolId: 'slots', amount: 2, reservationId: '' }],
        locks: [{ lock: 'db:main', mode: 'exclusive' }],
        reason: 'TaskSucceeded',
        at: ts(2),
      },
    });
    expect(grantedTasks(events)).toEqual(['b']);
    expect(only(events, 'ConflictResolved')).toMatchObject({ resolution: 'granted', winner: 'b' });
  });

  it('withdraws a wait and ends its conflicts', () => {
    const run = new AllocatorRun();
    run.all(slots, allocate('a', [pool('slots', 2)]), allocate('b', [pool('slots', 1)], { at: t(1) }));
    expect(run.run(release('b', { at: t(2), reason: 'TaskCancelled' }))).toEqual([
      {
        type: 'WaitWithdrawn',
        data: {
          allocationId: 'b#1',
          taskId: 'b',
          attempt: 1,
          sessionId: 's1',
          reason: 'TaskCancelled',
          at: ts(2),
        },
      },
      {
        type: 'ConflictResolved',
        data: {
          conflictId: 'conflict-1',
          resolution: 'withdrawn',
          winner: '',
          strategy: '',
          reason: 'b stopped waiting: TaskCancelled',
          at: ts(2),
        },
      },
    ]);
  });

  it('gives no events for an unknown or already released attempt', () => {
    given(history(slots)).when(release('ghost')).then([]);
    given(history(slots, allocate('a', [pool('slots', 1)]), release('a')))
      .when(release('a'))
      .then([]);
  });
});

describe('ReconcileUsage', () => {
  const money = definePool('money', 'budget', 10, { windowMs: 86_400_000 });

  it('replaces the estimate by the actual cost', () => {
    const run = new AllocatorRun();
    run.all(money, allocate('a', [pool('money', 4)]));
    const events = run.run({
      type: 'ReconcileUsage',
      taskId: 'a',
      attempt: 1,
      inputTokens: 1200,
      outputTokens: 300,
      costUsd: 2.5,
      at: t(5),
    });
    expect(events).toEqual([
      {
        type: 'UsageReconciled',
        data: {
          allocationId: 'a#1',
          taskId: 'a',
          attempt: 1,
          sessionId: 's1',
          inputTokens: '1200',
          outputTokens: '300',
          costUsd: 2.5,
          draws: [
            { poolId: 'money', estimate: 4, actual: 2.5, spent: 2.5, periodStart: '2026-11-21T00:00:00Z' },
          ],
          at: ts(5),
        },
      },
    ]);
    expect(run.state.pools.get('money')).toMatchObject({ spent: 2.5, used: 0 });
    expect(
      run.run({
        type: 'ReconcileUsage',
        taskId: 'a',
        attempt: 1,
        inputTokens: 1,
        outputTokens: 1,
        costUsd: 9,
        at: t(6),
      }),
    ).toEqual([]);
  });

  it('counts usage reported after the release, and draws tokens from a budget counted in tokens', () => {
    const run = new AllocatorRun();
    run.all(
      money,
      definePool('tok', 'budget', 100_000, { unit: 'tokens' }),
      allocate('a', [pool('money', 4)]),
      release('a', { at: t(1) }),
    );
    expect(run.state.pools.get('money')?.used).toBe(0);
    const events = run.run({
      type: 'ReconcileUsage',
      taskId: 'a',
      attempt: 1,
      inputTokens: 1000,
      outputTokens: 500,
      costUsd: 3,
      at: t(2),
    });
    expect(
      only(events, 'UsageReconciled').draws.map((d) => [d.poolId, d.estimate, d.actual, d.spent]),
    ).toEqual([
      ['money', 4, 3, 3],
      ['tok', 0, 1500, 1500],
    ]);
  });

  it('ignores attempts with no budget and rejects bad numbers', () => {
    given(history(money))
      .when({
        type: 'ReconcileUsage',
        taskId: 'x',
        attempt: 1,
        inputTokens: 1,
        outputTokens: 1,
        costUsd: 1,
        at: t(1),
      })
      .then([]);
    expect(
      problemsOf([], {
        type: 'ReconcileUsage',
        taskId: 'x',
        attempt: 1,
        inputTokens: -1,
        outputTokens: 1.5,
        costUsd: Number.NaN,
        at: t(1),
      }).map((p) => p.path),
    ).toEqual(['inputTokens', 'outputTokens', 'costUsd']);
  });
});

describe('Tick', () => {
  it('gives nothing when nothing waits', () => given(history(slots)).when(tick(1000)).then([]));

  it('grants waiters time lets in, in queue order', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('rpm', 'rate', 2, { windowMs: 2000, burst: 1, defaultAmount: 0 }),
      allocate('a', [pool('rpm', 1)]),
    );
    run.all(allocate('b', [pool('rpm', 1)], { at: t(1) }), allocate('c', [pool('rpm', 1)], { at: t(2) }));
    expect(grantedTasks(run.run(tick(999)))).toEqual([]);
    expect(grantedTasks(run.run(tick(1000)))).toEqual(['b']);
    expect(grantedTasks(run.run(tick(2000)))).toEqual(['c']);
  });
});

describe('ResolveConflict', () => {
  const contended = (): AllocatorRun => {
    const run = new AllocatorRun();
    run.all(
      { type: 'SetPolicy', namespace: 'repo', policy: 'manual', at: t(0) },
      allocate('holder', [lock('repo:x')]),
      allocate('waiter', [lock('repo:x')], { at: t(1) }),
    );
    return run;
  };

  it('queue: closes the conflict, the waiter keeps waiting', () => {
    const run = contended();
    const events = run.run({
      type: 'ResolveConflict',
      conflictId: 'conflict-1',
      strategy: 'queue',
      at: t(2),
    });
    expect(events).toEqual([
      {
        type: 'ConflictResolved',
        data: {
          conflictId: 'conflict-1',
          resolution: 'manual',
          winner: '',
          strategy: 'queue',
          reason: 'an operator left waiter waiting in the queue',
          at: ts(2),
        },
      },
    ]);
    expect(run.state.waiters.has('waiter#1')).toBe(true);
  });

  it('preempt: asks the holders to give way', () => {
    const events = contended().run({
      type: 'ResolveConflict',
      conflictId: 'conflict-1',
      strategy: 'preempt',
      at: t(2),
    });
    expect(types(events)).toEqual(['PreemptionRequested', 'ConflictResolved']);
    expect(only(events, 'PreemptionRequested')).toMatchObject({
      taskId: 'holder',
      byTaskId: 'waiter',
      conflictId: 'conflict-1',
    });
    expect(only(events, 'ConflictResolved')).toMatchObject({
      resolution: 'preempted',
      winner: 'waiter',
      strategy: 'preempt',
    });
  });

  it('abort: refuses the waiter', () => {
    const run = contended();
    const events = run.run({
      type: 'ResolveConflict',
      conflictId: 'conflict-1',
      strategy: 'abort',
      at: t(2),
    });
    expect(types(events)).toEqual(['AllocationRefused', 'ConflictResolved']);
    expect(only(events, 'ConflictResolved')).toMatchObject({ resolution: 'aborted', strategy: 'abort' });
    expect(run.state.waiters.size).toBe(0);
  });

  it('grant: the waiter wins by preempting the holders, a holder wins by refusing the waiter', () => {
    const toWaiter = contended().run({
      type: 'ResolveConflict',
      conflictId: 'conflict-1',
      strategy: 'grant',
      winner: 'waiter',
      at: t(2),
    });
    expect(types(toWaiter)).toEqual(['PreemptionRequested', 'ConflictResolved']);
    const toHolder = contended().run({
      type: 'ResolveConflict',
      conflictId: 'conflict-1',
      strategy: 'grant',
      winner: 'holder',
      at: t(2),
    });
    expect(types(toHolder)).toEqual(['AllocationRefused', 'ConflictResolved']);
    expect(only(toHolder, 'ConflictResolved')).toMatchObject({
      resolution: 'aborted',
      winner: 'holder',
      strategy: 'grant',
    });
  });

  it('rejects a winner that is not a party, unknown and resolved conflicts, and bad strategies', () => {
    const run = contended();
    expect(
      problemsOf(run.events, {
        type: 'ResolveConflict',
        conflictId: 'conflict-1',
        strategy: 'grant',
        winner: 'zed',
        at: t(2),
      }),
    ).toEqual([{ path: 'winner', message: 'must be the task id of a party: waiter, holder' }]);
    expect(
      problemsOf(run.events, {
        type: 'ResolveConflict',
        conflictId: 'conflict-1',
        strategy: 'pray',
        at: t(2),
      })[0]?.path,
    ).toBe('strategy');
    given(run.events)
      .when({ type: 'ResolveConflict', conflictId: 'conflict-9', strategy: 'queue', at: t(2) })
      .thenThrows(NotFoundError);
    run.run({ type: 'ResolveConflict', conflictId: 'conflict-1', strategy: 'queue', at: t(2) });
    given(run.events)
      .when({ type: 'ResolveConflict', conflictId: 'conflict-1', strategy: 'queue', at: t(3) })
      .thenThrows(IllegalStateError, /already resolved/);
  });
});

it('rejects a command without a valid time', () =>
  expect(problemsOf([], { type: 'Tick', at: new Date(Number.NaN) })).toEqual([
    { path: 'at', message: 'must be a time' },
  ]));
