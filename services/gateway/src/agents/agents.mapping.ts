import { create } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { RegisterAgentSchema, type AgentPage, type AgentView, type RegisterAgent } from '@orch/contracts';
import type { AgentPageResponse, AgentResponse, RegisterAgentBody } from './agents.schemas';

/** The RegisterAgent command for a validated request body. */
export function toRegisterAgent(agentId: string, body: RegisterAgentBody): RegisterAgent {
  return create(RegisterAgentSchema, {
    agentId,
    name: body.name,
    provider: body.provider,
    model: body.model,
    capabilities: body.capabilities.map((c) => (typeof c === 'string' ? { name: c, level: 1 } : c)),
    maxConcurrency: body.maxConcurrency,
    cost: {
      per1kInputTokensUsd: body.costPer1kInputTokens ?? 0,
      per1kOutputTokensUsd: body.costPer1kOutputTokens ?? 0,
    },
    labels: body.labels ?? {},
    agentType: body.type ?? '',
  });
}

/** An agent as the public API shows it (API.md field names). */
export function toAgentResponse(view: AgentView): AgentResponse {
  return {
    id: view.id,
    name: view.name,
    provider: view.provider,
    model: view.model,
    status: view.status as AgentResponse['status'],
    activeTasks: view.activeTasks,
    capabilities: view.capabilities.map((c) => ({ name: c.name, level: c.level })),
    circuit: view.circuit as AgentResponse['circuit'],
    maxConcurrency: view.maxConcurrency,
    costPer1kInputTokens: view.cost?.per1kInputTokensUsd ?? 0,
    costPer1kOutputTokens: view.cost?.per1kOutputTokensUsd ?? 0,
    labels: { ...view.labels },
    type: view.agentType,
    registeredAt: view.registeredAt ? timestampDate(view.registeredAt).toISOString() : null,
  };
}

export function toAgentPageResponse(page: AgentPage): AgentPageResponse {
  return {
    items: page.items.map(toAgentResponse),
    nextCursor: page.nextCursor === '' ? null : page.nextCursor,
  };
}
