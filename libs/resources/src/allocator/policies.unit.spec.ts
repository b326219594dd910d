import { compareWaiters, effectivePriority } from '@orch/conflicts';
import fc from 'fast-check';
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
  ts,
  types,
} from './allocator.fixtures';
import { compareRanks } from './decision';
import { waiters } from './queries';

const slot = definePool('slot', 'concurrency', 1, { defaultAmount: 0 });

/** Holder `h` takes the slot; then each of `asks` waits for it; returns the order they get it in. */
function serviceOrder(
  run: AllocatorRun,
  asks: readonly { id: string; priority: number; at: number }[],
): string[] {
  run.all(slot, allocate('h', [pool('slot', 1)]));
  for (const a of asks) run.run(allocate(a.id, [pool('slot', 1)], { priority: a.priority, at: t(a.at) }));
  const order: string[] = [];
  let holder = 'h';
  for (let i = 0; i < asks.length; i++) {
    const granted = grantedTasks(run.run(release(holder, { at: t(1_000_000 + i) })));
    order.push(...granted);
    holder = granted[0]!;
  }
  return order;
}

describe('the queue policy', () => {
  it('serves a priority in arrival order (FIFO), higher priorities first', () =>
    expect(
      serviceOrder(new AllocatorRun(), [
        { id: 'low1', priority: 0, at: 1 },
        { id: 'high1', priority: 5, at: 2 },
        { id: 'low2', priority: 0, at: 3 },
        { id: 'high2', priority: 5, at: 4 },
      ]),
    ).toEqual(['high1', 'high2', 'low1', 'low2']));

  it('ages waiters so that an old low-priority waiter overtakes newer high-priority ones', () => {
    // One priority step per 10 s waited: after 50 s the priority-0 waiter ranks with priority 5 ones
    // and, being older, goes first.
    const run = new AllocatorRun({ agingStepMs: 10_000 });
    run.all(slot, allocate('h', [pool('slot', 1)]), allocate('old-low', [pool('slot', 1)], { at: t(0) }));
    run.run(allocate('new-high', [pool('slot', 1)], { priority: 5, at: t(49_000) }));
    expect(grantedTasks(run.run(release('h', { at: t(49_500) })))).toEqual(['new-high']);
    run.run(allocate('newer-high', [pool('slot', 1)], { priority: 5, at: t(49_600) }));
    expect(grantedTasks(run.run(release('new-high', { at: t(50_000) })))).toEqual(['old-low']);
  });

  it('reports the queue order with positions', () => {
    const run = new AllocatorRun();
    serviceOrder(run, []);
    run.all(
      allocate('b', [pool('slot', 1)], { at: t(1) }),
      allocate('a', [pool('slot', 1)], { at: t(2), priority: 1 }),
      allocate('c', [pool('slot', 1)], { at: t(3) }),
    );
    expect(waiters(run.state, t(4)).map((w) => [w.taskId, w.position])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('orders waiters exactly like compareWaiters (arrival number as the id)', () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            priority: fc.integer({ min: -3, max: 3 }),
            since: fc.integer({ min: 0, max: 100_000 }),
          }),
          {
            minLength: 2,
            maxLength: 20,
          },
        ),
        fc.integer({ min: 0, max: 200_000 }),
        (ws, now) => {
          const step = 7_000;
          const eff = (w: { priority: number; since: number }) =>
            effectivePriority({ id: '', ...w }, now, step);
          const ranked = ws.map((w, i) => ({ ...w, seq: i + 1 }));
          const byRank = [...ranked].sort((a, b) =>
            compareRanks(
              { eff: eff(a), since: a.since, seq: a.seq },
              { eff: eff(b), since: b.since, seq: b.seq },
            ),
          );
          const id = (w: { seq: number }) => String(w.seq).padStart(12, '0');
          const byContract = [...ranked].sort((a, b) =>
            compareWaiters(
              { id: id(a), priority: a.priority, since: a.since },
              { id: id(b), priority: b.priority, since: b.since },
              now,
              step,
            ),
          );
          expect(byRank.map((w) => w.seq)).toEqual(byContract.map((w) => w.seq));
        },
      ),
    ));
});

describe('the preempt policy', () => {
  const preemptSlots = definePool('slots', 'concurrency', 2, { policy: 'preempt', defaultAmount: 0 });

  it('asks the lowest-priority holders covering the shortfall to give way to a higher priority', () => {
    const run = new AllocatorRun();
    run.all(
      preemptSlots,
      allocate('low', [pool('slots', 1)], { priority: 1 }),
      allocate('lowest', [pool('slots', 1)], { priority: 0, at: t(1) }),
    );
    const events = run.run(allocate('urgent', [pool('slots', 1)], { priority: 9, at: t(2) }));
    expect(types(events)).toEqual([
      'AllocationBlocked',
      'ConflictDetected',
      'PreemptionRequested',
      'ConflictResolved',
    ]);
    expect(only(events, 'PreemptionRequested')).toMatchObject({
      taskId: 'lowest',
      byTaskId: 'urgent',
      byAttempt: 1,
    });
    expect(only(events, 'ConflictResolved')).toMatchObject({ resolution: 'preempted', winner: 'urgent' });
    // The preempted task stops and releases: the urgent one gets its slot.
    expect(grantedTasks(run.run(release('lowest', { at: t(3), reason: 'TaskPreempted' })))).toEqual([
      'urgent',
    ]);
  });

  it('waits when a holder it needs has the same priority or higher', () => {
    const run = new AllocatorRun();
    run.all(preemptSlots, allocate('a', [pool('slots', 2)], { priority: 5 }));
    const events = run.run(allocate('b', [pool('slots', 1)], { priority: 5, at: t(1) }));
    expect(types(events)).toEqual(['AllocationBlocked', 'ConflictDetected']);
    expect(only(events, 'ConflictDetected').policy).toBe('preempt');
  });

  it('applies a session override to locks too', () => {
    const run = new AllocatorRun();
    run.run(allocate('low', [lock('repo:x')], { priority: 0 }));
    const events = run.run(allocate('high', [lock('repo:x')], { priority: 3, policy: 'preempt', at: t(1) }));
    expect(only(events, 'PreemptionRequested')).toMatchObject({ taskId: 'low', byTaskId: 'high' });
  });
});

describe('the wait-die policy', () => {
  const setUp = (): AllocatorRun => {
    const run = new AllocatorRun({ retryAfterMs: 2_000 });
    run.all(
      { type: 'SetPolicy', namespace: 'repo', policy: 'wait-die', at: t(0) },
      allocate('holder', [lock('repo:x')], { at: t(100) }),
    );
    return run;
  };

  it('lets an older requester wait', () => {
    const events = setUp().run(allocate('older', [lock('repo:x')], { at: t(200), requestedAt: t(50) }));
    expect(types(events)).toEqual(['AllocationBlocked', 'ConflictDetected']);
  });

  it('makes a younger requester die, to be retried later (not queued)', () => {
    const run = setUp();
    const events = run.run(allocate('younger', [lock('repo:x')], { at: t(200) }));
    expect(types(events)).toEqual(['ConflictDetected', 'AllocationRefused', 'ConflictResolved']);
    expect(only(events, 'AllocationRefused')).toEqual({
      allocationId: 'younger#1',
      taskId: 'younger',
      attempt: 1,
      sessionId: 's1',
      reason:
        'younger (attempt 1) gives up: younger#1 is younger than holder#1 and gives up, to be retried later (wait-die)',
      retryAt: ts(2200),
      at: ts(200),
    });
    expect(only(events, 'ConflictResolved')).toMatchObject({ resolution: 'aborted' });
    expect(run.state.waiters.size).toBe(0);
  });
});

describe('the wound-wait policy', () => {
  const setUp = (): AllocatorRun => {
    const run = new AllocatorRun();
    run.all(
      { type: 'SetPolicy', namespace: 'repo', policy: 'wound-wait', at: t(0) },
      allocate('holder', [lock('repo:x')], { at: t(100) }),
    );
    return run;
  };

  it('lets an older requester wound (preempt) the younger holder', () => {
    const events = setUp().run(allocate('older', [lock('repo:x')], { at: t(200), requestedAt: t(50) }));
    expect(only(events, 'PreemptionRequested')).toMatchObject({ taskId: 'holder', byTaskId: 'older' });
  });

  it('makes a younger requester wait', () => {
    const events = setUp().run(allocate('younger', [lock('repo:x')], { at: t(200) }));
    expect(types(events)).toEqual(['AllocationBlocked', 'ConflictDetected']);
  });
});

describe('the manual policy', () => {
  it('leaves the conflict open for an operator and preempts nobody', () => {
    const run = new AllocatorRun();
    run.all(
      { type: 'SetPolicy', namespace: 'db', policy: 'manual', at: t(0) },
      allocate('low', [lock('db:main')]),
    );
    const events = run.run(allocate('high', [lock('db:main')], { priority: 9, at: t(1) }));
    expect(types(events)).toEqual(['AllocationBlocked', 'ConflictDetected']);
    expect(run.state.conflicts.get('conflict-1')).toMatchObject({ policy: 'manual', resource: 'db:main' });
    // Still a queue: when the holder finishes, the waiter gets the lock and the conflict ends.
    const released = run.run(release('low', { at: t(2) }));
    expect(grantedTasks(released)).toEqual(['high']);
    expect(all(released, 'ConflictResolved')).toEqual([
      {
        conflictId: 'conflict-1',
        resolution: 'granted',
        winner: 'high',
        strategy: '',
        reason: 'high was granted its claims',
        at: ts(2),
      },
    ]);
  });
});

describe('locks', () => {
  it('let shared holders in together and keep exclusive ones out of overlapping names', () => {
    const run = new AllocatorRun();
    const shared = run.all(
      allocate('r1', [lock('repo:acme/api', 'shared')]),
      allocate('r2', [lock('repo:acme/api:src/**', 'shared')]),
    );
    expect(grantedTasks(shared)).toEqual(['r1', 'r2']);
    const writer = run.run(allocate('w', [lock('repo:acme/api:src/auth/login.ts')], { at: t(1) }));
    expect(only(writer, 'AllocationBlocked').blockers).toEqual(['r1', 'r2']);
    expect(grantedTasks(run.run(allocate('elsewhere', [lock('repo:acme/web')], { at: t(2) })))).toEqual([
      'elsewhere',
    ]);
  });

  it('do not let later readers overtake a waiting writer', () => {
    const run = new AllocatorRun();
    run.all(allocate('r1', [lock('repo:x', 'shared')]), allocate('w', [lock('repo:x')], { at: t(1) }));
    const reader = run.run(allocate('r2', [lock('repo:x', 'shared')], { at: t(2) }));
    expect(only(reader, 'AllocationBlocked').reason).toBe(
      'r2 (attempt 1) needs lock "repo:x" (shared), which w asked for first',
    );
    expect(grantedTasks(run.run(release('r1', { at: t(3) })))).toEqual(['w']);
  });
});

describe('policies act when contention arises', () => {
  it('when a grant makes a new holder, not at the next tick', () => {
    // `younger` waits behind `first` for db:m (no holder yet to contend with); when `first` is granted
    // db:m, `younger` is blocked by a holder older than it: under wait-die it gives up at once.
    const run = new AllocatorRun();
    run.all(
      { type: 'SetPolicy', namespace: 'db', policy: 'wait-die', at: t(0) },
      allocate('reader', [lock('db:m', 'shared')], { at: t(1) }),
      allocate('first', [lock('db:m')], { at: t(2), requestedAt: t(0) }),
      allocate('younger', [lock('db:m', 'shared')], { at: t(3) }),
    );
    expect(run.state.waiters.has('younger#1')).toBe(true);
    const events = run.run(release('reader', { at: t(4) }));
    expect(grantedTasks(events)).toEqual(['first']);
    expect(only(events, 'AllocationRefused')).toMatchObject({ taskId: 'younger' });
  });

  it('when a namespace gets a policy that acts', () => {
    const run = new AllocatorRun();
    run.all(
      allocate('low', [lock('repo:x')], { priority: 0 }),
      allocate('high', [lock('repo:x')], { priority: 5, at: t(1) }),
    );
    // The conflict was handled under the queue policy: changing the policy does not reopen it...
    expect(types(run.run({ type: 'SetPolicy', namespace: 'repo', policy: 'preempt', at: t(2) }))).toEqual([
      'PolicySet',
    ]);
    // ...but contention that arises from now on is handled by the new one.
    const events = run.run(allocate('urgent', [lock('repo:x')], { priority: 9, at: t(3) }));
    expect(only(events, 'PreemptionRequested')).toMatchObject({ taskId: 'low', byTaskId: 'urgent' });
  });
});
