import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  AssignAgentSchema,
  DeregisterAgentSchema,
  DrainAgentSchema,
  GetAgentSchema,
  HeartbeatSchema,
  ReleaseAgentSchema,
  SelectAgentSchema,
  type AgentAck,
  type AgentAssignment,
  type AgentView,
  type Selection,
} from '@orch/contracts';
import { recordedEvent } from '@orch/messaging/testing';
import { eventually } from '@orch/testing';
import { startTestCoordination, type AgentFields, type TestCoordination } from '../testing/harness';

/** An agent with a capability no other test uses, so tests cannot pick each other's agents. */
const registerAgent = (c: TestCoordination, fields: AgentFields = {}) =>
  c.registerAgent({ capabilities: [{ name: 'code', level: 0.8 }], maxConcurrency: 3, ...fields });

const assign = (
  c: TestCoordination,
  capability: string,
  fields: Partial<{ taskId: string; pinnedAgentId: string; attempt: number }> = {},
) =>
  c.request<AgentAssignment>(
    'AssignAgent',
    create(AssignAgentSchema, {
      taskId: randomUUID(),
      sessionId: randomUUID(),
      capabilities: [capability],
      attempt: 1,
      ...fields,
    }),
  );

/** A distribution event as the broker delivers it to coordination's consumers. */
const fromDistribution = (type: string, sessionId: string, data: Record<string, unknown>) =>
  recordedEvent({
    type,
    source: 'distribution',
    streamId: `workflow-${sessionId}`,
    data: { sessionId, ...data },
    metadata: { correlationId: sessionId },
  });

/** The slot events of the agent's stream, in order: `+t#1` a slot taken for attempt 1 of t, `-t#1` given back. */
const slotEvents = async (c: TestCoordination, agentId: string) =>
  (await c.store.readStream(`agent-${agentId}`))
    .filter((e) => e.type === 'AgentTaskAssigned' || e.type === 'AgentTaskReleased')
    .map((e) => {
      const d = e.data as { taskId: string; attempt: number };
      return `${e.type === 'AgentTaskAssigned' ? '+' : '-'}${d.taskId}#${d.attempt}`;
    });

const agentView = (c: TestCoordination, agentId: string) =>
  c.request<AgentView>('GetAgent', create(GetAgentSchema, { agentId }));

describe('agent slots over real NATS and PostgreSQL', () => {
  let c: TestCoordination;
  beforeAll(async () => {
    c = await startTestCoordination();
  });
  afterAll(async () => c?.close());

  it('never gives an agent more tasks than its capacity, whatever the concurrency', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, {
      capabilities: [{ name: capability, level: 1 }],
      maxConcurrency: 3,
    });
    const replies = await Promise.all(Array.from({ length: 20 }, () => assign(c, capability)));
    const assigned = replies.filter((r) => r.assigned);
    expect(assigned).toHaveLength(3);
    expect(assigned.every((r) => r.agentId === agentId)).toBe(true);
    const refused = replies.find((r) => !r.assigned);
    expect(refused?.reason).toMatch(/no healthy agent with .* has a free slot|at capacity/);
    const events = await c.store.readStream(`agent-${agentId}`);
    expect(events.filter((e) => e.type === 'AgentTaskAssigned')).toHaveLength(3);
  });

  it('records the selection with the assignment and answers a retry with the same agent', async () => {
    const capability = `cap-${randomUUID()}`;
    const best = await registerAgent(c, {
      capabilities: [{ name: capability, level: 0.9 }],
      provider: 'anthropic',
      labels: { region: 'eu' },
    });
    await registerAgent(c, { capabilities: [{ name: capability, level: 0.2 }] });
    const taskId = randomUUID();
    const first = await assign(c, capability, { taskId });
    // the provider and labels decide which scoped pools the task claims
    expect(first).toMatchObject({
      assigned: true,
      agentId: best,
      provider: 'anthropic',
      labels: { region: 'eu' },
    });
    expect(first.selection?.candidates).toHaveLength(2);
    expect(first.selection?.candidates[0]?.reasons.join()).toMatch(/capability/);
    const again = await assign(c, capability, { taskId });
    expect(again).toMatchObject({ assigned: true, agentId: best, streamVersion: first.streamVersion });
    const [, assigned] = await c.store.readStream(`agent-${best}`);
    expect(assigned?.data).toMatchObject({ taskId, selection: { agentId: best, eligible: 2 } });
  });

  it('passes over a draining agent and answers "not assigned" when none is left', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, { capabilities: [{ name: capability, level: 1 }] });
    const drained = await c.request<AgentAck>('DrainAgent', create(DrainAgentSchema, { agentId }));
    expect(drained.status).toBe('draining');
    const reply = await assign(c, capability);
    expect(reply).toMatchObject({ assigned: false, agentId: '' });
    expect(reply.selection?.eligible).toBe(0);
  });

  it('gives a slot back on ReleaseAgent, and ignores a second release', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, {
      capabilities: [{ name: capability, level: 1 }],
      maxConcurrency: 1,
    });
    const taskId = randomUUID();
    await assign(c, capability, { taskId });
    expect((await assign(c, capability)).assigned).toBe(false);
    const release = create(ReleaseAgentSchema, { agentId, taskId, attempt: 1, reason: 'not ready any more' });
    expect(await c.request<AgentAck>('ReleaseAgent', release)).toMatchObject({
      status: 'idle',
      streamVersion: 3n,
    });
    expect(await c.request<AgentAck>('ReleaseAgent', release)).toMatchObject({
      status: 'idle',
      streamVersion: 3n,
    });
    expect((await assign(c, capability)).assigned).toBe(true);
  });

  it('frees the slot when distribution reports the task succeeded', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, {
      capabilities: [{ name: capability, level: 1 }],
      maxConcurrency: 1,
    });
    const sessionId = randomUUID();
    const taskId = randomUUID();
    await assign(c, capability, { taskId });
    await c.publish(
      recordedEvent({
        type: 'TaskSucceeded',
        source: 'distribution',
        streamId: `workflow-${sessionId}`,
        data: { sessionId, taskId, agentId, attempt: 1, completedAt: new Date().toISOString() },
        metadata: { correlationId: sessionId },
      }),
    );
    const view = await eventually(
      async () => {
        const v = await agentView(c, agentId).catch(() => undefined);
        return v && v.activeTasks === 0 && v.version === 3n ? v : undefined;
      },
      { what: 'the slot released' },
    );
    expect(view).toMatchObject({ status: 'idle', activeTaskIds: [] });
    const events = await c.store.readStream(`agent-${agentId}`);
    expect(events[2]).toMatchObject({ type: 'AgentTaskReleased', data: { taskId, reason: 'TaskSucceeded' } });
  });

  it('shows held tasks, heartbeat and circuit in the agent view', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, { capabilities: [{ name: capability, level: 1 }] });
    const taskId = randomUUID();
    await assign(c, capability, { taskId });
    await c.request('Heartbeat', create(HeartbeatSchema, { agentId }));
    const view = await eventually(() => agentView(c, agentId).catch(() => undefined), {
      what: 'the agent view',
    });
    expect(view).toMatchObject({
      status: 'busy',
      activeTasks: 1,
      activeTaskIds: [taskId],
      circuit: 'closed',
    });
    expect(view.lastHeartbeatAt).toBeDefined();
  });

  it('gives back a slot taken for a task distribution then assigned to another agent', async () => {
    const capability = `cap-${randomUUID()}`;
    const stray = await registerAgent(c, { capabilities: [{ name: capability, level: 1 }] });
    const taskId = randomUUID();
    const sessionId = randomUUID();
    await assign(c, capability, { taskId, pinnedAgentId: stray });
    await c.publish(
      recordedEvent({
        type: 'TaskAssigned',
        source: 'distribution',
        streamId: `workflow-${sessionId}`,
        data: { sessionId, taskId, agentId: randomUUID(), attempt: 1 },
      }),
    );
    const released = await eventually(
      async () => (await c.store.readStream(`agent-${stray}`)).find((e) => e.type === 'AgentTaskReleased'),
      { what: 'the stray slot released' },
    );
    expect(released.data).toMatchObject({ taskId, reason: expect.stringMatching(/^task assigned to /) });
  });

  it("keeps a retry's own slot when the late release of the failed attempt arrives", async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, {
      capabilities: [{ name: capability, level: 1 }],
      maxConcurrency: 2,
    });
    const sessionId = randomUUID();
    const taskId = randomUUID();
    expect(await assign(c, capability, { taskId, attempt: 1 })).toMatchObject({ agentId, streamVersion: 2n });
    // The retry reaches coordination before the failure of attempt 1 does: a slot of its own.
    expect(await assign(c, capability, { taskId, attempt: 2 })).toMatchObject({ agentId, streamVersion: 3n });
    expect(await assign(c, capability)).toMatchObject({ assigned: false });
    await c.publish(
      fromDistribution('TaskFailed', sessionId, {
        taskId,
        agentId,
        attempt: 1,
        error: 'boom',
        retryable: true,
      }),
    );
    await eventually(async () => ((await slotEvents(c, agentId)).length === 3 ? true : undefined), {
      what: 'the release of attempt 1',
    });
    expect(await slotEvents(c, agentId)).toEqual([`+${taskId}#1`, `+${taskId}#2`, `-${taskId}#1`]);
    // Attempt 2 still holds its slot: one left, then none.
    expect(await assign(c, capability)).toMatchObject({ assigned: true, agentId });
    expect(await assign(c, capability)).toMatchObject({ assigned: false });
  });

  it('gives back the attempt handed off, not the next attempt the same agent took meanwhile', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, { capabilities: [{ name: capability, level: 1 }] });
    const sessionId = randomUUID();
    const taskId = randomUUID();
    await assign(c, capability, { taskId, attempt: 1 });
    await assign(c, capability, { taskId, attempt: 2 });
    await c.publish(fromDistribution('TaskHandedOff', sessionId, { taskId, fromAgentId: agentId }));
    await eventually(async () => ((await slotEvents(c, agentId)).length === 3 ? true : undefined), {
      what: 'the release of the hand-off',
    });
    expect(await slotEvents(c, agentId)).toEqual([`+${taskId}#1`, `+${taskId}#2`, `-${taskId}#1`]);
  });

  it("gives back earlier attempts' slots once distribution assigned a later attempt", async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, { capabilities: [{ name: capability, level: 1 }] });
    const sessionId = randomUUID();
    const taskId = randomUUID();
    await assign(c, capability, { taskId, attempt: 1 });
    await assign(c, capability, { taskId, attempt: 2 });
    await c.publish(fromDistribution('TaskAssigned', sessionId, { taskId, agentId, attempt: 2 }));
    await eventually(async () => ((await slotEvents(c, agentId)).length === 3 ? true : undefined), {
      what: 'the release of attempt 1',
    });
    expect(await slotEvents(c, agentId)).toEqual([`+${taskId}#1`, `+${taskId}#2`, `-${taskId}#1`]);
    const [released] = (await c.store.readStream(`agent-${agentId}`)).filter(
      (e) => e.type === 'AgentTaskReleased',
    );
    expect(released?.data).toMatchObject({ reason: 'attempt 2 of the task was assigned' });
  });

  it('deregisters an agent, which then takes no work', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await registerAgent(c, { capabilities: [{ name: capability, level: 1 }] });
    await assign(c, capability);
    const deregister = create(DeregisterAgentSchema, { agentId, reason: 'retired' });
    expect(await c.request<AgentAck>('DeregisterAgent', deregister)).toMatchObject({
      status: 'offline',
      streamVersion: 3n,
    });
    expect(await c.request<AgentAck>('DeregisterAgent', deregister)).toMatchObject({
      status: 'offline',
      streamVersion: 3n,
    });
    expect(await assign(c, capability)).toMatchObject({ assigned: false });
    const drain = await c
      .request('DrainAgent', create(DrainAgentSchema, { agentId }))
      .catch((e: unknown) => e);
    expect(drain).toMatchObject({ code: 'illegal_state' });
  });

  it('exposes selection, assignment and fleet metrics', async () => {
    const capability = `cap-${randomUUID()}`;
    await registerAgent(c, { capabilities: [{ name: capability, level: 1 }], maxConcurrency: 1 });
    await assign(c, capability);
    await assign(c, capability);
    const text = await (await fetch(`${c.service.ops.url}/metrics`)).text();
    expect(text).toMatch(/orch_selection_duration_seconds_count\{[^}]*strategy="weighted"[^}]*\} [1-9]/);
    expect(text).toMatch(/orch_agent_assignments_total\{[^}]*outcome="assigned"[^}]*\} [1-9]/);
    expect(text).toMatch(/orch_agent_assignments_total\{[^}]*outcome="no_agent"[^}]*\} [1-9]/);
    expect(text).toMatch(/orch_agents\{[^}]*status="busy"[^}]*\} [1-9]/);
  });

  it('opens the circuit of an agent whose attempts fail, and fails over to another provider', async () => {
    const capability = `cap-${randomUUID()}`;
    const flaky = await registerAgent(c, {
      capabilities: [{ name: capability, level: 1 }],
      provider: 'flaky',
      maxConcurrency: 10,
    });
    const steady = await registerAgent(c, {
      capabilities: [{ name: capability, level: 0.1 }],
      provider: 'steady',
    });
    const sessionId = randomUUID();
    for (let i = 0; i < 5; i++) {
      const taskId = randomUUID();
      const { agentId } = await assign(c, capability, { taskId, pinnedAgentId: flaky });
      expect(agentId).toBe(flaky);
      // Appended to the store, as distribution would: every replica learns outcomes from the global log.
      await c.store.append(`workflow-${sessionId}-${i}`, 'any', [
        {
          eventId: randomUUID(),
          type: 'TaskFailed',
          data: {
            sessionId,
            taskId,
            agentId,
            attempt: 1,
            error: 'boom',
            retryable: true,
            failedAt: new Date().toISOString(),
          },
        },
      ]);
    }
    const selection = await eventually(
      async () => {
        const s = await c.request<Selection>(
          'SelectAgent',
          create(SelectAgentSchema, { capabilities: [capability], provider: 'flaky' }),
        );
        return s.agentId === steady ? s : undefined;
      },
      { what: 'the failover' },
    );
    expect(selection.notes).toContain('provider flaky circuit open: failing over to other providers');
    const view = await agentView(c, flaky);
    expect(view.circuit).toBe('open');
  });
});

describe('a restarted coordination service', () => {
  let c: TestCoordination;
  beforeAll(async () => {
    c = await startTestCoordination();
  });
  afterAll(async () => c?.close());

  it('rebuilds the fleet index from the store before it answers', async () => {
    const capability = `cap-${randomUUID()}`;
    const full = await registerAgent(c, {
      capabilities: [{ name: capability, level: 1 }],
      maxConcurrency: 1,
    });
    const drained = await registerAgent(c, { capabilities: [{ name: capability, level: 1 }] });
    const taskId = randomUUID();
    expect(await assign(c, capability, { taskId, pinnedAgentId: full })).toMatchObject({ assigned: true });
    await c.request('DrainAgent', create(DrainAgentSchema, { agentId: drained }));

    await c.restart();

    const selection = await c.request<Selection>(
      'SelectAgent',
      create(SelectAgentSchema, { capabilities: [capability] }),
    );
    expect(selection).toMatchObject({ agentId: '', eligible: 0 });
    expect(await assign(c, capability, { taskId })).toMatchObject({
      assigned: true,
      agentId: full,
      streamVersion: 2n,
    });
    const release = create(ReleaseAgentSchema, { agentId: full, taskId, reason: 'done' });
    expect(await c.request<AgentAck>('ReleaseAgent', release)).toMatchObject({
      status: 'idle',
      streamVersion: 3n,
    });
    expect(await assign(c, capability)).toMatchObject({ assigned: true, agentId: full });
  });
});
