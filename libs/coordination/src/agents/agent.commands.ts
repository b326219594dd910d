import type { CapabilityData, CostData } from './agent.events';

/** Register a new agent. The caller chooses `agentId`, so a retried command is idempotent. */
export interface RegisterAgent {
  readonly type: 'RegisterAgent';
  readonly agentId: string;
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly capabilities: readonly CapabilityData[];
  readonly maxConcurrency: number;
  readonly cost: CostData;
  readonly labels: Readonly<Record<string, string>>;
  /** One of the catalogue's agent types, or 'generic'. */
  readonly agentType: string;
  /** When the command was accepted; the decider has no clock of its own. */
  readonly at: Date;
}

/** Remove an agent from the fleet. */
export interface DeregisterAgent {
  readonly type: 'DeregisterAgent';
  readonly agentId: string;
  readonly reason: string;
  readonly at: Date;
}

export type AgentCommand = RegisterAgent | DeregisterAgent;
