import { create, type JsonObject as ProtoJsonObject } from '@bufbuild/protobuf';
import { timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import {
  AssignmentSchema,
  SessionViewSchema,
  TaskAckSchema,
  TaskViewSchema,
  type Assignment,
  type SessionStarted,
  type SessionView,
  type Selection,
  type TaskAck,
  type TaskSpec,
  type TaskUsage,
  type TaskView,
} from '@orch/contracts';
import {
  ZERO_USAGE,
  addUsage,
  tasksInOrder,
  type JsonObject,
  type SelectionData,
  type SubmitWorkflow,
  type TaskSpecData,
  type TaskState,
  type TaskUsageData,
  type Workflow,
  type WorkflowPolicy,
} from '@orch/distribution';

/** The proto TaskSpec as the domain's, in the JSON mapping the events carry. */
export const toTaskSpecData = (s: TaskSpec): TaskSpecData => ({
  key: s.key,
  type: s.type,
  description: s.description,
  input: (s.input ?? {}) as JsonObject,
  capabilities: [...s.capabilities],
  dependsOn: [...s.dependsOn],
  priority: s.priority,
  timeoutMs: s.timeoutMs,
  maxAttempts: s.maxAttempts,
  claims: s.claims as JsonObject[],
  allowFailure: s.allowFailure,
  estimatedDurationMs: s.estimatedDurationMs.toString(),
});

export const toUsageData = (u: TaskUsage | undefined): TaskUsageData =>
  u
    ? { inputTokens: u.inputTokens.toString(), outputTokens: u.outputTokens.toString(), costUsd: u.costUsd }
    : ZERO_USAGE;

export const toSelectionData = (s: Selection | undefined): SelectionData => ({
  strategy: s?.strategy ?? '',
  agentId: s?.agentId ?? '',
  candidates: (s?.candidates ?? []).map((c) => ({
    agentId: c.agentId,
    score: c.score,
    reasons: [...c.reasons],
  })),
  eligible: s?.eligible ?? 0,
  notes: [...(s?.notes ?? [])],
});

/** coordination's SessionStarted as the command that submits its workflow. */
export const toSubmitWorkflow = (e: SessionStarted, policy: WorkflowPolicy, at: Date): SubmitWorkflow => ({
  type: 'SubmitWorkflow',
  sessionId: e.sessionId,
  goal: e.goal,
  pattern: e.pattern,
  patternReason: e.patternReason,
  roles: {
    soloAgentId: e.roles?.soloAgentId ?? '',
    driverAgentId: e.roles?.driverAgentId ?? '',
    navigatorAgentId: e.roles?.navigatorAgentId ?? '',
    supervisorAgentId: e.roles?.supervisorAgentId ?? '',
  },
  agentIds: [...e.agentIds],
  strategy: e.strategy,
  maxRounds: e.maxRounds,
  conflictPolicy: e.conflictPolicy,
  tasks: e.tasks.map(toTaskSpecData),
  policy,
  at,
});

const timestamp = (rfc3339: string): Timestamp | undefined =>
  rfc3339 === '' ? undefined : timestampFromDate(new Date(rfc3339));

const usage = (u: TaskUsageData) => ({
  inputTokens: BigInt(u.inputTokens),
  outputTokens: BigInt(u.outputTokens),
  costUsd: u.costUsd,
});

const struct = (o: JsonObject): ProtoJsonObject => o as ProtoJsonObject;

const selection = (s: SelectionData) => ({
  ...s,
  candidates: s.candidates.map((c) => ({ ...c, reasons: [...c.reasons] })),
  notes: [...s.notes],
});

export const toTaskView = (wf: Workflow, t: TaskState): TaskView =>
  create(TaskViewSchema, {
    taskId: t.taskId,
    key: t.key,
    sessionId: wf.sessionId,
    type: t.spec.type,
    description: t.spec.description,
    status: t.status,
    waitingFor: t.waitingFor,
    agentId: t.agentId,
    attempts: t.attempt,
    maxAttempts: t.spec.maxAttempts,
    priority: t.spec.priority,
    capabilities: [...t.spec.capabilities],
    dependsOn: [...t.spec.dependsOn],
    input: struct(t.spec.input),
    ...(t.output ? { output: struct(t.output) } : {}),
    error: t.error,
    role: t.role,
    reviewOf: t.reviewOf,
    round: t.round,
    deadline: timestamp(t.deadline),
    ...(t.selection ? { selection: selection(t.selection) } : {}),
    updatedAt: timestamp(t.updatedAt),
    usage: usage(t.usage),
    allowFailure: t.spec.allowFailure,
  });

/** A session's status, counts and usage; its tasks only when `withTasks` (lists omit them). */
export function toSessionView(wf: Workflow, version: bigint, withTasks: boolean): SessionView {
  const tasks = tasksInOrder(wf);
  const counts: Record<string, number> = {};
  let total = ZERO_USAGE;
  for (const t of tasks) {
    counts[t.status] = (counts[t.status] ?? 0) + 1;
    total = addUsage(total, t.usage);
  }
  return create(SessionViewSchema, {
    id: wf.sessionId,
    goal: wf.goal,
    pattern: wf.pattern,
    patternReason: wf.patternReason,
    status: wf.status,
    reason: wf.reason,
    roles: wf.roles,
    tasks: withTasks ? tasks.map((t) => toTaskView(wf, t)) : [],
    startedAt: timestamp(wf.submittedAt),
    endedAt: timestamp(wf.endedAt),
    counts,
    usage: usage(total),
    version,
  });
}

/**
 * What the agent holding the task's attempt receives. A task reopened by a review carries the
 * reviewer's comments in its input (`reviewComments`).
 */
export const toAssignment = (wf: Workflow, t: TaskState): Assignment =>
  create(AssignmentSchema, {
    taskId: t.taskId,
    key: t.key,
    sessionId: wf.sessionId,
    type: t.spec.type,
    description: t.spec.description,
    input: struct(t.comments === null ? t.spec.input : { ...t.spec.input, reviewComments: t.comments }),
    attempt: t.attempt,
    deadline: timestamp(t.deadline),
    capabilities: [...t.spec.capabilities],
    role: t.role,
    reviewOf: t.reviewOf,
    round: t.round,
    goal: wf.goal,
    pattern: wf.pattern,
  });

export const toTaskAck = (wf: Workflow, t: TaskState, addedKeys: readonly string[] = []): TaskAck =>
  create(TaskAckSchema, {
    taskId: t.taskId,
    sessionId: wf.sessionId,
    status: t.status,
    addedTaskIds: [...addedKeys],
  });
