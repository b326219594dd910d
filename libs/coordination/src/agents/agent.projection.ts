import { assertNever } from '@orch/domain-kit';
import type { AgentEvent, CapabilityData, CostData } from './agent.events';

/** The agent as the read model shows it (API.md `GET /api/agents/{id}`). */
export interface AgentDocument {
  readonly id: string;
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly status: 'idle' | 'busy' | 'unhealthy' | 'draining' | 'offline';
  readonly activeTasks: number;
  readonly capabilities: readonly CapabilityData[];
  readonly circuit: 'closed' | 'open' | 'half_open';
  readonly maxConcurrency: number;
  readonly cost: CostData;
  readonly labels: Readonly<Record<string, string>>;
  readonly agentType: string;
  readonly registeredAt: string;
  /** Stream version of the last event applied. */
  readonly version: number;
}

/** Event types the agent projection handles. */
export const agentProjectionEvents: readonly AgentEvent['type'][] = ['AgentRegistered', 'AgentDeregistered'];

/**
 * Pure projection: the document after `event` (at `version` of the agent's stream).
 * Returns the document unchanged for an event it has already seen, so redelivery is harmless.
 */
export function projectAgent(
  doc: AgentDocument | null,
  event: AgentEvent,
  version: number,
): AgentDocument | null {
  if (doc && version <= doc.version) return doc;
  switch (event.type) {
    case 'AgentRegistered': {
      const d = event.data;
      return {
        id: d.agentId,
        name: d.name,
        provider: d.provider,
        model: d.model,
        status: 'idle',
        activeTasks: 0,
        capabilities: d.capabilities,
        circuit: 'closed',
        maxConcurrency: d.maxConcurrency,
        cost: d.cost,
        labels: d.labels,
        agentType: d.agentType,
        registeredAt: d.registeredAt,
        version,
      };
    }
    case 'AgentDeregistered':
      return doc ? { ...doc, status: 'offline', version } : null;
    default:
      return assertNever(event, 'agent event');
  }
}
