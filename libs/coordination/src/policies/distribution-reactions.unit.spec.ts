import { sessionEndOf, taskEndOf } from './distribution-reactions';

const occurred = new Date('2026-11-21T10:00:09Z');

describe('reactions to distribution events', () => {
  it('a success ends its attempt with its cost as an outcome', () => {
    const data = {
      sessionId: 's',
      taskId: 't',
      agentId: 'a',
      attempt: 1,
      usage: { inputTokens: '10', outputTokens: '5', costUsd: 0.02 },
      completedAt: '2026-11-21T10:00:05Z',
    };
    expect(taskEndOf('TaskSucceeded', data, occurred)).toEqual({
      sessionId: 's',
      taskId: 't',
      agentId: 'a',
      attempt: 1,
      reason: 'TaskSucceeded',
      at: new Date('2026-11-21T10:00:05Z'),
      outcome: { ok: true, costUsd: 0.02 },
    });
  });

  it('a failure and a timeout are failed outcomes of their attempts', () => {
    const failed = taskEndOf(
      'TaskFailed',
      { taskId: 't', agentId: 'a', attempt: 2, failedAt: '2026-11-21T10:00:01Z' },
      occurred,
    );
    expect(failed).toMatchObject({
      attempt: 2,
      outcome: { ok: false },
      at: new Date('2026-11-21T10:00:01Z'),
    });
    const timedOut = taskEndOf('TaskTimedOut', { taskId: 't', agentId: 'a', attempt: 3 }, occurred);
    expect(timedOut).toMatchObject({ attempt: 3, outcome: { ok: false }, at: occurred });
  });

  it('a lost attempt frees its slot without an outcome', () => {
    const lost = taskEndOf('TaskAssignmentLost', { taskId: 't', agentId: 'a', attempt: 2 }, occurred);
    expect(lost).toMatchObject({ agentId: 'a', attempt: 2 });
    expect(lost?.outcome).toBeUndefined();
  });

  it('a preempted attempt frees its slot without an outcome; one never assigned frees nothing', () => {
    const preempted = taskEndOf('TaskPreempted', { taskId: 't', agentId: 'a', attempt: 4 }, occurred);
    expect(preempted).toMatchObject({ agentId: 'a', attempt: 4, reason: 'TaskPreempted' });
    expect(preempted?.outcome).toBeUndefined();
    expect(taskEndOf('TaskPreempted', { taskId: 't', agentId: '', attempt: 1 }, occurred)).toBeUndefined();
  });

  it('a cancelled task, which will not run again, frees every slot its agent holds for it', () => {
    expect(taskEndOf('TaskCancelled', { taskId: 't', agentId: 'a' }, occurred)).toMatchObject({
      agentId: 'a',
      attempt: 0,
    });
  });

  it('a hand-off, which names no attempt, frees the earliest attempt its agent holds', () => {
    expect(taskEndOf('TaskHandedOff', { taskId: 't', fromAgentId: 'b' }, occurred)).toMatchObject({
      agentId: 'b',
      attempt: 'earliest',
      reason: 'TaskHandedOff',
    });
  });

  it('an end recorded without its attempt frees the earliest attempt held', () => {
    expect(taskEndOf('TaskFailed', { taskId: 't', agentId: 'a' }, occurred)).toMatchObject({
      attempt: 'earliest',
    });
  });

  it('a task cancelled while no agent held it frees nothing', () => {
    expect(taskEndOf('TaskCancelled', { taskId: 't', agentId: '' }, occurred)).toBeUndefined();
  });

  it('other events end no attempt', () => {
    expect(taskEndOf('TaskReady', { taskId: 't', agentId: 'a' }, occurred)).toBeUndefined();
  });

  it('a workflow that ended closes its session with the matching status', () => {
    expect(sessionEndOf('WorkflowCompleted', { sessionId: 's' }, occurred)).toMatchObject({
      status: 'completed',
    });
    expect(
      sessionEndOf('WorkflowFailed', { sessionId: 's', reason: 'task x dead-lettered' }, occurred),
    ).toMatchObject({
      status: 'failed',
      reason: 'task x dead-lettered',
    });
    expect(sessionEndOf('WorkflowCancelled', { sessionId: 's', reason: 'user' }, occurred)).toMatchObject({
      status: 'cancelled',
    });
    expect(sessionEndOf('TaskReady', { sessionId: 's' }, occurred)).toBeUndefined();
  });
});
