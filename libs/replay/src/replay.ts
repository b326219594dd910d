import {
  agentStatus,
  contextStreamId,
  sessionStreamId,
  type AgentHealth,
  type AgentState,
  type AgentStatus,
  type ContextState,
  type SessionState,
} from '@orch/coordination';
import {
  tasksInOrder,
  workflowStreamId,
  type JsonValue,
  type SessionRolesData,
  type TaskStatus,
  type WorkflowState,
  type WorkflowStatus,
} from '@orch/distribution';
import { rfc3339 } from '@orch/domain-kit';
import {
  allocations,
  claimData,
  openConflicts,
  poolSpecData,
  poolUsage,
  waiters,
  type AllocatorState,
  type ClaimData,
  type ConflictPartyData,
  type PoolGrantData,
  type PoolSpecData,
  type WaitingFor,
} from '@orch/resources';
import { StreamFolds } from './reading';
import type { ReplayEvent } from './replay-event';
import { allocatorOptionsOf, defaultStreamKinds, kindOf, type StreamKind } from './stream-kinds';

// ---------------------------------------------------------------- the view

/**
 * The session as it was at a position, for a person and the dashboard: built from the states the
 * services fold (the same evolve functions), JSON-ready (no bigint, no Date: times are RFC 3339
 * strings, '' when unset; no undefined anywhere).
 */
export interface SessionReplay {
  /** The position replayed, decimal. */
  readonly at: string;
  /** The session's events at or before `at` (whichever kind read them). */
  readonly events: number;
  /** The time of the last event folded (the "now" of time-dependent figures), '' when none. */
  readonly occurredAt: string;
  readonly session: SessionView;
  readonly workflow: WorkflowView;
  /** The agents whose streams were folded (those the session's history touches), by id. */
  readonly agents: AgentView[];
  readonly resources: ResourcesView;
  /** Open conflicts a task of the session is party to, oldest first. */
  readonly conflicts: ConflictView[];
  /** Event types no kind knows (or schema versions none reads): skipped, reported, sorted. */
  readonly unknownTypes: string[];
}

/**
 * The session stream's state. `status`: not_started (no SessionStarted yet at `at`), running,
 * cancelling (a user cancelled it; its tasks are being cancelled), completed, failed, cancelled.
 */
export interface SessionView {
  readonly sessionId: string;
  readonly status: 'not_started' | 'running' | 'cancelling' | 'completed' | 'failed' | 'cancelled';
  readonly goal: string;
  readonly pattern: string;
  readonly patternReason: string;
  readonly roles: SessionRolesData;
  readonly agentIds: string[];
  readonly strategy: string;
  readonly maxRounds: number;
  readonly budgetUsd: number;
  readonly startedAt: string;
  /** Messages posted so far. */
  readonly messages: number;
  /** The session's shared context, by key. */
  readonly context: ContextEntryView[];
}

export interface ContextEntryView {
  readonly key: string;
  readonly value: JsonValue;
  readonly version: number;
  readonly updatedAt: string;
}

export interface WorkflowView {
  /** 'unsubmitted' before distribution accepted the workflow. */
  readonly status: 'unsubmitted' | WorkflowStatus;
  /** '' while unsubmitted. */
  readonly pattern: string;
  /** Why it failed or was cancelled; '' otherwise. */
  readonly reason: string;
  /** In submission order. */
  readonly tasks: TaskView[];
  /** Tasks by status; statuses no task has are left out. */
  readonly counts: Partial<Record<TaskStatus, number>>;
}

export interface TaskView {
  readonly taskId: string;
  readonly key: string;
  readonly status: TaskStatus;
  /** '' | review | resources | lock | budget. */
  readonly waitingFor: string;
  /** The agent holding (or that last held) it; '' when none. */
  readonly agentId: string;
  /** Assignments so far (the workflow state's `attempt`). */
  readonly attempts: number;
  /** Attempts that failed, timed out or were lost. */
  readonly failures: number;
  readonly priority: number;
  readonly role: string;
  readonly error: string;
}

export interface AgentView {
  readonly agentId: string;
  readonly name: string;
  readonly provider: string;
  readonly status: AgentStatus;
  /** Every slot it held, the session's and other sessions'. */
  readonly slots: { readonly taskId: string; readonly attempt: number }[];
  /** '' once deregistered. */
  readonly health: AgentHealth | '';
  readonly draining: boolean;
}

export interface ResourcesView {
  /** What the session's task attempts held, oldest grant first. */
  readonly allocations: AllocationView[];
  /** The session's requests in the queue, each with its place in the whole queue. */
  readonly waiters: WaiterView[];
  /** Every pool's usage at the time of the last event folded. */
  readonly pools: PoolView[];
}

export interface AllocationView {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly priority: number;
  readonly grants: PoolGrantData[];
  readonly locks: { readonly lock: string; readonly mode: string }[];
  readonly since: string;
  readonly grantedAt: string;
  /** The task it was asked to give way to, 'deadlock' for a deadlock's victim, '' when none. */
  readonly preemptedBy: string;
}

export interface WaiterView {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly priority: number;
  readonly claims: ClaimData[];
  readonly waitingFor: WaitingFor;
  readonly reason: string;
  readonly blockers: string[];
  /** When a tick could grant it by itself; '' when only a release can. */
  readonly retryAt: string;
  readonly since: string;
  /** 1-based place in the whole queue's order. */
  readonly position: number;
  readonly conflictIds: string[];
  readonly holding: boolean;
  readonly incremental: boolean;
}

export interface PoolView {
  readonly poolId: string;
  readonly spec: PoolSpecData;
  readonly capacity: number;
  readonly used: number;
  readonly available: number;
  readonly utilization: number;
  readonly reserved: number;
  readonly waiting: number;
  readonly waitingDemand: number;
  readonly holders: number;
  readonly spent: number;
  readonly held: number;
  /** budget: when its period began; '' for other kinds. */
  readonly periodStart: string;
  readonly tokens: number;
}

export interface ConflictView {
  readonly conflictId: string;
  readonly kind: string;
  readonly resource: string;
  readonly allocationId: string;
  readonly parties: ConflictPartyData[];
  readonly policy: string;
  readonly since: string;
  readonly detectedAt: string;
}

/** What {@link replaySession} folds. */
export interface ReplayInput {
  readonly sessionId: string;
  /** The position to replay to (inclusive). */
  readonly at: bigint;
  /** The session's history across services, in global order (readByCorrelation). */
  readonly sessionEvents: readonly ReplayEvent[];
  /**
   * The shared streams' events ({@link sharedStreamsOf}), each read whole (at least up to `at`):
   * their state before the session's events depends on other sessions. A stream present here is
   * folded from here only; the session's events on it are not folded twice.
   */
  readonly sharedStreams: ReadonlyMap<string, readonly ReplayEvent[]>;
}

// ---------------------------------------------------------------- replay

/**
 * Streams the session's history touches other than its own (agents, the allocator), in the order
 * the history first touches them: the service reads them whole up to `at`, because their state
 * before the session's events depends on other sessions. Streams no kind matches are left out.
 */
export function sharedStreamsOf(
  sessionEvents: readonly ReplayEvent[],
  kinds: readonly StreamKind[] = defaultStreamKinds(),
): string[] {
  const seen = new Set<string>();
  const shared: string[] = [];
  for (const e of sessionEvents) {
    if (seen.has(e.streamId)) continue;
    seen.add(e.streamId);
    if (kindOf(kinds, e.streamId)?.shared) shared.push(e.streamId);
  }
  return shared;
}

/**
 * Folds the session's events (and the shared streams' events, all with position <= at) with each
 * kind's evolve, and shows the session, its workflow, the agents, resources and conflicts as they
 * were then. A position between two of the session's events shows the state after the earlier one.
 * Events no kind reads are skipped and listed in `unknownTypes`, never thrown on. `at` beyond the
 * last position is the caller's error to report (the service checks); here it simply folds all.
 * Each stream is folded by itself (no stream's state depends on another's), so the order across
 * streams does not matter; within a stream, events must come in version order.
 */
export function replaySession(
  input: ReplayInput,
  kinds: readonly StreamKind[] = defaultStreamKinds(),
): SessionReplay {
  const { sessionId, at, sessionEvents, sharedStreams } = input;
  const folds = new StreamFolds(kinds);
  let events = 0;
  let last: ReplayEvent | undefined;
  for (const e of sessionEvents) {
    if (e.position > at) continue;
    events++;
    if (!last || e.position > last.position) last = e;
    if (!sharedStreams.has(e.streamId)) folds.apply(e);
  }
  for (const stream of sharedStreams.values())
    for (const e of stream) {
      if (e.position > at) continue;
      if (!last || e.position > last.position) last = e;
      folds.apply(e);
    }
  const now = last?.occurredAt ?? new Date(0);

  const workflow = workflowView(
    folds.streams.get(workflowStreamId(sessionId))?.state as WorkflowState | undefined,
  );
  const allocator = [...folds.streams.values()].find((s) => s.kind?.name === 'allocator')?.state as
    AllocatorState | undefined;
  const taskIds = new Set(workflow.tasks.map((t) => t.taskId));
  const resources = resourcesView(allocator, sessionId, now, kinds);
  for (const x of [...resources.allocations, ...resources.waiters]) taskIds.add(x.taskId);
  return {
    at: at.toString(),
    events,
    occurredAt: last ? rfc3339(last.occurredAt) : '',
    session: sessionView(sessionId, folds),
    workflow,
    agents: agentViews(folds),
    resources,
    conflicts: allocator ? conflictViews(allocator, taskIds) : [],
    unknownTypes: folds.unknown(),
  };
}

// ---------------------------------------------------------------- views

const time = (ms: number | undefined): string => (ms === undefined ? '' : rfc3339(new Date(ms)));

function sessionView(sessionId: string, folds: StreamFolds): SessionView {
  const state = folds.streams.get(sessionStreamId(sessionId))?.state as SessionState | undefined;
  const contextPrefix = contextStreamId(sessionId, '');
  const context: ContextEntryView[] = [];
  for (const s of folds.streams.values()) {
    if (s.kind?.name !== 'context' || !s.streamId.startsWith(contextPrefix) || s.folded === 0) continue;
    const c = s.state as ContextState;
    context.push({
      key: s.streamId.slice(contextPrefix.length),
      value: c.value ?? null,
      version: c.version,
      updatedAt: c.updatedAt ?? '',
    });
  }
  context.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (!state || state.status === 'none')
    return {
      sessionId,
      status: 'not_started',
      goal: '',
      pattern: '',
      patternReason: '',
      roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
      agentIds: [],
      strategy: '',
      maxRounds: 0,
      budgetUsd: 0,
      startedAt: '',
      messages: 0,
      context,
    };
  const s = state.started;
  return {
    sessionId,
    status: state.status === 'closed' ? state.outcome : state.status,
    goal: s.goal,
    pattern: s.pattern,
    patternReason: s.patternReason,
    roles: { ...s.roles },
    agentIds: [...s.agentIds],
    strategy: s.strategy,
    maxRounds: s.maxRounds,
    budgetUsd: s.budgetUsd,
    startedAt: s.startedAt,
    messages: state.messages.length,
    context,
  };
}

function workflowView(state: WorkflowState | undefined): WorkflowView {
  if (!state || state.status === 'unsubmitted')
    return { status: 'unsubmitted', pattern: '', reason: '', tasks: [], counts: {} };
  const counts: Partial<Record<TaskStatus, number>> = {};
  const tasks = tasksInOrder(state).map((t): TaskView => {
    counts[t.status] = (counts[t.status] ?? 0) + 1;
    return {
      taskId: t.taskId,
      key: t.key,
      status: t.status,
      waitingFor: t.waitingFor,
      agentId: t.agentId,
      attempts: t.attempt,
      failures: t.failures,
      priority: t.spec.priority,
      role: t.role,
      error: t.error,
    };
  });
  return { status: state.status, pattern: state.pattern, reason: state.reason, tasks, counts };
}

function agentViews(folds: StreamFolds): AgentView[] {
  const views: AgentView[] = [];
  for (const s of folds.streams.values()) {
    if (s.kind?.name !== 'agent') continue;
    const state = s.state as AgentState;
    if (state.status === 'unregistered') continue;
    const { agentId, name, provider } = state.profile;
    const registered = state.status === 'registered' ? state : undefined;
    views.push({
      agentId,
      name,
      provider,
      status: agentStatus(state),
      slots: registered
        ? registered.slots.map((slot) => ({ taskId: slot.taskId, attempt: slot.attempt }))
        : [],
      health: registered ? registered.health : '',
      draining: registered ? registered.draining : false,
    });
  }
  return views.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
}

function resourcesView(
  state: AllocatorState | undefined,
  sessionId: string,
  now: Date,
  kinds: readonly StreamKind[],
): ResourcesView {
  if (!state) return { allocations: [], waiters: [], pools: [] };
  const filter = { sessionId };
  return {
    allocations: allocations(state, filter).map((a) => ({
      allocationId: a.allocationId,
      taskId: a.taskId,
      attempt: a.attempt,
      priority: a.priority,
      grants: a.grants.map((g) => ({ ...g })),
      locks: a.locks.map((l) => ({ ...l })),
      since: time(a.since),
      grantedAt: time(a.grantedAt),
      preemptedBy: a.preemptedBy,
    })),
    waiters: waiters(state, now, filter, allocatorOptionsOf(kinds)).map((w) => ({
      allocationId: w.allocationId,
      taskId: w.taskId,
      attempt: w.attempt,
      priority: w.priority,
      claims: w.claims.map(claimData),
      waitingFor: w.waitingFor,
      reason: w.reason,
      blockers: [...w.blockers],
      retryAt: time(w.retryAt),
      since: time(w.since),
      position: w.position,
      conflictIds: [...w.conflictIds],
      holding: w.holding,
      incremental: w.incremental,
    })),
    pools: poolUsage(state, now).map((u) => ({
      poolId: u.poolId,
      spec: poolSpecData(u.spec),
      capacity: u.capacity,
      used: u.used,
      available: u.available,
      utilization: u.utilization,
      reserved: u.reserved,
      waiting: u.waiting,
      waitingDemand: u.waitingDemand,
      holders: u.holders,
      spent: u.spent,
      held: u.held,
      periodStart: time(u.periodStart),
      tokens: u.tokens,
    })),
  };
}

function conflictViews(state: AllocatorState, taskIds: ReadonlySet<string>): ConflictView[] {
  return openConflicts(state)
    .filter((c) => c.parties.some((p) => taskIds.has(p.taskId)))
    .map((c) => ({
      conflictId: c.conflictId,
      kind: c.kind,
      resource: c.resource,
      allocationId: c.allocationId,
      parties: c.parties.map((p) => ({ ...p })),
      policy: c.policy,
      since: c.since,
      detectedAt: c.detectedAt,
    }));
}
