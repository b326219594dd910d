import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { AgentViewSchema, type AgentView, type RegisterAgent as RegisterAgentMessage } from '@orch/contracts';
import {
  type AgentDocument,
  type CircuitState,
  type FleetAgent,
  type RegisterAgent,
} from '@orch/coordination';

/** The proto command as the domain's RegisterAgent, stamped with the time it was accepted. */
export const toRegisterAgent = (m: RegisterAgentMessage, at: Date): RegisterAgent => ({
  type: 'RegisterAgent',
  agentId: m.agentId,
  name: m.name,
  provider: m.provider,
  model: m.model,
  capabilities: m.capabilities.map((c) => ({ name: c.name, level: c.level })),
  maxConcurrency: m.maxConcurrency,
  cost: {
    per1kInputTokensUsd: m.cost?.per1kInputTokensUsd ?? 0,
    per1kOutputTokensUsd: m.cost?.per1kOutputTokensUsd ?? 0,
  },
  labels: { ...m.labels },
  agentType: m.agentType || 'generic',
  at,
});

/** What this replica knows now and the read model does not: heartbeats, circuits, the latest slots. */
export interface LiveAgent {
  readonly agent: FleetAgent | undefined;
  readonly circuit: CircuitState;
}

/**
 * The read model's document as the AgentView reply. The fleet index follows the store directly
 * while the read model follows the broker, so where the index is at least as recent its status and
 * slots win.
 */
export function toAgentView(doc: AgentDocument, live?: LiveAgent): AgentView {
  const fresh = live?.agent && live.agent.version >= doc.version ? live.agent : undefined;
  const slots = fresh?.slots ?? doc.slots;
  const lastHeartbeatAt = live?.agent?.lastHeartbeatAt;
  return create(AgentViewSchema, {
    id: doc.id,
    name: doc.name,
    provider: doc.provider,
    model: doc.model,
    status: fresh?.status ?? doc.status,
    activeTasks: slots.length,
    // One entry per slot, so that it counts what `activeTasks` counts.
    activeTaskIds: slots.map((s) => s.taskId),
    capabilities: doc.capabilities.map((c) => ({ name: c.name, level: c.level })),
    circuit: live?.circuit ?? doc.circuit,
    maxConcurrency: doc.maxConcurrency,
    cost: {
      per1kInputTokensUsd: doc.cost.per1kInputTokensUsd,
      per1kOutputTokensUsd: doc.cost.per1kOutputTokensUsd,
    },
    labels: { ...doc.labels },
    agentType: doc.agentType,
    registeredAt: timestampFromDate(new Date(doc.registeredAt)),
    version: BigInt(fresh?.version ?? doc.version),
    ...(lastHeartbeatAt ? { lastHeartbeatAt: timestampFromDate(lastHeartbeatAt) } : {}),
  });
}
