import {
  AllocatorRun,
  all,
  allocate,
  definePool,
  grantedTasks,
  only,
  pool,
  release,
  reserve,
  t,
  tick,
  ts,
  types,
} from './allocator.fixtures';
import { auditAllocator, nextWakeAt, poolUsage } from './queries';

describe('a rate pool of 60 requests per minute with burst 1', () => {
  const rpm = definePool('rpm', 'rate', 60, { windowMs: 60_000, burst: 1 });

  it('spaces requests one second apart: one now, the next when a token has refilled', () => {
    const run = new AllocatorRun();
    run.run(rpm);
    const first = run.all(...['a', 'b', 'c'].map((id) => allocate(id, [])));
    expect(grantedTasks(first)).toEqual(['a']);
    expect(all(first, 'AllocationBlocked').map((d) => d.retryAt)).toEqual([ts(1000), ts(1000)]);
    expect(nextWakeAt(run.state, t(0))).toEqual(t(1000));
    expect(grantedTasks(run.run(tick(999)))).toEqual([]);
    expect(grantedTasks(run.run(tick(1000)))).toEqual(['b']);
    expect(nextWakeAt(run.state, t(1000))).toEqual(t(2000));
    expect(grantedTasks(run.run(tick(1999)))).toEqual([]);
    expect(grantedTasks(run.run(tick(2000)))).toEqual(['c']);
    expect(nextWakeAt(run.state, t(2000))).toBeUndefined();
  });

  it('does not give tokens back on release', () => {
    const run = new AllocatorRun();
    run.all(rpm, allocate('a', []), allocate('b', []), release('a', { at: t(10) }));
    expect(run.state.waiters.has('b#1')).toBe(true);
    expect(grantedTasks(run.run(tick(1000)))).toEqual(['b']);
  });

  it('explains when the next token comes', () => {
    const run = new AllocatorRun();
    run.all(rpm, allocate('a', []));
    expect(only(run.run(allocate('b', [])), 'AllocationBlocked').reason).toBe(
      'b (attempt 1) needs 1 requests from rate pool "rpm" (60 per 1min, refilled one every 1s), ' +
        `which has 0 now; enough for it alone at ${ts(1000)}`,
    );
  });
});

describe('a rate pool with a burst', () => {
  it('lets a burst through at once, then refills continuously up to the burst', () => {
    const run = new AllocatorRun();
    run.run(definePool('tpm', 'rate', 600, { windowMs: 60_000, burst: 3, defaultAmount: 0 }));
    const asked = run.all(...['a', 'b', 'c', 'd'].map((id) => allocate(id, [{ pool: 'tpm', amount: 1 }])));
    expect(grantedTasks(asked)).toEqual(['a', 'b', 'c']);
    // 10 tokens per second: one more after 100 ms.
    expect(grantedTasks(run.run(tick(100)))).toEqual(['d']);
    // A long pause refills to the burst, never beyond it.
    const later = run.all(
      ...['e', 'f', 'g', 'h'].map((id) => allocate(id, [{ pool: 'tpm', amount: 1 }], { at: t(60_000) })),
    );
    expect(grantedTasks(later)).toEqual(['e', 'f', 'g']);
  });
});

describe('a concurrency pool of 3 slots', () => {
  it('never runs more than 3 at once and hands slots over in arrival order', () => {
    const run = new AllocatorRun();
    run.run(definePool('slots', 'concurrency', 3));
    for (let i = 0; i < 6; i++) run.run(allocate(`t${i}`, [], { at: t(i) }));
    expect([...run.state.allocations.keys()].sort()).toEqual(['t0#1', 't1#1', 't2#1']);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      order.push(...grantedTasks(run.run(release(`t${i}`, { at: t(10 + i) }))));
      expect(run.state.pools.get('slots')!.used).toBeLessThanOrEqual(3);
    }
    expect(order).toEqual(['t3', 't4', 't5']);
    expect(auditAllocator(run.state)).toEqual([]);
  });

  it('does not let a small later request overtake a larger earlier one', () => {
    const run = new AllocatorRun();
    run.all(definePool('slots', 'concurrency', 3, { defaultAmount: 0 }), allocate('a', [pool('slots', 2)]));
    run.run(allocate('big', [pool('slots', 2)], { at: t(1) }));
    const small = run.run(allocate('small', [pool('slots', 1)], { at: t(2) }));
    expect(only(small, 'AllocationBlocked').reason).toBe(
      'small (attempt 1) needs 1 slots from pool "slots", which has 1 of 3 free (2 held by a; big asked for it first)',
    );
    expect(grantedTasks(run.run(release('a', { at: t(3) })))).toEqual(['big', 'small']);
  });

  it('lets a later request use room an earlier waiter does not need while it waits for a lock', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('slots', 'concurrency', 2, { defaultAmount: 0 }),
      allocate('holder', [{ lock: 'repo:x' }]),
      allocate('first', [pool('slots', 1), { lock: 'repo:x' }], { at: t(1) }),
    );
    expect(grantedTasks(run.run(allocate('second', [pool('slots', 1)], { at: t(2) })))).toEqual(['second']);
  });
});

describe('a budget of 10 usd per day with a soft limit at 80%', () => {
  const money = definePool('money', 'budget', 10, { windowMs: 86_400_000 });

  it('holds estimates, blocks what would go over (hard limit), and a raise releases the waiters', () => {
    const run = new AllocatorRun();
    run.all(money, allocate('a', [pool('money', 6)]));
    const b = run.run(allocate('b', [pool('money', 6)], { at: t(1) }));
    expect(only(b, 'AllocationBlocked')).toMatchObject({
      waitingFor: 'budget',
      reason:
        'b (attempt 1) needs an estimated 6 usd from budget "money", which has 4 of 10 left this period ' +
        `(0 spent, 6 held by running tasks); it resets at 2026-11-22T00:00:00Z or when raised`,
      retryAt: '2026-11-22T00:00:00Z',
    });
    expect(types(b)).toEqual(['AllocationBlocked']);
    const raised = run.run({ type: 'UpdatePool', poolId: 'money', capacity: 20, at: t(2) });
    expect(grantedTasks(raised)).toEqual(['b']);
  });

  it('warns once per period when spending and estimates cross the soft limit', () => {
    const run = new AllocatorRun();
    run.all(money, allocate('a', [pool('money', 5)]));
    const crossing = run.run(allocate('b', [pool('money', 3)], { at: t(1) }));
    expect(only(crossing, 'BudgetSoftLimitReached')).toEqual({
      poolId: 'money',
      spent: 0,
      held: 8,
      capacity: 10,
      softLimit: 0.8,
      periodStart: '2026-11-21T00:00:00Z',
      at: ts(1),
    });
    const again = run.run({
      type: 'ReconcileUsage',
      taskId: 'a',
      attempt: 1,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 5,
      at: t(2),
    });
    expect(types(again)).toEqual(['UsageReconciled']);
    // The next day is a new period: spending starts from 0 and the warning can come again.
    const nextDay = 86_400_000;
    run.all(release('a', { at: t(3) }), release('b', { at: t(3) }));
    const tomorrow = run.all(allocate('c', [pool('money', 9)], { at: t(nextDay) }));
    expect(types(tomorrow)).toEqual(['ResourcesAllocated', 'BudgetSoftLimitReached']);
    expect(only(tomorrow, 'BudgetSoftLimitReached').periodStart).toBe('2026-11-22T00:00:00Z');
  });

  it('holds every task in its scope once exhausted, even without an estimate, until raised or a new period', () => {
    const run = new AllocatorRun();
    run.all(money, allocate('a', [pool('money', 1)]));
    run.run({
      type: 'ReconcileUsage',
      taskId: 'a',
      attempt: 1,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 12,
      at: t(1),
    });
    const held = run.run(allocate('b', [], { at: t(2) }));
    expect(only(held, 'AllocationBlocked')).toMatchObject({
      waitingFor: 'budget',
      reason:
        'b (attempt 1) budget "money" is exhausted: 12 of 10 usd spent this period; it resets at 2026-11-22T00:00:00Z or when raised',
    });
    expect(nextWakeAt(run.state, t(2))).toEqual(new Date('2026-11-22T00:00:00Z'));
    expect(grantedTasks(run.run({ type: 'UpdatePool', poolId: 'money', capacity: 12, at: t(3) }))).toEqual(
      [],
    );
    expect(grantedTasks(run.run({ type: 'UpdatePool', poolId: 'money', capacity: 13, at: t(4) }))).toEqual([
      'b',
    ]);
  });

  it('gives back an estimate released without usage', () => {
    const run = new AllocatorRun();
    run.all(money, allocate('a', [pool('money', 9)]), allocate('b', [pool('money', 5)], { at: t(1) }));
    expect(grantedTasks(run.run(release('a', { at: t(2) })))).toEqual(['b']);
    expect(poolUsage(run.state, t(2))[0]).toMatchObject({ spent: 0, held: 5 });
  });
});

describe('a reservation of 3 of 4 gpus from 1 s to 5 s for task "train"', () => {
  const setUp = (): AllocatorRun => {
    const run = new AllocatorRun();
    run.all(definePool('gpu', 'quantity', 4, { unit: 'gpu' }), reserve('r1', 'gpu', 3, 1000, 5000, 'train'));
    return run;
  };

  it('leaves the pool whole before the window opens', () =>
    expect(grantedTasks(setUp().run(allocate('x', [pool('gpu', 4)], { at: t(999) })))).toEqual(['x']));

  it('sets the amount aside from the first instant of the window', () => {
    const run = setUp();
    const blocked = run.run(allocate('x', [pool('gpu', 2)], { at: t(1000) }));
    expect(only(blocked, 'AllocationBlocked')).toMatchObject({
      reason:
        'x (attempt 1) needs 2 gpu from pool "gpu", which has 1 of 4 free (3 set aside for reservations)',
      retryAt: ts(5000),
    });
    expect(
      only(run.run(allocate('train', [pool('gpu', 3)], { at: t(1000) })), 'ResourcesAllocated').grants,
    ).toEqual([{ poolId: 'gpu', amount: 3, reservationId: 'r1' }]);
  });

  it('gives the amount back to everyone at the end of the window (exclusive)', () => {
    const run = setUp();
    run.run(allocate('x', [pool('gpu', 2)], { at: t(2000) }));
    expect(nextWakeAt(run.state, t(2000))).toEqual(t(5000));
    expect(grantedTasks(run.run(tick(4999)))).toEqual([]);
    expect(grantedTasks(run.run(tick(5000)))).toEqual(['x']);
  });

  it('lets the task it is for in ahead of earlier waiters that may not use it', () => {
    const run = setUp();
    run.all(
      allocate('holder', [pool('gpu', 1)], { at: t(0) }),
      allocate('x', [pool('gpu', 2)], { at: t(1000) }),
    );
    expect(grantedTasks(run.run(allocate('train', [pool('gpu', 3)], { at: t(1001) })))).toEqual(['train']);
  });

  it('is drawn on by claims naming it when it is for no task in particular', () => {
    const run = new AllocatorRun();
    run.all(definePool('gpu', 'quantity', 4), reserve('shared', 'gpu', 2, 0, 5000));
    expect(grantedTasks(run.run(allocate('x', [pool('gpu', 3)], { at: t(10) })))).toEqual([]);
    expect(
      only(run.run(allocate('y', [pool('gpu', 2, 'shared')], { at: t(10) })), 'ResourcesAllocated').grants,
    ).toEqual([{ poolId: 'gpu', amount: 2, reservationId: 'shared' }]);
    expect(poolUsage(run.state, t(10))[0]).toMatchObject({ used: 2, reserved: 0, available: 2 });
  });
});

describe('a reservation made while its task waits', () => {
  it('lets the task in at once when its window is open', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('gpu', 'quantity', 4),
      allocate('a', [pool('gpu', 2)]),
      allocate('big', [pool('gpu', 3)], { at: t(1) }),
      allocate('train', [pool('gpu', 2)], { at: t(2) }),
    );
    expect(run.state.waiters.has('train#1')).toBe(true);
    expect(grantedTasks(run.run(reserve('r1', 'gpu', 2, 3, 60_000, 'train', { at: t(3) })))).toEqual([
      'train',
    ]);
  });
});
