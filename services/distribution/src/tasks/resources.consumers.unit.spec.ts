import { reactionTo } from './resources.consumers';

const at = new Date('2026-11-21T10:00:00Z');

describe('reactions to resources', () => {
  it('resumes a waiter granted its claims', () => {
    expect(reactionTo('ResourcesAllocated', { taskId: 't', attempt: 2, incremental: false }, at)).toEqual({
      type: 'ResumeTask',
      taskId: 't',
      reason: 'claims granted',
      at,
    });
  });

  it('leaves a running attempt alone when it is granted more (an incremental request)', () => {
    expect(reactionTo('ResourcesAllocated', { taskId: 't', incremental: true }, at)).toBeUndefined();
  });

  it('resumes a waiter refused after it was queued, not one told when to ask again', () => {
    expect(
      reactionTo('AllocationRefused', { taskId: 't', reason: 'aborted by an operator' }, at),
    ).toMatchObject({
      type: 'ResumeTask',
      reason: 'claims refused: aborted by an operator',
    });
    expect(
      reactionTo(
        'AllocationRefused',
        { taskId: 't', reason: 'wait-die', retryAt: '2026-11-21T10:00:05Z' },
        at,
      ),
    ).toBeUndefined();
  });

  it('preempts the attempt a preemption names, for the task it gives way to', () => {
    expect(
      reactionTo(
        'PreemptionRequested',
        { taskId: 't', attempt: 3, byTaskId: 'u', reason: 'priority 9 > 1' },
        at,
      ),
    ).toEqual({ type: 'PreemptTask', taskId: 't', attempt: 3, byTaskId: 'u', reason: 'priority 9 > 1', at });
  });

  it('ignores events without a task and types it does not act on', () => {
    expect(reactionTo('ResourcesAllocated', {}, at)).toBeUndefined();
    expect(reactionTo('PoolDefined', { taskId: 't' }, at)).toBeUndefined();
  });
});
