import { eventReader } from '@orch/domain-kit';

/**
 * Workflow events, on the stream `workflow-<sessionId>`. `data` is exactly the protobuf JSON
 * mapping of the proto message of the same name (proto/orchestrator/distribution/v1/tasks.proto):
 * camelCase fields, every field present, Timestamps as RFC 3339 strings, uint64 as strings,
 * Struct as a plain object. The service checks the two stay in step.
 */

export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** orchestrator.v1.TaskSpec in the JSON mapping (a type, not an interface, so it is a JsonObject). */
export type TaskSpecData = {
  readonly key: string;
  readonly type: string;
  readonly description: string;
  readonly input: JsonObject;
  readonly capabilities: readonly string[];
  readonly dependsOn: readonly string[];
  readonly priority: number;
  /** Resolved at submission: 0 (the session default) never reaches an event. */
  readonly timeoutMs: number;
  /** Resolved at submission like `timeoutMs`. */
  readonly maxAttempts: number;
  readonly claims: readonly JsonObject[];
  readonly allowFailure: boolean;
  /** uint64 as a decimal string. */
  readonly estimatedDurationMs: string;
};

export interface SessionRolesData {
  readonly soloAgentId: string;
  readonly driverAgentId: string;
  readonly navigatorAgentId: string;
  readonly supervisorAgentId: string;
}

export interface SelectionData {
  readonly strategy: string;
  readonly agentId: string;
  readonly candidates: readonly {
    readonly agentId: string;
    readonly score: number;
    readonly reasons: readonly string[];
  }[];
  readonly eligible: number;
  readonly notes: readonly string[];
}

export interface TaskUsageData {
  /** uint64 as a decimal string. */
  readonly inputTokens: string;
  readonly outputTokens: string;
  readonly costUsd: number;
}

export type Pattern = 'solo' | 'pair' | 'hierarchical' | 'swarm';
export type TaskRole = 'work' | 'review' | 'plan' | 'supervise';
export type TaskOrigin = 'session' | 'plan' | 'spawn' | 'review' | 'adapt' | 'pattern';

type Event<T extends string, D> = { readonly type: T; readonly data: D };

export type WorkflowSubmitted = Event<
  'WorkflowSubmitted',
  {
    readonly sessionId: string;
    readonly goal: string;
    readonly pattern: Pattern;
    readonly patternReason: string;
    readonly roles: SessionRolesData;
    readonly agentIds: readonly string[];
    readonly strategy: string;
    /** Resolved: the pattern's default when the session gave 0. */
    readonly maxRounds: number;
    readonly submittedAt: string;
    /**
     * The session's contention policy for its claims (sent with every allocation); empty keeps each
     * pool's or lock namespace's. Absent in events stored before it existed: evolve reads that as ''.
     */
    readonly conflictPolicy: string;
  }
>;

export type TaskSubmitted = Event<
  'TaskSubmitted',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly spec: TaskSpecData;
    readonly role: TaskRole;
    readonly reviewOf: string;
    readonly round: number;
    readonly pinnedAgentId: string;
    readonly origin: TaskOrigin;
    readonly parentTaskId: string;
    readonly submittedAt: string;
  }
>;

export type TaskReady = Event<
  'TaskReady',
  { readonly sessionId: string; readonly taskId: string; readonly readyAt: string }
>;

export type TaskAssigned = Event<
  'TaskAssigned',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly agentId: string;
    readonly attempt: number;
    readonly deadline: string;
    readonly selection: SelectionData;
    readonly assignedAt: string;
  }
>;

export type TaskStarted = Event<
  'TaskStarted',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly agentId: string;
    readonly attempt: number;
    readonly startedAt: string;
  }
>;

export type TaskProgressed = Event<
  'TaskProgressed',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly agentId: string;
    readonly percent: number;
    readonly message: string;
    readonly at: string;
  }
>;

export type TaskSucceeded = Event<
  'TaskSucceeded',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly agentId: string;
    readonly attempt: number;
    readonly output: JsonObject;
    readonly usage: TaskUsageData;
    readonly completedAt: string;
  }
>;

export type TaskFailed = Event<
  'TaskFailed',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly agentId: string;
    readonly attempt: number;
    readonly error: string;
    readonly retryable: boolean;
    readonly failedAt: string;
  }
>;

export type TaskTimedOut = Event<
  'TaskTimedOut',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly agentId: string;
    readonly attempt: number;
    readonly timedOutAt: string;
  }
>;

export type TaskAssignmentLost = Event<
  'TaskAssignmentLost',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly agentId: string;
    readonly attempt: number;
    readonly reason: string;
    readonly at: string;
  }
>;

export type TaskRetryScheduled = Event<
  'TaskRetryScheduled',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly nextAttempt: number;
    readonly delayMs: number;
    readonly notBefore: string;
  }
>;

export type TaskDeadLettered = Event<
  'TaskDeadLettered',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly attempts: number;
    readonly reason: string;
    readonly at: string;
  }
>;

export type TaskCancelled = Event<
  'TaskCancelled',
  {
    readonly sessionId: string;
    readonly taskId: string;
    /** The agent that held it, or empty. */
    readonly agentId: string;
    readonly reason: string;
    readonly at: string;
  }
>;

/** What a task whose claims were not granted waits for. */
export type ClaimWait = 'resources' | 'lock' | 'budget';

export type TaskWaiting = Event<
  'TaskWaiting',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly waitingFor: ClaimWait;
    readonly reason: string;
    readonly conflictId: string;
    /** RFC 3339, or empty when it waits to be granted. */
    readonly retryAt: string;
    readonly at: string;
  }
>;

export type TaskResumed = Event<
  'TaskResumed',
  { readonly sessionId: string; readonly taskId: string; readonly reason: string; readonly at: string }
>;

export type TaskPreempted = Event<
  'TaskPreempted',
  {
    readonly sessionId: string;
    readonly taskId: string;
    /** Empty when the task had claims granted but no agent yet. */
    readonly agentId: string;
    readonly attempt: number;
    readonly byTaskId: string;
    readonly reason: string;
    readonly at: string;
  }
>;

export type TaskHandedOff = Event<
  'TaskHandedOff',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly fromAgentId: string;
    readonly toCapabilities: readonly string[];
    readonly toAgentId: string;
    readonly reason: string;
    readonly at: string;
  }
>;

export type TaskReopened = Event<
  'TaskReopened',
  {
    readonly sessionId: string;
    readonly taskId: string;
    readonly round: number;
    readonly comments: JsonValue;
    readonly at: string;
  }
>;

export type TaskSpecReplaced = Event<
  'TaskSpecReplaced',
  { readonly sessionId: string; readonly taskId: string; readonly spec: TaskSpecData; readonly at: string }
>;

export type WorkflowCompleted = Event<
  'WorkflowCompleted',
  { readonly sessionId: string; readonly completedAt: string }
>;

export type WorkflowFailed = Event<
  'WorkflowFailed',
  { readonly sessionId: string; readonly taskId: string; readonly reason: string; readonly failedAt: string }
>;

export type WorkflowCancelled = Event<
  'WorkflowCancelled',
  { readonly sessionId: string; readonly reason: string; readonly cancelledAt: string }
>;

export type WorkflowEvent =
  | WorkflowSubmitted
  | TaskSubmitted
  | TaskReady
  | TaskAssigned
  | TaskStarted
  | TaskProgressed
  | TaskSucceeded
  | TaskFailed
  | TaskTimedOut
  | TaskAssignmentLost
  | TaskRetryScheduled
  | TaskDeadLettered
  | TaskCancelled
  | TaskWaiting
  | TaskResumed
  | TaskPreempted
  | TaskHandedOff
  | TaskReopened
  | TaskSpecReplaced
  | WorkflowCompleted
  | WorkflowFailed
  | WorkflowCancelled;

/** Every workflow event type, for consumers that subscribe by type. */
export const workflowEventTypes: readonly WorkflowEvent['type'][] = [
  'WorkflowSubmitted',
  'TaskSubmitted',
  'TaskReady',
  'TaskAssigned',
  'TaskStarted',
  'TaskProgressed',
  'TaskSucceeded',
  'TaskFailed',
  'TaskTimedOut',
  'TaskAssignmentLost',
  'TaskRetryScheduled',
  'TaskDeadLettered',
  'TaskCancelled',
  'TaskWaiting',
  'TaskResumed',
  'TaskPreempted',
  'TaskHandedOff',
  'TaskReopened',
  'TaskSpecReplaced',
  'WorkflowCompleted',
  'WorkflowFailed',
  'WorkflowCancelled',
];

/** The events that end a workflow; exactly one is ever appended. */
export const workflowTerminalEventTypes: readonly WorkflowEvent['type'][] = [
  'WorkflowCompleted',
  'WorkflowFailed',
  'WorkflowCancelled',
];

/** A stored or published event as a WorkflowEvent; undefined for other types. */
export const toWorkflowEvent = eventReader<WorkflowEvent>(workflowEventTypes);
