import type { CapabilityData, CostData, SelectionData } from './agent.events';

/** Register a new agent. The caller chooses `agentId`, so a retried command is idempotent. */
export interface RegisterAgent {
  readonly type: 'RegisterAgent';
  readonly agentId: string;
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  /** Empty takes the catalogue's defaults for `agentType`. */
  readonly capabilities: readonly CapabilityData[];
  readonly maxConcurrency: number;
  readonly cost: CostData;
  readonly labels: Readonly<Record<string, string>>;
  /** One of the catalogue's agent types, or 'generic'. */
  readonly agentType: string;
  /** When the command was accepted; the decider has no clock of its own. */
  readonly at: Date;
}

/** Remove an agent from the fleet; the tasks it holds are lost (distribution retries them). */
export interface DeregisterAgent {
  readonly type: 'DeregisterAgent';
  readonly agentId: string;
  readonly reason: string;
  readonly at: Date;
}

/** Stop giving the agent new work; what it holds runs to its end. */
export interface DrainAgent {
  readonly type: 'DrainAgent';
  readonly agentId: string;
  readonly at: Date;
}

/** Take one of the agent's slots for a task. */
export interface AssignTask {
  readonly type: 'AssignTask';
  readonly agentId: string;
  readonly taskId: string;
  readonly sessionId: string;
  /** Why this agent was chosen; recorded with the assignment. */
  readonly selection: SelectionData;
  readonly at: Date;
}

/** Give back the slot held for a task. Releases arrive at least once: a second one is a no-op. */
export interface ReleaseTask {
  readonly type: 'ReleaseTask';
  readonly agentId: string;
  readonly taskId: string;
  readonly reason: string;
  readonly at: Date;
}

/** The agent missed its heartbeats. */
export interface MarkUnhealthy {
  readonly type: 'MarkUnhealthy';
  readonly agentId: string;
  /** The last heartbeat seen; undefined when the agent was never heard from. */
  readonly lastHeartbeatAt: Date | undefined;
  readonly at: Date;
}

/** The agent was heard from again. */
export interface Recover {
  readonly type: 'Recover';
  readonly agentId: string;
  readonly at: Date;
}

export type AgentCommand =
  RegisterAgent | DeregisterAgent | DrainAgent | AssignTask | ReleaseTask | MarkUnhealthy | Recover;
