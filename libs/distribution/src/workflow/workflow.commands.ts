import type {
  ClaimWait,
  JsonObject,
  SelectionData,
  SessionRolesData,
  TaskSpecData,
  TaskUsageData,
} from './workflow.events';

/**
 * Defaults and limits the service chooses (from its configuration); they arrive inside commands
 * so the decider has no configuration of its own and a test can pick small values.
 */
export interface WorkflowPolicy {
  /** Timeout of a task whose spec says 0. */
  readonly defaultTimeoutMs: number;
  /** Failed attempts before a task whose spec says 0 is dead-lettered. */
  readonly defaultMaxAttempts: number;
  /** The n-th retry waits min(retryBaseMs * 2^(n-1), retryMaxMs), with equal jitter (see retry.ts). */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Most tasks one workflow may hold. */
  readonly maxTasks: number;
}

/** Accept a started session's workflow (from coordination's SessionStarted). */
export interface SubmitWorkflow {
  readonly type: 'SubmitWorkflow';
  readonly sessionId: string;
  readonly goal: string;
  /** solo | pair | hierarchical | swarm (auto was resolved by coordination). */
  readonly pattern: string;
  readonly patternReason: string;
  readonly roles: SessionRolesData;
  readonly agentIds: readonly string[];
  readonly strategy: string;
  /** 0 means the pattern's default. */
  readonly maxRounds: number;
  /** The session's contention policy for its claims; empty (or absent) keeps each pool's or lock namespace's. */
  readonly conflictPolicy?: string;
  readonly tasks: readonly TaskSpecData[];
  readonly policy: WorkflowPolicy;
  readonly at: Date;
}

/** Record that coordination gave a ready task's attempt to an agent. */
export interface MarkAssigned {
  readonly type: 'MarkAssigned';
  readonly taskId: string;
  readonly agentId: string;
  /** The attempt this assignment starts: the task's attempts so far + 1. */
  readonly attempt: number;
  readonly deadline: Date;
  readonly selection: SelectionData;
  readonly at: Date;
}

export interface StartTask {
  readonly type: 'StartTask';
  readonly taskId: string;
  readonly agentId: string;
  readonly at: Date;
}

export interface ReportTaskProgress {
  readonly type: 'ReportTaskProgress';
  readonly taskId: string;
  readonly agentId: string;
  /** -1 when unknown. */
  readonly percent: number;
  readonly message: string;
  readonly at: Date;
}

export interface CompleteTask {
  readonly type: 'CompleteTask';
  readonly taskId: string;
  readonly agentId: string;
  readonly output: JsonObject;
  readonly usage: TaskUsageData;
  readonly policy: WorkflowPolicy;
  /** In [0, 1): used when the output is an invalid plan and the attempt is retried. */
  readonly jitter: number;
  readonly at: Date;
}

export interface FailTask {
  readonly type: 'FailTask';
  readonly taskId: string;
  readonly agentId: string;
  readonly error: string;
  readonly retryable: boolean;
  readonly policy: WorkflowPolicy;
  /** In [0, 1). */
  readonly jitter: number;
  readonly at: Date;
}

/** An attempt's deadline passed (a timer of the service). */
export interface TimeOutTask {
  readonly type: 'TimeOutTask';
  readonly taskId: string;
  /** The attempt the timer was set for; a later attempt is not timed out by it. */
  readonly attempt: number;
  readonly policy: WorkflowPolicy;
  readonly jitter: number;
  readonly at: Date;
}

/** The agent became unhealthy or left (at `at`): every attempt it was given before then ends. */
export interface LoseAssignment {
  readonly type: 'LoseAssignment';
  readonly agentId: string;
  readonly reason: string;
  readonly policy: WorkflowPolicy;
  readonly jitter: number;
  readonly at: Date;
}

/** A retry's delay passed (a timer of the service). */
export interface MakeReady {
  readonly type: 'MakeReady';
  readonly taskId: string;
  readonly at: Date;
}

/** The dispatcher could not get a ready task's claims: it waits without holding an agent. */
export interface HoldTask {
  readonly type: 'HoldTask';
  readonly taskId: string;
  /** The attempt it was offered for: the task's next. */
  readonly attempt: number;
  readonly waitingFor: ClaimWait;
  readonly reason: string;
  readonly conflictId: string;
  /** When to offer it again by itself; undefined when it waits to be granted. */
  readonly retryAt: Date | undefined;
  readonly at: Date;
}

/** A waiting task's claims were granted (or its retry time came): it is ready again. */
export interface ResumeTask {
  readonly type: 'ResumeTask';
  readonly taskId: string;
  readonly reason: string;
  readonly at: Date;
}

/**
 * Stop the attempt for a claim that outranks it (preemption, wound-wait, a deadlock's victim): the
 * attempt ends without counting as a failure and the task is ready again.
 */
export interface PreemptTask {
  readonly type: 'PreemptTask';
  readonly taskId: string;
  readonly attempt: number;
  readonly byTaskId: string;
  readonly reason: string;
  readonly at: Date;
}

/** The holder passes its task to other capabilities or a named agent (swarm). */
export interface HandOffTask {
  readonly type: 'HandOffTask';
  readonly taskId: string;
  readonly agentId: string;
  readonly toCapabilities: readonly string[];
  readonly toAgentId: string;
  readonly reason: string;
  readonly at: Date;
}

/** The holder of a task adds tasks to the session (follow-ups, a plan). */
export interface SpawnSubtasks {
  readonly type: 'SpawnSubtasks';
  readonly taskId: string;
  readonly agentId: string;
  readonly tasks: readonly TaskSpecData[];
  readonly policy: WorkflowPolicy;
  readonly at: Date;
}

export interface CancelTask {
  readonly type: 'CancelTask';
  readonly taskId: string;
  readonly reason: string;
  /** Cancelling the last open tasks may start a supervision round, which submits a task. */
  readonly policy: WorkflowPolicy;
  readonly at: Date;
}

export interface CancelWorkflow {
  readonly type: 'CancelWorkflow';
  readonly reason: string;
  readonly at: Date;
}

/** Change a running DAG: add tasks, remove or replace tasks not assigned yet. */
export interface AdaptWorkflow {
  readonly type: 'AdaptWorkflow';
  readonly add: readonly TaskSpecData[];
  /** Keys. */
  readonly remove: readonly string[];
  readonly replace: readonly TaskSpecData[];
  readonly policy: WorkflowPolicy;
  readonly at: Date;
}

export type WorkflowCommand =
  | SubmitWorkflow
  | MarkAssigned
  | StartTask
  | ReportTaskProgress
  | CompleteTask
  | FailTask
  | TimeOutTask
  | LoseAssignment
  | MakeReady
  | HoldTask
  | ResumeTask
  | PreemptTask
  | HandOffTask
  | SpawnSubtasks
  | CancelTask
  | CancelWorkflow
  | AdaptWorkflow;
