import { AgentClient, type Assignment } from '@orch/agent-sdk';
import { parseRunnerConfig, runFleet, type FleetHandle } from '@orch/agent-runner';
import { PostgresEventStore, type RecordedEvent } from '@orch/eventstore';
import { testDatabaseUrl } from '@orch/testing';
import { startStack, type TestStack } from './stack';

jest.setTimeout(120_000);

interface TaskJson {
  taskId: string;
  key: string;
  status: string;
  waitingFor: string;
  attempts: number;
  error: string;
}
interface SessionJson {
  id: string;
  status: string;
  tasks: TaskJson[];
}

/**
 * Resources and conflicts on the real stack (issue 4's "done when"): every check reads the
 * workflow's event log, where each attempt's assignment and end are recorded with their times.
 */
describe('resources and conflicts end to end', () => {
  let stack: TestStack;
  let fleet: FleetHandle;
  let store: PostgresEventStore;
  const clients: AgentClient[] = [];

  beforeAll(async () => {
    stack = await startStack();
    store = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: stack.eventStoreSchema,
      source: 'e2e',
      migrate: false,
      poolSize: 1,
    });
    fleet = await runFleet(
      parseRunnerConfig({
        gateway: { url: stack.baseUrl, apiKey: stack.adminKey },
        polling: { waitMs: 500, heartbeatIntervalMs: 300, shutdownGraceMs: 2000 },
        agents: [
          {
            name: 'worker',
            count: 3,
            provider: 'anthropic',
            model: 'sim',
            capabilities: ['edit', 'render', 'call'],
            maxConcurrency: 4,
            executor: { kind: 'sim', durationMs: 300, seed: 3 },
          },
          {
            name: 'long-runner',
            provider: 'anthropic',
            model: 'sim',
            capabilities: ['train'],
            maxConcurrency: 2,
            executor: { kind: 'sim', durationMs: 2500, seed: 4 },
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    await fleet?.stop();
    await store?.close();
    await stack?.close();
  });

  const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;

  async function call<T>(
    method: string,
    path: string,
    body?: unknown,
    expected = [200, 201, 202],
  ): Promise<T> {
    const res = await stack.call(stack.adminKey, method, path, body);
    if (!expected.includes(res.status))
      throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
    return json<T>(res);
  }

  const definePool = (body: Record<string, unknown>) => call('POST', '/api/resources/pools', body);

  async function startSession(tasks: unknown[], more: Record<string, unknown> = {}): Promise<string> {
    const { sessionId } = await call<{ sessionId: string }>('POST', '/api/orchestration/sessions', {
      goal: 'resources e2e',
      pattern: 'swarm',
      tasks,
      ...more,
    });
    return sessionId;
  }

  async function session(sessionId: string): Promise<SessionJson | undefined> {
    const res = await stack.call(stack.adminKey, 'GET', `/api/orchestration/sessions/${sessionId}`);
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return json<SessionJson>(res);
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = await probe();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const finished = (sessionId: string) =>
    until(`session ${sessionId} to end`, async () => {
      const s = await session(sessionId);
      return s && s.status !== 'running' ? s : undefined;
    });

  const log = (sessionId: string): Promise<RecordedEvent[]> => store.readStream(`workflow-${sessionId}`);

  interface Run {
    readonly key: string;
    readonly attempt: number;
    readonly start: number;
    readonly end: number;
    readonly ending: string;
  }

  /** Each attempt from its assignment to its end, by the times the log recorded. */
  function runs(events: RecordedEvent[], keys: Map<string, string>): Run[] {
    const open = new Map<string, { attempt: number; start: number }>();
    const out: Run[] = [];
    const ends = [
      'TaskSucceeded',
      'TaskFailed',
      'TaskTimedOut',
      'TaskAssignmentLost',
      'TaskPreempted',
      'TaskCancelled',
    ];
    for (const e of events) {
      const d = e.data as { taskId: string; attempt?: number };
      if (e.type === 'TaskAssigned')
        open.set(d.taskId, { attempt: d.attempt ?? 0, start: e.occurredAt.getTime() });
      else if (ends.includes(e.type) && open.has(d.taskId)) {
        const o = open.get(d.taskId)!;
        open.delete(d.taskId);
        out.push({ key: keys.get(d.taskId) ?? d.taskId, ...o, end: e.occurredAt.getTime(), ending: e.type });
      }
    }
    return out;
  }

  const keysOf = (s: SessionJson) => new Map(s.tasks.map((t) => [t.taskId, t.key]));

  /** The most attempts running at once. */
  function peak(rs: readonly Run[]): number {
    const edges = rs.flatMap((r) => [
      { at: r.start, d: 1 },
      { at: r.end, d: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.d - b.d);
    let now = 0;
    let max = 0;
    for (const e of edges) max = Math.max(max, (now += e.d));
    return max;
  }

  it('runs two tasks claiming the same exclusive path one after the other', async () => {
    const sessionId = await startSession([
      { id: 'auth', type: 'edit', capabilities: ['edit'], claims: [{ lock: 'repo:acme/api:src/auth/**' }] },
      {
        id: 'login',
        type: 'edit',
        capabilities: ['edit'],
        claims: [{ lock: 'repo:acme/api:src/auth/login.ts' }],
      },
      { id: 'docs', type: 'edit', capabilities: ['edit'], claims: [{ lock: 'repo:acme/api:docs/**' }] },
    ]);
    const done = await finished(sessionId);
    expect(done.status).toBe('completed');
    const rs = runs(await log(sessionId), keysOf(done));
    const [a, b] = ['auth', 'login'].map((k) => rs.find((r) => r.key === k)!);
    // one ended before the other was assigned: the overlapping lock never had two holders
    expect(a!.end <= b!.start || b!.end <= a!.start).toBe(true);
    // the one that came second waited for the lock, with a reason naming it
    const waited = (await log(sessionId)).find((e) => e.type === 'TaskWaiting');
    expect(waited?.data).toMatchObject({ waitingFor: 'lock' });
    expect((waited?.data as { reason: string }).reason).toContain('repo:acme/api');
  });

  it('lets a high-priority task preempt a low-priority holder, which is requeued and later completes', async () => {
    await definePool({
      id: 'gpu-e2e',
      kind: 'concurrency',
      capacity: 1,
      unit: 'gpus',
      policy: 'preempt',
      defaultAmount: 0,
    });
    const low = await startSession([
      {
        id: 'low',
        type: 'train',
        capabilities: ['train'],
        priority: 1,
        claims: [{ pool: 'gpu-e2e', amount: 1 }],
      },
    ]);
    // the low-priority task holds the gpu
    await until('the low-priority task to run', async () => {
      const s = await session(low);
      return s?.tasks.some((t) => t.status === 'assigned' || t.status === 'running') ? true : undefined;
    });
    const high = await startSession([
      {
        id: 'high',
        type: 'render',
        capabilities: ['render'],
        priority: 9,
        claims: [{ pool: 'gpu-e2e', amount: 1 }],
      },
    ]);
    const highDone = await finished(high);
    expect(highDone.status).toBe('completed');
    const lowDone = await finished(low);
    expect(lowDone.status).toBe('completed');
    const lowLog = await log(low);
    const preempted = lowLog.find((e) => e.type === 'TaskPreempted');
    expect(preempted?.data).toMatchObject({ attempt: 1, byTaskId: highDone.tasks[0]!.taskId });
    // requeued without counting as a failure: no failure events, and it succeeded on a later attempt
    expect(lowLog.some((e) => e.type === 'TaskFailed' || e.type === 'TaskRetryScheduled')).toBe(false);
    const succeeded = lowLog.find((e) => e.type === 'TaskSucceeded');
    expect((succeeded?.data as { attempt: number }).attempt).toBeGreaterThan(1);
    // the high-priority task ran while the low one was stopped
    const highRun = runs(await log(high), keysOf(highDone))[0]!;
    expect(highRun.start).toBeGreaterThanOrEqual(preempted!.occurredAt.getTime());
  });

  it("lets a session's conflict policy preempt a holder of a pool that only queues", async () => {
    await definePool({
      id: 'gpu-queue-e2e',
      kind: 'concurrency',
      capacity: 1,
      unit: 'gpus',
      policy: 'queue',
      defaultAmount: 0,
    });
    const low = await startSession([
      {
        id: 'low',
        type: 'train',
        capabilities: ['train'],
        priority: 1,
        claims: [{ pool: 'gpu-queue-e2e', amount: 1 }],
      },
    ]);
    await until('the low-priority task to run', async () => {
      const s = await session(low);
      return s?.tasks.some((t) => t.status === 'assigned' || t.status === 'running') ? true : undefined;
    });
    const high = await startSession(
      [
        {
          id: 'high',
          type: 'render',
          capabilities: ['render'],
          priority: 9,
          claims: [{ pool: 'gpu-queue-e2e', amount: 1 }],
        },
      ],
      { conflictPolicy: 'preempt' },
    );
    const highDone = await finished(high);
    expect(highDone.status).toBe('completed');
    expect((await finished(low)).status).toBe('completed');
    const preempted = (await log(low)).find((e) => e.type === 'TaskPreempted');
    expect(preempted?.data).toMatchObject({ attempt: 1, byTaskId: highDone.tasks[0]!.taskId });
  });

  it('never runs more than 3 tasks at once on a 3-slot pool', async () => {
    await definePool({ id: 'slots-e2e', kind: 'concurrency', capacity: 3, defaultAmount: 0 });
    const tasks = Array.from({ length: 10 }, (_, i) => ({
      id: `s${i}`,
      type: 'edit',
      capabilities: ['edit'],
      claims: [{ pool: 'slots-e2e', amount: 1 }],
    }));
    const sessionId = await startSession(tasks);
    const done = await finished(sessionId);
    expect(done.status).toBe('completed');
    const rs = runs(await log(sessionId), keysOf(done));
    expect(rs.filter((r) => r.ending === 'TaskSucceeded')).toHaveLength(10);
    // 12 agent slots were free: only the pool held the tasks back
    expect(peak(rs)).toBe(3);
  });

  it('spaces the tasks of a 60-requests-per-minute pool', async () => {
    await definePool({
      id: 'rate-e2e',
      kind: 'rate',
      capacity: 60,
      window: '1m',
      burst: 1,
      defaultAmount: 0,
    });
    const tasks = Array.from({ length: 4 }, (_, i) => ({
      id: `r${i}`,
      type: 'call',
      capabilities: ['call'],
      claims: [{ pool: 'rate-e2e', amount: 1 }],
    }));
    const sessionId = await startSession(tasks);
    const done = await finished(sessionId);
    expect(done.status).toBe('completed');
    const starts = runs(await log(sessionId), keysOf(done))
      .map((r) => r.start)
      .sort((a, b) => a - b);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // one request a second, allowing for the clocks of two processes and the rounding of a tick
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
  });

  /** An agent driven by the test: takes what it is given, reports when told. */
  async function manualAgent(name: string, capability: string, labels: Record<string, string> = {}) {
    const client = await AgentClient.register(stack.baseUrl, stack.adminKey, {
      name,
      provider: 'manual',
      model: 'test',
      capabilities: [capability],
      maxConcurrency: 4,
      labels,
    });
    clients.push(client);
    const beat = setInterval(() => void client.heartbeat().catch(() => undefined), 300);
    beat.unref();
    const next = async (): Promise<Assignment> =>
      until(`an assignment for ${name}`, async () => (await client.nextAssignment(500)) ?? undefined);
    return { client, next, stop: () => clearInterval(beat) };
  }

  it('holds tasks on an exhausted budget, with the reason, until the budget is raised', async () => {
    await definePool({
      id: 'budget-e2e',
      kind: 'budget',
      capacity: 1,
      unit: 'usd',
      scope: 'label:team=budget',
    });
    const agent = await manualAgent('spender', 'spend', { team: 'budget' });
    try {
      const sessionId = await startSession([
        { id: 'b1', type: 'spend', capabilities: ['spend'] },
        { id: 'b2', type: 'spend', capabilities: ['spend'], dependsOn: ['b1'] },
        { id: 'b3', type: 'spend', capabilities: ['spend'], dependsOn: ['b2'] },
      ]);
      for (let i = 0; i < 2; i++) {
        const a = await agent.next();
        await agent.client.start(a.taskId);
        await agent.client.complete(a.taskId, {}, { inputTokens: 100, outputTokens: 100, costUsd: 0.6 });
      }
      // 1.2 of 1 spent: the third task waits for the budget
      const held = await until('b3 to wait for the budget', async () => {
        const t = (await session(sessionId))?.tasks.find((x) => x.key === 'b3');
        return t?.status === 'waiting' ? t : undefined;
      });
      expect(held.waitingFor).toBe('budget');
      const pool = await call<{ spent: number }>('GET', '/api/resources/pools/budget-e2e');
      expect(pool.spent).toBeCloseTo(1.2);
      expect(await agent.client.nextAssignment(300)).toBeUndefined();

      await call('PATCH', '/api/resources/pools/budget-e2e', { capacity: 5 });
      const third = await agent.next();
      await agent.client.start(third.taskId);
      await agent.client.complete(third.taskId, {}, { inputTokens: 1, outputTokens: 1, costUsd: 0.1 });
      expect((await finished(sessionId)).status).toBe('completed');
    } finally {
      agent.stop();
    }
  });

  it('detects a deadlock between two running tasks and breaks it by preempting the victim', async () => {
    const agent = await manualAgent('locker', 'lock');
    try {
      const sessionId = await startSession([
        { id: 'orders', type: 'lock', capabilities: ['lock'], priority: 5, claims: [{ lock: 'db:orders' }] },
        {
          id: 'customers',
          type: 'lock',
          capabilities: ['lock'],
          priority: 1,
          claims: [{ lock: 'db:customers' }],
        },
      ]);
      const first = await agent.next();
      const second = await agent.next();
      const byKey = new Map([first, second].map((a) => [a.key, a]));
      const orders = byKey.get('orders')!;
      const customers = byKey.get('customers')!;
      for (const a of [orders, customers]) await agent.client.start(a.taskId);

      // each asks for the lock the other holds: hold-and-wait closes a cycle
      const wait = await stack.call(stack.adminKey, 'POST', '/api/resources/allocate', {
        taskId: orders.taskId,
        claims: [{ lock: 'db:customers' }],
      });
      expect(wait.status).toBe(202);
      await wait.body?.cancel();
      const cycle = await stack.call(stack.adminKey, 'POST', '/api/resources/allocate', {
        taskId: customers.taskId,
        claims: [{ lock: 'db:orders' }],
      });
      expect([200, 202]).toContain(cycle.status);
      await cycle.body?.cancel();

      // the victim (lower priority) is preempted; the survivor gets the lock it waited for
      const deadlock = await until('the deadlock to be recorded', async () => {
        const events = await store.readStream('resources-allocator');
        return events.find((e) => e.type === 'DeadlockDetected');
      });
      expect(deadlock.data).toMatchObject({ victim: customers.taskId });
      const granted = await until('the survivor to be granted db:customers', async () => {
        const view = await call<{ allocations: { taskId: string; locks: { lock: string }[] }[] }>(
          'GET',
          `/api/resources/allocation?taskId=${orders.taskId}`,
        );
        const held = view.allocations.find((a) => a.taskId === orders.taskId);
        return held?.locks.some((l) => l.lock === 'db:customers') ? true : undefined;
      });
      expect(granted).toBe(true);
      await until('the victim to be requeued', async () => {
        const events = await log(sessionId);
        return events.some((e) => e.type === 'TaskPreempted') ? true : undefined;
      });

      await agent.client.complete(orders.taskId, { done: true });
      const again = await agent.next();
      expect(again).toMatchObject({ key: 'customers', attempt: 2 });
      await agent.client.start(again.taskId);
      await agent.client.complete(again.taskId, { done: true });
      expect((await finished(sessionId)).status).toBe('completed');
    } finally {
      agent.stop();
    }
  });

  it('lists the conflicts contention created, resolved', async () => {
    const page = await call<{ items: { id: string; kind: string; status: string; resolution: string }[] }>(
      'GET',
      '/api/resources/conflicts?limit=100',
    );
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.some((c) => c.kind === 'lock' && c.status === 'resolved')).toBe(true);
    expect(page.items.some((c) => c.resolution === 'preempted')).toBe(true);
  });
});
