import {
  ConflictError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  assertNever,
  rfc3339,
  type Decider,
  type FieldProblem,
} from '@orch/domain-kit';
import {
  Decision,
  cancelUnfinished,
  endAttempt,
  heldTask,
  ready,
  rejectIfInvalid,
  settle,
  submitTasks,
  succeed,
} from './decision';
import { completeReview, completeSupervision, submitReview } from './pattern-rules';
import { DEFAULT_MAX_ROUNDS, PATTERNS, REQUIRED_ROLES, firstRound, planSpec, reviewKey } from './patterns';
import {
  dagProblems,
  dependencyProblems,
  newTaskProblems,
  resolveSpec,
  specNode,
  specProblems,
  workflowNodes,
} from './task-specs';
import type {
  AdaptWorkflow,
  CancelTask,
  CompleteTask,
  FailTask,
  HandOffTask,
  HoldTask,
  LoseAssignment,
  MakeReady,
  MarkAssigned,
  PreemptTask,
  ReportTaskProgress,
  ResumeTask,
  SpawnSubtasks,
  StartTask,
  SubmitWorkflow,
  TimeOutTask,
  WorkflowCommand,
} from './workflow.commands';
import type { Pattern, WorkflowEvent } from './workflow.events';
import {
  awaitsClaims,
  dependenciesMet,
  evolve,
  isFinished,
  isHeld,
  taskByKey,
  tasksInOrder,
  type TaskState,
  type Workflow,
  type WorkflowState,
} from './workflow.state';

// ---------------------------------------------------------------- submit

/** The session's pattern, once the submission is known to be valid. */
function validPattern(c: SubmitWorkflow): Pattern {
  const pattern = PATTERNS.find((p) => p === c.pattern);
  const problems: FieldProblem[] = [];
  if (!pattern) problems.push({ path: 'pattern', message: `must be one of ${PATTERNS.join(', ')}` });
  for (const role of pattern ? REQUIRED_ROLES[pattern] : [])
    if (c.roles[role] === '')
      problems.push({ path: `roles.${role}`, message: `a ${pattern} session needs it` });
  // A hierarchical session's tasks are only hints for its planner.
  if (pattern !== 'hierarchical') {
    problems.push(...c.tasks.flatMap((s, i) => specProblems(s, `tasks[${i}]`)));
    if (problems.length === 0) problems.push(...dagProblems(c.tasks.map(specNode), c.policy, 'tasks'));
  }
  rejectIfInvalid(`invalid workflow for session ${c.sessionId}`, problems);
  return pattern!;
}

function submit(c: SubmitWorkflow, state: WorkflowState): WorkflowEvent[] {
  if (state.status !== 'unsubmitted') return [];
  const p = validPattern(c);
  const d = Decision.submitting({
    type: 'WorkflowSubmitted',
    data: {
      sessionId: c.sessionId,
      goal: c.goal,
      pattern: p,
      patternReason: c.patternReason,
      roles: c.roles,
      agentIds: c.agentIds,
      strategy: c.strategy,
      maxRounds: c.maxRounds || DEFAULT_MAX_ROUNDS[p],
      submittedAt: rfc3339(c.at),
      conflictPolicy: c.conflictPolicy ?? '',
    },
  });
  if (p === 'hierarchical') {
    const placement = { role: 'plan', origin: 'pattern', parent: undefined, round: 0 } as const;
    submitTasks(d, [planSpec(c.goal, c.tasks)], placement, c.policy, c.at);
  } else {
    const placement = {
      role: 'work',
      origin: 'session',
      parent: undefined,
      round: firstRound(d.wf, undefined),
    } as const;
    submitTasks(d, c.tasks, placement, c.policy, c.at);
  }
  return d.events;
}

// ---------------------------------------------------------------- dispatch and agents' reports

function markAssigned(d: Decision, c: MarkAssigned): void {
  const t = d.task(c.taskId);
  if (isHeld(t) && t.agentId === c.agentId && t.attempt === c.attempt) return; // a repeat
  if (t.status !== 'ready')
    throw new IllegalStateError(`task ${t.taskId} is ${t.status}, not ready`, {
      taskId: t.taskId,
      status: t.status,
    });
  if (c.attempt !== t.attempt + 1) {
    const stale = `attempt ${c.attempt} of task ${t.taskId} is stale; the next is ${t.attempt + 1}`;
    throw new IllegalStateError(stale, { taskId: t.taskId });
  }
  if (t.pinnedAgentId !== '' && t.pinnedAgentId !== c.agentId)
    throw new IllegalStateError(`task ${t.taskId} is pinned to agent ${t.pinnedAgentId}`, {
      taskId: t.taskId,
    });
  d.emit({
    type: 'TaskAssigned',
    data: {
      sessionId: d.wf.sessionId,
      taskId: t.taskId,
      agentId: c.agentId,
      attempt: c.attempt,
      deadline: rfc3339(c.deadline),
      selection: c.selection,
      assignedAt: rfc3339(c.at),
    },
  });
}

function start(d: Decision, c: StartTask): void {
  const t = heldTask(d, c.taskId, c.agentId);
  if (t.status === 'running') return; // StartTask is idempotent for the holder
  d.emit({
    type: 'TaskStarted',
    data: {
      sessionId: d.wf.sessionId,
      taskId: t.taskId,
      agentId: c.agentId,
      attempt: t.attempt,
      startedAt: rfc3339(c.at),
    },
  });
}

function progress(d: Decision, c: ReportTaskProgress): void {
  const t = heldTask(d, c.taskId, c.agentId);
  d.emit({
    type: 'TaskProgressed',
    data: {
      sessionId: d.wf.sessionId,
      taskId: t.taskId,
      agentId: c.agentId,
      percent: c.percent,
      message: c.message,
      at: rfc3339(c.at),
    },
  });
}

function complete(d: Decision, c: CompleteTask): void {
  const t = heldTask(d, c.taskId, c.agentId);
  if (t.role === 'review') completeReview(d, t, c);
  else if (t.role === 'plan' || t.role === 'supervise') completeSupervision(d, t, c);
  else {
    succeed(d, t, c);
    const done = d.task(t.taskId);
    if (done.status === 'waiting') submitReview(d, done, c.policy, c.at);
  }
  settle(d, c.policy, c.at);
}

function fail(d: Decision, c: FailTask): void {
  const t = heldTask(d, c.taskId, c.agentId);
  endAttempt(d, t, { kind: 'failed', error: c.error, retryable: c.retryable }, c);
  settle(d, c.policy, c.at);
}

// ---------------------------------------------------------------- timers and lost agents

function timeOut(d: Decision, c: TimeOutTask): void {
  const t = d.task(c.taskId);
  if (!isHeld(t) || t.attempt !== c.attempt) return; // the attempt ended before its deadline
  if (c.at.getTime() < Date.parse(t.deadline))
    throw new IllegalStateError(`attempt ${t.attempt} of task ${t.taskId} is due at ${t.deadline}`, {
      taskId: t.taskId,
    });
  endAttempt(d, t, { kind: 'timed_out' }, c);
  settle(d, c.policy, c.at);
}

function loseAssignment(d: Decision, c: LoseAssignment): void {
  // Only attempts given before the loss: a late notice must not end the agent's later work.
  const lost = (t: TaskState) =>
    isHeld(t) && t.agentId === c.agentId && Date.parse(t.assignedAt) <= c.at.getTime();
  for (const held of tasksInOrder(d.wf).filter(lost)) {
    if (!d.running) break; // one of them failed the workflow, which cancelled the others
    endAttempt(d, held, { kind: 'lost', reason: c.reason }, c);
  }
  settle(d, c.policy, c.at);
}

function makeReady(d: Decision, c: MakeReady): void {
  const t = d.task(c.taskId);
  if (t.notBefore === '') return; // no retry pending: already made ready
  if (c.at.getTime() < Date.parse(t.notBefore))
    throw new IllegalStateError(`task ${t.taskId} may not be retried before ${t.notBefore}`, {
      taskId: t.taskId,
    });
  ready(d, t, c.at);
}

// ---------------------------------------------------------------- claims (resources and locks)

function holdTask(d: Decision, c: HoldTask): void {
  const t = d.task(c.taskId);
  if (awaitsClaims(t) && t.waitingFor === c.waitingFor && t.waitReason === c.reason) return; // a repeat
  if (t.status !== 'ready' || c.attempt !== t.attempt + 1)
    throw new IllegalStateError(`task ${t.taskId} is ${t.status}; only a ready task waits for its claims`, {
      taskId: t.taskId,
      status: t.status,
    });
  d.emit({
    type: 'TaskWaiting',
    data: {
      sessionId: d.wf.sessionId,
      taskId: t.taskId,
      attempt: c.attempt,
      waitingFor: c.waitingFor,
      reason: c.reason,
      conflictId: c.conflictId,
      retryAt: c.retryAt ? rfc3339(c.retryAt) : '',
      at: rfc3339(c.at),
    },
  });
}

function resumeTask(d: Decision, c: ResumeTask): void {
  const t = d.task(c.taskId);
  if (!awaitsClaims(t)) return; // resumed already, cancelled, or never waited
  d.emit({
    type: 'TaskResumed',
    data: { sessionId: d.wf.sessionId, taskId: t.taskId, reason: c.reason, at: rfc3339(c.at) },
  });
  ready(d, d.task(t.taskId), c.at);
}

/**
 * Stops the attempt a claim outranks: a held attempt ends without counting as a failure and the task
 * is ready again; a task granted claims but not yet assigned (the next attempt) just records it, so
 * its claims are given back. A notice for an attempt that already ended changes nothing.
 */
function preemptTask(d: Decision, c: PreemptTask): void {
  const t = d.task(c.taskId);
  const held = isHeld(t) && t.attempt === c.attempt;
  const offered = (t.status === 'ready' || awaitsClaims(t)) && t.attempt + 1 === c.attempt;
  if (!held && !offered) return;
  d.emit({
    type: 'TaskPreempted',
    data: {
      sessionId: d.wf.sessionId,
      taskId: t.taskId,
      agentId: held ? t.agentId : '',
      attempt: c.attempt,
      byTaskId: c.byTaskId,
      reason: c.reason,
      at: rfc3339(c.at),
    },
  });
  if (held) ready(d, d.task(t.taskId), c.at);
}

// ---------------------------------------------------------------- swarm and spawning

function handOff(d: Decision, c: HandOffTask): void {
  if (d.wf.pattern !== 'swarm')
    throw new IllegalStateError(`only swarm sessions hand tasks off; this one is ${d.wf.pattern}`);
  const t = heldTask(d, c.taskId, c.agentId);
  const byCapabilities = c.toCapabilities.length > 0;
  const problems: FieldProblem[] = [];
  if (byCapabilities === (c.toAgentId !== ''))
    problems.push({
      path: 'toCapabilities',
      message: 'give either capabilities or an agent, not both or neither',
    });
  if (c.toAgentId === c.agentId) problems.push({ path: 'toAgentId', message: 'is the agent handing off' });
  if (c.toAgentId !== '' && d.wf.agentIds.length > 0 && !d.wf.agentIds.includes(c.toAgentId))
    problems.push({ path: 'toAgentId', message: "is not in the session's pool" });
  c.toCapabilities.forEach((cap, i) => {
    if (cap.trim() === '') problems.push({ path: `toCapabilities[${i}]`, message: 'must not be empty' });
  });
  rejectIfInvalid(`invalid hand-off of task ${t.taskId}`, problems);
  d.emit({
    type: 'TaskHandedOff',
    data: {
      sessionId: d.wf.sessionId,
      taskId: t.taskId,
      fromAgentId: c.agentId,
      toCapabilities: c.toCapabilities,
      toAgentId: c.toAgentId,
      reason: c.reason,
      at: rfc3339(c.at),
    },
  });
  ready(d, d.task(t.taskId), c.at);
}

function spawn(d: Decision, c: SpawnSubtasks): void {
  const parent = heldTask(d, c.taskId, c.agentId);
  rejectIfInvalid(
    `invalid subtasks of task ${parent.taskId}`,
    newTaskProblems(d.wf, c.tasks, c.policy, 'tasks'),
  );
  const placement = { role: 'work', origin: 'spawn', parent, round: firstRound(d.wf, parent) } as const;
  submitTasks(d, c.tasks, placement, c.policy, c.at);
}

// ---------------------------------------------------------------- cancel and adapt

/** The task and every task that transitively depends on it or reviews it, in submission order. */
function subtree(wf: Workflow, root: TaskState): TaskState[] {
  const found = new Map<string, TaskState>([[root.key, root]]);
  const queue = [root];
  for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
    const reviews = t.role === 'work' ? [reviewKey(t.key, t.round)] : [];
    for (const key of [...(wf.dependents.get(t.key) ?? []), ...reviews]) {
      const next = taskByKey(wf, key);
      if (next && !found.has(key)) {
        found.set(key, next);
        queue.push(next);
      }
    }
  }
  return [...found.values()].sort((a, b) => a.seq - b.seq);
}

function cancelTask(d: Decision, c: CancelTask): void {
  const t = d.task(c.taskId);
  if (t.status === 'cancelled') return;
  if (isFinished(t))
    throw new IllegalStateError(`task ${t.taskId} is already ${t.status}`, { taskId: t.taskId });
  // A review cannot be cancelled without its task: that task could never be approved.
  const root = t.role === 'review' ? (taskByKey(d.wf, t.reviewOf) ?? t) : t;
  cancelUnfinished(d, subtree(d.wf, root), c.reason, c.at);
  settle(d, c.policy, c.at);
}

function cancelWorkflow(d: Decision, reason: string, at: Date): void {
  cancelUnfinished(d, tasksInOrder(d.wf), reason, at);
  d.emit({
    type: 'WorkflowCancelled',
    data: { sessionId: d.wf.sessionId, reason, cancelledAt: rfc3339(at) },
  });
}

/** A task an adaptation may remove or replace: work never assigned (reviews and plans are the pattern's). */
function adaptable(d: Decision, key: string, path: string): TaskState {
  const t = taskByKey(d.wf, key);
  if (!t)
    throw new ValidationError('invalid adaptation', [{ path, message: `task "${key}" does not exist` }]);
  if (t.role !== 'work')
    throw new ConflictError(`task "${key}" is a ${t.role} task of the ${d.wf.pattern} pattern`, { key });
  if ((t.status !== 'pending' && t.status !== 'ready') || t.attempt > 0)
    throw new ConflictError(`task "${key}" was already assigned; only tasks not yet assigned can change`, {
      key,
    });
  return t;
}

/** Removed tasks, which no unfinished task that stays may depend on. */
function removals(d: Decision, c: AdaptWorkflow): TaskState[] {
  const removed = new Set(c.remove);
  return c.remove.map((key, i) => {
    const t = adaptable(d, key, `remove[${i}]`);
    const needed = (d.wf.dependents.get(key) ?? []).find(
      (k) => !removed.has(k) && !isFinished(d.taskByKey(k)),
    );
    if (needed)
      throw new ConflictError(`task "${key}" cannot be removed: "${needed}" depends on it`, { key });
    return t;
  });
}

function replacements(d: Decision, c: AdaptWorkflow): TaskState[] {
  const problems = c.replace.flatMap((s, i) => [
    ...specProblems(s, `replace[${i}]`),
    ...(c.remove.includes(s.key) ? [{ path: `replace[${i}].key`, message: 'is also removed' }] : []),
  ]);
  rejectIfInvalid('invalid adaptation', [...problems, ...dependencyProblems(d.wf, c.replace, 'replace')]);
  return c.replace.map((s, i) => adaptable(d, s.key, `replace[${i}].key`));
}

function adapt(d: Decision, c: AdaptWorkflow): void {
  const removed = removals(d, c);
  const replaced = replacements(d, c);
  cancelUnfinished(d, removed, 'removed from the workflow', c.at);
  replaced.forEach((t, i) => {
    const spec = resolveSpec(c.replace[i]!, c.policy);
    d.emit({
      type: 'TaskSpecReplaced',
      data: { sessionId: d.wf.sessionId, taskId: t.taskId, spec, at: rfc3339(c.at) },
    });
  });
  // New dependencies of replaced tasks may close a cycle: the graph is checked as it now stands.
  const problems =
    c.add.length > 0
      ? newTaskProblems(d.wf, c.add, c.policy, 'add')
      : dagProblems(workflowNodes(d.wf), c.policy, 'replace');
  rejectIfInvalid('invalid adaptation', problems);
  submitTasks(
    d,
    c.add,
    { role: 'work', origin: 'adapt', parent: undefined, round: firstRound(d.wf, undefined) },
    c.policy,
    c.at,
  );
  for (const t of replaced) {
    const now = d.task(t.taskId);
    if (now.status === 'pending' && dependenciesMet(d.wf, now)) ready(d, now, c.at);
  }
  settle(d, c.policy, c.at);
}

// ---------------------------------------------------------------- the decider

/** Commands on a submitted workflow, dispatched to their rule. */
function decideRunning(d: Decision, command: Exclude<WorkflowCommand, SubmitWorkflow>): void {
  switch (command.type) {
    case 'MarkAssigned':
      return markAssigned(d, command);
    case 'StartTask':
      return start(d, command);
    case 'ReportTaskProgress':
      return progress(d, command);
    case 'CompleteTask':
      return complete(d, command);
    case 'FailTask':
      return fail(d, command);
    case 'TimeOutTask':
      return timeOut(d, command);
    case 'LoseAssignment':
      return loseAssignment(d, command);
    case 'MakeReady':
      return makeReady(d, command);
    case 'HoldTask':
      return holdTask(d, command);
    case 'ResumeTask':
      return resumeTask(d, command);
    case 'PreemptTask':
      return preemptTask(d, command);
    case 'HandOffTask':
      return handOff(d, command);
    case 'SpawnSubtasks':
      return spawn(d, command);
    case 'CancelTask':
      return cancelTask(d, command);
    case 'CancelWorkflow':
      return cancelWorkflow(d, command.reason, command.at);
    case 'AdaptWorkflow':
      return adapt(d, command);
    default:
      return assertNever(command, 'workflow command');
  }
}

export const workflowDecider: Decider<WorkflowCommand, WorkflowEvent, WorkflowState> = {
  decide(command, state) {
    if (command.type === 'SubmitWorkflow') return submit(command, state);
    if (state.status === 'unsubmitted') throw new NotFoundError('the session has no workflow');
    if (command.type === 'CancelWorkflow' && state.status === 'cancelled') return [];
    if (state.status !== 'running')
      throw new IllegalStateError(`the workflow of session ${state.sessionId} is ${state.status}`, {
        sessionId: state.sessionId,
        status: state.status,
      });
    const d = new Decision(state);
    decideRunning(d, command);
    return d.events;
  },
  evolve,
  initialState: () => ({ status: 'unsubmitted' }),
};
