import {
  AllocatorRun,
  agent,
  allocate,
  definePool,
  lock,
  pool,
  release,
  reserve,
  t,
} from './allocator.fixtures';
import {
  allocations,
  attemptsOfTask,
  impliedClaims,
  nextWakeAt,
  openConflicts,
  poolUsage,
  reservations,
  validateClaims,
  waiters,
} from './queries';

const busy = (): AllocatorRun => {
  const run = new AllocatorRun();
  run.all(
    definePool('slots', 'concurrency', 2, { defaultAmount: 0 }),
    definePool('gpu', 'quantity', 4, { unit: 'gpu' }),
    definePool('rpm', 'rate', 60, { windowMs: 60_000, burst: 10, defaultAmount: 0 }),
    definePool('money', 'budget', 100, { windowMs: 86_400_000 }),
    reserve('r1', 'gpu', 1, 0, 10_000),
    allocate('a', [pool('slots', 2), pool('gpu', 1), pool('rpm', 4), pool('money', 30), lock('repo:x')], {
      sessionId: 'sa',
    }),
    allocate('b', [pool('slots', 1), lock('repo:x')], { sessionId: 'sb', at: t(1) }),
    allocate('a', [pool('gpu', 2)], { attempt: 2, sessionId: 'sa', at: t(2) }),
  );
  return run;
};

describe('queries', () => {
  it('poolUsage: used, free, reserved, waiting and what a budget spent and holds', () => {
    const usage = Object.fromEntries(poolUsage(busy().state, t(3)).map((u) => [u.poolId, u]));
    expect(usage['slots']).toMatchObject({
      used: 2,
      capacity: 2,
      available: 0,
      utilization: 1,
      waiting: 1,
      waitingDemand: 1,
      holders: 1,
    });
    expect(usage['gpu']).toMatchObject({ used: 3, reserved: 1, available: 0, holders: 2 });
    // 4 of the 10-token bucket taken at 0 ms, refilled by one per second since.
    expect(usage['rpm']).toMatchObject({ used: expect.closeTo(3.997, 6), tokens: expect.closeTo(6.003, 6) });
    expect(usage['money']).toMatchObject({ spent: 0, held: 30, used: 30, available: 70, utilization: 0.3 });
  });

  it('allocations and waiters, by session or task', () => {
    const { state } = busy();
    expect(allocations(state).map((a) => a.allocationId)).toEqual(['a#1', 'a#2']);
    expect(allocations(state, { sessionId: 'sa' })[0]?.grants).toContainEqual({
      poolId: 'rpm',
      amount: 4,
      reservationId: '',
    });
    expect(waiters(state, t(3))).toMatchObject([
      {
        allocationId: 'b#1',
        waitingFor: 'lock',
        position: 1,
        conflictIds: ['conflict-1', 'conflict-2'],
        holding: false,
      },
    ]);
    expect(waiters(state, t(3), { taskId: 'a' })).toEqual([]);
  });

  it('attemptsOfTask and openConflicts', () => {
    const run = busy();
    expect(attemptsOfTask(run.state, 'a')).toEqual([1, 2]);
    expect(openConflicts(run.state).map((c) => [c.conflictId, c.kind, c.resource])).toEqual([
      ['conflict-1', 'pool', 'slots'],
      ['conflict-2', 'lock', 'repo:x'],
    ]);
    run.run(release('b', { at: t(4) }));
    expect(openConflicts(run.state)).toEqual([]);
    expect(attemptsOfTask(run.state, 'b')).toEqual([]);
  });

  it('reservations that have not ended', () => {
    const { state } = busy();
    expect(reservations(state, t(5))).toMatchObject([{ reservationId: 'r1', status: 'active', used: 0 }]);
    expect(reservations(state, t(10_000))).toEqual([]);
  });

  it('nextWakeAt: nothing due while waiters wait for holders only', () => {
    expect(nextWakeAt(busy().state, t(3))).toBeUndefined();
  });

  it('impliedClaims and validateClaims for a session before it starts', () => {
    const { state } = busy();
    expect(impliedClaims(state, { sessionId: 's', agent: agent('x') })).toEqual([
      { kind: 'pool', poolId: 'money', amount: 0, reservation: '' },
    ]);
    expect(
      validateClaims(state, [{ pool: 'nope', amount: 1 }, { lock: 'repo:x' }], 'tasks[0].claims'),
    ).toEqual([{ path: 'tasks[0].claims[0].pool', message: 'unknown pool "nope"' }]);
  });
});

describe('waiters', () => {
  it('are explained as things stand now, not as they were when they were queued', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('slots', 'concurrency', 1, { defaultAmount: 0 }),
      definePool('money', 'budget', 10),
      allocate('a', [lock('repo:x'), pool('slots', 1)]),
      allocate('b', [lock('repo:x'), pool('money', 4)], { at: t(1) }),
    );
    expect(waiters(run.state, t(2))[0]).toMatchObject({ waitingFor: 'lock', blockers: ['a'] });
    // The budget is spent meanwhile: b now waits for money, not for the lock.
    run.all(
      allocate('c', [pool('money', 1)], { at: t(3) }),
      {
        type: 'ReconcileUsage',
        taskId: 'c',
        attempt: 1,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 9,
        at: t(4),
      },
      release('a', { at: t(5) }),
    );
    expect(waiters(run.state, t(6))[0]).toMatchObject({
      taskId: 'b',
      waitingFor: 'budget',
      reason: expect.stringContaining('budget "money"'),
    });
  });
});
