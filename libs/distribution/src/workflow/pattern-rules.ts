/**
 * The rules the pair and hierarchical patterns add when a task completes: a pair task's review and
 * its verdict, a plan or supervision that becomes tasks, completes the session or is retried.
 */
import { ValidationError, assertNever, rfc3339, type FieldProblem } from '@orch/domain-kit';
import {
  type Decision,
  cancelUnfinished,
  deadLetter,
  endAttempt,
  failWorkflow,
  ready,
  releaseDependents,
  submitTasks,
  succeed,
} from './decision';
import { reviewSpec, supervisorAnswer } from './patterns';
import { newTaskProblems } from './task-specs';
import type { CompleteTask, WorkflowPolicy } from './workflow.commands';
import type { TaskRole } from './workflow.events';
import { reviewVerdict, tasksInOrder, type TaskState } from './workflow.state';

// ---------------------------------------------------------------- pair: reviews

export function submitReview(d: Decision, work: TaskState, policy: WorkflowPolicy, at: Date): void {
  const placement = {
    role: 'review',
    origin: 'review',
    parent: work,
    round: work.round,
    reviewOf: work.key,
  } as const;
  submitTasks(d, [reviewSpec(work)], placement, policy, at);
}

/**
 * A review's verdict: approval lets the reviewed task count as succeeded (see evolve); a request
 * for changes reopens it on the driver for another round, until the rounds are used up.
 */
export function completeReview(d: Decision, review: TaskState, c: CompleteTask): void {
  const verdict = reviewVerdict(c.output);
  if (!verdict)
    throw new ValidationError(`review ${review.key} needs a verdict`, [
      { path: 'output.verdict', message: 'must be "approved" or "changes_requested"' },
    ]);
  succeed(d, review, c);
  if (verdict === 'approved') return releaseDependents(d, review.reviewOf, c.at);
  const work = d.taskByKey(review.reviewOf);
  if (work.round >= d.wf.maxRounds)
    return deadLetter(d, work, `review rounds exhausted (${d.wf.maxRounds})`, c.at);
  d.emit({
    type: 'TaskReopened',
    data: {
      sessionId: d.wf.sessionId,
      taskId: work.taskId,
      round: work.round + 1,
      comments: c.output['comments'] ?? null,
      at: rfc3339(c.at),
    },
  });
  ready(d, d.task(work.taskId), c.at);
}

// ---------------------------------------------------------------- hierarchical: plans and supervision

export function completeSupervision(d: Decision, t: TaskState, c: CompleteTask): void {
  const answer = supervisorAnswer(t.role, c.output);
  switch (answer.kind) {
    case 'done':
      succeed(d, t, c);
      // Whatever the supervisor added meanwhile is not needed any more.
      cancelUnfinished(d, tasksInOrder(d.wf), 'the supervisor completed the session', c.at);
      d.emit({ type: 'WorkflowCompleted', data: { sessionId: d.wf.sessionId, completedAt: rfc3339(c.at) } });
      return;
    case 'plan': {
      const problems = newTaskProblems(d.wf, answer.tasks, c.policy, 'output.plan.tasks');
      if (problems.length > 0) return invalidPlan(d, t, problems, c);
      succeed(d, t, c);
      if (t.role === 'supervise' && t.round >= d.wf.maxRounds)
        return failWorkflow(d, t, `supervision rounds exhausted (${d.wf.maxRounds})`, c.at);
      const placement = { role: 'work', origin: 'plan', parent: t, round: t.round } as const;
      return submitTasks(d, answer.tasks, placement, c.policy, c.at);
    }
    case 'none':
      // Tasks posted to /subtasks while it ran are a plan as good as one in the output.
      if (tasksInOrder(d.wf).some((s) => s.parentTaskId === t.taskId)) return succeed(d, t, c);
      return invalidPlan(d, t, [{ path: 'output', message: planExpectation(t.role) }], c);
    case 'invalid':
      return invalidPlan(d, t, answer.problems, c);
    default:
      return assertNever(answer, 'supervisor answer');
  }
}

const planExpectation = (role: TaskRole): string =>
  role === 'supervise' ? 'must say done: true or hold plan.tasks' : 'must hold plan.tasks';

/** An output that is not a usable plan fails the attempt (retryable) with the reason. */
function invalidPlan(d: Decision, t: TaskState, problems: readonly FieldProblem[], c: CompleteTask): void {
  const reason = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  endAttempt(d, t, { kind: 'failed', error: `invalid plan: ${reason}`, retryable: true }, c);
}
