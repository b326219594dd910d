/**
 * Gateway documents for tests, in the shapes the gateway answers (services/gateway/src/replay):
 * a small pair session - two tasks, one agent, one lock - whose second task fails once.
 */

export const SESSION_ID = '3f2a9c1e-0000-4000-8000-000000000001';
export const AGENT_ID = 'a9e1c2d3-0000-4000-8000-0000000000aa';
export const DESIGN_TASK = 'd0000000-0000-4000-8000-000000000001';
export const CODE_TASK = 'c0000000-0000-4000-8000-000000000002';
export const CONFLICT_ID = 'cf000000-0000-4000-8000-000000000001';

const START = Date.parse('2026-03-01T10:00:00.000Z');
const at = (ms: number): string => new Date(START + ms).toISOString();

let eventCounter = 0;
/** One event as the events page (and each export line) shows it. */
export function eventDoc(
  position: number,
  offsetMs: number,
  source: string,
  type: string,
  streamId: string,
  streamVersion: number,
  data: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  eventCounter++;
  return {
    position: String(position),
    eventId: `e${String(eventCounter).padStart(7, '0')}-0000-4000-8000-${String(position).padStart(12, '0')}`,
    type,
    source,
    streamId,
    streamVersion: String(streamVersion),
    occurredAt: at(offsetMs),
    schemaVersion: 1,
    data,
    metadata: { correlationId: SESSION_ID, ...metadata },
  };
}

const workflow = `workflow-${SESSION_ID}`;
const session = `session-${SESSION_ID}`;
const agent = `agent-${AGENT_ID}`;

/** The session's history in global order. */
export const EVENTS = [
  eventDoc(101, 0, 'coordination', 'SessionStarted', session, 1, {
    sessionId: SESSION_ID,
    goal: 'Add rate-limited password reset',
    pattern: 'pair',
    tasks: [{ key: 'design' }, { key: 'code' }],
  }),
  eventDoc(102, 12, 'distribution', 'WorkflowSubmitted', workflow, 1, {
    sessionId: SESSION_ID,
    pattern: 'pair',
  }),
  eventDoc(103, 13, 'distribution', 'TaskSubmitted', workflow, 2, {
    sessionId: SESSION_ID,
    taskId: DESIGN_TASK,
    spec: { key: 'design', type: 'design' },
    role: 'work',
    origin: 'session',
  }),
  eventDoc(104, 14, 'distribution', 'TaskSubmitted', workflow, 3, {
    sessionId: SESSION_ID,
    taskId: CODE_TASK,
    spec: { key: 'code', type: 'code', dependsOn: ['design'] },
    role: 'work',
    origin: 'session',
  }),
  eventDoc(110, 40, 'resources', 'ResourcesAllocated', 'resources-allocator', 57, {
    taskId: DESIGN_TASK,
    attempt: 1,
    sessionId: SESSION_ID,
    grants: [{ poolId: 'llm-tokens', amount: 1200 }],
    locks: [{ lock: 'repo:acme/accounts:db/**', mode: 'exclusive' }],
  }),
  eventDoc(111, 55, 'distribution', 'TaskAssigned', workflow, 4, {
    sessionId: SESSION_ID,
    taskId: DESIGN_TASK,
    agentId: AGENT_ID,
    attempt: 1,
    selection: { strategy: 'weighted', candidates: [{ agentId: AGENT_ID, score: 0.8234 }] },
  }),
  eventDoc(112, 56, 'coordination', 'AgentTaskAssigned', agent, 9, {
    agentId: AGENT_ID,
    taskId: DESIGN_TASK,
    sessionId: SESSION_ID,
    attempt: 1,
  }),
  eventDoc(120, 1234, 'distribution', 'TaskSucceeded', workflow, 5, {
    sessionId: SESSION_ID,
    taskId: DESIGN_TASK,
    agentId: AGENT_ID,
    attempt: 1,
    usage: { inputTokens: 1200, outputTokens: 300, costUsd: 0.0123 },
  }),
  eventDoc(130, 62_500, 'distribution', 'TaskFailed', workflow, 6, {
    sessionId: SESSION_ID,
    taskId: CODE_TASK,
    agentId: AGENT_ID,
    attempt: 1,
    error: 'tests failed',
    retryable: true,
  }),
  eventDoc(131, 62_600, 'resources', 'ConflictDetected', 'resources-allocator', 80, {
    conflictId: CONFLICT_ID,
    kind: 'lock',
    resource: 'repo:acme/accounts:db/**',
    parties: [
      { taskId: CODE_TASK, attempt: 2, role: 'waiter' },
      { taskId: 'f0000000-0000-4000-8000-00000000000f', attempt: 1, role: 'holder' },
    ],
    policy: 'queue',
  }),
  eventDoc(140, 63_000, 'coordination', 'FutureThingHappened', session, 2, {
    sessionId: SESSION_ID,
    level: 3,
  }),
];

/** Pages of at most `size` events, with the `nextFrom` the gateway gives. */
export function eventPages(size: number): Record<string, unknown>[] {
  const pages: Record<string, unknown>[] = [];
  for (let i = 0; i < EVENTS.length; i += size) {
    const items = EVENTS.slice(i, i + size);
    const last = i + size >= EVENTS.length;
    pages.push({
      items,
      nextFrom: last ? null : (items[items.length - 1]?.['position'] as string),
      lastPosition: '140',
    });
  }
  return pages;
}

/** GET /api/sessions/{id}/replay at the end. */
export const REPLAY = {
  at: '140',
  events: 11,
  state: {
    at: '140',
    events: 11,
    occurredAt: at(63_000),
    session: {
      sessionId: SESSION_ID,
      status: 'running',
      goal: 'Add rate-limited password reset',
      pattern: 'pair',
      patternReason: '',
      messages: 0,
      context: [],
    },
    workflow: {
      status: 'running',
      pattern: 'pair',
      reason: '',
      tasks: [
        {
          taskId: DESIGN_TASK,
          key: 'design',
          status: 'succeeded',
          waitingFor: '',
          agentId: AGENT_ID,
          attempts: 1,
          failures: 0,
          priority: 0,
          role: 'work',
          error: '',
        },
        {
          taskId: CODE_TASK,
          key: 'code',
          status: 'waiting',
          waitingFor: 'lock',
          agentId: '',
          attempts: 1,
          failures: 1,
          priority: 0,
          role: 'work',
          error: 'tests failed',
        },
      ],
      counts: { succeeded: 1, waiting: 1 },
    },
    agents: [
      {
        agentId: AGENT_ID,
        name: 'claude-1',
        provider: 'anthropic',
        status: 'idle',
        slots: [],
        health: 'healthy',
        draining: false,
      },
    ],
    resources: {
      allocations: [],
      waiters: [
        {
          allocationId: 'al-2',
          taskId: CODE_TASK,
          attempt: 2,
          priority: 0,
          claims: [],
          waitingFor: 'lock',
          reason: 'lock repo:acme/accounts:db/** is held by another session',
          blockers: ['f0000000-0000-4000-8000-00000000000f'],
          retryAt: '',
          since: at(62_600),
          position: 1,
          conflictIds: [CONFLICT_ID],
        },
      ],
      pools: [],
    },
    conflicts: [
      {
        conflictId: CONFLICT_ID,
        kind: 'lock',
        resource: 'repo:acme/accounts:db/**',
        allocationId: 'al-2',
        parties: [
          { taskId: CODE_TASK, attempt: 2, priority: 0, role: 'waiter' },
          { taskId: 'f0000000-0000-4000-8000-00000000000f', attempt: 1, priority: 5, role: 'holder' },
        ],
        policy: 'queue',
        since: at(62_600),
      },
    ],
    unknownTypes: ['FutureThingHappened'],
  },
  unknownTypes: ['FutureThingHappened'],
};

/** A verify report with no divergence. */
export const VERIFY_CLEAN = { divergences: [], checked: 7, skipped: 2, unknownTypes: [] };

/** A verify report where today's code assigns a different attempt and emits no second event. */
export const VERIFY_DIVERGED = {
  divergences: [
    {
      position: '111',
      streamId: workflow,
      command: 'AssignTask',
      expected: [
        { type: 'TaskAssigned', data: { taskId: DESIGN_TASK, attempt: 1, agentId: AGENT_ID } },
        { type: 'TaskStarted', data: { taskId: DESIGN_TASK } },
      ],
      actual: [{ type: 'TaskAssigned', data: { taskId: DESIGN_TASK, attempt: 2, agentId: AGENT_ID } }],
      reason: 'the events differ',
    },
  ],
  checked: 7,
  skipped: 0,
  unknownTypes: ['FutureThingHappened'],
};
