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

/**
 * Take one of the agent's slots for an attempt of a task. A repeat for an attempt the agent holds
 * takes nothing; another attempt of a task it holds takes a slot of its own (task-slots.ts).
 */
export interface AssignTask {
  readonly type: 'AssignTask';
  readonly agentId: string;
  readonly taskId: string;
  /** 1, 2...; 0 when the caller does not say: a repeat then is any attempt of the task held. */
  readonly attempt: number;
  readonly sessionId: string;
  /** Why this agent was chosen; recorded with the assignment. */
  readonly selection: SelectionData;
  readonly at: Date;
}

/**
 * Which slot of a task a release gives back: an attempt's (1, 2...), every slot of the task (0), or
 * the earliest attempt the agent holds ('earliest': for ends that do not name their attempt).
 */
export type ReleasedAttempt = number | 'earliest';

/**
 * Give back the slot held for an attempt of a task. Releases arrive at least once: a second one,
 * or one for an attempt the agent does not hold, is a no-op.
 */
export interface ReleaseTask {
  readonly type: 'ReleaseTask';
  readonly agentId: string;
  readonly taskId: string;
  readonly attempt: ReleasedAttempt;
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
