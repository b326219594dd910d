import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { SessionStartedSchema, findEventType, protoRegistry } from '@orch/contracts';
import {
  taskIdFor,
  workflowDecider,
  workflowEventTypes,
  type TaskSpecData,
  type WorkflowCommand,
  type WorkflowEvent,
  type WorkflowPolicy,
  type WorkflowState,
} from '@orch/distribution';
import { toAssignment, toSessionView, toSubmitWorkflow, toTaskSpecData } from './workflow.mapping';

const policy: WorkflowPolicy = {
  defaultTimeoutMs: 1_000,
  defaultMaxAttempts: 5,
  retryBaseMs: 100,
  retryMaxMs: 1_000,
  maxTasks: 100,
};
const sessionId = '0b8f0c3e-6f3a-4d53-9d1c-2f0c1f7b9a11';
const at = new Date('2026-11-21T10:00:00.250Z');
const later = new Date('2026-11-21T11:00:00Z');
const muchLater = new Date('2026-11-21T12:00:00Z');
const latest = new Date('2026-11-21T13:00:00Z');
const id = (key: string) => taskIdFor(sessionId, key);
const usage = { inputTokens: '12', outputTokens: '7', costUsd: 0.25 };
const selection = {
  strategy: 'weighted',
  agentId: 'a1',
  candidates: [{ agentId: 'a1', score: 0.5, reasons: ['idle'] }],
  eligible: 2,
  notes: ['circuit open on a2'],
};

const started = create(SessionStartedSchema, {
  sessionId,
  goal: 'ship',
  pattern: 'pair',
  patternReason: 'asked for review',
  tasks: [
    {
      key: 'a',
      type: 'coder',
      input: { repo: 'acme/api', depth: 2, tags: ['x'] },
      capabilities: ['code'],
      claims: [{ lock: 'repo:acme/api', mode: 'exclusive' }],
      estimatedDurationMs: 5_000n,
    },
    { key: 'b', type: 'coder', dependsOn: ['a'], priority: -2, allowFailure: true },
  ],
  agentIds: ['a1', 'a2'],
  roles: { driverAgentId: 'a1', navigatorAgentId: 'a2' },
  strategy: 'weighted',
  startedAt: timestampFromDate(at),
  conflictPolicy: 'preempt',
});

/** Plays commands, returning every event they produced and the state they lead to. */
function play(commands: readonly WorkflowCommand[]): { events: WorkflowEvent[]; state: WorkflowState } {
  let state = workflowDecider.initialState();
  const events: WorkflowEvent[] = [];
  for (const c of commands) {
    const decided = workflowDecider.decide(c, state);
    events.push(...decided);
    state = decided.reduce(workflowDecider.evolve, state);
  }
  return { events, state };
}

const assign = (key: string, agentId: string, attempt: number): WorkflowCommand => ({
  type: 'MarkAssigned',
  taskId: id(key),
  agentId,
  attempt,
  deadline: new Date(at.getTime() + 1_000),
  selection,
  at,
});
const complete = (key: string, agentId: string, output = {}): WorkflowCommand => ({
  type: 'CompleteTask',
  taskId: id(key),
  agentId,
  output,
  usage,
  policy,
  jitter: 0.5,
  at,
});
const submit = toSubmitWorkflow(started, policy, at);

/** Every event type, produced by the decider in a pair session and a swarm one. */
const { events: pairEvents, state: pairState } = play([
  submit,
  assign('a', 'a1', 1),
  { type: 'StartTask', taskId: id('a'), agentId: 'a1', at },
  { type: 'ReportTaskProgress', taskId: id('a'), agentId: 'a1', percent: -1, message: 'thinking', at },
  {
    type: 'FailTask',
    taskId: id('a'),
    agentId: 'a1',
    error: 'flaky',
    retryable: true,
    policy,
    jitter: 0.1,
    at,
  },
  { type: 'MakeReady', taskId: id('a'), at: later },
  assign('a', 'a1', 2),
  { type: 'TimeOutTask', taskId: id('a'), attempt: 2, policy, jitter: 0, at: later },
  { type: 'MakeReady', taskId: id('a'), at: muchLater },
  assign('a', 'a1', 3),
  { type: 'LoseAssignment', agentId: 'a1', reason: 'unhealthy', policy, jitter: 0, at: muchLater },
  { type: 'MakeReady', taskId: id('a'), at: latest },
  {
    type: 'AdaptWorkflow',
    add: [],
    remove: [],
    replace: [{ ...toTaskSpecData(started.tasks[1]!), description: 'better' }],
    policy,
    at,
  },
  assign('a', 'a1', 4),
  complete('a', 'a1', { diff: '+1' }),
  assign('a.review.1', 'a2', 1),
  complete('a.review.1', 'a2', { verdict: 'changes_requested', comments: { line: 3 } }),
]);
const swarmTasks: TaskSpecData[] = [toTaskSpecData(started.tasks[0]!)];
const swarm = (more: readonly WorkflowCommand[]) =>
  play([
    {
      ...submit,
      pattern: 'swarm',
      roles: { ...submit.roles, driverAgentId: '', navigatorAgentId: '' },
      tasks: swarmTasks,
    },
    ...more,
  ]);
const handedOff = swarm([
  assign('a', 'a1', 1),
  {
    type: 'HandOffTask',
    taskId: id('a'),
    agentId: 'a1',
    toCapabilities: [],
    toAgentId: 'a2',
    reason: 'yours',
    at,
  },
  assign('a', 'a2', 2),
  complete('a', 'a2'),
]).events;
const deadLettered = swarm([
  assign('a', 'a1', 1),
  { type: 'FailTask', taskId: id('a'), agentId: 'a1', error: 'bad', retryable: false, policy, jitter: 0, at },
]).events;
const cancelled = swarm([{ type: 'CancelWorkflow', reason: 'user', at }]).events;
const claimed = swarm([
  {
    type: 'HoldTask',
    taskId: id('a'),
    attempt: 1,
    waitingFor: 'lock',
    reason: 'repo:acme/api is held by another task',
    conflictId: 'c-1',
    retryAt: later,
    at,
  },
  { type: 'ResumeTask', taskId: id('a'), reason: 'claims granted', at },
  assign('a', 'a1', 1),
  { type: 'PreemptTask', taskId: id('a'), attempt: 1, byTaskId: 'urgent', reason: 'outranked', at },
]).events;
const allEvents = [...pairEvents, ...handedOff, ...deadLettered, ...cancelled, ...claimed];

/** The proto JSON mapping of `data` as the wire carries it, with defaults emitted. */
function roundTrip(type: string, data: unknown): JsonValue {
  const info = findEventType(type);
  if (!info) throw new Error(`proto/ declares no event ${type}`);
  return toJson(info.schema, fromJson(info.schema, data as JsonValue, { registry: protoRegistry }), {
    registry: protoRegistry,
    alwaysEmitImplicit: true,
  });
}

describe('workflow events and their proto messages', () => {
  it('covers every workflow event type', () => {
    expect([...new Set(allEvents.map((e) => e.type))].sort()).toEqual([...workflowEventTypes].sort());
  });

  it.each(workflowEventTypes)('%s data is exactly the proto JSON mapping of the message', (type) => {
    for (const e of allEvents.filter((x) => x.type === type))
      expect(roundTrip(e.type, e.data)).toEqual(e.data);
  });
});

describe('mapping to the wire', () => {
  it('turns SessionStarted into SubmitWorkflow with every task field', () => {
    expect(submit).toMatchObject({
      sessionId,
      pattern: 'pair',
      roles: { driverAgentId: 'a1', soloAgentId: '' },
      conflictPolicy: 'preempt',
    });
    expect(pairEvents[0]).toMatchObject({ type: 'WorkflowSubmitted', data: { conflictPolicy: 'preempt' } });
    expect(submit.tasks[0]).toEqual({
      key: 'a',
      type: 'coder',
      description: '',
      input: { repo: 'acme/api', depth: 2, tags: ['x'] },
      capabilities: ['code'],
      dependsOn: [],
      priority: 0,
      timeoutMs: 0,
      maxAttempts: 0,
      claims: [{ lock: 'repo:acme/api', mode: 'exclusive' }],
      allowFailure: false,
      estimatedDurationMs: '5000',
    });
  });

  it('gives a reopened task its reviewer comments in the assignment input', () => {
    if (pairState.status === 'unsubmitted') throw new Error('not submitted');
    const reopened = pairState.tasks.get(id('a'))!;
    expect(reopened).toMatchObject({ status: 'ready', round: 2 });
    const assignment = toAssignment(pairState, { ...reopened, status: 'assigned', agentId: 'a1' });
    expect(assignment.input).toEqual({
      repo: 'acme/api',
      depth: 2,
      tags: ['x'],
      reviewComments: { line: 3 },
    });
    expect(assignment).toMatchObject({ key: 'a', round: 2, role: 'work', goal: 'ship', pattern: 'pair' });
  });

  it('counts tasks by status and adds up their usage in the session view', () => {
    if (pairState.status === 'unsubmitted') throw new Error('not submitted');
    const view = toSessionView(pairState, 42n, true);
    expect(view.counts).toEqual({ ready: 1, pending: 1, succeeded: 1 });
    expect(view.usage).toMatchObject({ inputTokens: 24n, outputTokens: 14n, costUsd: 0.5 });
    expect(view.tasks.map((t) => [t.key, t.status, t.attempts])).toEqual([
      ['a', 'ready', 4],
      ['b', 'pending', 0],
      ['a.review.1', 'succeeded', 1],
    ]);
    expect(toSessionView(pairState, 42n, false).tasks).toEqual([]);
  });
});
