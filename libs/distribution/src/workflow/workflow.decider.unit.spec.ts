import {
  ConflictError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  spec as given,
} from '@orch/domain-kit';
import { workflowDecider } from './workflow.decider';
import type { WorkflowEvent } from './workflow.events';
import {
  SESSION,
  WorkflowRun,
  idOf,
  later,
  noRoles,
  policy,
  selection,
  spec,
  submit,
  t0,
} from './workflow.fixtures';

const T0 = '2026-11-21T10:00:00Z';
const session = { sessionId: SESSION };
const { given: history } = given(workflowDecider);

const submitted: WorkflowEvent = {
  type: 'WorkflowSubmitted',
  data: {
    sessionId: SESSION,
    goal: 'ship the feature',
    pattern: 'swarm',
    patternReason: 'chosen by the user',
    roles: noRoles,
    agentIds: [],
    strategy: 'weighted',
    maxRounds: 0,
    submittedAt: T0,
    conflictPolicy: '',
  },
};
const taskSubmitted = (key: string, dependsOn: string[] = []): WorkflowEvent => ({
  type: 'TaskSubmitted',
  data: {
    ...session,
    taskId: idOf(key),
    spec: { ...spec(key, dependsOn), timeoutMs: 60_000, maxAttempts: 3 },
    role: 'work',
    reviewOf: '',
    round: 0,
    pinnedAgentId: '',
    origin: 'session',
    parentTaskId: '',
    submittedAt: T0,
  },
});
const taskReady = (key: string, at = T0): WorkflowEvent => ({
  type: 'TaskReady',
  data: { ...session, taskId: idOf(key), readyAt: at },
});
/** a -> b, a -> c: b and c depend on a. */
const fork = [spec('a'), spec('b', ['a']), spec('c', ['a'])];
const forkHistory = [
  submitted,
  taskSubmitted('a'),
  taskSubmitted('b', ['a']),
  taskSubmitted('c', ['a']),
  taskReady('a'),
];

/** A run of the fork with `a` assigned to agent-1. */
function assignedFork(): WorkflowRun {
  const run = new WorkflowRun();
  run.exec(submit(fork));
  run.assign('a', 'agent-1');
  return run;
}

describe('an unsubmitted workflow', () => {
  it('is submitted with every task and the roots ready, in one decision', () =>
    history([]).when(submit(fork)).then(forkHistory));

  it("keeps the session's conflict policy, and reads a submission recorded without one as none", () => {
    const [event] = workflowDecider.decide(
      submit(fork, { conflictPolicy: 'wound-wait' }),
      workflowDecider.initialState(),
    );
    expect(event?.type === 'WorkflowSubmitted' && event.data.conflictPolicy).toBe('wound-wait');
    const kept = workflowDecider.evolve(workflowDecider.initialState(), event!);
    expect(kept.status !== 'unsubmitted' && kept.conflictPolicy).toBe('wound-wait');
    const { conflictPolicy: _, ...before } = (
      submitted as Extract<WorkflowEvent, { type: 'WorkflowSubmitted' }>
    ).data;
    const legacy = { type: 'WorkflowSubmitted', data: before } as unknown as WorkflowEvent;
    const old = workflowDecider.evolve(workflowDecider.initialState(), legacy);
    expect(old.status !== 'unsubmitted' && old.conflictPolicy).toBe('');
  });

  it('fills the session defaults into each spec and keeps explicit values', () => {
    const [, first] = workflowDecider.decide(
      submit([spec('a', [], { timeoutMs: 5_000, maxAttempts: 0 })]),
      workflowDecider.initialState(),
    );
    expect(first?.type === 'TaskSubmitted' && first.data.spec).toMatchObject({
      timeoutMs: 5_000,
      maxAttempts: 3,
    });
  });

  it('rejects a cycle with its path', () =>
    history([])
      .when(submit([spec('a', ['b']), spec('b', ['a'])]))
      .thenThrows(ValidationError, /invalid workflow/));

  it('names each invalid field', () => {
    try {
      workflowDecider.decide(
        submit([spec(''), spec('b', [], { type: ' ', capabilities: [''] })], { pattern: 'duet' }),
        workflowDecider.initialState(),
      );
      throw new Error('expected a ValidationError');
    } catch (e) {
      expect((e as ValidationError).errors.map((p) => p.path)).toEqual([
        'pattern',
        'tasks[0].key',
        'tasks[1].type',
        'tasks[1].capabilities[0]',
      ]);
    }
  });

  it('rejects a pattern without the agents of its roles', () =>
    history([])
      .when(submit(fork, { pattern: 'pair', roles: { ...noRoles, driverAgentId: 'd' } }))
      .thenThrows(ValidationError));

  it('has nothing to assign', () =>
    history([])
      .when({ type: 'CancelTask', taskId: idOf('a'), reason: 'x', policy, at: t0 })
      .thenThrows(NotFoundError));
});

describe('a submitted workflow', () => {
  it('ignores a redelivered submission', () => history(forkHistory).when(submit(fork)).then([]));

  it('assigns a ready task to an agent for its first attempt', () =>
    history(forkHistory)
      .when({
        type: 'MarkAssigned',
        taskId: idOf('a'),
        agentId: 'agent-1',
        attempt: 1,
        deadline: later(60_000),
        selection: selection('agent-1'),
        at: t0,
      })
      .then([
        {
          type: 'TaskAssigned',
          data: {
            ...session,
            taskId: idOf('a'),
            agentId: 'agent-1',
            attempt: 1,
            deadline: '2026-11-21T10:01:00Z',
            selection: selection('agent-1'),
            assignedAt: T0,
          },
        },
      ]));

  const assignB = {
    type: 'MarkAssigned',
    taskId: idOf('b'),
    agentId: 'agent-1',
    attempt: 1,
    deadline: later(60_000),
    selection: selection('agent-1'),
    at: t0,
  } as const;

  it('refuses to assign a task whose dependencies are open, so the dispatcher gives the slot back', () =>
    history(forkHistory)
      .when(assignB)
      .thenThrows(IllegalStateError, /is pending, not ready/));

  it('refuses an unknown task', () =>
    history(forkHistory)
      .when({ ...assignB, taskId: idOf('nope') })
      .thenThrows(NotFoundError));

  it('refuses a stale attempt number', () =>
    history(forkHistory)
      .when({ ...assignB, taskId: idOf('a'), attempt: 2 })
      .thenThrows(IllegalStateError, /stale/));
});

describe('an assigned task', () => {
  it('is not assigned again while assigned, and a repeat of the same assignment changes nothing', () => {
    const run = assignedFork();
    const a = run.task('a');
    const again = {
      type: 'MarkAssigned',
      taskId: a.taskId,
      attempt: 1,
      deadline: later(60_000),
      selection: selection('agent-2'),
      at: t0,
    } as const;
    expect(run.exec({ ...again, agentId: 'agent-1' })).toEqual([]);
    expect(() => run.exec({ ...again, agentId: 'agent-2' })).toThrow(IllegalStateError);
    expect(() => run.exec({ ...again, agentId: 'agent-2', attempt: 2 })).toThrow(IllegalStateError);
  });

  it('is started by its holder once; a repeated start changes nothing', () => {
    const run = assignedFork();
    const start = { type: 'StartTask', taskId: idOf('a'), agentId: 'agent-1', at: t0 } as const;
    expect(run.exec(start)).toEqual([
      {
        type: 'TaskStarted',
        data: { ...session, taskId: idOf('a'), agentId: 'agent-1', attempt: 1, startedAt: T0 },
      },
    ]);
    expect(run.exec(start)).toEqual([]);
    expect(run.status('a')).toBe('running');
  });

  it('rejects reports from an agent that does not hold it, changing nothing', () => {
    const run = assignedFork();
    const before = run.state;
    for (const command of [
      { type: 'StartTask', taskId: idOf('a'), agentId: 'agent-2', at: t0 },
      { type: 'ReportTaskProgress', taskId: idOf('a'), agentId: 'agent-2', percent: 50, message: '', at: t0 },
      {
        type: 'FailTask',
        taskId: idOf('a'),
        agentId: 'agent-2',
        error: 'x',
        retryable: true,
        policy,
        jitter: 0,
        at: t0,
      },
    ] as const)
      expect(() => run.exec(command)).toThrow(/agent agent-2 does not hold task/);
    expect(() =>
      run.exec({
        type: 'CompleteTask',
        taskId: idOf('a'),
        agentId: 'agent-2',
        output: {},
        usage: { inputTokens: '0', outputTokens: '0', costUsd: 0 },
        policy,
        jitter: 0,
        at: t0,
      }),
    ).toThrow(ConflictError);
    expect(run.state).toBe(before);
  });

  it('records progress from its holder', () => {
    const run = assignedFork();
    expect(
      run.exec({
        type: 'ReportTaskProgress',
        taskId: idOf('a'),
        agentId: 'agent-1',
        percent: 40,
        message: 'half',
        at: t0,
      }),
    ).toEqual([
      {
        type: 'TaskProgressed',
        data: { ...session, taskId: idOf('a'), agentId: 'agent-1', percent: 40, message: 'half', at: T0 },
      },
    ]);
  });

  it('may be completed without a start: the success makes every dependent whose dependencies are met ready', () => {
    const run = assignedFork();
    const events = run.complete('a', { result: 42 });
    expect(run.types(events)).toEqual(['TaskSucceeded', 'TaskReady', 'TaskReady']);
    expect(events[0]).toMatchObject({
      data: { taskId: idOf('a'), agentId: 'agent-1', attempt: 1, output: { result: 42 } },
    });
    expect(run.readyKeys()).toEqual(['b', 'c']);
  });

  it('cannot be completed twice', () => {
    const run = assignedFork();
    run.complete('a');
    expect(() => run.complete('a')).toThrow(/does not hold task/);
  });
});

describe('dependencies', () => {
  it('release a task only when all of its dependencies succeeded', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b'), spec('c', ['a', 'b'])]));
    run.run('a', 'agent-1');
    expect(run.status('c')).toBe('pending');
    expect(run.types(run.run('b', 'agent-2'))).toEqual(['TaskSucceeded', 'TaskReady']);
    expect(run.status('c')).toBe('ready');
  });

  it('complete the workflow with the last task', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b', ['a'])]));
    run.run('a', 'agent-1');
    expect(run.types(run.run('b', 'agent-1'))).toEqual(['TaskSucceeded', 'WorkflowCompleted']);
    expect(run.wf.status).toBe('completed');
  });
});

describe('a failed attempt', () => {
  it('is retried after an exponential backoff while attempts remain', () => {
    const run = assignedFork();
    const events = run.fail('a');
    expect(events).toEqual([
      {
        type: 'TaskFailed',
        data: {
          ...session,
          taskId: idOf('a'),
          agentId: 'agent-1',
          attempt: 1,
          error: 'boom',
          retryable: true,
          failedAt: '2026-11-21T10:00:00.002Z',
        },
      },
      {
        type: 'TaskRetryScheduled',
        data: {
          ...session,
          taskId: idOf('a'),
          nextAttempt: 2,
          delayMs: 500,
          notBefore: '2026-11-21T10:00:00.502Z',
        },
      },
    ]);
    expect(run.status('a')).toBe('failed');
  });

  it('waits for its delay, then the task is ready for its next attempt', () => {
    const run = assignedFork();
    run.fail('a');
    const early = { type: 'MakeReady', taskId: idOf('a'), at: later(100) } as const;
    expect(() => run.exec(early)).toThrow(/may not be retried before/);
    expect(run.types(run.retry('a'))).toEqual(['TaskReady']);
    expect(run.exec({ ...early, at: later(10_000) })).toEqual([]);
    expect(run.types(run.assign('a', 'agent-2'))).toEqual(['TaskAssigned']);
    expect(run.task('a')).toMatchObject({ attempt: 2, failures: 1, agentId: 'agent-2' });
  });

  it('doubles the backoff each time, up to the maximum, with equal jitter', () => {
    const run = assignedFork();
    const delays: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t = run.task('a');
      const events = run.exec({
        type: 'FailTask',
        taskId: t.taskId,
        agentId: t.agentId,
        error: 'x',
        retryable: true,
        policy: { ...policy, defaultMaxAttempts: 10 },
        jitter: 0.5,
        at: run.tick(),
      });
      const scheduled = events.find((e) => e.type === 'TaskRetryScheduled');
      delays.push(scheduled?.type === 'TaskRetryScheduled' ? scheduled.data.delayMs : -1);
      run.retry('a');
      run.assign('a', 'agent-1');
    }
    expect(delays).toEqual([750, 1_500]);
  });

  it('dead-letters the task after maxAttempts failed attempts; the session fails and the rest is cancelled', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b'), spec('c', ['a'])]));
    run.assign('b', 'agent-2');
    for (let attempt = 1; attempt < 3; attempt++) {
      run.assign('a', 'agent-1');
      run.fail('a');
      run.retry('a');
    }
    run.assign('a', 'agent-1');
    const events = run.fail('a');
    expect(run.types(events)).toEqual([
      'TaskFailed',
      'TaskDeadLettered',
      'TaskCancelled',
      'TaskCancelled',
      'WorkflowFailed',
    ]);
    expect(events[1]).toMatchObject({ data: { attempts: 3, reason: '3 failed attempts; the last: boom' } });
    expect(events[2]).toMatchObject({
      data: { taskId: idOf('b'), agentId: 'agent-2', reason: 'the session failed' },
    });
    expect(events[3]).toMatchObject({ data: { taskId: idOf('c'), agentId: '' } });
    expect(events[4]).toMatchObject({
      data: { taskId: idOf('a'), reason: expect.stringMatching(/task "a" was dead-lettered/) },
    });
  });

  it('that is not retryable dead-letters at once', () => {
    const run = assignedFork();
    const events = run.fail('a', false, 'bad input');
    expect(run.types(events).slice(0, 2)).toEqual(['TaskFailed', 'TaskDeadLettered']);
    expect(events[1]).toMatchObject({ data: { reason: 'not retryable: bad input' } });
    expect(run.wf.status).toBe('failed');
  });

  it('of a task allowed to fail lets its dependents go ahead and the session complete', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a', [], { allowFailure: true }), spec('b', ['a'])]));
    run.assign('a', 'agent-1');
    expect(run.types(run.fail('a', false))).toEqual(['TaskFailed', 'TaskDeadLettered', 'TaskReady']);
    expect(run.types(run.run('b', 'agent-1'))).toEqual(['TaskSucceeded', 'WorkflowCompleted']);
  });
});

describe('a deadline', () => {
  const timeOut = (run: WorkflowRun, attempt: number, at: Date) =>
    run.exec({ type: 'TimeOutTask', taskId: idOf('a'), attempt, policy, jitter: 0, at });

  it('times out the attempt that still holds the task, which is retried', () => {
    const run = assignedFork();
    const events = timeOut(run, 1, later(61_000));
    expect(events).toEqual([
      {
        type: 'TaskTimedOut',
        data: {
          ...session,
          taskId: idOf('a'),
          agentId: 'agent-1',
          attempt: 1,
          timedOutAt: '2026-11-21T10:01:01Z',
        },
      },
      {
        type: 'TaskRetryScheduled',
        data: {
          ...session,
          taskId: idOf('a'),
          nextAttempt: 2,
          delayMs: 500,
          notBefore: '2026-11-21T10:01:01.500Z',
        },
      },
    ]);
    expect(run.task('a')).toMatchObject({ status: 'timed_out', failures: 1 });
  });

  it('does not time out an attempt before its deadline', () =>
    expect(() => timeOut(assignedFork(), 1, later(59_000))).toThrow(/is due at/));

  it('of an attempt that already ended changes nothing', () => {
    const run = assignedFork();
    run.complete('a');
    expect(timeOut(run, 1, later(61_000))).toEqual([]);
  });

  it('of an earlier attempt does not end the current one', () => {
    const run = assignedFork();
    run.fail('a');
    run.retry('a');
    run.assign('a', 'agent-2');
    expect(timeOut(run, 1, later(120_000))).toEqual([]);
  });
});

describe('an agent that is lost', () => {
  it('ends every attempt it holds, each retried', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b'), spec('c')]));
    run.assign('a', 'agent-1');
    run.assign('b', 'agent-2');
    run.assign('c', 'agent-1');
    const events = run.exec({
      type: 'LoseAssignment',
      agentId: 'agent-1',
      reason: 'agent unhealthy',
      policy,
      jitter: 0,
      at: later(5),
    });
    expect(run.types(events)).toEqual([
      'TaskAssignmentLost',
      'TaskRetryScheduled',
      'TaskAssignmentLost',
      'TaskRetryScheduled',
    ]);
    expect(events[0]).toMatchObject({
      data: { taskId: idOf('a'), agentId: 'agent-1', attempt: 1, reason: 'agent unhealthy' },
    });
    expect(run.status('b')).toBe('assigned');
    expect(
      run.exec({
        type: 'LoseAssignment',
        agentId: 'agent-1',
        reason: 'again',
        policy,
        jitter: 0,
        at: later(6),
      }),
    ).toEqual([]);
  });

  it('keeps the attempts it was given after the loss (a late notice)', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a')]));
    run.assign('a', 'agent-1');
    const lose = { type: 'LoseAssignment', agentId: 'agent-1', reason: 'x', policy, jitter: 0 } as const;
    expect(run.exec({ ...lose, at: t0 })).toEqual([]);
    expect(run.status('a')).toBe('assigned');
  });
});

describe('cancelling', () => {
  it('a task cancels it and every unfinished task that depends on it, naming the holder', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b', ['a']), spec('c', ['b']), spec('d')]));
    run.assign('a', 'agent-1');
    const events = run.exec({
      type: 'CancelTask',
      taskId: idOf('a'),
      reason: 'not needed',
      policy,
      at: later(5),
    });
    expect(events.map((e) => e.type === 'TaskCancelled' && [e.data.taskId, e.data.agentId])).toEqual([
      [idOf('a'), 'agent-1'],
      [idOf('b'), ''],
      [idOf('c'), ''],
    ]);
    expect(
      run.exec({ type: 'CancelTask', taskId: idOf('a'), reason: 'again', policy, at: later(6) }),
    ).toEqual([]);
    expect(run.types(run.run('d', 'agent-2'))).toEqual(['TaskSucceeded', 'WorkflowCompleted']);
  });

  it('a finished task is refused', () => {
    const run = assignedFork();
    run.complete('a');
    expect(() => run.exec({ type: 'CancelTask', taskId: idOf('a'), reason: 'x', policy, at: t0 })).toThrow(
      IllegalStateError,
    );
  });

  it('the workflow cancels every unfinished task, then ends it; a repeat changes nothing', () => {
    const run = assignedFork();
    const cancel = { type: 'CancelWorkflow', reason: 'user asked', at: later(5) } as const;
    expect(run.types(run.exec(cancel))).toEqual([
      'TaskCancelled',
      'TaskCancelled',
      'TaskCancelled',
      'WorkflowCancelled',
    ]);
    expect(run.exec(cancel)).toEqual([]);
  });
});

describe('a finished workflow', () => {
  it('refuses every further command', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a')]));
    run.run('a', 'agent-1');
    expect(run.wf.status).toBe('completed');
    expect(() => run.exec({ type: 'CancelWorkflow', reason: 'late', at: t0 })).toThrow(IllegalStateError);
    expect(() => run.exec({ type: 'CancelTask', taskId: idOf('a'), reason: 'late', policy, at: t0 })).toThrow(
      /is completed/,
    );
    expect(run.exec(submit([spec('a')]))).toEqual([]);
  });
});

describe('adapting', () => {
  const adapt = (more: object) =>
    ({ type: 'AdaptWorkflow', add: [], remove: [], replace: [], policy, at: later(5), ...more }) as const;

  it('adds tasks that may depend on existing ones', () => {
    const run = assignedFork();
    const events = run.exec(adapt({ add: [spec('d', ['a']), spec('e')] }));
    expect(run.types(events)).toEqual(['TaskSubmitted', 'TaskSubmitted', 'TaskReady']);
    expect(events[0]).toMatchObject({ data: { origin: 'adapt' } });
    expect(run.readyKeys()).toEqual(['e']);
  });

  it('removes a task not yet assigned, never an assigned one', () => {
    const run = assignedFork();
    expect(() => run.exec(adapt({ remove: ['b'] }))).not.toThrow();
    expect(() => run.exec(adapt({ remove: ['a'] }))).toThrow(ConflictError);
    expect(run.status('b')).toBe('cancelled');
  });

  it('refuses to remove a task another one still needs', () => {
    const run = new WorkflowRun();
    run.exec(submit(fork));
    expect(() => run.exec(adapt({ remove: ['a'] }))).toThrow(/"b" depends on it/);
    expect(() => run.exec(adapt({ remove: ['a', 'b', 'c'] }))).not.toThrow();
    expect(run.wf.status).toBe('completed');
  });

  it('replaces the definition of a task not yet assigned, re-checking its readiness', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b')]));
    const events = run.exec(adapt({ replace: [spec('b', ['a'], { description: 'better' })] }));
    expect(run.types(events)).toEqual(['TaskSpecReplaced']);
    expect(run.task('b')).toMatchObject({
      status: 'pending',
      spec: { description: 'better', dependsOn: ['a'] },
    });
    expect(run.types(run.run('a', 'agent-1'))).toEqual(['TaskSucceeded', 'TaskReady']);
  });

  it('refuses a replacement that closes a cycle, changing nothing', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b', ['a'])]));
    const before = run.state;
    expect(() => run.exec(adapt({ replace: [spec('a', ['b'])] }))).toThrow(ValidationError);
    expect(run.state).toBe(before);
  });

  it('refuses to replace an assigned task', () =>
    expect(() => assignedFork().exec(adapt({ replace: [spec('a')] }))).toThrow(/already assigned/));

  it('refuses to add a key that exists', () =>
    expect(() => assignedFork().exec(adapt({ add: [spec('b')] }))).toThrow(ValidationError));
});
