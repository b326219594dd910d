import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { AgentViewSchema, type AgentView, type RegisterAgent as RegisterAgentMessage } from '@orch/contracts';
import { agentEventTypes, type AgentDocument, type AgentEvent, type RegisterAgent } from '@orch/coordination';

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

export const toAgentView = (doc: AgentDocument): AgentView =>
  create(AgentViewSchema, {
    id: doc.id,
    name: doc.name,
    provider: doc.provider,
    model: doc.model,
    status: doc.status,
    activeTasks: doc.activeTasks,
    capabilities: doc.capabilities.map((c) => ({ name: c.name, level: c.level })),
    circuit: doc.circuit,
    maxConcurrency: doc.maxConcurrency,
    cost: {
      per1kInputTokensUsd: doc.cost.per1kInputTokensUsd,
      per1kOutputTokensUsd: doc.cost.per1kOutputTokensUsd,
    },
    labels: { ...doc.labels },
    agentType: doc.agentType,
    registeredAt: timestampFromDate(new Date(doc.registeredAt)),
    version: BigInt(doc.version),
  });

/** A stored or published event as the domain's AgentEvent; undefined for other types. */
export function toAgentEvent(type: string, data: unknown): AgentEvent | undefined {
  return (agentEventTypes as readonly string[]).includes(type) ? ({ type, data } as AgentEvent) : undefined;
}
