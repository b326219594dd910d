import { assertNever } from '@orch/domain-kit';
import { PersistentMap } from './persistent-map';
import type {
  ClaimWait,
  JsonObject,
  JsonValue,
  SelectionData,
  TaskUsageData,
  TaskSubmitted,
  WorkflowEvent,
  WorkflowSubmitted,
} from './workflow.events';

// ---------------------------------------------------------------- state

/**
 * pending: dependencies open (or just reopened / handed off); ready: can be assigned;
 * assigned / running: an agent holds the current attempt; failed / timed_out: the last attempt
 * ended and a retry is scheduled; preempted: the attempt was stopped for another claim (ready again
 * in the same decision); waiting: for a review (done, not yet approved) or for its claims (pools,
 * locks, budget: not yet run); succeeded / cancelled / dead_lettered: finished.
 */
export type TaskStatus =
  | 'pending'
  | 'ready'
  | 'assigned'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'timed_out'
  | 'dead_lettered'
  | 'preempted'
  | 'waiting';

/** A task: what TaskSubmitted recorded (its spec may change since), and where it stands. */
export interface TaskState extends Readonly<Omit<TaskSubmitted['data'], 'sessionId'>> {
  readonly key: string;
  /** Position in submission order: the order a person reads the tasks in. */
  readonly seq: number;
  readonly status: TaskStatus;
  /** 'review' while a pair task waits for its review; what its claims wait for otherwise. */
  readonly waitingFor: '' | 'review' | ClaimWait;
  /** Why it waits for its claims (which pool, lock or budget, held by whom); empty otherwise. */
  readonly waitReason: string;
  /** The conflict its contention was recorded as, when it waits for claims. */
  readonly conflictId: string;
  /** The agent holding (or that last held) the task; empty when ready. */
  readonly agentId: string;
  /** Assignments so far; the current attempt's number while assigned or running. */
  readonly attempt: number;
  /** Attempts that failed, timed out or were lost. */
  readonly failures: number;
  /** RFC 3339: when the current (or last) attempt was assigned; empty before the first. */
  readonly assignedAt: string;
  /** RFC 3339; empty unless assigned or running. */
  readonly deadline: string;
  /** RFC 3339; when a scheduled retry may run, empty otherwise. */
  readonly notBefore: string;
  readonly readyAt: string;
  readonly output: JsonObject | undefined;
  readonly error: string;
  /** Added up over the attempts that succeeded (review rounds). */
  readonly usage: TaskUsageData;
  readonly selection: SelectionData | undefined;
  /** A reviewer's comments when the task was reopened. */
  readonly comments: JsonValue;
  readonly submittedAt: string;
  readonly updatedAt: string;
}

export type WorkflowStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** A submitted workflow: what WorkflowSubmitted recorded, its tasks and where it stands. */
export interface Workflow extends Readonly<WorkflowSubmitted['data']> {
  readonly status: WorkflowStatus;
  readonly updatedAt: string;
  /** When the workflow completed, failed or was cancelled; empty while running. */
  readonly endedAt: string;
  readonly reason: string;
  /** By task id. */
  readonly tasks: PersistentMap<TaskState>;
  /** Task id by key. */
  readonly taskIds: PersistentMap<string>;
  /** Keys of the tasks that depend on a key. */
  readonly dependents: PersistentMap<readonly string[]>;
  /** Tasks not finished (neither succeeded, cancelled nor dead-lettered). */
  readonly open: number;
  /** Supervision rounds submitted so far (hierarchical). */
  readonly supervisorRound: number;
}

export type WorkflowState = { readonly status: 'unsubmitted' } | Workflow;

/** Stream that holds one session's workflow. */
export const workflowStreamId = (sessionId: string): string => `workflow-${sessionId}`;

const FINISHED: ReadonlySet<TaskStatus> = new Set(['succeeded', 'cancelled', 'dead_lettered']);

export const isFinished = (t: TaskState): boolean => FINISHED.has(t.status);

/** An agent holds the task's current attempt. */
export const isHeld = (t: TaskState): boolean => t.status === 'assigned' || t.status === 'running';

/** The task waits for its claims to be granted (not for a review). */
export const awaitsClaims = (t: TaskState): boolean =>
  t.status === 'waiting' && t.waitingFor !== '' && t.waitingFor !== 'review';

export const ZERO_USAGE: TaskUsageData = { inputTokens: '0', outputTokens: '0', costUsd: 0 };

export const addUsage = (a: TaskUsageData, b: TaskUsageData): TaskUsageData => ({
  inputTokens: (BigInt(a.inputTokens) + BigInt(b.inputTokens)).toString(),
  outputTokens: (BigInt(a.outputTokens) + BigInt(b.outputTokens)).toString(),
  costUsd: a.costUsd + b.costUsd,
});

// ---------------------------------------------------------------- queries

export const taskById = (wf: Workflow, taskId: string): TaskState | undefined => wf.tasks.get(taskId);

export function taskByKey(wf: Workflow, key: string): TaskState | undefined {
  const id = wf.taskIds.get(key);
  return id === undefined ? undefined : wf.tasks.get(id);
}

/** Every task in submission order. */
export const tasksInOrder = (wf: Workflow): TaskState[] =>
  [...wf.tasks.values()].sort((a, b) => a.seq - b.seq);

/** A dependency counts as met when it succeeded, or was dead-lettered and allowed to fail. */
export function satisfies(t: TaskState | undefined): boolean {
  return (
    t !== undefined && (t.status === 'succeeded' || (t.status === 'dead_lettered' && t.spec.allowFailure))
  );
}

export const dependenciesMet = (wf: Workflow, t: TaskState): boolean =>
  t.spec.dependsOn.every((key) => satisfies(taskByKey(wf, key)));

/** The verdict of a review task's output, when it has a valid one. */
export function reviewVerdict(output: JsonObject | undefined): 'approved' | 'changes_requested' | undefined {
  const verdict = output?.['verdict'];
  return verdict === 'approved' || verdict === 'changes_requested' ? verdict : undefined;
}

// ---------------------------------------------------------------- evolve

/** Replaces one task, keeping the count of open tasks in step with its status. */
function putTask(wf: Workflow, next: TaskState, at: string): Workflow {
  const before = wf.tasks.get(next.taskId);
  const wasOpen = before !== undefined && !isFinished(before);
  const isOpen = !isFinished(next);
  const open = wf.open + (isOpen ? 1 : 0) - (wasOpen ? 1 : 0);
  return { ...wf, tasks: wf.tasks.set(next.taskId, { ...next, updatedAt: at }), open, updatedAt: at };
}

function updateTask(
  wf: Workflow,
  taskId: string,
  at: string,
  change: (t: TaskState) => Partial<TaskState>,
): Workflow {
  const t = wf.tasks.get(taskId);
  return t ? putTask(wf, { ...t, ...change(t) }, at) : wf;
}

function linkDependencies(
  dependents: PersistentMap<readonly string[]>,
  key: string,
  dependsOn: readonly string[],
  link: boolean,
): PersistentMap<readonly string[]> {
  let next = dependents;
  for (const dep of dependsOn) {
    const current = next.get(dep) ?? [];
    next = next.set(dep, link ? [...current, key] : current.filter((k) => k !== key));
  }
  return next;
}

function submitted(wf: Workflow, e: Extract<WorkflowEvent, { type: 'TaskSubmitted' }>): Workflow {
  const d = e.data;
  const { sessionId: _, ...submitted } = d;
  const task: TaskState = {
    ...submitted,
    key: d.spec.key,
    seq: wf.tasks.size,
    status: 'pending',
    waitingFor: '',
    waitReason: '',
    conflictId: '',
    agentId: '',
    attempt: 0,
    failures: 0,
    assignedAt: '',
    deadline: '',
    notBefore: '',
    readyAt: '',
    output: undefined,
    error: '',
    usage: ZERO_USAGE,
    selection: undefined,
    comments: null,
    updatedAt: d.submittedAt,
  };
  const next: Workflow = {
    ...wf,
    taskIds: wf.taskIds.set(d.spec.key, d.taskId),
    dependents: linkDependencies(wf.dependents, d.spec.key, d.spec.dependsOn, true),
    supervisorRound: d.role === 'supervise' ? Math.max(wf.supervisorRound, d.round) : wf.supervisorRound,
  };
  return putTask(next, task, d.submittedAt);
}

function succeeded(wf: Workflow, e: Extract<WorkflowEvent, { type: 'TaskSucceeded' }>): Workflow {
  const { taskId, output, usage, completedAt: at } = e.data;
  const task = wf.tasks.get(taskId);
  if (!task) return wf;
  const awaitsReview = wf.pattern === 'pair' && task.role === 'work';
  const next = updateTask(wf, taskId, at, (t) => ({
    status: awaitsReview ? 'waiting' : 'succeeded',
    waitingFor: awaitsReview ? 'review' : '',
    output,
    usage: addUsage(t.usage, usage),
    deadline: '',
    error: '',
  }));
  // An approving review is what lets the reviewed task count as succeeded for its dependents.
  const reviewed = task.role === 'review' ? taskByKey(next, task.reviewOf) : undefined;
  return reviewed?.status === 'waiting' &&
    reviewed.waitingFor === 'review' &&
    reviewVerdict(output) === 'approved'
    ? updateTask(next, reviewed.taskId, at, () => ({ status: 'succeeded', waitingFor: '' }))
    : next;
}

/** An attempt that failed, timed out or was lost: one more failure, no holder any more. */
function attemptEnded(
  wf: Workflow,
  taskId: string,
  at: string,
  status: 'failed' | 'timed_out',
  error: string,
): Workflow {
  return updateTask(wf, taskId, at, (t) => ({ status, failures: t.failures + 1, error, deadline: '' }));
}

function specReplaced(wf: Workflow, e: Extract<WorkflowEvent, { type: 'TaskSpecReplaced' }>): Workflow {
  const { taskId, spec, at } = e.data;
  const task = wf.tasks.get(taskId);
  if (!task) return wf;
  const unlinked = linkDependencies(wf.dependents, task.key, task.spec.dependsOn, false);
  const next = { ...wf, dependents: linkDependencies(unlinked, task.key, spec.dependsOn, true) };
  const replaced = { ...task, spec };
  const status = task.status === 'ready' && !dependenciesMet(next, replaced) ? 'pending' : task.status;
  return putTask(next, { ...replaced, status }, at);
}

function ended(wf: Workflow, status: WorkflowStatus, at: string, reason: string): Workflow {
  return { ...wf, status, endedAt: at, reason, updatedAt: at };
}

/** Folds one event into a submitted workflow. */
export function evolveWorkflow(wf: Workflow, event: WorkflowEvent): Workflow {
  switch (event.type) {
    case 'WorkflowSubmitted':
      return wf;
    case 'TaskSubmitted':
      return submitted(wf, event);
    case 'TaskReady':
      return updateTask(wf, event.data.taskId, event.data.readyAt, () => ({
        status: 'ready',
        readyAt: event.data.readyAt,
        notBefore: '',
        agentId: '',
        waitingFor: '',
        waitReason: '',
        conflictId: '',
      }));
    case 'TaskAssigned': {
      const d = event.data;
      return updateTask(wf, d.taskId, d.assignedAt, () => ({
        status: 'assigned',
        agentId: d.agentId,
        attempt: d.attempt,
        assignedAt: d.assignedAt,
        deadline: d.deadline,
        selection: d.selection,
      }));
    }
    case 'TaskStarted':
      return updateTask(wf, event.data.taskId, event.data.startedAt, () => ({ status: 'running' }));
    case 'TaskProgressed':
      return updateTask(wf, event.data.taskId, event.data.at, () => ({}));
    case 'TaskSucceeded':
      return succeeded(wf, event);
    case 'TaskFailed':
      return attemptEnded(wf, event.data.taskId, event.data.failedAt, 'failed', event.data.error);
    case 'TaskTimedOut': {
      const { taskId, timedOutAt, attempt } = event.data;
      return attemptEnded(wf, taskId, timedOutAt, 'timed_out', `attempt ${attempt} timed out`);
    }
    case 'TaskAssignmentLost':
      return attemptEnded(wf, event.data.taskId, event.data.at, 'failed', event.data.reason);
    case 'TaskRetryScheduled':
      return updateTask(wf, event.data.taskId, wf.updatedAt, () => ({ notBefore: event.data.notBefore }));
    case 'TaskDeadLettered':
    case 'TaskCancelled':
      return updateTask(wf, event.data.taskId, event.data.at, () => ({
        status: event.type === 'TaskCancelled' ? 'cancelled' : 'dead_lettered',
        waitingFor: '',
        waitReason: '',
        conflictId: '',
        error: event.data.reason,
        deadline: '',
        notBefore: '',
      }));
    case 'TaskWaiting': {
      const d = event.data;
      return updateTask(wf, d.taskId, d.at, () => ({
        status: 'waiting',
        waitingFor: d.waitingFor,
        waitReason: d.reason,
        conflictId: d.conflictId,
        notBefore: d.retryAt,
      }));
    }
    case 'TaskResumed':
      return updateTask(wf, event.data.taskId, event.data.at, () => ({ waitReason: '', conflictId: '' }));
    case 'TaskPreempted': {
      const d = event.data;
      return updateTask(wf, d.taskId, d.at, (t) =>
        isHeld(t) ? { status: 'preempted', agentId: '', deadline: '', error: d.reason } : {},
      );
    }
    case 'TaskHandedOff': {
      const d = event.data;
      return updateTask(wf, d.taskId, d.at, (t) => ({
        status: 'pending',
        agentId: '',
        deadline: '',
        pinnedAgentId: d.toAgentId,
        spec: d.toCapabilities.length > 0 ? { ...t.spec, capabilities: d.toCapabilities } : t.spec,
      }));
    }
    case 'TaskReopened':
      return updateTask(wf, event.data.taskId, event.data.at, () => ({
        status: 'pending',
        waitingFor: '',
        round: event.data.round,
        comments: event.data.comments,
      }));
    case 'TaskSpecReplaced':
      return specReplaced(wf, event);
    case 'WorkflowCompleted':
      return ended(wf, 'completed', event.data.completedAt, '');
    case 'WorkflowFailed':
      return ended(wf, 'failed', event.data.failedAt, event.data.reason);
    case 'WorkflowCancelled':
      return ended(wf, 'cancelled', event.data.cancelledAt, event.data.reason);
    default:
      return assertNever(event, 'workflow event');
  }
}

export function evolve(state: WorkflowState, event: WorkflowEvent): WorkflowState {
  if (event.type === 'WorkflowSubmitted') {
    if (state.status !== 'unsubmitted') return state;
    return {
      ...event.data,
      // Stored before the field existed: no override.
      conflictPolicy: (event.data.conflictPolicy as string | undefined) ?? '',
      status: 'running',
      updatedAt: event.data.submittedAt,
      endedAt: '',
      reason: '',
      tasks: PersistentMap.empty(),
      taskIds: PersistentMap.empty(),
      dependents: PersistentMap.empty(),
      open: 0,
      supervisorRound: 0,
    };
  }
  return state.status === 'unsubmitted' ? state : evolveWorkflow(state, event);
}
