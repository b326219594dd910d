import { num, record, records, str, strings, type Doc } from '../documents';
import { isRecord } from '../http';
import { shortId } from './table';
import { formatOffset, parseTime } from './time';

/**
 * Names for the ids events carry, learnt from the history itself (TaskSubmitted gives a task's
 * key, AgentRegistered an agent's name) and from the replayed state: a person reads `review-api`
 * and `claude-1` where the store holds two UUIDs.
 */
export class Names {
  private readonly tasks = new Map<string, string>();
  private readonly agents = new Map<string, string>();

  /** The session's first event time: offsets in summaries count from it. */
  constructor(readonly start: Date | undefined = undefined) {}

  /** Learns the task keys and agent names an event gives. */
  learnFromEvent(type: string, data: Doc): void {
    if (type === 'TaskSubmitted' || type === 'TaskSpecReplaced') {
      this.addTask(str(data, 'taskId'), str(record(data['spec']), 'key'));
    } else if (type === 'AgentRegistered') {
      this.addAgent(str(data, 'agentId'), str(data, 'name'));
    }
  }

  /** Learns from replayed state: tasks (`taskId`, `key`) and agents (`agentId`, `name`). */
  learnFromState(tasks: readonly Doc[], agents: readonly Doc[]): void {
    for (const t of tasks) this.addTask(str(t, 'taskId'), str(t, 'key'));
    for (const a of agents) this.addAgent(str(a, 'agentId') || str(a, 'id'), str(a, 'name'));
  }

  addTask(taskId: string, key: string): void {
    if (taskId !== '' && key !== '') this.tasks.set(taskId, key);
  }

  addAgent(agentId: string, name: string): void {
    if (agentId !== '' && name !== '') this.agents.set(agentId, name);
  }

  /** The task's key, else the start of its id; '' for ''. */
  task(taskId: string): string {
    return taskId === '' ? '' : (this.tasks.get(taskId) ?? shortId(taskId));
  }

  /** The agent's name, else the start of its id; '' for ''. */
  agent(agentId: string): string {
    return agentId === '' ? '' : (this.agents.get(agentId) ?? shortId(agentId));
  }

  /** An instant as an offset from the session's start (`+1.234s`), or as given without a start. */
  time(value: unknown): string {
    const at = parseTime(value);
    if (!at) return typeof value === 'string' ? value : '';
    return this.start ? formatOffset(at.getTime() - this.start.getTime()) : at.toISOString();
  }
}

/** The task and the agent an event concerns ('' when none). */
export function subjectOf(
  type: string,
  streamId: string,
  data: Doc,
  names: Names,
): { task: string; agent: string } {
  const taskId =
    str(data, 'taskId') ||
    str(data, 'victim') ||
    str(
      records(data['parties']).find((p) => str(p, 'role') === 'waiter'),
      'taskId',
    );
  let agentId = str(data, 'agentId') || str(data, 'fromAgentId');
  if (agentId === '' && streamId.startsWith('agent-')) agentId = streamId.slice('agent-'.length);
  if (agentId === '' && type === 'SessionMessagePosted') agentId = str(data, 'from');
  return { task: names.task(taskId), agent: names.agent(agentId) };
}

type Summariser = (d: Doc, names: Names) => (string | undefined)[];

const attempt = (d: Doc): string | undefined => {
  const n = num(d, 'attempt');
  return n ? `attempt ${n}` : undefined;
};
const reason = (d: Doc, key = 'reason'): string | undefined => {
  const text = str(d, key);
  return text ? `- ${text}` : undefined;
};
const grants = (d: Doc, key: string): string | undefined => {
  const pools = records(d[key]).map(
    (g) => `${str(g, 'poolId') || str(g, 'pool')}:${compactNumber(g['amount'])}`,
  );
  return pools.length > 0 ? `pools ${pools.join(',')}` : undefined;
};
const locks = (d: Doc): string | undefined => {
  const held = records(d['locks']).map(
    (l) => `${str(l, 'lock')}${str(l, 'mode') === 'shared' ? ' (shared)' : ''}`,
  );
  return held.length > 0 ? `locks ${held.join(',')}` : undefined;
};
const usage = (u: Doc): string | undefined => {
  const input = num(u, 'inputTokens') ?? 0;
  const output = num(u, 'outputTokens') ?? 0;
  const cost = num(u, 'costUsd') ?? 0;
  const parts = [
    input + output > 0 ? `tokens ${input}+${output}` : undefined,
    cost > 0 ? `$${cost.toFixed(4)}` : undefined,
  ];
  return parts.filter(Boolean).join(' ') || undefined;
};

/** Readable summaries of the event types a session's timeline shows most. */
const SUMMARIES: Readonly<Record<string, Summariser>> = {
  SessionStarted: (d) => [
    `pattern ${str(d, 'pattern')}`,
    `${records(d['tasks']).length} tasks`,
    `goal ${quote(str(d, 'goal'))}`,
  ],
  SessionClosed: (d) => [str(d, 'status'), reason(d)],
  SessionCancelled: (d) => [reason(d)],
  SessionMessagePosted: (d, n) => [
    `${n.agent(str(d, 'from')) || 'someone'} -> ${n.agent(str(d, 'to')) || 'all'}:`,
    compactJson(d['body']),
  ],
  SessionContextUpdated: (d) => [`${str(d, 'key')} = ${compactJson(d['value'])}`, `(v${str(d, 'version')})`],
  WorkflowSubmitted: (d) => [`pattern ${str(d, 'pattern')}`],
  TaskSubmitted: (d) => {
    const spec = record(d['spec']);
    const deps = strings(spec['dependsOn']);
    return [
      str(spec, 'type') || undefined,
      str(d, 'role') && str(d, 'role') !== 'work' ? `role ${str(d, 'role')}` : undefined,
      str(d, 'origin') && str(d, 'origin') !== 'session' ? `from ${str(d, 'origin')}` : undefined,
      deps.length > 0 ? `after ${deps.join(',')}` : undefined,
    ];
  },
  TaskAssigned: (d, n) => {
    const selection = record(d['selection']);
    const chosen = records(selection['candidates']).find((c) => str(c, 'agentId') === str(d, 'agentId'));
    return [
      attempt(d),
      str(selection, 'strategy') ? `by ${str(selection, 'strategy')}` : undefined,
      chosen && num(chosen, 'score') !== undefined ? `score ${compactNumber(chosen['score'])}` : undefined,
      str(d, 'deadline') ? `deadline ${n.time(d['deadline'])}` : undefined,
    ];
  },
  AgentTaskAssigned: (d, n) => [attempt(d), `task ${n.task(str(d, 'taskId'))}`],
  AgentTaskReleased: (d, n) => [attempt(d), `task ${n.task(str(d, 'taskId'))}`, reason(d)],
  TaskStarted: (d) => [attempt(d)],
  TaskProgressed: (d) => [
    num(d, 'percent') !== undefined ? `${compactNumber(d['percent'])}%` : undefined,
    str(d, 'message') || undefined,
  ],
  TaskSucceeded: (d) => [attempt(d), usage(record(d['usage']))],
  TaskFailed: (d) => [
    attempt(d),
    d['retryable'] === true ? 'retryable' : 'not retryable',
    `- ${str(d, 'error')}`,
  ],
  TaskTimedOut: (d) => [attempt(d)],
  TaskAssignmentLost: (d) => [attempt(d), reason(d)],
  TaskRetryScheduled: (d) => [
    `attempt ${str(d, 'nextAttempt')}`,
    `in ${formatOffset(num(d, 'delayMs') ?? 0).slice(1)}`,
  ],
  TaskDeadLettered: (d) => [`after ${str(d, 'attempts')} attempts`, reason(d)],
  TaskCancelled: (d) => [reason(d)],
  TaskWaiting: (d) => [`for ${str(d, 'waitingFor')}`, reason(d)],
  TaskResumed: (d) => [reason(d)],
  TaskPreempted: (d, n) => [
    attempt(d),
    str(d, 'byTaskId') ? `by ${n.task(str(d, 'byTaskId'))}` : undefined,
    reason(d),
  ],
  TaskHandedOff: (d, n) => [
    `to ${n.agent(str(d, 'toAgentId')) || strings(d['toCapabilities']).join(',') || 'anyone'}`,
    reason(d),
  ],
  TaskReopened: (d) => [`round ${str(d, 'round')}`],
  WorkflowCompleted: () => ['every task finished'],
  WorkflowFailed: (d, n) => [`task ${n.task(str(d, 'taskId'))}`, reason(d)],
  WorkflowCancelled: (d) => [reason(d)],
  ResourcesAllocated: (d) => [attempt(d), grants(d, 'grants'), locks(d)],
  ResourcesReleased: (d) => [attempt(d), grants(d, 'returned'), locks(d), reason(d)],
  AllocationBlocked: (d) => [attempt(d), `for ${str(d, 'waitingFor')}`, reason(d)],
  AllocationRefused: (d) => [attempt(d), reason(d)],
  WaitWithdrawn: (d) => [attempt(d), reason(d)],
  ConflictDetected: (d) => [
    `${str(d, 'kind')} ${str(d, 'resource')}`,
    `policy ${str(d, 'policy')}`,
    `${records(d['parties']).length} parties`,
  ],
  ConflictResolved: (d, n) => [
    str(d, 'resolution'),
    str(d, 'winner') ? `winner ${n.task(str(d, 'winner'))}` : undefined,
    reason(d),
  ],
  PreemptionRequested: (d, n) => [attempt(d), `by ${n.task(str(d, 'byTaskId'))}`, reason(d)],
  DeadlockDetected: (d, n) => [
    `cycle ${strings(d['cycle'])
      .map((t) => n.task(t))
      .join(' -> ')}`,
    `victim ${n.task(str(d, 'victim'))}`,
  ],
  UsageReconciled: (d) => [attempt(d), usage(d)],
  AgentRegistered: (d) => [
    `${str(d, 'name')} (${str(d, 'provider')}/${str(d, 'model')})`,
    `capacity ${str(d, 'maxConcurrency')}`,
  ],
  AgentBecameUnhealthy: (d) => [`${strings(d['releasedTaskIds']).length} tasks released`],
};

/** Fields a summary never repeats: the subject columns show them, or they are the event's own time. */
const SUBJECT_FIELDS = new Set(['sessionId', 'taskId', 'agentId']);

/**
 * A one-line summary of an event's data. Known types get a sentence-like summary; others list
 * their scalar fields (`key=value`), with times as offsets from the session's start.
 */
export function summarise(type: string, data: Doc, names: Names): string {
  const known = SUMMARIES[type];
  if (known)
    return known(data, names)
      .filter((p): p is string => p !== undefined && p !== '')
      .join(' ');
  return genericSummary(data, names);
}

function genericSummary(data: Doc, names: Names): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (SUBJECT_FIELDS.has(key) || key === 'at' || key.endsWith('At')) continue;
    if (value === '' || value === null || value === undefined) continue;
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      parts.push(
        value.every((v) => typeof v !== 'object') ? `${key}=${value.join(',')}` : `${key}=[${value.length}]`,
      );
    } else if (isRecord(value)) {
      if (Object.keys(value).length > 0) parts.push(`${key}={…}`);
    } else if (typeof value === 'string' && parseTime(value) && /^\d{4}-\d\d-\d\dT/.test(value)) {
      parts.push(`${key}=${names.time(value)}`);
    } else if (typeof value === 'string') {
      parts.push(`${key}=${/\s/.test(value) ? quote(value) : value}`);
    } else {
      parts.push(`${key}=${String(value)}`);
    }
  }
  return parts.join(' ');
}

/** A string in double quotes (JSON escapes), cut to 60 characters. */
export function quote(text: string, max = 60): string {
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return JSON.stringify(cut);
}

/** JSON on one line, cut to 60 characters. */
export function compactJson(value: unknown, max = 60): string {
  const json = JSON.stringify(value) ?? '';
  return json.length > max ? `${json.slice(0, max - 1)}…` : json;
}

/** A number without float noise: 0.82, 1200, 0.0001. */
function compactNumber(value: unknown): string {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(4)));
}
