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
