import { IllegalStateError } from '@orch/domain-kit';
import type { HoldTask, PreemptTask } from './workflow.commands';
import { WorkflowRun, later, policy, spec, submit } from './workflow.fixtures';

/** A ready task `a` (and `b` depending on it) in a swarm session. */
function readyRun(): WorkflowRun {
  const run = new WorkflowRun();
  run.exec(submit([spec('a'), spec('b', ['a'])]));
  return run;
}

const hold = (run: WorkflowRun, key: string, more: Partial<HoldTask> = {}): HoldTask => ({
  type: 'HoldTask',
  taskId: run.task(key).taskId,
  attempt: run.task(key).attempt + 1,
  waitingFor: 'lock',
  reason: 'lock repo:acme/api:src/** is held by task x',
  conflictId: 'c-1',
  retryAt: undefined,
  at: run.tick(),
  ...more,
});

const preempt = (run: WorkflowRun, key: string, attempt: number): PreemptTask => ({
  type: 'PreemptTask',
  taskId: run.task(key).taskId,
  attempt,
  byTaskId: 'urgent',
  reason: 'a priority 9 task claims pool gpu',
  at: run.tick(),
});

describe('a task whose claims are not granted', () => {
  it('waits for them with the reason and the conflict, holding no agent', () => {
    const run = readyRun();
    const events = run.exec(hold(run, 'a'));
    expect(run.types(events)).toEqual(['TaskWaiting']);
    const a = run.task('a');
    expect(a).toMatchObject({ status: 'waiting', waitingFor: 'lock', conflictId: 'c-1', agentId: '' });
    expect(a.waitReason).toContain('repo:acme/api:src/**');
  });

  it('is not assigned while it waits', () => {
    const run = readyRun();
    run.exec(hold(run, 'a'));
    expect(() => run.assign('a', 'agent-1')).toThrow(IllegalStateError);
  });

  it('is held once: the same notice again changes nothing', () => {
    const run = readyRun();
    const command = hold(run, 'a');
    run.exec(command);
    expect(run.exec(command)).toEqual([]);
  });

  it('cannot wait when it is not ready, or for an attempt other than its next', () => {
    const run = readyRun();
    expect(() => run.exec(hold(run, 'b'))).toThrow(IllegalStateError); // pending
    expect(() => run.exec(hold(run, 'a', { attempt: 3 }))).toThrow(/only a ready task/);
  });

  it('is ready again when its claims are granted, and can then be assigned', () => {
    const run = readyRun();
    run.exec(hold(run, 'a', { waitingFor: 'budget', reason: 'budget monthly is spent' }));
    const events = run.exec({
      type: 'ResumeTask',
      taskId: run.task('a').taskId,
      reason: 'granted',
      at: run.tick(),
    });
    expect(run.types(events)).toEqual(['TaskResumed', 'TaskReady']);
    expect(run.task('a')).toMatchObject({ status: 'ready', waitingFor: '', waitReason: '', conflictId: '' });
    expect(run.types(run.assign('a', 'agent-1'))).toEqual(['TaskAssigned']);
    expect(run.task('a').attempt).toBe(1);
  });

  it('ignores a resume when it is not waiting for claims', () => {
    const run = readyRun();
    expect(
      run.exec({ type: 'ResumeTask', taskId: run.task('a').taskId, reason: 'granted', at: run.tick() }),
    ).toEqual([]);
  });

  it('with a retry time is made ready by its timer, like a scheduled retry', () => {
    const run = readyRun();
    const retryAt = later(1_000, run.clock);
    run.exec(hold(run, 'a', { retryAt, reason: 'wait-die: an older task holds the lock' }));
    expect(Date.parse(run.task('a').notBefore)).toBe(retryAt.getTime());
    expect(run.types(run.retry('a'))).toEqual(['TaskReady']);
    expect(run.task('a').status).toBe('ready');
  });

  it('can be cancelled while it waits', () => {
    const run = readyRun();
    run.exec(hold(run, 'a'));
    run.exec({
      type: 'CancelTask',
      taskId: run.task('a').taskId,
      reason: 'no longer needed',
      policy,
      at: run.tick(),
    });
    expect(run.task('a').status).toBe('cancelled');
    expect(run.task('a').waitingFor).toBe('');
  });
});

describe('preemption', () => {
  it('stops a held attempt without counting a failure and makes the task ready again', () => {
    const run = readyRun();
    run.assign('a', 'agent-1');
    const events = run.exec(preempt(run, 'a', 1));
    expect(run.types(events)).toEqual(['TaskPreempted', 'TaskReady']);
    expect(events[0]?.data).toMatchObject({ agentId: 'agent-1', attempt: 1, byTaskId: 'urgent' });
    expect(run.task('a')).toMatchObject({ status: 'ready', failures: 0, attempt: 1, agentId: '' });
    // the next attempt is a new number, so its slot and claims are not confused with the stopped one
    run.assign('a', 'agent-2');
    expect(run.task('a').attempt).toBe(2);
    run.complete('a');
    expect(run.task('a').status).toBe('succeeded');
  });

  it('the stopped agent can no longer report on the task', () => {
    const run = readyRun();
    run.assign('a', 'agent-1');
    run.exec(preempt(run, 'a', 1));
    expect(() => run.complete('a')).toThrow(/does not hold/);
  });

  it('records a preemption of claims granted before any agent took the task, leaving it ready', () => {
    const run = readyRun();
    const events = run.exec(preempt(run, 'a', 1));
    expect(run.types(events)).toEqual(['TaskPreempted']);
    expect(events[0]?.data).toMatchObject({ agentId: '', attempt: 1 });
    expect(run.task('a').status).toBe('ready');
  });

  it('ignores a notice for an attempt that already ended', () => {
    const run = readyRun();
    run.assign('a', 'agent-1');
    run.complete('a');
    expect(run.exec(preempt(run, 'a', 1))).toEqual([]);
    run.assign('b', 'agent-1');
    expect(run.exec(preempt(run, 'b', 7))).toEqual([]);
    expect(run.task('b').status).toBe('assigned');
  });
});
