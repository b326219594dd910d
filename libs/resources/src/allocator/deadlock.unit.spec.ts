import {
  AllocatorRun,
  all,
  allocate,
  definePool,
  grantedTasks,
  lock,
  only,
  pool,
  release,
  t,
  tick,
  types,
} from './allocator.fixtures';
import { findDeadlock } from './queries';

/** Each task first takes its own lock; then they ask incrementally for the next one's lock. */
function ring(run: AllocatorRun, tasks: readonly { id: string; priority: number; at: number }[]): void {
  tasks.forEach((x) => run.run(allocate(x.id, [lock(`db:${x.id}`)], { priority: x.priority, at: t(x.at) })));
}
const ask = (id: string, lockOf: string, at: number, priority = 0) =>
  allocate(id, [lock(`db:${lockOf}`)], { incremental: true, priority, at: t(at) });

describe('incremental claims (hold-and-wait)', () => {
  it('add to what an attempt holds and are idempotent', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('slots', 'concurrency', 4, { defaultAmount: 0 }),
      allocate('a', [pool('slots', 1), lock('db:a')]),
    );
    const more = run.run(
      allocate('a', [pool('slots', 3), lock('db:b', 'shared')], { incremental: true, at: t(1) }),
    );
    expect(only(more, 'ResourcesAllocated')).toMatchObject({
      incremental: true,
      grants: [{ poolId: 'slots', amount: 2, reservationId: '' }],
      locks: [{ lock: 'db:b', mode: 'shared' }],
    });
    expect(
      run.run(allocate('a', [pool('slots', 3), lock('db:b', 'shared')], { incremental: true, at: t(2) })),
    ).toEqual([]);
    const released = run.run(release('a', { at: t(3) }));
    expect(only(released, 'ResourcesReleased').returned).toEqual([
      { poolId: 'slots', amount: 3, reservationId: '' },
    ]);
  });

  it('upgrade a shared lock to exclusive when nobody else holds it', () => {
    const run = new AllocatorRun();
    run.run(allocate('a', [lock('db:x', 'shared')]));
    const upgrade = run.run(allocate('a', [lock('db:x')], { incremental: true, at: t(1) }));
    expect(only(upgrade, 'ResourcesAllocated').locks).toEqual([{ lock: 'db:x', mode: 'exclusive' }]);
    expect(types(run.run(allocate('b', [lock('db:x', 'shared')], { at: t(2) })))).toEqual([
      'AllocationBlocked',
      'ConflictDetected',
    ]);
  });
});

describe('a deadlock', () => {
  it('formed by two tasks each waiting for the other is detected, and the lowest-priority one is preempted', () => {
    const run = new AllocatorRun();
    ring(run, [
      { id: 'a', priority: 2, at: 0 },
      { id: 'b', priority: 1, at: 1 },
    ]);
    expect(types(run.run(ask('a', 'b', 2, 2)))).toEqual(['AllocationBlocked', 'ConflictDetected']);
    const closing = run.run(ask('b', 'a', 3, 1));
    expect(types(closing)).toEqual([
      'AllocationBlocked',
      'ConflictDetected',
      'DeadlockDetected',
      'PreemptionRequested',
    ]);
    expect(only(closing, 'DeadlockDetected')).toEqual({
      cycle: ['b', 'a'],
      allocationIds: ['b#1', 'a#1'],
      victim: 'b',
      victimAttempt: 1,
      reason:
        'deadlock: b -> a -> b each wait for the next; b (priority 1) gives way as the lowest-priority, youngest party',
      at: '2026-11-21T10:00:00.003Z',
    });
    expect(only(closing, 'PreemptionRequested')).toMatchObject({
      taskId: 'b',
      byTaskId: 'a',
      conflictId: '',
    });
    expect(findDeadlock(run.state, t(3))).toBeUndefined();
    // The victim stops and releases everything: the other one goes on.
    expect(grantedTasks(run.run(release('b', { at: t(4), reason: 'TaskPreempted' })))).toEqual(['a']);
  });

  it('through three tasks picks the youngest among equal priorities', () => {
    const run = new AllocatorRun();
    ring(run, [
      { id: 'x', priority: 0, at: 0 },
      { id: 'y', priority: 0, at: 1 },
      { id: 'z', priority: 0, at: 2 },
    ]);
    run.all(ask('x', 'y', 3), ask('y', 'z', 4));
    const closing = run.run(ask('z', 'x', 5));
    expect(only(closing, 'DeadlockDetected')).toMatchObject({ cycle: ['z', 'x', 'y'], victim: 'z' });
    expect(all(closing, 'PreemptionRequested').map((p) => p.taskId)).toEqual(['z']);
  });

  it('through a pool: each holds what the other needs', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('gpu', 'quantity', 2, { defaultAmount: 0 }),
      allocate('a', [pool('gpu', 1), lock('db:a')], { priority: 1 }),
      allocate('b', [pool('gpu', 1)], { at: t(1) }),
      allocate('a', [pool('gpu', 2)], { incremental: true, priority: 1, at: t(2) }),
    );
    const closing = run.run(allocate('b', [lock('db:a')], { incremental: true, at: t(3) }));
    expect(only(closing, 'DeadlockDetected')).toMatchObject({ victim: 'b' });
  });

  it('is not reported when a holder that does not wait will free what is needed', () => {
    const run = new AllocatorRun();
    run.all(
      definePool('gpu', 'quantity', 3, { defaultAmount: 0 }),
      allocate('a', [pool('gpu', 1), lock('db:a')]),
      allocate('b', [pool('gpu', 1)], { at: t(1) }),
      allocate('c', [pool('gpu', 1)], { at: t(2) }),
      allocate('a', [pool('gpu', 2)], { incremental: true, at: t(3) }),
    );
    const waiting = run.run(allocate('b', [lock('db:a')], { incremental: true, at: t(4) }));
    expect(types(waiting)).not.toContain('DeadlockDetected');
    expect(grantedTasks(run.run(release('c', { at: t(5) })))).toEqual(['a']);
  });

  it('does not form when a hold-and-wait request would be queued behind a waiter that needs what it holds', () => {
    const run = new AllocatorRun();
    run.all(definePool('gpu', 'quantity', 2, { defaultAmount: 0 }), allocate('a', [pool('gpu', 1)]));
    run.run(allocate('fresh', [pool('gpu', 2)], { at: t(1) }));
    // a asks for one more: there is room, and queueing it behind `fresh` (which needs a's unit) would deadlock.
    expect(grantedTasks(run.run(allocate('a', [pool('gpu', 2)], { incremental: true, at: t(2) })))).toEqual([
      'a',
    ]);
    expect(grantedTasks(run.run(release('a', { at: t(3) })))).toEqual(['fresh']);
  });

  it('is looked for again on ticks, when aging may have reordered the queue', () => {
    const run = new AllocatorRun();
    ring(run, [
      { id: 'a', priority: 0, at: 0 },
      { id: 'b', priority: 0, at: 1 },
    ]);
    run.all(ask('a', 'b', 2), ask('b', 'a', 3));
    expect(types(run.run(tick(60_000)))).not.toContain('DeadlockDetected');
    expect(findDeadlock(run.state, t(60_000))).toBeUndefined();
  });
});
