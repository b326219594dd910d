import { sessionEndOf, taskEndOf } from './distribution-reactions';

const occurred = new Date('2026-11-21T10:00:09Z');

describe('reactions to distribution events', () => {
  it('a success ends the attempt with its cost as an outcome', () => {
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
      reason: 'TaskSucceeded',
      at: new Date('2026-11-21T10:00:05Z'),
      outcome: { ok: true, costUsd: 0.02 },
    });
  });

  it('a failure and a timeout are failed outcomes', () => {
    const failed = taskEndOf(
      'TaskFailed',
      { taskId: 't', agentId: 'a', failedAt: '2026-11-21T10:00:01Z' },
      occurred,
    );
    expect(failed).toMatchObject({ outcome: { ok: false }, at: new Date('2026-11-21T10:00:01Z') });
    const timedOut = taskEndOf('TaskTimedOut', { taskId: 't', agentId: 'a' }, occurred);
    expect(timedOut).toMatchObject({ outcome: { ok: false }, at: occurred });
  });

  it('a lost, cancelled or handed-off task frees the slot without an outcome', () => {
    expect(taskEndOf('TaskAssignmentLost', { taskId: 't', agentId: 'a' }, occurred)?.outcome).toBeUndefined();
    expect(taskEndOf('TaskCancelled', { taskId: 't', agentId: 'a' }, occurred)).toMatchObject({
      agentId: 'a',
    });
    expect(taskEndOf('TaskHandedOff', { taskId: 't', fromAgentId: 'b' }, occurred)).toMatchObject({
      agentId: 'b',
      reason: 'TaskHandedOff',
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
