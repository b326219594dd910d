import { eventReader } from '@orch/domain-kit';

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

/** One agent a selection considered (orchestrator.v1.SelectionCandidate). */
export interface SelectionCandidateData {
  readonly agentId: string;
  readonly score: number;
  readonly reasons: readonly string[];
}

/** Why an agent was chosen (orchestrator.v1.Selection), recorded with every assignment. */
export interface SelectionData {
  /** round_robin | least_loaded | capability_match | weighted */
  readonly strategy: string;
  /** Empty when no candidate was eligible. */
  readonly agentId: string;
  /** The best candidates, best first. */
  readonly candidates: readonly SelectionCandidateData[];
  /** How many agents were eligible before ranking. */
  readonly eligible: number;
  /** Anything that changed the choice (open circuits, failover...). */
  readonly notes: readonly string[];
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

export interface AgentDraining {
  readonly type: 'AgentDraining';
  readonly data: {
    readonly agentId: string;
    readonly at: string;
  };
}

export interface AgentTaskAssigned {
  readonly type: 'AgentTaskAssigned';
  readonly data: {
    readonly agentId: string;
    readonly taskId: string;
    readonly sessionId: string;
    readonly selection: SelectionData;
    readonly assignedAt: string;
    /**
     * The attempt of the task the slot is for. Always written; absent in events recorded before
     * slots carried attempts, which read as attempt 0 (see task-slots.ts).
     */
    readonly attempt?: number;
  };
}

export interface AgentTaskReleased {
  readonly type: 'AgentTaskReleased';
  readonly data: {
    readonly agentId: string;
    readonly taskId: string;
    readonly reason: string;
    readonly releasedAt: string;
    /**
     * The attempt whose slot was given back; 0 gives back every slot of the task. Always written;
     * absent in events recorded before slots carried attempts, which read as 0 (see task-slots.ts).
     */
    readonly attempt?: number;
  };
}

export interface AgentBecameUnhealthy {
  readonly type: 'AgentBecameUnhealthy';
  readonly data: {
    readonly agentId: string;
    /** Absent when the agent was never heard from. */
    readonly lastHeartbeatAt?: string;
    /** The tasks whose slots it gave back, each once (whatever the number of their attempts held). */
    readonly releasedTaskIds: readonly string[];
    readonly at: string;
  };
}

export interface AgentRecovered {
  readonly type: 'AgentRecovered';
  readonly data: {
    readonly agentId: string;
    readonly at: string;
  };
}

export type AgentEvent =
  | AgentRegistered
  | AgentDeregistered
  | AgentDraining
  | AgentTaskAssigned
  | AgentTaskReleased
  | AgentBecameUnhealthy
  | AgentRecovered;

/** Every agent event type, for consumers that subscribe by type. */
export const agentEventTypes: readonly AgentEvent['type'][] = [
  'AgentRegistered',
  'AgentDeregistered',
  'AgentDraining',
  'AgentTaskAssigned',
  'AgentTaskReleased',
  'AgentBecameUnhealthy',
  'AgentRecovered',
];

/** A stored or published event as an AgentEvent; undefined for other types. */
export const toAgentEvent = eventReader<AgentEvent>(agentEventTypes);
