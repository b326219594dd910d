import { AgentClient } from '@orch/agent-sdk';
import { parseRunnerConfig, runFleet, type FleetHandle } from '@orch/agent-runner';
import { Client } from 'pg';
import { testDatabaseUrl } from '@orch/testing';
import { startStack, type TestStack } from './stack';

jest.setTimeout(120_000);

interface TaskJson {
  taskId: string;
  key: string;
  status: string;
  agentId: string;
  attempts: number;
  role: string;
  reviewOf: string;
  error: string;
}
interface SessionJson {
  id: string;
  status: string;
  pattern: string;
  patternReason: string;
  reason: string;
  roles: Record<string, string>;
  tasks: TaskJson[];
}

/** A 20-task DAG: a binary tree of code and testing work, so levels fan out and join back. */
const twentyTasks = Array.from({ length: 20 }, (_, i) => ({
  id: `t${i}`,
  type: i % 2 === 0 ? 'code' : 'test',
  capabilities: [i % 2 === 0 ? 'code' : 'testing'],
  dependsOn: i === 0 ? [] : [`t${Math.floor((i - 1) / 2)}`],
}));

const sim = (durationMs = 5) => ({ kind: 'sim', durationMs, seed: 7 });

describe('sessions end to end: HTTP -> gateway -> coordination/distribution -> sim agents', () => {
  let stack: TestStack;
  let fleet: FleetHandle;
  const extraFleets: FleetHandle[] = [];

  beforeAll(async () => {
    stack = await startStack();
    fleet = await runFleet(
      parseRunnerConfig({
        gateway: { url: stack.baseUrl, apiKey: stack.adminKey },
        polling: { waitMs: 1000, heartbeatIntervalMs: 300, shutdownGraceMs: 2000 },
        agents: [
          // Covers every work capability: the solo agent and the pair driver.
          {
            name: 'lead',
            provider: 'anthropic',
            model: 'sim',
            capabilities: ['code', 'testing'],
            maxConcurrency: 4,
            executor: sim(),
          },
          {
            name: 'reviewer',
            provider: 'openai',
            model: 'sim',
            type: 'reviewer',
            capabilities: ['review'],
            maxConcurrency: 4,
            executor: sim(),
          },
          {
            name: 'supervisor',
            provider: 'anthropic',
            model: 'sim',
            type: 'planner',
            capabilities: ['planning'],
            maxConcurrency: 2,
            executor: sim(),
          },
          {
            name: 'worker',
            count: 4,
            provider: 'mistral',
            model: 'sim',
            capabilities: ['code', 'testing'],
            maxConcurrency: 2,
            executor: sim(),
          },
          {
            name: 'flaky',
            provider: 'local',
            model: 'sim',
            capabilities: ['flaky'],
            executor: { kind: 'sim', failureRate: 1, seed: 1 },
          },
          { name: 'slow', provider: 'local', model: 'sim', capabilities: ['slow'], executor: sim(1500) },
        ],
      }),
    );
  });

  afterAll(async () => {
    for (const f of [fleet, ...extraFleets]) await f?.stop();
    await stack?.close();
  });

  const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

  async function startSession(
    body: Record<string, unknown>,
  ): Promise<{ sessionId: string; pattern: string; patternReason?: string }> {
    const res = await stack.call(stack.adminKey, 'POST', '/api/orchestration/sessions', body);
    if (res.status !== 201) throw new Error(`start answered ${res.status}: ${await res.text()}`);
    return json(res);
  }

  /** Polls the session until it leaves `running` (it is created asynchronously, so 404 at first). */
  async function finished(sessionId: string, timeoutMs = 60_000): Promise<SessionJson> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const res = await stack.call(stack.adminKey, 'GET', `/api/orchestration/sessions/${sessionId}`);
      if (res.ok) {
        const session = await json<SessionJson>(res);
        if (session.status !== 'running') return session;
        last = session.tasks.map((t) => `${t.key}:${t.status}`).join(' ');
      } else {
        await res.body?.cancel();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`session ${sessionId} still running after ${timeoutMs} ms: ${last}`);
  }

  const work = (s: SessionJson): TaskJson[] => s.tasks.filter((t) => t.role === 'work');

  it.each(['solo', 'swarm'])('runs a 20-task DAG to completion in the %s pattern', async (pattern) => {
    const { sessionId } = await startSession({ goal: `20 tasks, ${pattern}`, pattern, tasks: twentyTasks });
    const session = await finished(sessionId);
    expect(session.status).toBe('completed');
    expect(work(session)).toHaveLength(20);
    expect(work(session).every((t) => t.status === 'succeeded')).toBe(true);
    if (pattern === 'solo') {
      const solo = session.roles['soloAgentId'];
      expect(fleet.agents.map((a) => a.agentId)).toContain(solo);
      expect(new Set(work(session).map((t) => t.agentId))).toEqual(new Set([solo]));
    } else {
      expect(new Set(work(session).map((t) => t.agentId)).size).toBeGreaterThan(1);
    }
  });

  it('runs a 20-task DAG in the pair pattern: every task is reviewed by the navigator', async () => {
    const { sessionId } = await startSession({
      goal: '20 tasks, reviewed',
      pattern: 'pair',
      tasks: twentyTasks,
    });
    const session = await finished(sessionId);
    expect(session.status).toBe('completed');
    const reviewer = fleet.agents.find((a) => a.name === 'reviewer')!.agentId;
    const reviews = session.tasks.filter((t) => t.role === 'review');
    expect(new Set(reviews.map((r) => r.reviewOf))).toEqual(new Set(twentyTasks.map((t) => t.id)));
    expect(reviews.every((r) => r.agentId === reviewer && r.status === 'succeeded')).toBe(true);
    expect(work(session).every((t) => t.status === 'succeeded')).toBe(true);
  });

  it('runs a 20-task DAG in the hierarchical pattern: the supervisor plans, workers execute, it declares done', async () => {
    const { sessionId } = await startSession({
      goal: 'plan and run 20 tasks',
      pattern: 'hierarchical',
      tasks: twentyTasks,
    });
    const session = await finished(sessionId);
    expect({ status: session.status, reason: session.reason }).toEqual({ status: 'completed', reason: '' });
    const supervisor = fleet.agents.find((a) => a.name === 'supervisor')!.agentId;
    const plan = session.tasks.find((t) => t.role === 'plan');
    expect(plan).toMatchObject({ status: 'succeeded', agentId: supervisor });
    expect(session.tasks.some((t) => t.role === 'supervise' && t.status === 'succeeded')).toBe(true);
    expect(
      work(session)
        .map((t) => t.key)
        .sort(),
    ).toEqual(twentyTasks.map((t) => t.id).sort());
    expect(work(session).every((t) => t.status === 'succeeded')).toBe(true);
  });

  it('chooses a pattern in auto and records why', async () => {
    const started = await startSession({ goal: '20 tasks, you choose', pattern: 'auto', tasks: twentyTasks });
    expect(['solo', 'pair', 'hierarchical', 'swarm']).toContain(started.pattern);
    expect(started.patternReason).toMatch(/\w/);
    const session = await finished(started.sessionId);
    expect(session).toMatchObject({
      status: 'completed',
      pattern: started.pattern,
      patternReason: started.patternReason,
    });
    expect(work(session).every((t) => t.status === 'succeeded')).toBe(true);
  });

  it('retries a failing task with backoff, then dead-letters it and fails the session', async () => {
    const { sessionId } = await startSession({
      goal: 'always fails',
      pattern: 'swarm',
      tasks: [{ id: 'doomed', type: 'x', capabilities: ['flaky'], maxAttempts: 3 }],
    });
    const session = await finished(sessionId);
    expect(session.status).toBe('failed');
    expect(session.tasks[0]).toMatchObject({ key: 'doomed', status: 'dead_lettered', attempts: 3 });
    expect(session.reason).toContain('doomed');
  });

  it('rejects a cyclic DAG with its cycle, and starts nothing', async () => {
    const goal = `cyclic ${Date.now()}`;
    const res = await stack.call(stack.adminKey, 'POST', '/api/orchestration/sessions', {
      goal,
      pattern: 'swarm',
      tasks: [
        { id: 'a', type: 'x', capabilities: ['code'], dependsOn: ['c'] },
        { id: 'b', type: 'x', capabilities: ['code'], dependsOn: ['a'] },
        { id: 'c', type: 'x', capabilities: ['code'], dependsOn: ['b'] },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = await json<{ detail: string; errors: { path: string; message: string }[] }>(res);
    expect(problem.errors.map((e) => e.message).join(' ')).toMatch(
      /a -> c -> b -> a|c -> b -> a -> c|b -> a -> c -> b/,
    );
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    const { rows } = await pg.query(
      `SELECT 1 FROM "${stack.eventStoreSchema}".events WHERE data->>'goal' = $1`,
      [goal],
    );
    await pg.end();
    expect(rows).toHaveLength(0);
  });

  it('cancels a task and its subtree; the rest of the session completes', async () => {
    const { sessionId } = await startSession({
      goal: 'cancel a branch',
      pattern: 'swarm',
      tasks: [
        { id: 'root', type: 'x', capabilities: ['slow'] },
        { id: 'branch', type: 'x', capabilities: ['code'], dependsOn: ['root'] },
        { id: 'leaf', type: 'x', capabilities: ['code'], dependsOn: ['branch'] },
        { id: 'other', type: 'x', capabilities: ['code'] },
      ],
    });
    let branch: TaskJson | undefined;
    for (let i = 0; !branch && i < 100; i++) {
      const res = await stack.call(stack.adminKey, 'GET', `/api/orchestration/sessions/${sessionId}`);
      if (res.ok) branch = (await json<SessionJson>(res)).tasks.find((t) => t.key === 'branch');
      else await new Promise((r) => setTimeout(r, 50));
    }
    const cancel = await stack.call(stack.adminKey, 'POST', `/api/tasks/${branch!.taskId}/cancel`, {
      reason: 'not needed',
    });
    expect(cancel.status).toBe(200);
    const session = await finished(sessionId);
    const status = Object.fromEntries(session.tasks.map((t) => [t.key, t.status]));
    expect(status).toEqual({ root: 'succeeded', branch: 'cancelled', leaf: 'cancelled', other: 'succeeded' });
    expect(session.status).toBe('completed');
  });

  it('rejects a completion from an agent that does not hold the task, and a second completion', async () => {
    const { sessionId } = await startSession({
      goal: 'one task',
      pattern: 'swarm',
      tasks: [{ id: 'only', type: 'x', capabilities: ['code'] }],
    });
    const [task] = (await finished(sessionId)).tasks;
    const other = fleet.agents.find((a) => a.agentId !== task!.agentId)!.agentId;
    for (const agentId of [other, task!.agentId]) {
      const res = await stack.call(stack.adminKey, 'POST', `/api/tasks/${task!.taskId}/complete`, {
        agentId,
        output: { again: true },
      });
      expect(res.status).toBe(409);
    }
    const after = await json<TaskJson & { output: unknown }>(
      await stack.call(stack.adminKey, 'GET', `/api/tasks/${task!.taskId}`),
    );
    expect(after.status).toBe('succeeded');
    expect(after.output).not.toEqual({ again: true });
  });

  it("reassigns a dead agent's task after missed heartbeats; it completes elsewhere", async () => {
    // The victim takes the task and then goes silent: no completion, no heartbeat.
    const victim = await AgentClient.register(stack.baseUrl, stack.adminKey, {
      name: 'victim',
      provider: 'local',
      model: 'sim',
      capabilities: ['fragile'],
      maxConcurrency: 1,
    });
    await victim.heartbeat();
    const { sessionId } = await startSession({
      goal: 'survive a dead agent',
      pattern: 'swarm',
      tasks: [{ id: 'fragile-work', type: 'x', capabilities: ['fragile'], maxAttempts: 3 }],
    });
    const assignment = await victim.nextAssignment(10_000);
    expect(assignment?.sessionId).toBe(sessionId);
    await victim.start(assignment!.taskId);

    const backup = await runFleet(
      parseRunnerConfig({
        gateway: { url: stack.baseUrl, apiKey: stack.adminKey },
        polling: { waitMs: 1000, heartbeatIntervalMs: 300, shutdownGraceMs: 2000 },
        agents: [
          { name: 'backup', provider: 'anthropic', model: 'sim', capabilities: ['fragile'], executor: sim() },
        ],
      }),
    );
    extraFleets.push(backup);
    const session = await finished(sessionId);
    expect(session.status).toBe('completed');
    expect(session.tasks[0]).toMatchObject({ status: 'succeeded', agentId: backup.agents[0]!.agentId });
    expect(session.tasks[0]!.attempts).toBeGreaterThanOrEqual(2);
    const seen = await json<{ status: string }>(
      await stack.call(stack.adminKey, 'GET', `/api/agents/${victim.agentId}`),
    );
    expect(seen.status).toBe('unhealthy');
  });
});
