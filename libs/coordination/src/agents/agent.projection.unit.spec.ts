import type { AgentEvent } from './agent.events';
import { projectAgent } from './agent.projection';

const registered: AgentEvent = {
  type: 'AgentRegistered',
  data: {
    agentId: 'a1',
    name: 'n',
    provider: 'p',
    model: 'm',
    capabilities: [{ name: 'code', level: 1 }],
    maxConcurrency: 2,
    cost: { per1kInputTokensUsd: 0, per1kOutputTokensUsd: 0 },
    labels: {},
    agentType: 'generic',
    registeredAt: '2026-11-21T10:00:00.000Z',
  },
};
const deregistered: AgentEvent = {
  type: 'AgentDeregistered',
  data: { agentId: 'a1', reason: 'r', deregisteredAt: '2026-11-21T11:00:00.000Z' },
};

describe('the agent projection', () => {
  it('shows a registered agent as idle with a closed circuit', () => {
    const doc = projectAgent(null, registered, 1);
    expect(doc).toMatchObject({ id: 'a1', status: 'idle', activeTasks: 0, circuit: 'closed', version: 1 });
  });

  it('shows a deregistered agent as offline', () => {
    const doc = projectAgent(projectAgent(null, registered, 1), deregistered, 2);
    expect(doc).toMatchObject({ status: 'offline', version: 2 });
  });

  it('ignores an event it has already applied', () => {
    const offline = projectAgent(projectAgent(null, registered, 1), deregistered, 2);
    expect(projectAgent(offline, registered, 1)).toBe(offline);
  });

  it('ignores a deregistration of an agent it never saw', () => {
    expect(projectAgent(null, deregistered, 2)).toBeNull();
  });
});

describe('the agent projection of slots and health', () => {
  const selection = { strategy: 'weighted', agentId: 'a1', candidates: [], eligible: 1, notes: [] };
  const assigned = (taskId: string, attempt = 1): AgentEvent => ({
    type: 'AgentTaskAssigned',
    data: { agentId: 'a1', taskId, sessionId: 's', selection, assignedAt: '2026-11-21T10:00:00Z', attempt },
  });
  const released = (taskId: string, attempt?: number): AgentEvent => ({
    type: 'AgentTaskReleased',
    data: {
      agentId: 'a1',
      taskId,
      reason: 'done',
      releasedAt: '2026-11-21T10:01:00Z',
      ...(attempt === undefined ? {} : { attempt }),
    },
  });
  const project = (events: AgentEvent[]) =>
    events.reduce<ReturnType<typeof projectAgent>>((doc, e, i) => projectAgent(doc, e, i + 1), null);

  it('shows an agent holding tasks as busy, with the tasks in the order taken', () => {
    expect(project([registered, assigned('t1'), assigned('t2')])).toMatchObject({
      status: 'busy',
      activeTasks: 2,
      slots: [
        { taskId: 't1', attempt: 1 },
        { taskId: 't2', attempt: 1 },
      ],
    });
  });

  it('shows the agent idle again once its tasks are released', () => {
    expect(project([registered, assigned('t1'), released('t1', 1)])).toMatchObject({
      status: 'idle',
      activeTasks: 0,
      slots: [],
    });
  });

  it("keeps a retry's slot when the late release of the attempt that ended arrives", () => {
    expect(project([registered, assigned('t1', 1), assigned('t1', 2), released('t1', 1)])).toMatchObject({
      status: 'busy',
      activeTasks: 1,
      slots: [{ taskId: 't1', attempt: 2 }],
    });
  });

  it('gives back every slot of a task on a release recorded without an attempt', () => {
    expect(project([registered, assigned('t1', 1), assigned('t1', 2), released('t1')])).toMatchObject({
      status: 'idle',
      slots: [],
    });
  });

  it('shows draining, then unhealthy (slots released), then draining again after recovery', () => {
    const draining: AgentEvent = {
      type: 'AgentDraining',
      data: { agentId: 'a1', at: '2026-11-21T10:00:00Z' },
    };
    const unhealthy: AgentEvent = {
      type: 'AgentBecameUnhealthy',
      data: { agentId: 'a1', releasedTaskIds: ['t1'], at: '2026-11-21T10:00:00Z' },
    };
    const recovered: AgentEvent = {
      type: 'AgentRecovered',
      data: { agentId: 'a1', at: '2026-11-21T10:00:00Z' },
    };
    expect(project([registered, assigned('t1'), draining])).toMatchObject({
      status: 'draining',
      activeTasks: 1,
    });
    expect(project([registered, assigned('t1'), draining, unhealthy])).toMatchObject({
      status: 'unhealthy',
      slots: [],
    });
    expect(project([registered, assigned('t1'), draining, unhealthy, recovered])).toMatchObject({
      status: 'draining',
      health: 'healthy',
    });
  });

  it('shows a deregistered agent holding nothing', () => {
    expect(project([registered, assigned('t1'), deregistered])).toMatchObject({
      status: 'offline',
      slots: [],
    });
  });
});
