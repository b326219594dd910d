import { assertNever } from '@orch/domain-kit';
import { agentEventTypes, type AgentEvent, type CapabilityData, type CostData } from './agent.events';
import { statusOf, type AgentHealth, type AgentStatus } from './agent.status';
import { withSlot, withoutSlot, type TaskSlot } from './task-slots';

/** The agent as the read model shows it (API.md `GET /api/agents/{id}`). */
export interface AgentDocument {
  readonly id: string;
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly status: AgentStatus;
  /** Slots taken: the number of `slots`. */
  readonly activeTasks: number;
  /** The attempts of tasks it holds, in the order it took them; one slot each (task-slots.ts). */
  readonly slots: readonly TaskSlot[];
  readonly health: AgentHealth;
  readonly draining: boolean;
  readonly capabilities: readonly CapabilityData[];
  /** The read model does not follow outcomes; the live value comes from the fleet index. */
  readonly circuit: 'closed' | 'open' | 'half_open';
  readonly maxConcurrency: number;
  readonly cost: CostData;
  readonly labels: Readonly<Record<string, string>>;
  readonly agentType: string;
  readonly registeredAt: string;
  /** Stream version of the last event applied. */
  readonly version: number;
}

/** Event types the agent projection handles: all of them. */
export const agentProjectionEvents: readonly AgentEvent['type'][] = agentEventTypes;

/** The document with some facts changed and its status derived again. */
function withFacts(
  doc: AgentDocument,
  version: number,
  facts: Partial<Pick<AgentDocument, 'slots' | 'health' | 'draining'>> & { offline?: boolean },
): AgentDocument {
  const { offline, ...changed } = facts;
  const next = { ...doc, ...changed, version };
  return {
    ...next,
    activeTasks: next.slots.length,
    status: statusOf({
      offline: offline ?? doc.status === 'offline',
      health: next.health,
      draining: next.draining,
      activeTasks: next.slots.length,
    }),
  };
}

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
  if (event.type === 'AgentRegistered') {
    const d = event.data;
    return {
      id: d.agentId,
      name: d.name,
      provider: d.provider,
      model: d.model,
      status: 'idle',
      activeTasks: 0,
      slots: [],
      health: 'healthy',
      draining: false,
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
  if (!doc) return null;
  switch (event.type) {
    case 'AgentDeregistered':
      return withFacts(doc, version, { offline: true, slots: [] });
    case 'AgentDraining':
      return withFacts(doc, version, { draining: true });
    case 'AgentTaskAssigned': {
      const { taskId, attempt = 0 } = event.data;
      return withFacts(doc, version, { slots: withSlot(doc.slots, taskId, attempt) });
    }
    case 'AgentTaskReleased': {
      const { taskId, attempt = 0 } = event.data;
      return withFacts(doc, version, { slots: withoutSlot(doc.slots, taskId, attempt) });
    }
    case 'AgentBecameUnhealthy':
      return withFacts(doc, version, { health: 'unhealthy', slots: [] });
    case 'AgentRecovered':
      return withFacts(doc, version, { health: 'healthy' });
    default:
      return assertNever(event, 'agent event');
  }
}
