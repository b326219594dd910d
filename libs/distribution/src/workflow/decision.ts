/**
 * A decision in progress and the rules every command builds on: submitting tasks and making them
 * ready, completing the workflow, ending attempts (retry or dead letter), failing the workflow.
 */
import { ConflictError, NotFoundError, ValidationError, rfc3339, type FieldProblem } from '@orch/domain-kit';
import { pinnedAgentFor, superviseSpec } from './patterns';
import { retryDelayMs } from './retry';
import { resolveSpec } from './task-specs';
import { taskIdFor } from './task-id';
import type { CompleteTask, WorkflowPolicy } from './workflow.commands';
import type { TaskOrigin, TaskRole, TaskSpecData, WorkflowEvent } from './workflow.events';
import {
  dependenciesMet,
  evolve,
  evolveWorkflow,
  isFinished,
  isHeld,
  taskById,
  taskByKey,
  tasksInOrder,
  type TaskState,
  type Workflow,
} from './workflow.state';

// ---------------------------------------------------------------- a decision in progress

/**
 * The events decided so far and the workflow as they leave it, so that a rule applied after
 * another (a success, then its dependents, then the session's completion) sees its effect.
 * Nothing is appended unless `decide` returns: a rejection half-way leaves the stream as it was.
 */
export class Decision {
  readonly events: WorkflowEvent[] = [];
  constructor(public wf: Workflow) {}

  /** A decision that begins with the workflow's submission. */
  static submitting(submitted: WorkflowEvent): Decision {
    const d = new Decision(evolve({ status: 'unsubmitted' }, submitted) as Workflow);
    d.events.push(submitted);
    return d;
  }

  emit(event: WorkflowEvent): void {
    this.events.push(event);
    this.wf = evolveWorkflow(this.wf, event);
  }

  /** The task as the decision left it. */
  task(taskId: string): TaskState {
    const t = taskById(this.wf, taskId);
    if (!t) throw new NotFoundError(`task ${taskId} is not in session ${this.wf.sessionId}`, { taskId });
    return t;
  }

  taskByKey(key: string): TaskState {
    const t = taskByKey(this.wf, key);
    if (!t) throw new NotFoundError(`task "${key}" is not in session ${this.wf.sessionId}`, { key });
    return t;
  }

  get running(): boolean {
    return this.wf.status === 'running';
  }
}

/** The task an agent reports on, which it must hold (its current attempt). */
export function heldTask(d: Decision, taskId: string, agentId: string): TaskState {
  const t = d.task(taskId);
  if (!isHeld(t) || t.agentId !== agentId)
    throw new ConflictError(`agent ${agentId} does not hold task ${taskId}`, { taskId, agentId });
  return t;
}

export function rejectIfInvalid(message: string, problems: readonly FieldProblem[]): void {
  if (problems.length > 0) throw new ValidationError(message, problems);
}

// ---------------------------------------------------------------- submitting and releasing tasks

export interface Placement {
  readonly role: TaskRole;
  readonly origin: TaskOrigin;
  readonly parent: TaskState | undefined;
  readonly round: number;
  readonly reviewOf?: string;
}

/** TaskSubmitted for each spec, then TaskReady for those whose dependencies are met. */
export function submitTasks(
  d: Decision,
  specs: readonly TaskSpecData[],
  placement: Placement,
  policy: WorkflowPolicy,
  at: Date,
): void {
  for (const spec of specs) {
    d.emit({
      type: 'TaskSubmitted',
      data: {
        sessionId: d.wf.sessionId,
        taskId: taskIdFor(d.wf.sessionId, spec.key),
        spec: resolveSpec(spec, policy),
        role: placement.role,
        reviewOf: placement.reviewOf ?? '',
        round: placement.round,
        pinnedAgentId: pinnedAgentFor(d.wf, placement.role),
        origin: placement.origin,
        parentTaskId: placement.parent?.taskId ?? '',
        submittedAt: rfc3339(at),
      },
    });
  }
  for (const spec of specs) {
    const t = taskByKey(d.wf, spec.key);
    if (t && dependenciesMet(d.wf, t)) ready(d, t, at);
  }
}

export function ready(d: Decision, t: TaskState, at: Date): void {
  d.emit({ type: 'TaskReady', data: { sessionId: d.wf.sessionId, taskId: t.taskId, readyAt: rfc3339(at) } });
}

/** Dependents of `key` still waiting for dependencies, whose dependencies are all met now. */
export function releaseDependents(d: Decision, key: string, at: Date): void {
  for (const dependent of d.wf.dependents.get(key) ?? []) {
    const t = taskByKey(d.wf, dependent);
    if (t?.status === 'pending' && dependenciesMet(d.wf, t)) ready(d, t, at);
  }
}

/**
 * After every decision: a running workflow whose tasks are all finished completes, or, in a
 * hierarchical session, goes to its supervisor for another round.
 */
export function settle(d: Decision, policy: WorkflowPolicy, at: Date): void {
  if (!d.running || d.wf.open > 0) return;
  if (d.wf.pattern !== 'hierarchical') {
    d.emit({ type: 'WorkflowCompleted', data: { sessionId: d.wf.sessionId, completedAt: rfc3339(at) } });
    return;
  }
  const round = d.wf.supervisorRound + 1;
  if (round > d.wf.maxRounds) {
    failWorkflow(d, undefined, `supervision rounds exhausted (${d.wf.maxRounds})`, at);
    return;
  }
  const spec = superviseSpec(d.wf, round);
  submitTasks(d, [spec], { role: 'supervise', origin: 'pattern', parent: undefined, round }, policy, at);
}

// ---------------------------------------------------------------- ending attempts and workflows

export type AttemptEnd =
  | { readonly kind: 'failed'; readonly error: string; readonly retryable: boolean }
  | { readonly kind: 'timed_out' }
  | { readonly kind: 'lost'; readonly reason: string };

interface Retry {
  readonly policy: WorkflowPolicy;
  readonly jitter: number;
  readonly at: Date;
}

const attemptEvent = (d: Decision, t: TaskState, end: AttemptEnd, at: string): WorkflowEvent => {
  const base = { sessionId: d.wf.sessionId, taskId: t.taskId, agentId: t.agentId, attempt: t.attempt };
  switch (end.kind) {
    case 'failed':
      return {
        type: 'TaskFailed',
        data: { ...base, error: end.error, retryable: end.retryable, failedAt: at },
      };
    case 'timed_out':
      return { type: 'TaskTimedOut', data: { ...base, timedOutAt: at } };
    case 'lost':
      return { type: 'TaskAssignmentLost', data: { ...base, reason: end.reason, at } };
  }
};

/** A failed, timed-out or lost attempt: retried after a backoff while attempts remain, else dead-lettered. */
export function endAttempt(d: Decision, held: TaskState, end: AttemptEnd, retry: Retry): void {
  d.emit(attemptEvent(d, held, end, rfc3339(retry.at)));
  const t = d.task(held.taskId);
  const retryable = end.kind !== 'failed' || end.retryable;
  if (retryable && t.failures < t.spec.maxAttempts) {
    const delayMs = retryDelayMs(t.failures, retry.policy.retryBaseMs, retry.policy.retryMaxMs, retry.jitter);
    d.emit({
      type: 'TaskRetryScheduled',
      data: {
        sessionId: d.wf.sessionId,
        taskId: t.taskId,
        nextAttempt: t.attempt + 1,
        delayMs,
        notBefore: rfc3339(new Date(retry.at.getTime() + delayMs)),
      },
    });
    return;
  }
  const reason = retryable
    ? `${t.failures} failed attempts; the last: ${t.error}`
    : `not retryable: ${t.error}`;
  deadLetter(d, t, reason, retry.at);
}

/**
 * A task that will not run again. A review's failure is its reviewed task's; a task that may not
 * fail fails the workflow; one that may lets its dependents go ahead.
 */
export function deadLetter(d: Decision, t: TaskState, reason: string, at: Date): void {
  d.emit({
    type: 'TaskDeadLettered',
    data: { sessionId: d.wf.sessionId, taskId: t.taskId, attempts: t.attempt, reason, at: rfc3339(at) },
  });
  const reviewed = t.role === 'review' ? taskByKey(d.wf, t.reviewOf) : undefined;
  if (reviewed && !isFinished(reviewed)) deadLetter(d, reviewed, `its review failed: ${reason}`, at);
  else if (!t.spec.allowFailure) failWorkflow(d, t, `task "${t.key}" was dead-lettered: ${reason}`, at);
  else releaseDependents(d, t.key, at);
}

/** TaskCancelled for every unfinished task, naming the agent that held it. */
export function cancelUnfinished(d: Decision, tasks: readonly TaskState[], reason: string, at: Date): void {
  for (const t of tasks) {
    if (isFinished(t)) continue;
    d.emit({
      type: 'TaskCancelled',
      data: {
        sessionId: d.wf.sessionId,
        taskId: t.taskId,
        agentId: isHeld(t) ? t.agentId : '',
        reason,
        at: rfc3339(at),
      },
    });
  }
}

export function failWorkflow(d: Decision, cause: TaskState | undefined, reason: string, at: Date): void {
  cancelUnfinished(d, tasksInOrder(d.wf), 'the session failed', at);
  d.emit({
    type: 'WorkflowFailed',
    data: { sessionId: d.wf.sessionId, taskId: cause?.taskId ?? '', reason, failedAt: rfc3339(at) },
  });
}

/**
 * TaskSucceeded for the holder's attempt; its dependents go ahead unless it waits for a review
 * (pair), whose approval lets them go.
 */
export function succeed(d: Decision, t: TaskState, c: CompleteTask): void {
  d.emit({
    type: 'TaskSucceeded',
    data: {
      sessionId: d.wf.sessionId,
      taskId: t.taskId,
      agentId: t.agentId,
      attempt: t.attempt,
      output: c.output,
      usage: c.usage,
      completedAt: rfc3339(c.at),
    },
  });
  if (d.task(t.taskId).status === 'succeeded') releaseDependents(d, t.key, c.at);
}
