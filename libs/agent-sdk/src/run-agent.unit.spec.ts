import { eventually } from '@orch/testing';
import { AgentClient } from './agent-client';
import { ProblemError, TaskFailure } from './errors';
import { runAgent, type RunAgentOptions, type TaskHandler } from './run-agent';
import { FakeGateway, problem } from './testing';

const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 50 };

/** A promise with its resolve function, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('runAgent', () => {
  let gateway: FakeGateway;
  let client: AgentClient;
  let stop: AbortController;

  beforeEach(async () => {
    gateway = await FakeGateway.start();
    client = await AgentClient.register(
      gateway.url,
      'operator-key',
      { name: 'a', provider: 'p', model: 'm', capabilities: ['coding'], maxConcurrency: 2 },
      { retry: FAST_RETRY },
    );
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await gateway.close();
  });

  const run = (handler: TaskHandler, options: RunAgentOptions = {}) =>
    runAgent(client, handler, { waitMs: 200, heartbeatIntervalMs: 50, signal: stop.signal, ...options });

  it('starts each assignment, runs the handler and completes it with the output and usage', async () => {
    const ids = ['t1', 't2', 't3'].map((taskId) => gateway.enqueue({ taskId, input: { n: taskId } }));
    const running = run(async (assignment) => ({
      output: { echo: assignment.input['n'] },
      usage: { inputTokens: 3, outputTokens: 4, costUsd: 0.5 },
    }));

    await eventually(() => (gateway.reportsOf('complete').length === 3 ? true : undefined));
    stop.abort();
    await expect(running).resolves.toEqual({
      assignments: 3,
      completed: 3,
      failed: 0,
      handedOff: 0,
      abandoned: 0,
    });

    for (const taskId of ids) {
      const actions = gateway.reports.filter((r) => r.taskId === taskId).map((r) => r.action);
      expect(actions).toEqual(['start', 'complete']);
      expect(gateway.reportsOf('complete').find((r) => r.taskId === taskId)?.body).toEqual({
        output: { echo: taskId },
        usage: { inputTokens: 3, outputTokens: 4, costUsd: 0.5 },
      });
    }
    expect(gateway.reports.every((r) => r.agentId === client.agentId)).toBe(true);
  });

  it('sends heartbeats while it runs', async () => {
    const running = run(() => ({}));
    await eventually(() =>
      gateway.requests.filter((r) => r.path.endsWith('/heartbeat')).length >= 2 ? true : undefined,
    );
    stop.abort();
    await running;
  });

  it('reports a thrown error as a retryable failure with its message', async () => {
    gateway.enqueue({ taskId: 't1' });
    const running = run(() => {
      throw new Error('compiler crashed');
    });
    await eventually(() => gateway.reportsOf('fail')[0]);
    stop.abort();
    await expect(running).resolves.toMatchObject({ failed: 1, completed: 0 });
    expect(gateway.reportsOf('fail')[0]?.body).toEqual({ error: 'compiler crashed', retryable: true });
  });

  it('reports a TaskFailure with its retry decision', async () => {
    gateway.enqueue({ taskId: 't1' });
    const running = run(() => {
      throw new TaskFailure('the input is unusable', { retryable: false });
    });
    await eventually(() => gateway.reportsOf('fail')[0]);
    stop.abort();
    await running;
    expect(gateway.reportsOf('fail')[0]?.body).toEqual({ error: 'the input is unusable', retryable: false });
  });

  it('never runs more handlers at once than its concurrency', async () => {
    for (let i = 0; i < 5; i++) gateway.enqueue({ taskId: `t${i}` });
    let active = 0;
    let maxActive = 0;
    const gates: Array<() => void> = [];
    const running = run(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        const g = gate();
        gates.push(g.open);
        await g.promise;
        active--;
        return { output: {} };
      },
      { concurrency: 2 },
    );

    for (let released = 0; released < 5; released++) {
      await eventually(() =>
        gates.length > released && (active === 2 || gates.length === 5) ? true : undefined,
      );
      gates[released]?.();
    }
    await eventually(() => (gateway.reportsOf('complete').length === 5 ? true : undefined));
    stop.abort();
    await running;
    expect(maxActive).toBe(2);
  });

  it('stops polling on abort and waits for in-flight tasks before resolving', async () => {
    gateway.enqueue({ taskId: 't1' });
    const hold = gate();
    const started = gate();
    let resolved = false;
    const running = run(async () => {
      started.open();
      await hold.promise;
      return { output: { done: true } };
    }).then((stats) => {
      resolved = true;
      return stats;
    });
    await started.promise;
    stop.abort();
    const pollsAtStop = gateway.requests.filter((r) => r.path.endsWith('/next')).length;
    gateway.enqueue({ taskId: 't2' });
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);

    hold.open();
    await expect(running).resolves.toMatchObject({ assignments: 1, completed: 1 });
    expect(gateway.requests.filter((r) => r.path.endsWith('/next'))).toHaveLength(pollsAtStop);
    expect(gateway.reportsOf('start').map((r) => r.taskId)).toEqual(['t1']);
  });

  it('drains the agent on stop when asked', async () => {
    const running = run(() => ({}), { drainOnStop: true });
    await eventually(() => gateway.requests.find((r) => r.path.endsWith('/next')));
    stop.abort();
    await running;
    expect(gateway.requests.some((r) => r.path === `/api/agents/${client.agentId}/drain`)).toBe(true);
  });

  it('aborts the task signal of tasks that outlast the shutdown grace', async () => {
    gateway.enqueue({ taskId: 't1' });
    const started = gate();
    const running = run(
      async (_a, ctx) => {
        started.open();
        await new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        );
      },
      { shutdownGraceMs: 10 },
    );
    await started.promise;
    stop.abort();
    await expect(running).resolves.toMatchObject({ failed: 1 });
    expect(gateway.reportsOf('fail')[0]?.body).toEqual({ error: 'the agent is stopping', retryable: true });
  });

  it('aborts the task signal when the deadline passes', async () => {
    gateway.enqueue({ taskId: 't1', deadline: new Date(Date.now() + 20).toISOString() });
    const running = run(
      (_a, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        ),
    );
    await eventually(() => gateway.reportsOf('fail')[0]);
    stop.abort();
    await running;
    expect(gateway.reportsOf('fail')[0]?.body).toMatchObject({ error: expect.stringContaining('deadline') });
  });

  it('gives the handler progress, messages, subtasks and hand-off for its task', async () => {
    gateway.enqueue({ taskId: 't1', sessionId: 's9' });
    gateway.intercept((req) =>
      req.path === '/api/orchestration/communicate'
        ? { status: 201, body: { messageId: 'm1', sequence: 1 } }
        : undefined,
    );
    const running = run(async (_a, ctx) => {
      await ctx.progress({ percent: 50 });
      await ctx.sendMessage({ note: 'hi' });
      await ctx.spawnSubtasks([{ id: 'follow-up', type: 'test' }]);
      await ctx.handOff({ toCapabilities: ['testing'], reason: 'not mine' });
      return { handedOff: true };
    });
    await eventually(() => gateway.reportsOf('handoff')[0]);
    stop.abort();
    await expect(running).resolves.toMatchObject({ handedOff: 1, completed: 0 });
    expect(gateway.reports.map((r) => r.action)).toEqual(['start', 'progress', 'subtasks', 'handoff']);
    expect(gateway.requests.find((r) => r.path === '/api/orchestration/communicate')?.body).toEqual({
      sessionId: 's9',
      from: client.agentId,
      body: { note: 'hi' },
    });
  });

  it('keeps going when a progress report fails', async () => {
    gateway.enqueue({ taskId: 't1' });
    gateway.intercept((req) => (req.path.endsWith('/progress') ? problem(409, 'not running') : undefined));
    const running = run(async (_a, ctx) => {
      await ctx.progress({ message: 'working' });
      return { output: { ok: true } };
    });
    await eventually(() => gateway.reportsOf('complete')[0]);
    stop.abort();
    await expect(running).resolves.toMatchObject({ completed: 1 });
  });

  it('leaves a task whose start is refused without running the handler', async () => {
    gateway.enqueue({ taskId: 't1' });
    gateway.intercept((req) =>
      req.path.endsWith('/start') ? problem(409, 'the task was reassigned') : undefined,
    );
    const handler = jest.fn(() => ({}));
    const running = run(handler);
    await eventually(() => gateway.requests.find((r) => r.path.endsWith('/start')));
    stop.abort();
    await expect(running).resolves.toMatchObject({ assignments: 1, abandoned: 1 });
    expect(handler).not.toHaveBeenCalled();
  });

  it('fails the task when the gateway refuses its output', async () => {
    gateway.enqueue({ taskId: 't1' });
    gateway.intercept((req) =>
      req.path.endsWith('/complete') ? problem(400, 'output.plan.tasks: required') : undefined,
    );
    const running = run(() => ({ output: { plan: {} } }));
    await eventually(() => gateway.reportsOf('fail')[0]);
    stop.abort();
    await expect(running).resolves.toMatchObject({ failed: 1, completed: 0 });
    expect(gateway.reportsOf('fail')[0]?.body).toEqual({
      error: 'the gateway rejected the output: output.plan.tasks: required',
      retryable: true,
    });
  });

  it('counts a completion answered 409 on a retry as recorded', async () => {
    gateway.enqueue({ taskId: 't1' });
    let calls = 0;
    gateway.intercept((req) => {
      if (!req.path.endsWith('/complete')) return undefined;
      return ++calls === 1 ? problem(502, 'lost answer') : problem(409, 'already succeeded');
    });
    const running = run(() => ({ output: {} }));
    await eventually(() => (calls === 2 ? true : undefined));
    stop.abort();
    await expect(running).resolves.toMatchObject({ completed: 1, failed: 0 });
    expect(gateway.reportsOf('fail')).toHaveLength(0);
  });

  it('stops with the error when polling is refused for good', async () => {
    gateway.intercept((req) =>
      req.path.endsWith('/next') ? problem(403, 'the key was revoked') : undefined,
    );
    const err = await run(() => ({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProblemError);
    expect((err as ProblemError).status).toBe(403);
  });

  it('backs off and keeps polling after a transient failure', async () => {
    let failures = FAST_RETRY.maxAttempts; // one whole poll fails after the transport's retries
    gateway.intercept((req) =>
      req.path.endsWith('/next') && failures-- > 0 ? problem(503, 'down') : undefined,
    );
    gateway.enqueue({ taskId: 't1' });
    const running = run(() => ({ output: {} }));
    await eventually(() => gateway.reportsOf('complete')[0]);
    stop.abort();
    await expect(running).resolves.toMatchObject({ completed: 1 });
  });
});
