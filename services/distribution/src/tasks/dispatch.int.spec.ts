import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  AgentBecameUnhealthySchema,
  AgentRegisteredSchema,
  CancelTaskSchema,
  CompleteTaskSchema,
  FailTaskSchema,
  GetSessionSchema,
  GetTaskSchema,
  ListSessionsSchema,
  NextAssignmentSchema,
  SessionCancelledSchema,
  StartTaskSchema,
  type Assignment,
  type AssignmentPoll,
  type SessionPage,
  type SessionView,
  type TaskAck,
  type TaskView,
} from '@orch/contracts';
import type { RecordedEvent } from '@orch/eventstore';
import { RemoteDomainError } from '@orch/messaging';
import { eventually } from '@orch/testing';
import { TestDistribution } from '../testing/harness';

/** The task fields these tests use. */
interface Task {
  key: string;
  type: string;
  capabilities: string[];
  description?: string;
  dependsOn?: string[];
  priority?: number;
  timeoutMs?: number;
  maxAttempts?: number;
}

describe('distribution running sessions over real PostgreSQL and NATS', () => {
  let h: TestDistribution;

  // Tasks no agent could take wait for a capacity event: no periodic retry during these tests.
  beforeAll(async () => {
    h = await TestDistribution.start({ DISPATCH_RETRY_INTERVAL_MS: '60000' });
  });
  afterAll(() => h?.close());

  /** An agent of the fake coordination with one capability of its own, so tests do not share agents. */
  const agent = (id: string, capability: string) =>
    h.coordination.agents.set(id, { capabilities: [capability], healthy: true });
  const task = (key: string, capability: string, more: Partial<Task> = {}): Task => ({
    key,
    type: 'coder',
    capabilities: [capability],
    ...more,
  });

  const next = (agentId: string, waitMs = 10_000) =>
    h.request<AssignmentPoll>('NextAssignment', create(NextAssignmentSchema, { agentId, waitMs }));
  const start = (a: Assignment, agentId: string) =>
    h.request<TaskAck>('StartTask', create(StartTaskSchema, { taskId: a.taskId, agentId }));
  const complete = (taskId: string, agentId: string, output = {}) =>
    h.request<TaskAck>('CompleteTask', create(CompleteTaskSchema, { taskId, agentId, output }));
  const fail = (taskId: string, agentId: string, error: string) =>
    h.request<TaskAck>('FailTask', create(FailTaskSchema, { taskId, agentId, error, retryable: true }));
  const session = (sessionId: string) =>
    h.request<SessionView>('GetSession', create(GetSessionSchema, { sessionId }));

  /** Takes the agent's next assignment (it must come). */
  async function take(agentId: string): Promise<Assignment> {
    const poll = await next(agentId);
    if (!poll.found || !poll.assignment) throw new Error(`no assignment for ${agentId}`);
    return poll.assignment;
  }

  /** The agent takes its next assignment, starts it and completes it; returns its key. */
  async function work(agentId: string): Promise<string> {
    const a = await take(agentId);
    await start(a, agentId);
    await complete(a.taskId, agentId, { done: a.key });
    return a.key;
  }

  const until = (sessionId: string, status: string) =>
    eventually(async () => ((await session(sessionId)).status === status ? session(sessionId) : undefined), {
      what: `session ${sessionId} ${status}`,
    });

  const types = (events: RecordedEvent[]) => events.map((e) => e.type);
  const of = (events: RecordedEvent[], type: string, key?: string) =>
    events.filter(
      (e) =>
        e.type === type &&
        (key === undefined || (e.data as { taskId?: string }).taskId === keyToId(events, key)),
    );
  const keyToId = (events: RecordedEvent[], key: string) =>
    (
      events.find((e) => e.type === 'TaskSubmitted' && (e.data as { spec: { key: string } }).spec.key === key)
        ?.data as { taskId: string } | undefined
    )?.taskId;

  it('runs a started session DAG to completion as the agent takes, starts and completes its tasks', async () => {
    agent('dag-1', 'dag');
    const sessionId = await h.startSession([
      task('design', 'dag'),
      task('code', 'dag', { dependsOn: ['design'] }),
      task('tests', 'dag', { dependsOn: ['design'] }),
      task('ship', 'dag', { dependsOn: ['code', 'tests'], priority: 5 }),
    ]);
    const done = [];
    for (let i = 0; i < 4; i++) done.push(await work('dag-1'));
    expect(done[0]).toBe('design');
    expect(done.slice(1, 3).sort()).toEqual(['code', 'tests']);
    expect(done[3]).toBe('ship');

    const view = await until(sessionId, 'completed');
    expect(view.counts).toEqual({ succeeded: 4 });
    expect(view.tasks.every((t) => t.agentId === 'dag-1' && t.attempts === 1)).toBe(true);
    const events = await h.events(sessionId);
    expect(types(events).slice(0, 6)).toEqual([
      'WorkflowSubmitted',
      'TaskSubmitted',
      'TaskSubmitted',
      'TaskSubmitted',
      'TaskSubmitted',
      'TaskReady',
    ]);
    expect(types(events).at(-1)).toBe('WorkflowCompleted');
    const shipReady = events.indexOf(of(events, 'TaskReady', 'ship')[0]!);
    for (const dep of ['code', 'tests'])
      expect(events.indexOf(of(events, 'TaskSucceeded', dep)[0]!)).toBeLessThan(shipReady);
    expect(events[0]?.metadata.correlationId).toBe(sessionId);
  });

  it('serves a task and the sessions list from the same state', async () => {
    agent('view-1', 'view');
    const sessionId = await h.startSession([task('only', 'view', { description: 'look at me' })]);
    const a = await take('view-1');
    const view = await h.request<TaskView>('GetTask', create(GetTaskSchema, { taskId: a.taskId }));
    expect(view).toMatchObject({
      key: 'only',
      status: 'assigned',
      agentId: 'view-1',
      attempts: 1,
      description: 'look at me',
    });
    const page = await h.request<SessionPage>(
      'ListSessions',
      create(ListSessionsSchema, { status: 'running' }),
    );
    expect(page.items.map((s) => s.id)).toContain(sessionId);
    expect(page.items.find((s) => s.id === sessionId)?.tasks).toEqual([]);
  });

  it('retries a failing task with backoff, then dead-letters it and fails the session', async () => {
    agent('fail-1', 'fail');
    const sessionId = await h.startSession([
      task('flaky', 'fail', { maxAttempts: 3 }),
      task('after', 'fail', { dependsOn: ['flaky'] }),
    ]);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const a = await take('fail-1');
      expect([a.key, a.attempt]).toEqual(['flaky', attempt]);
      await fail(a.taskId, 'fail-1', `boom ${attempt}`);
    }
    const view = await until(sessionId, 'failed');
    expect(view.tasks.map((t) => [t.key, t.status])).toEqual([
      ['flaky', 'dead_lettered'],
      ['after', 'cancelled'],
    ]);
    const events = await h.events(sessionId);
    const delays = of(events, 'TaskRetryScheduled').map((e) => (e.data as { delayMs: number }).delayMs);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(10);
    expect(delays[0]).toBeLessThanOrEqual(20);
    expect(delays[1]).toBeGreaterThanOrEqual(20);
    expect(delays[1]).toBeLessThanOrEqual(40);
    expect(of(events, 'TaskDeadLettered')[0]?.data).toMatchObject({
      attempts: 3,
      reason: '3 failed attempts; the last: boom 3',
    });
    expect(types(events).at(-1)).toBe('WorkflowFailed');
  });

  it('times out an attempt past its deadline and gives the task another attempt', async () => {
    agent('slow-1', 'slow');
    const sessionId = await h.startSession([task('slow', 'slow', { timeoutMs: 300 })]);
    const first = await take('slow-1');
    await start(first, 'slow-1');
    const second = await take('slow-1');
    expect([second.key, second.attempt]).toEqual(['slow', 2]);
    await complete(second.taskId, 'slow-1');
    await until(sessionId, 'completed');
    const events = await h.events(sessionId);
    expect(of(events, 'TaskTimedOut')[0]?.data).toMatchObject({ agentId: 'slow-1', attempt: 1 });
    // The first attempt's holder can no longer report on it.
    await expect(complete(first.taskId, 'slow-1')).rejects.toMatchObject({ code: 'illegal_state' });
  });

  it('retries on another agent the tasks of an agent that became unhealthy', async () => {
    agent('sick-1', 'sick');
    const sessionId = await h.startSession([task('t', 'sick')]);
    const lost = await take('sick-1');
    agent('sick-2', 'sick');
    h.coordination.agents.get('sick-1')!.healthy = false;
    await h.publish(
      'AgentBecameUnhealthy',
      create(AgentBecameUnhealthySchema, { agentId: 'sick-1', at: timestampFromDate(new Date()) }),
      'agent-sick-1',
    );
    const retried = await take('sick-2');
    expect([retried.taskId, retried.attempt]).toEqual([lost.taskId, 2]);
    await complete(retried.taskId, 'sick-2');
    await until(sessionId, 'completed');
    const events = await h.events(sessionId);
    expect(of(events, 'TaskAssignmentLost')[0]?.data).toMatchObject({
      agentId: 'sick-1',
      reason: 'agent became unhealthy',
    });
  });

  it('offers a task no agent could take again when capacity appears', async () => {
    const sessionId = await h.startSession([task('late', 'late')]);
    await eventually(async () =>
      (await session(sessionId)).tasks[0]?.status === 'ready' ? true : undefined,
    );
    expect(of(await h.events(sessionId), 'TaskAssigned')).toEqual([]);
    agent('late-1', 'late');
    await h.publish('AgentRegistered', create(AgentRegisteredSchema, { agentId: 'late-1' }), 'agent-late-1');
    expect((await take('late-1')).key).toBe('late');
  });

  it('cancels a task and the tasks that depend on it; the rest of the session goes on', async () => {
    agent('cut-1', 'cut-other');
    const sessionId = await h.startSession([
      task('root', 'cut'),
      task('child', 'cut', { dependsOn: ['root'] }),
      task('grandchild', 'cut', { dependsOn: ['child'] }),
      task('other', 'cut-other'),
    ]);
    const root = await eventually(async () => (await session(sessionId)).tasks.find((t) => t.key === 'root'));
    const ack = await h.request<TaskAck>(
      'CancelTask',
      create(CancelTaskSchema, { taskId: root.taskId, reason: 'not needed' }),
    );
    expect(ack.status).toBe('cancelled');
    expect(await work('cut-1')).toBe('other');
    const view = await until(sessionId, 'completed');
    expect(Object.fromEntries(view.tasks.map((t) => [t.key, t.status]))).toEqual({
      root: 'cancelled',
      child: 'cancelled',
      grandchild: 'cancelled',
      other: 'succeeded',
    });
  });

  it('rejects a report from an agent that does not hold the task, and changes nothing', async () => {
    agent('own-1', 'own');
    const sessionId = await h.startSession([task('mine', 'own')]);
    const a = await take('own-1');
    const before = (await h.events(sessionId)).length;
    const error = await complete(a.taskId, 'someone-else').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteDomainError);
    expect(error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/does not hold task/) });
    expect((await h.events(sessionId)).length).toBe(before);
    expect((await session(sessionId)).tasks[0]).toMatchObject({ status: 'assigned', agentId: 'own-1' });
  });

  it('cancels a session cancelled by coordination, telling the holders', async () => {
    agent('stop-1', 'stop');
    const sessionId = await h.startSession([task('a', 'stop'), task('b', 'stop', { dependsOn: ['a'] })]);
    await take('stop-1');
    await h.publish(
      'SessionCancelled',
      create(SessionCancelledSchema, { sessionId, reason: 'user' }),
      `session-${sessionId}`,
    );
    const view = await until(sessionId, 'cancelled');
    expect(view.reason).toBe('user');
    const cancelled = of(await h.events(sessionId), 'TaskCancelled').map((e) => e.data);
    expect(cancelled).toEqual([
      expect.objectContaining({ agentId: 'stop-1', reason: 'user' }),
      expect.objectContaining({ agentId: '', reason: 'user' }),
    ]);
  });

  it('cancels a session whose cancellation came before its start, once the start arrives', async () => {
    const sessionId = randomUUID();
    await h.publish(
      'SessionCancelled',
      create(SessionCancelledSchema, { sessionId, reason: 'early' }),
      `session-${sessionId}`,
    );
    await h.startSession([task('never', 'early')], { sessionId });
    expect((await until(sessionId, 'cancelled')).reason).toBe('early');
  });

  it('measures the time from ready to assigned', async () => {
    const metrics = await (await fetch(`${h.services[0]!.ops.url}/metrics`)).text();
    const count = /^dispatch_ready_to_assigned_seconds_count\{[^}]*\} (\d+)/m.exec(metrics);
    expect(Number(count?.[1])).toBeGreaterThan(0);
  });

  it('exports the relay gauges of the workflow events it publishes', async () => {
    const metrics = await eventually(
      async () => {
        const body = await (await fetch(`${h.services[0]!.ops.url}/metrics`)).text();
        return /orch_relay_leader\{[^}]*relay="outbox-distribution"[^}]*\} 1/.test(body) ? body : undefined;
      },
      { what: 'the relay leader gauge' },
    );
    const published = /^orch_relay_published_events\{[^}]*relay="outbox-distribution"[^}]*\} (\d+)/m.exec(
      metrics,
    );
    expect(Number(published?.[1])).toBeGreaterThan(0);
  });
});
