/**
 * Safety invariants of dispatch, checked on the recorded event log in global order rather than
 * through the API: the log is what every replica decided, so a race between replicas that the
 * read models smooth over still shows here. Each check returns its violations, each with the
 * events that prove it, so a failing test says what happened.
 */

/** One event of the store's global log, as far as the checks need it. */
export interface LoggedEvent {
  readonly position: number;
  readonly streamId: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Every event type the checks read. */
export const CHECKED_TYPES = [
  'AgentRegistered',
  'AgentTaskAssigned',
  'AgentTaskReleased',
  'AgentBecameUnhealthy',
  'AgentDeregistered',
  'TaskAssigned',
  'TaskSucceeded',
  'TaskFailed',
  'TaskTimedOut',
  'TaskAssignmentLost',
  'TaskCancelled',
  'TaskHandedOff',
  'WorkflowCompleted',
  'WorkflowFailed',
  'WorkflowCancelled',
  'SessionClosed',
] as const;

/** Events that end the attempt of the agent they name (docs/orchestration.md steps 4-6). */
const ATTEMPT_END_TYPES: ReadonlySet<string> = new Set([
  'TaskSucceeded',
  'TaskFailed',
  'TaskTimedOut',
  'TaskAssignmentLost',
  'TaskCancelled',
  'TaskHandedOff',
]);
const WORKFLOW_END_TYPES: ReadonlySet<string> = new Set([
  'WorkflowCompleted',
  'WorkflowFailed',
  'WorkflowCancelled',
]);
/** Events after which an agent holds no slot at all. */
const SLOTS_CLEARED_TYPES: ReadonlySet<string> = new Set(['AgentBecameUnhealthy', 'AgentDeregistered']);

const text = (e: LoggedEvent, field: string): string => {
  const value = e.data[field];
  return typeof value === 'string' ? value : '';
};
const taskOf = (e: LoggedEvent): string => text(e, 'taskId');
/** The agent an event is about; for a hand-off, the agent whose attempt it ends. */
const agentOf = (e: LoggedEvent): string =>
  e.type === 'TaskHandedOff' ? text(e, 'fromAgentId') : text(e, 'agentId');
const attemptOf = (e: LoggedEvent): number | undefined =>
  typeof e.data['attempt'] === 'number' ? e.data['attempt'] : undefined;

/** `#42 TaskAssigned task=t1 agent=a1 attempt=2`: one event, for evidence. */
export function describeEvent(e: LoggedEvent): string {
  const fields = [
    ['task', taskOf(e)],
    ['agent', agentOf(e)],
    ['attempt', attemptOf(e)?.toString() ?? ''],
    ['session', text(e, 'sessionId')],
    ['reason', text(e, 'reason')],
  ].filter(([, value]) => value !== '');
  return [`#${e.position} ${e.type}`, ...fields.map(([k, v]) => `${k}=${v}`)].join(' ');
}

const evidence = (events: readonly LoggedEvent[]): string =>
  events.map((e) => `\n    ${describeEvent(e)}`).join('');

/** The attempt a slot event names; 0 when it names none (recorded before slots carried attempts). */
const slotAttemptOf = (e: LoggedEvent): number => attemptOf(e) ?? 0;

/**
 * Whether an AgentTaskReleased gives back the slot an AgentTaskAssigned took, as coordination folds
 * them (libs/coordination task-slots.ts): same task, and the same attempt, or a release of
 * attempt 0 (every slot of the task), or a slot of attempt 0 (its attempt unknown).
 */
const releases = (release: LoggedEvent, slot: LoggedEvent): boolean => {
  const [released, held] = [slotAttemptOf(release), slotAttemptOf(slot)];
  return taskOf(release) === taskOf(slot) && (released === 0 || held === 0 || released === held);
};

/** Whether two events name the same agent and attempt. */
const sameAttempt = (a: LoggedEvent, b: LoggedEvent | undefined): boolean =>
  b !== undefined && text(a, 'agentId') === text(b, 'agentId') && attemptOf(a) === attemptOf(b);

/**
 * A task never runs on two agents at once: between a TaskAssigned and the end of that attempt
 * (an end event naming the same agent) no other TaskAssigned of the task is recorded. And every
 * TaskSucceeded comes from the agent of the task's last TaskAssigned, for that attempt.
 */
export function checkAttempts(log: readonly LoggedEvent[]): string[] {
  const violations: string[] = [];
  /** The open attempt of each task. */
  const holder = new Map<string, LoggedEvent>();
  const lastAssigned = new Map<string, LoggedEvent>();
  /** The task's events so far: the evidence. */
  const history = new Map<string, LoggedEvent[]>();
  for (const e of log) {
    if (e.type !== 'TaskAssigned' && !ATTEMPT_END_TYPES.has(e.type)) continue;
    const taskId = taskOf(e);
    const seen = history.get(taskId) ?? [];
    seen.push(e);
    history.set(taskId, seen);
    if (e.type === 'TaskAssigned') {
      if (holder.has(taskId)) {
        violations.push(
          `[one agent per task] task ${taskId} assigned again before its attempt ended:${evidence(seen)}`,
        );
      }
      holder.set(taskId, e);
      lastAssigned.set(taskId, e);
      continue;
    }
    if (e.type === 'TaskSucceeded' && !sameAttempt(e, lastAssigned.get(taskId))) {
      violations.push(
        `[success by holder] task ${taskId} succeeded for another attempt than its last assignment:${evidence(seen)}`,
      );
    }
    const held = holder.get(taskId);
    if (held && text(held, 'agentId') === agentOf(e)) holder.delete(taskId);
  }
  return violations;
}

/** An agent's slots as coordination folds them: the AgentTaskAssigned of each attempt it holds. */
interface Slots {
  readonly maxConcurrency: number;
  held: LoggedEvent[];
}

/**
 * Folds the agents' streams - AgentTaskAssigned takes a slot for an attempt of a task,
 * AgentTaskReleased gives back the slots it `releases`, AgentBecameUnhealthy and AgentDeregistered
 * give all back - calling `onTake` after each slot taken.
 */
function foldSlots(
  log: readonly LoggedEvent[],
  onTake: (agentId: string, slots: Slots) => void = () => undefined,
): Map<string, Slots> {
  const agents = new Map<string, Slots>();
  for (const e of log) {
    if (!e.streamId.startsWith('agent-')) continue;
    const agentId = text(e, 'agentId');
    const slots = agents.get(agentId);
    if (e.type === 'AgentRegistered') {
      agents.set(agentId, { maxConcurrency: Number(e.data['maxConcurrency']), held: [] });
    } else if (!slots) {
      continue;
    } else if (e.type === 'AgentTaskAssigned') {
      slots.held.push(e);
      onTake(agentId, slots);
    } else if (e.type === 'AgentTaskReleased') {
      slots.held = slots.held.filter((h) => !releases(e, h));
    } else if (SLOTS_CLEARED_TYPES.has(e.type)) {
      slots.held = [];
    }
  }
  return agents;
}

/** An agent never holds more slots than the maxConcurrency its AgentRegistered declared. */
export function checkSlots(log: readonly LoggedEvent[]): string[] {
  const violations: string[] = [];
  foldSlots(log, (agentId, { held, maxConcurrency }) => {
    if (held.length > maxConcurrency) {
      violations.push(
        `[capacity] agent ${agentId} holds ${held.length} slots, maxConcurrency ${maxConcurrency}:${evidence(held)}`,
      );
    }
  });
  return violations;
}

/** Agents still holding slots at the end of the log, with the assignments they hold. */
export function heldSlots(log: readonly LoggedEvent[]): string[] {
  return [...foldSlots(log).entries()]
    .filter(([, slots]) => slots.held.length > 0)
    .map(([agentId, { held }]) => `agent ${agentId} still holds ${held.length} slots:${evidence(held)}`);
}

/**
 * An agent never runs more attempts at once than its maxConcurrency, as distribution recorded
 * them: its open attempts (TaskAssigned to it and not yet ended) never outnumber its capacity.
 * The attempts of an agent that became unhealthy or left no longer count: coordination released
 * their slots and distribution ends them. The evidence pairs each running attempt with the last
 * event of its slot on the agent's stream (its attempt's, or its task's without an attempt), which
 * shows an attempt running on a released slot.
 */
export function checkRunningAttempts(log: readonly LoggedEvent[]): string[] {
  const violations: string[] = [];
  const capacity = new Map<string, number>();
  const running: ByAgentAndTask = new Map();
  /** Each agent's slot events since it last held nothing. */
  const slots = new Map<string, LoggedEvent[]>();
  for (const e of log) {
    const agentId = agentOf(e);
    if (e.type === 'AgentRegistered') capacity.set(agentId, Number(e.data['maxConcurrency']));
    if (e.type === 'AgentTaskAssigned' || e.type === 'AgentTaskReleased')
      slots.set(agentId, [...(slots.get(agentId) ?? []), e]);
    if (SLOTS_CLEARED_TYPES.has(e.type)) {
      running.delete(agentId);
      slots.delete(agentId);
    }
    if (ATTEMPT_END_TYPES.has(e.type)) tasksOf(running, agentId).delete(taskOf(e));
    if (e.type !== 'TaskAssigned') continue;
    const attempts = tasksOf(running, agentId).set(taskOf(e), e);
    const max = capacity.get(agentId) ?? 0;
    if (attempts.size > max) {
      violations.push(
        `[running attempts] agent ${agentId} runs ${attempts.size} attempts, maxConcurrency ${max}:${withSlots(attempts, slots.get(agentId) ?? [])}`,
      );
    }
  }
  return violations;
}

/** Events by agent, then by task. */
type ByAgentAndTask = Map<string, Map<string, LoggedEvent>>;

function tasksOf(index: ByAgentAndTask, agentId: string): Map<string, LoggedEvent> {
  const byTask = index.get(agentId) ?? new Map<string, LoggedEvent>();
  index.set(agentId, byTask);
  return byTask;
}

/** The last slot event about `attempt` of `taskId`: its own, or its task's without an attempt. */
function lastSlotEvent(
  slotEvents: readonly LoggedEvent[],
  taskId: string,
  attempt: number,
): LoggedEvent | undefined {
  for (let i = slotEvents.length - 1; i >= 0; i--) {
    const e = slotEvents[i]!;
    if (taskOf(e) === taskId && (attempt === 0 || [0, attempt].includes(slotAttemptOf(e)))) return e;
  }
  return undefined;
}

/** Each attempt with the last event of its slot on the agent's stream. */
const withSlots = (attempts: Map<string, LoggedEvent>, slotEvents: readonly LoggedEvent[]): string =>
  [...attempts.entries()]
    .map(([taskId, a]) => {
      const slot = lastSlotEvent(slotEvents, taskId, attemptOf(a) ?? 0);
      return `\n    ${describeEvent(a)}\n      slot: ${slot ? describeEvent(slot) : 'none'}`;
    })
    .join('');

/**
 * Every session ends once: exactly one terminal workflow event on `workflow-<id>`, nothing
 * assigned after it, and exactly one SessionClosed on `session-<id>`.
 */
export function checkSessionEnds(log: readonly LoggedEvent[], sessionIds: readonly string[]): string[] {
  const violations: string[] = [];
  for (const sessionId of sessionIds) {
    const workflow = log.filter((e) => e.streamId === `workflow-${sessionId}`);
    const ends = workflow.filter((e) => WORKFLOW_END_TYPES.has(e.type));
    if (ends.length !== 1) {
      violations.push(
        `[session end] session ${sessionId} has ${ends.length} terminal workflow events:${evidence(ends)}`,
      );
    }
    const [end] = ends;
    const late = end ? workflow.filter((e) => e.type === 'TaskAssigned' && e.position > end.position) : [];
    if (end && late.length > 0) {
      violations.push(
        `[session end] session ${sessionId} assigned tasks after it ended:${evidence([end, ...late])}`,
      );
    }
    const closed = log.filter((e) => e.streamId === `session-${sessionId}` && e.type === 'SessionClosed');
    if (closed.length !== 1) {
      violations.push(
        `[session end] session ${sessionId} was closed ${closed.length} times:${evidence(closed)}`,
      );
    }
  }
  return violations;
}
