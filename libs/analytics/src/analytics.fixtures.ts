/**
 * Test helpers (for the specs and the fold-throughput script): an `EventLog` that builds store
 * events with the workflow, agent and session contracts' data types, and `generateWorkload`, a
 * seeded generator of a realistic, interleaved history (retries, reassignments, hand-offs,
 * preemptions, claim waits, reviews reopening pair tasks, unknown and malformed events).
 */
import type { AgentEvent, SessionEvent } from '@orch/coordination';
import { taskSpec, type JsonObject, type Pattern, type WorkflowEvent } from '@orch/distribution';
import { rfc3339 } from '@orch/domain-kit';
import type { AnalyticsEvent } from './events';
import { mulberry32 } from './forecast/synthetic';

export const T0 = Date.parse('2026-11-21T10:00:00.000Z');
export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const iso = (ms: number): string => rfc3339(new Date(ms));

type ContractEvent = WorkflowEvent | AgentEvent | SessionEvent;
type DataOf<T extends ContractEvent['type']> = Extract<ContractEvent, { type: T }>['data'];

const selection = (agentId: string) => ({
  strategy: 'weighted',
  agentId,
  candidates: [{ agentId, score: 1, reasons: ['free slot'] }],
  eligible: 1,
  notes: [],
});

export interface SubmitOptions {
  readonly type?: string;
  readonly claims?: readonly JsonObject[];
  readonly role?: 'work' | 'review' | 'plan' | 'supervise';
  readonly sessionId?: string;
}

export interface Usage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly costUsd?: number;
}

/** Builds a log of store events, positions from 1, in the order they are added. */
export class EventLog {
  readonly events: AnalyticsEvent[] = [];
  private position = 0n;

  constructor(readonly session = 's1') {}

  /** A contract event, with its data typed by the contract. */
  add<T extends ContractEvent['type']>(type: T, data: DataOf<T>, at: number): this {
    return this.raw(type, data, at);
  }

  /** Any event, for contracts still moving (resources) and for types nobody knows. */
  raw(type: string, data: unknown, at: number): this {
    const e: AnalyticsEvent = {
      type,
      data,
      occurredAt: iso(at),
      globalPosition: ++this.position,
      streamId: `stream-${type}`,
      correlationId: this.session,
    };
    this.events.push(e);
    return this;
  }

  /** The events sorted by time (stably), numbered again: for a log built task by task. */
  inTimeOrder(): AnalyticsEvent[] {
    let position = 0n;
    return this.events
      .map((e, i) => ({ e, i, at: Date.parse(String(e.occurredAt)) }))
      .sort((a, b) => a.at - b.at || a.i - b.i)
      .map(({ e }) => ({ ...e, globalPosition: ++position }));
  }

  agent(agentId: string, provider: string, at = T0, maxConcurrency = 4): this {
    this.add(
      'AgentRegistered',
      {
        agentId,
        name: agentId,
        provider,
        model: `${provider}-model`,
        capabilities: [{ name: 'code', level: 1 }],
        maxConcurrency,
        cost: { per1kInputTokensUsd: 0.001, per1kOutputTokensUsd: 0.002 },
        labels: {},
        agentType: 'coder',
        registeredAt: iso(at),
      },
      at,
    );
    return this;
  }

  workflow(pattern: Pattern = 'swarm', at = T0, sessionId = this.session): this {
    this.add(
      'WorkflowSubmitted',
      {
        sessionId,
        goal: 'ship it',
        pattern,
        patternReason: '',
        roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
        agentIds: [],
        strategy: 'weighted',
        maxRounds: 3,
        submittedAt: iso(at),
        conflictPolicy: '',
      },
      at,
    );
    return this;
  }

  submit(taskId: string, at: number, o: SubmitOptions = {}): this {
    this.add(
      'TaskSubmitted',
      {
        sessionId: o.sessionId ?? this.session,
        taskId,
        spec: taskSpec({ key: taskId, type: o.type ?? 'coder', claims: o.claims ?? [] }),
        role: o.role ?? 'work',
        reviewOf: '',
        round: 1,
        pinnedAgentId: '',
        origin: 'session',
        parentTaskId: '',
        submittedAt: iso(at),
      },
      at,
    );
    return this;
  }

  ready(taskId: string, at: number): this {
    this.add('TaskReady', { sessionId: this.session, taskId, readyAt: iso(at) }, at);
    return this;
  }

  assign(taskId: string, agentId: string, at: number, attempt = 1): this {
    this.add(
      'TaskAssigned',
      {
        sessionId: this.session,
        taskId,
        agentId,
        attempt,
        deadline: iso(at + HOUR),
        selection: selection(agentId),
        assignedAt: iso(at),
      },
      at,
    );
    return this;
  }

  start(taskId: string, agentId: string, at: number, attempt = 1): this {
    this.add('TaskStarted', { sessionId: this.session, taskId, agentId, attempt, startedAt: iso(at) }, at);
    return this;
  }

  succeed(taskId: string, agentId: string, at: number, usage: Usage = {}, attempt = 1): this {
    this.add(
      'TaskSucceeded',
      {
        sessionId: this.session,
        taskId,
        agentId,
        attempt,
        output: {},
        usage: {
          inputTokens: String(usage.inputTokens ?? 0),
          outputTokens: String(usage.outputTokens ?? 0),
          costUsd: usage.costUsd ?? 0,
        },
        completedAt: iso(at),
      },
      at,
    );
    return this;
  }

  fail(taskId: string, agentId: string, at: number, attempt = 1): this {
    this.add(
      'TaskFailed',
      {
        sessionId: this.session,
        taskId,
        agentId,
        attempt,
        error: 'boom',
        retryable: true,
        failedAt: iso(at),
      },
      at,
    );
    return this;
  }

  timeout(taskId: string, agentId: string, at: number, attempt = 1): this {
    this.add('TaskTimedOut', { sessionId: this.session, taskId, agentId, attempt, timedOutAt: iso(at) }, at);
    return this;
  }

  lost(taskId: string, agentId: string, at: number, attempt = 1): this {
    this.add(
      'TaskAssignmentLost',
      { sessionId: this.session, taskId, agentId, attempt, reason: 'agent unhealthy', at: iso(at) },
      at,
    );
    return this;
  }

  handoff(taskId: string, fromAgentId: string, at: number): this {
    this.add(
      'TaskHandedOff',
      {
        sessionId: this.session,
        taskId,
        fromAgentId,
        toCapabilities: ['review'],
        toAgentId: '',
        reason: 'needs review',
        at: iso(at),
      },
      at,
    );
    return this;
  }

  retry(taskId: string, nextAttempt: number, at: number): this {
    this.add(
      'TaskRetryScheduled',
      { sessionId: this.session, taskId, nextAttempt, delayMs: 1_000, notBefore: iso(at + 1_000) },
      at,
    );
    return this;
  }

  deadLetter(taskId: string, attempts: number, at: number): this {
    this.add(
      'TaskDeadLettered',
      { sessionId: this.session, taskId, attempts, reason: 'attempts used', at: iso(at) },
      at,
    );
    return this;
  }

  cancel(taskId: string, at: number, agentId = ''): this {
    this.add('TaskCancelled', { sessionId: this.session, taskId, agentId, reason: 'user', at: iso(at) }, at);
    return this;
  }

  reopen(taskId: string, round: number, at: number): this {
    this.add('TaskReopened', { sessionId: this.session, taskId, round, comments: null, at: iso(at) }, at);
    return this;
  }

  // The next three are distribution's claim events, still being added to its contract: built raw.
  waiting(taskId: string, waitingFor: 'resources' | 'lock' | 'budget', at: number, attempt = 1): this {
    this.raw(
      'TaskWaiting',
      {
        sessionId: this.session,
        taskId,
        attempt,
        waitingFor,
        reason: 'busy',
        conflictId: '',
        retryAt: '',
        at: iso(at),
      },
      at,
    );
    return this;
  }

  resumed(taskId: string, at: number): this {
    this.raw('TaskResumed', { sessionId: this.session, taskId, reason: 'granted', at: iso(at) }, at);
    return this;
  }

  preempted(taskId: string, agentId: string, at: number, attempt = 1): this {
    this.raw(
      'TaskPreempted',
      {
        sessionId: this.session,
        taskId,
        agentId,
        attempt,
        byTaskId: 'other',
        reason: 'priority',
        at: iso(at),
      },
      at,
    );
    return this;
  }

  completeWorkflow(at: number, sessionId = this.session): this {
    this.add('WorkflowCompleted', { sessionId, completedAt: iso(at) }, at);
    return this;
  }

  /** A task that runs to success: submitted, ready, assigned, started and succeeded. */
  task(
    taskId: string,
    agentId: string,
    at: number,
    times: { wait?: number; run?: number; cost?: number; type?: string } = {},
  ): this {
    const ready = at;
    const assigned = ready + (times.wait ?? SECOND);
    this.submit(taskId, at, { type: times.type ?? 'coder' })
      .ready(taskId, ready)
      .assign(taskId, agentId, assigned)
      .start(taskId, agentId, assigned)
      .succeed(taskId, agentId, assigned + (times.run ?? 10 * SECOND), {
        costUsd: times.cost ?? 0.01,
        inputTokens: 100,
        outputTokens: 50,
      });
    return this;
  }
}

// ---------------------------------------------------------------- a generated workload

export interface WorkloadOptions {
  readonly seed: number;
  readonly sessions: number;
  readonly tasksPerSession: number;
  readonly agents?: number;
  readonly providers?: number;
  readonly pools?: number;
  readonly locks?: number;
  /** Time between session starts (ms, default 20 s). */
  readonly sessionGapMs?: number;
  /** Also emit events of types nobody reads and events missing their ids. */
  readonly noise?: boolean;
}

interface Timed {
  readonly at: number;
  readonly seq: number;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/**
 * A seeded history of `sessions` sessions of `tasksPerSession` tasks on a fleet, in time order.
 * Every task's events are in a valid order; tasks, agents and sessions interleave.
 */
export function generateWorkload(o: WorkloadOptions): AnalyticsEvent[] {
  const random = mulberry32(o.seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const providers = Array.from({ length: o.providers ?? 3 }, (_, i) => `provider-${i}`);
  const agents = Array.from({ length: o.agents ?? 12 }, (_, i) => `agent-${i}`);
  const pools = Array.from({ length: o.pools ?? 3 }, (_, i) => `pool-${i}`);
  const locks = Array.from({ length: o.locks ?? 2 }, (_, i) => `repo:acme/api:src/m${i}/**`);
  const types = ['coder', 'reviewer', 'tester', 'researcher'];
  const out: Timed[] = [];
  let seq = 0;
  const emit = (type: string, at: number, data: Record<string, unknown>): void => {
    out.push({ type, at, seq: seq++, data });
  };

  agents.forEach((agentId, i) =>
    emit('AgentRegistered', T0, {
      agentId,
      name: agentId,
      provider: providers[i % providers.length],
      model: 'm',
      capabilities: [{ name: 'code', level: 1 }],
      maxConcurrency: 4,
      cost: { per1kInputTokensUsd: 0.001, per1kOutputTokensUsd: 0.002 },
      labels: {},
      agentType: 'coder',
      registeredAt: iso(T0),
    }),
  );
  pools.forEach((pool, i) =>
    emit('PoolDefined', T0, {
      poolId: pool,
      kind: i === 0 ? 'budget' : 'concurrency',
      capacity: 10 + i,
      unit: 'slots',
      at: iso(T0),
    }),
  );

  const gap = o.sessionGapMs ?? 20 * SECOND;
  for (let s = 0; s < o.sessions; s++) {
    const sessionId = `session-${s}`;
    const start = T0 + SECOND + s * gap;
    const pattern = pick(['swarm', 'solo', 'pair'] as const);
    emit('SessionStarted', start, {
      sessionId,
      goal: 'goal',
      pattern,
      patternReason: '',
      tasks: [],
      agentIds: [],
      roles: {},
      strategy: 'weighted',
      maxRounds: 3,
      budgetUsd: 0,
      startedAt: iso(start),
    });
    emit('WorkflowSubmitted', start, { sessionId, goal: 'goal', pattern, submittedAt: iso(start) });
    let end = start;
    let failed = false;
    for (let k = 0; k < o.tasksPerSession; k++) {
      const taskId = `${sessionId}-t${k}`;
      const claims = random() < 0.4 ? [{ pool: pick(pools), amount: between(1, 3) }] : [];
      const base = { sessionId, taskId };
      let t = start + between(0, 60 * SECOND);
      emit('TaskSubmitted', t, {
        ...base,
        spec: { key: `t${k}`, type: pick(types), claims },
        role: 'work',
        submittedAt: iso(t),
      });
      t += between(0, 5 * SECOND);
      let attempt = 1;
      let round = 1;
      for (;;) {
        emit('TaskReady', t, { ...base, readyAt: iso(t) });
        const ref = `${taskId}#${attempt}`;
        if (claims.length > 0 || random() < 0.1) {
          if (random() < 0.25) {
            const lock = random() < 0.4 ? pick(locks) : '';
            const waitingFor = lock ? 'lock' : claims[0]?.pool === 'pool-0' ? 'budget' : 'resources';
            t += between(1, 500);
            emit('AllocationBlocked', t, {
              taskId: ref,
              waitingFor,
              reason: 'busy',
              ...(lock
                ? { lock }
                : { allocations: claims.map((c) => ({ poolId: c.pool, amount: c.amount })) }),
              at: iso(t),
            });
            emit('TaskWaiting', t, {
              ...base,
              attempt,
              waitingFor,
              reason: 'busy',
              conflictId: '',
              retryAt: '',
              at: iso(t),
            });
            t += between(100, 20 * SECOND);
            emit('TaskResumed', t, { ...base, reason: 'granted', at: iso(t) });
          }
          if (claims.length > 0) {
            t += between(1, 50);
            emit('ResourcesAllocated', t, {
              taskId: ref,
              allocations: claims.map((c) => ({ poolId: c.pool, amount: c.amount })),
              at: iso(t),
            });
          }
        }
        const agentId = pick(agents);
        t += between(0, 10 * SECOND);
        emit('TaskAssigned', t, { ...base, agentId, attempt, assignedAt: iso(t) });
        if (random() < 0.8) {
          t += between(0, 2 * SECOND);
          emit('TaskStarted', t, { ...base, agentId, attempt, startedAt: iso(t) });
        }
        t += between(SECOND, 60 * SECOND);
        const release = (): void => {
          if (claims.length > 0) emit('ResourcesReleased', t + 5, { taskId: ref, at: iso(t + 5) });
        };
        const r = random();
        if (r < 0.02) {
          emit('TaskCancelled', t, { ...base, agentId, reason: 'user', at: iso(t) });
          release();
          break;
        }
        if (r < 0.72) {
          emit('TaskSucceeded', t, {
            ...base,
            agentId,
            attempt,
            output: {},
            usage: {
              inputTokens: String(between(100, 5_000)),
              outputTokens: String(between(10, 2_000)),
              costUsd: between(1, 500) / 10_000,
            },
            completedAt: iso(t),
          });
          release();
          if (pattern === 'pair' && round < 2 && random() < 0.3) {
            round++;
            t += SECOND;
            emit('TaskReopened', t, { ...base, round, comments: null, at: iso(t) });
            t += SECOND;
            attempt++;
            continue;
          }
          break;
        }
        const kind =
          r < 0.84
            ? 'TaskFailed'
            : r < 0.9
              ? 'TaskTimedOut'
              : r < 0.95
                ? 'TaskAssignmentLost'
                : r < 0.975
                  ? 'TaskHandedOff'
                  : 'TaskPreempted';
        const at = iso(t);
        if (kind === 'TaskFailed')
          emit(kind, t, { ...base, agentId, attempt, error: 'x', retryable: true, failedAt: at });
        else if (kind === 'TaskTimedOut') emit(kind, t, { ...base, agentId, attempt, timedOutAt: at });
        else if (kind === 'TaskHandedOff')
          emit(kind, t, {
            ...base,
            fromAgentId: agentId,
            toCapabilities: [],
            toAgentId: '',
            reason: 'r',
            at,
          });
        else emit(kind, t, { ...base, agentId, attempt, reason: 'r', at });
        release();
        const retryable = kind === 'TaskFailed' || kind === 'TaskTimedOut' || kind === 'TaskAssignmentLost';
        if (retryable && attempt >= 3) {
          t += 1;
          emit('TaskDeadLettered', t, { ...base, attempts: attempt, reason: 'attempts used', at: iso(t) });
          failed = true;
          break;
        }
        if (retryable)
          emit('TaskRetryScheduled', t, {
            ...base,
            nextAttempt: attempt + 1,
            delayMs: 1_000,
            notBefore: iso(t + 1_000),
          });
        attempt++;
        t += between(SECOND, 5 * SECOND);
      }
      end = Math.max(end, t + 10);
    }
    const done = end + SECOND;
    emit(failed ? 'WorkflowFailed' : 'WorkflowCompleted', done, {
      sessionId,
      ...(failed ? { taskId: '', reason: 'dead letter', failedAt: iso(done) } : { completedAt: iso(done) }),
    });
    emit('SessionClosed', done, {
      sessionId,
      status: failed ? 'failed' : 'completed',
      reason: '',
      closedAt: iso(done),
    });
  }

  // Agents falling ill and recovering, some draining; and (when asked) noise.
  const span = o.sessions * gap + 2 * MINUTE;
  for (let i = 0; i < Math.max(1, agents.length / 3); i++) {
    const agentId = pick(agents);
    const at = T0 + between(0, span);
    emit('AgentBecameUnhealthy', at, { agentId, releasedTaskIds: [], at: iso(at) });
    const recovered = at + between(SECOND, 5 * MINUTE);
    emit('AgentRecovered', recovered, { agentId, at: iso(recovered) });
  }
  if (o.noise) {
    for (let i = 0; i < Math.max(1, o.sessions); i++) {
      const at = T0 + between(0, span);
      emit(pick(['ConflictDetected', 'SomethingNobodyKnows']), at, { id: `c${i}` });
      emit('TaskAssigned', at, { sessionId: 'x', taskId: '', agentId: '' });
    }
  }

  out.sort((a, b) => a.at - b.at || a.seq - b.seq);
  let position = 0n;
  return out.map((e) => ({
    type: e.type,
    data: e.data,
    occurredAt: iso(e.at),
    globalPosition: ++position,
    streamId: `stream-${e.type}`,
    correlationId: typeof e.data['sessionId'] === 'string' ? (e.data['sessionId'] as string) : '',
  }));
}
