import { fold } from '@orch/domain-kit';
import { taskSpec, type TaskSpecData } from '@orch/distribution';
import { agentDecider, type AgentState } from '../agents/agent.decider';
import type { CapabilityData } from '../agents/agent.events';
import { FleetIndex } from '../selection/fleet-index';

/** A task needing code, with every other field at its default but those given (test data). */
export const task = (key: string, fields: Partial<TaskSpecData> = {}): TaskSpecData =>
  taskSpec({ key, type: 'work', capabilities: ['code'], ...fields });

/** An index holding registered agents with these capabilities, some unhealthy (test data). */
export function fleetOf(
  agents: Record<string, Record<string, number>>,
  unhealthy: readonly string[] = [],
): FleetIndex {
  const index = new FleetIndex();
  for (const [agentId, caps] of Object.entries(agents)) {
    const capabilities: CapabilityData[] = Object.entries(caps).map(([name, level]) => ({ name, level }));
    const state: AgentState = fold(agentDecider, [
      {
        type: 'AgentRegistered',
        data: {
          agentId,
          name: agentId,
          provider: 'p',
          model: 'm',
          capabilities,
          maxConcurrency: 2,
          cost: { per1kInputTokensUsd: 0, per1kOutputTokensUsd: 0 },
          labels: {},
          agentType: 'generic',
          registeredAt: '2026-11-21T10:00:00Z',
        },
      },
      ...(unhealthy.includes(agentId)
        ? [
            {
              type: 'AgentBecameUnhealthy' as const,
              data: { agentId, releasedTaskIds: [], at: '2026-11-21T10:00:00Z' },
            },
          ]
        : []),
    ]);
    index.upsert(state, 1, new Date('2026-11-21T10:00:00Z'));
  }
  return index;
}
