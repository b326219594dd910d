import { IllegalStateError, ValidationError } from '@orch/domain-kit';
import type { JsonObject, TaskSpecData } from './workflow.events';
import { WorkflowRun, idOf, noRoles, policy, spec, submit, t0 } from './workflow.fixtures';

const roles = {
  solo: { ...noRoles, soloAgentId: 'solo' },
  pair: { ...noRoles, driverAgentId: 'driver', navigatorAgentId: 'navigator' },
  hierarchical: { ...noRoles, supervisorAgentId: 'boss' },
};

/** 20 tasks in 5 levels of 4; each task of a level depends on two of the level before. */
const twentyTasks: TaskSpecData[] = Array.from({ length: 20 }, (_, i) => {
  const level = Math.floor(i / 4);
  const deps = level === 0 ? [] : [`t${(level - 1) * 4 + (i % 4)}`, `t${(level - 1) * 4 + ((i + 1) % 4)}`];
  return spec(`t${i}`, deps, { priority: i % 3 });
});

/** Runs ready tasks in order until none is ready, with `agentFor` choosing the agent and `outputFor` the output. */
function drain(
  run: WorkflowRun,
  agentFor: (key: string) => string,
  outputFor: (key: string) => JsonObject = () => ({}),
) {
  for (
    let ready = run.readyKeys();
    ready.length > 0 && run.wf.status === 'running';
    ready = run.readyKeys()
  ) {
    for (const key of ready) run.run(key, agentFor(key), outputFor(key));
  }
}

describe('solo', () => {
  it('pins every task, spawned ones too, to the solo agent', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a')], { pattern: 'solo', roles: roles.solo }));
    expect(run.task('a').pinnedAgentId).toBe('solo');
    expect(() => run.assign('a', 'other')).toThrow(/pinned to agent solo/);
    run.assign('a', 'solo');
    run.exec({
      type: 'SpawnSubtasks',
      taskId: idOf('a'),
      agentId: 'solo',
      tasks: [spec('b')],
      policy,
      at: t0,
    });
    expect(run.task('b')).toMatchObject({ pinnedAgentId: 'solo', origin: 'spawn', parentTaskId: idOf('a') });
  });

  it('runs a 20-task DAG to completion on its one agent', () => {
    const run = new WorkflowRun();
    run.exec(submit(twentyTasks, { pattern: 'solo', roles: roles.solo }));
    expect(run.readyKeys()).toEqual(['t0', 't1', 't2', 't3']);
    drain(run, () => 'solo');
    expect(run.wf.status).toBe('completed');
    expect(run.types().filter((t) => t === 'TaskSucceeded')).toHaveLength(20);
  });
});

describe('pair', () => {
  const pair = () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b', ['a'])], { pattern: 'pair', roles: roles.pair }));
    run.run('a', 'driver', { diff: '+1' });
    return run;
  };
  const review = (run: WorkflowRun, round: number, output: JsonObject) =>
    run.run(`a.review.${round}`, 'navigator', output);

  it('runs work on the driver; its success waits for a review pinned to the navigator', () => {
    const run = pair();
    expect(run.task('a')).toMatchObject({
      status: 'waiting',
      waitingFor: 'review',
      round: 1,
      pinnedAgentId: 'driver',
    });
    expect(run.task('a.review.1')).toMatchObject({
      status: 'ready',
      role: 'review',
      reviewOf: 'a',
      round: 1,
      pinnedAgentId: 'navigator',
      origin: 'review',
      spec: {
        capabilities: ['review'],
        input: { task: 'a', description: '', output: { diff: '+1' }, round: 1 },
      },
    });
    expect(run.status('b')).toBe('pending');
  });

  it('lets the dependents go once the review approves', () => {
    const run = pair();
    expect(run.types(review(run, 1, { verdict: 'approved' }))).toEqual(['TaskSucceeded', 'TaskReady']);
    expect(run.status('a')).toBe('succeeded');
    expect(run.readyKeys()).toEqual(['b']);
  });

  it('reopens the task on the driver with the comments when changes are requested', () => {
    const run = pair();
    const events = review(run, 1, { verdict: 'changes_requested', comments: ['rename x'] });
    expect(run.types(events)).toEqual(['TaskSucceeded', 'TaskReopened', 'TaskReady']);
    expect(events[1]).toMatchObject({ data: { taskId: idOf('a'), round: 2, comments: ['rename x'] } });
    expect(run.task('a')).toMatchObject({
      status: 'ready',
      round: 2,
      comments: ['rename x'],
      pinnedAgentId: 'driver',
    });
    run.run('a', 'driver');
    expect(run.status('a.review.2')).toBe('ready');
  });

  it('dead-letters the task once the rounds are used up, failing the session', () => {
    const run = pair();
    review(run, 1, { verdict: 'changes_requested' });
    run.run('a', 'driver');
    review(run, 2, { verdict: 'changes_requested' });
    run.run('a', 'driver');
    const events = review(run, 3, { verdict: 'changes_requested' });
    expect(run.types(events)).toEqual([
      'TaskSucceeded',
      'TaskDeadLettered',
      'TaskCancelled',
      'WorkflowFailed',
    ]);
    expect(events[1]).toMatchObject({ data: { taskId: idOf('a'), reason: 'review rounds exhausted (3)' } });
  });

  it('rejects a review without a valid verdict, changing nothing', () => {
    const run = pair();
    run.assign('a.review.1', 'navigator');
    const before = run.state;
    expect(() => run.complete('a.review.1', { verdict: 'maybe' })).toThrow(ValidationError);
    expect(run.state).toBe(before);
  });

  it('counts a failed review as a failure of the reviewed task', () => {
    const run = pair();
    run.assign('a.review.1', 'navigator');
    const events = run.fail('a.review.1', false, 'cannot read the diff');
    expect(run.types(events)).toEqual([
      'TaskFailed',
      'TaskDeadLettered',
      'TaskDeadLettered',
      'TaskCancelled',
      'WorkflowFailed',
    ]);
    expect(events[2]).toMatchObject({ data: { taskId: idOf('a') } });
  });

  it('keeps its reviews out of adaptations', () => {
    const run = pair();
    const adapt = { type: 'AdaptWorkflow', add: [], replace: [], policy, at: t0 } as const;
    expect(() => run.exec({ ...adapt, remove: ['a.review.1'] })).toThrow(
      /is a review task of the pair pattern/,
    );
  });

  it('cancels a task with its open review (and the session completes, having nothing left)', () => {
    const run = pair();
    const events = run.exec({
      type: 'CancelTask',
      taskId: idOf('a.review.1'),
      reason: 'stop',
      policy,
      at: t0,
    });
    expect(events.map((e) => (e.type === 'TaskCancelled' ? e.data.taskId : e.type))).toEqual([
      idOf('a'),
      idOf('b'),
      idOf('a.review.1'),
      'WorkflowCompleted',
    ]);
  });

  it('runs a 20-task DAG with a review of every task', () => {
    const run = new WorkflowRun();
    run.exec(submit(twentyTasks, { pattern: 'pair', roles: roles.pair }));
    let changes = 0;
    drain(
      run,
      (key) => (key.includes('.review.') ? 'navigator' : 'driver'),
      // Every fifth review asks for changes once.
      (key) =>
        key.endsWith('.review.1') && ++changes % 5 === 0
          ? { verdict: 'changes_requested' }
          : { verdict: 'approved' },
    );
    expect(run.wf.status).toBe('completed');
    expect(run.types().filter((t) => t === 'TaskReopened')).toHaveLength(4);
    expect([...run.wf.tasks.values()].filter((t) => t.role === 'review')).toHaveLength(24);
  });
});

describe('hierarchical', () => {
  const plan = (tasks: JsonObject[]): JsonObject => ({ plan: { tasks } });
  const start = () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('hint')], { pattern: 'hierarchical', roles: roles.hierarchical }));
    return run;
  };

  it('starts with one plan task on the supervisor, given the goal and the tasks as hints', () => {
    const run = start();
    expect(run.readyKeys()).toEqual(['plan']);
    expect(run.task('plan')).toMatchObject({
      role: 'plan',
      pinnedAgentId: 'boss',
      origin: 'pattern',
      spec: { capabilities: ['planning'], input: { goal: 'ship the feature', tasks: [spec('hint')] } },
    });
    expect(() => run.task('hint')).toThrow();
  });

  it('turns the plan into tasks for any worker, then gives the supervisor the results', () => {
    const run = start();
    const events = run.run(
      'plan',
      'boss',
      plan([
        { id: 'x', type: 'coder' },
        { id: 'y', type: 'coder', dependsOn: ['x'] },
      ]),
    );
    expect(run.types(events)).toEqual(['TaskSucceeded', 'TaskSubmitted', 'TaskSubmitted', 'TaskReady']);
    expect(run.task('y')).toMatchObject({
      origin: 'plan',
      parentTaskId: idOf('plan'),
      pinnedAgentId: '',
      role: 'work',
    });
    run.run('x', 'w1', { a: 1 });
    const last = run.run('y', 'w2', { b: 2 });
    expect(run.types(last)).toEqual(['TaskSucceeded', 'TaskSubmitted', 'TaskReady']);
    expect(run.task('supervise.1')).toMatchObject({
      role: 'supervise',
      round: 1,
      pinnedAgentId: 'boss',
      spec: {
        input: { goal: 'ship the feature', round: 1, results: { x: { a: 1 }, y: { b: 2 } }, failures: {} },
      },
    });
    expect(run.types(run.run('supervise.1', 'boss', { done: true }))).toEqual([
      'TaskSucceeded',
      'WorkflowCompleted',
    ]);
  });

  it('runs another round when the supervisor plans more', () => {
    const run = start();
    run.run('plan', 'boss', plan([{ id: 'x', type: 'coder' }]));
    run.run('x', 'w1');
    run.run('supervise.1', 'boss', plan([{ id: 'z', type: 'coder', dependsOn: ['x'] }]));
    expect(run.task('z')).toMatchObject({ status: 'ready', round: 1 });
    run.run('z', 'w1');
    expect(run.status('supervise.2')).toBe('ready');
  });

  it('fails the session when the supervisor plans past its last round', () => {
    const run = new WorkflowRun();
    run.exec(submit([], { pattern: 'hierarchical', roles: roles.hierarchical, maxRounds: 1 }));
    run.run('plan', 'boss', plan([{ id: 'x', type: 'coder' }]));
    run.run('x', 'w1');
    const events = run.run('supervise.1', 'boss', plan([{ id: 'z', type: 'coder' }]));
    expect(run.types(events)).toEqual(['TaskSucceeded', 'WorkflowFailed']);
    expect(events[1]).toMatchObject({ data: { reason: 'supervision rounds exhausted (1)' } });
  });

  it('takes a plan that echoes its hints in the protobuf JSON mapping (64-bit integers as strings)', () => {
    const run = start();
    run.run('plan', 'boss', plan([{ key: 'x', type: 'coder', estimatedDurationMs: '1500', priority: 2 }]));
    expect(run.task('x')).toMatchObject({
      status: 'ready',
      spec: { estimatedDurationMs: '1500', priority: 2 },
    });
    run.run('x', 'w1');
    const events = run.run('supervise.1', 'boss', { done: true });
    expect(run.types(events)).toContain('WorkflowCompleted');
  });

  it('fails an attempt whose output is not a valid plan, with the reason, and retries it', () => {
    const run = start();
    const events = run.run('plan', 'boss', plan([{ id: 'x', type: 'coder', dependsOn: ['x'] }]));
    expect(run.types(events)).toEqual(['TaskFailed', 'TaskRetryScheduled']);
    expect(events[0]).toMatchObject({
      data: { retryable: true, error: 'invalid plan: output.plan.tasks: task "x" depends on itself' },
    });
    run.retry('plan');
    const missing = run.run('plan', 'boss', { notes: 'forgot' });
    expect(missing[0]).toMatchObject({ data: { error: 'invalid plan: output: must hold plan.tasks' } });
    run.retry('plan');
    const wrong = run.run('plan', 'boss', plan([{ type: 3 }]));
    expect(run.types(wrong)).toEqual(['TaskFailed', 'TaskDeadLettered', 'WorkflowFailed']);
  });

  it('cancels what is still open when the supervisor says done', () => {
    const run = start();
    run.run('plan', 'boss', plan([{ id: 'x', type: 'coder' }]));
    run.run('x', 'w1');
    run.assign('supervise.1', 'boss');
    run.exec({
      type: 'SpawnSubtasks',
      taskId: idOf('supervise.1'),
      agentId: 'boss',
      tasks: [spec('late')],
      policy,
      at: t0,
    });
    expect(run.types(run.complete('supervise.1', { done: true }))).toEqual([
      'TaskSucceeded',
      'TaskCancelled',
      'WorkflowCompleted',
    ]);
    expect(run.wf.open).toBe(0);
  });

  it('accepts tasks posted while the plan ran as the plan', () => {
    const run = start();
    run.assign('plan', 'boss');
    run.exec({
      type: 'SpawnSubtasks',
      taskId: idOf('plan'),
      agentId: 'boss',
      tasks: [spec('x')],
      policy,
      at: t0,
    });
    expect(run.types(run.complete('plan', {}))).toEqual(['TaskSucceeded']);
    expect(run.status('x')).toBe('ready');
  });

  it('runs a 20-task plan in two rounds', () => {
    const run = start();
    const asJson = (tasks: TaskSpecData[]): JsonObject[] =>
      tasks.map((t) => ({ id: t.key, type: t.type, dependsOn: [...t.dependsOn] }));
    run.run('plan', 'boss', plan(asJson(twentyTasks.slice(0, 12))));
    drain(
      run,
      (key) => (key.startsWith('supervise') ? 'boss' : `w${key.length}`),
      (key) =>
        key === 'supervise.1'
          ? plan(asJson(twentyTasks.slice(12)))
          : key === 'supervise.2'
            ? { done: true }
            : { key },
    );
    expect(run.wf.status).toBe('completed');
    expect(
      [...run.wf.tasks.values()].filter((t) => t.role === 'work' && t.status === 'succeeded'),
    ).toHaveLength(20);
  });
});

describe('swarm', () => {
  const swarm = () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b', ['a'])], { agentIds: ['s1', 's2', 's3'] }));
    run.assign('a', 's1');
    return run;
  };
  const handOff = (run: WorkflowRun, to: { toCapabilities?: string[]; toAgentId?: string }) =>
    run.exec({
      type: 'HandOffTask',
      taskId: idOf('a'),
      agentId: 's1',
      toCapabilities: to.toCapabilities ?? [],
      toAgentId: to.toAgentId ?? '',
      reason: 'needs a tester',
      at: t0,
    });

  it('pins nothing', () => expect(swarm().task('b').pinnedAgentId).toBe(''));

  it('hands a task to other capabilities: ready again, not a failed attempt', () => {
    const run = swarm();
    expect(run.types(handOff(run, { toCapabilities: ['test'] }))).toEqual(['TaskHandedOff', 'TaskReady']);
    expect(run.task('a')).toMatchObject({
      status: 'ready',
      failures: 0,
      agentId: '',
      spec: { capabilities: ['test'] },
    });
    run.assign('a', 's2');
    expect(run.task('a').attempt).toBe(2);
  });

  it('hands a task to a named agent of the pool, which alone may take it', () => {
    const run = swarm();
    handOff(run, { toAgentId: 's3' });
    expect(() => run.assign('a', 's2')).toThrow(/pinned to agent s3/);
    expect(run.types(run.assign('a', 's3'))).toEqual(['TaskAssigned']);
  });

  it('refuses a hand-off to nobody, to both, or outside the pool', () => {
    for (const to of [
      {},
      { toCapabilities: ['x'], toAgentId: 's2' },
      { toAgentId: 'stranger' },
      { toAgentId: 's1' },
    ])
      expect(() => handOff(swarm(), to)).toThrow(ValidationError);
  });

  it('is the only pattern that hands off', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a')], { pattern: 'solo', roles: roles.solo }));
    run.assign('a', 'solo');
    expect(() =>
      run.exec({
        type: 'HandOffTask',
        taskId: idOf('a'),
        agentId: 'solo',
        toCapabilities: ['x'],
        toAgentId: '',
        reason: '',
        at: t0,
      }),
    ).toThrow(IllegalStateError);
  });

  it('runs a 20-task DAG across its pool with hand-offs on the way', () => {
    const run = new WorkflowRun();
    run.exec(submit(twentyTasks, { agentIds: ['s1', 's2', 's3'] }));
    let n = 0;
    for (let ready = run.readyKeys(); ready.length > 0; ready = run.readyKeys()) {
      for (const key of ready) {
        const agent = `s${(n++ % 3) + 1}`;
        run.assign(key, agent);
        if (n % 7 === 0)
          run.exec({
            type: 'HandOffTask',
            taskId: idOf(key),
            agentId: agent,
            toCapabilities: ['test'],
            toAgentId: '',
            reason: '',
            at: t0,
          });
        else run.complete(key);
      }
    }
    expect(run.wf.status).toBe('completed');
    expect(run.types().filter((t) => t === 'TaskHandedOff').length).toBeGreaterThan(0);
  });
});

describe('spawning subtasks', () => {
  const spawning = () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('b', ['a'])]));
    run.assign('a', 'agent-1');
    return run;
  };
  const spawn = (run: WorkflowRun, tasks: TaskSpecData[], agentId = 'agent-1') =>
    run.exec({ type: 'SpawnSubtasks', taskId: idOf('a'), agentId, tasks, policy, at: t0 });

  it('adds tasks by the holder; those whose dependencies are met are ready', () => {
    const run = spawning();
    const events = spawn(run, [spec('c'), spec('d', ['c']), spec('e', ['b'])]);
    expect(run.types(events)).toEqual(['TaskSubmitted', 'TaskSubmitted', 'TaskSubmitted', 'TaskReady']);
    expect(events[0]).toMatchObject({
      data: { origin: 'spawn', parentTaskId: idOf('a'), taskId: idOf('c') },
    });
  });

  it('refuses keys that exist, cycles, no tasks, and callers that do not hold the task', () => {
    expect(() => spawn(spawning(), [spec('b')])).toThrow(/invalid subtasks/);
    expect(() => spawn(spawning(), [spec('c', ['d']), spec('d', ['c'])])).toThrow(ValidationError);
    expect(() => spawn(spawning(), [])).toThrow(ValidationError);
    expect(() => spawn(spawning(), [spec('c')], 'agent-2')).toThrow(/does not hold/);
  });

  it('refuses a dependency on a cancelled task', () => {
    const run = new WorkflowRun();
    run.exec(submit([spec('a'), spec('x')]));
    run.exec({ type: 'CancelTask', taskId: idOf('x'), reason: '', policy, at: t0 });
    run.assign('a', 'agent-1');
    expect(() => spawn(run, [spec('c', ['x'])])).toThrow(ValidationError);
  });
});
