/**
 * Agent events. `data` is exactly the protobuf JSON mapping of the proto message of the same name
 * (proto/orchestrator/coordination/v1/agents.proto), which is what the event store keeps; a test
 * checks the two stay in step.
 */
export interface CapabilityData {
  readonly name: string;
  /** Proficiency between 0 and 1. */
  readonly level: number;
}

export interface CostData {
  readonly per1kInputTokensUsd: number;
  readonly per1kOutputTokensUsd: number;
}

export interface AgentRegistered {
  readonly type: 'AgentRegistered';
  readonly data: {
    readonly agentId: string;
    readonly name: string;
    readonly provider: string;
    readonly model: string;
    readonly capabilities: readonly CapabilityData[];
    readonly maxConcurrency: number;
    readonly cost: CostData;
    readonly labels: Readonly<Record<string, string>>;
    readonly agentType: string;
    /** RFC 3339 timestamp. */
    readonly registeredAt: string;
  };
}

export interface AgentDeregistered {
  readonly type: 'AgentDeregistered';
  readonly data: {
    readonly agentId: string;
    readonly reason: string;
    readonly deregisteredAt: string;
  };
}

export type AgentEvent = AgentRegistered | AgentDeregistered;

/** Every agent event type, for consumers that subscribe by type. */
export const agentEventTypes: readonly AgentEvent['type'][] = ['AgentRegistered', 'AgentDeregistered'];
