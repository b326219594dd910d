import { EventLog, HOUR, MINUTE, SECOND, T0, iso } from '../analytics.fixtures';
import type { AnalyticsEvent } from '../events';
import type { LatencyView } from '../views/metrics';
import { metricsView } from '../views/metrics';
import { evolve, evolveAll, unreadContractTypes } from './evolve';
import { initialAnalyticsState, type AnalyticsOptions, type AnalyticsState } from './state';

const fold = (log: EventLog, options: Partial<AnalyticsOptions> = {}): AnalyticsState =>
  evolveAll(initialAnalyticsState(options), log.events);
const view = (log: EventLog, options: Partial<AnalyticsOptions> = {}) => metricsView(fold(log, options));

/** HDR histograms with 2 significant digits report values within 1%. */
function expectNear(actual: number | undefined, expected: number): void {
  expect(actual).toBeDefined();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(Math.max(1, expected * 0.01));
}
const only = (latency: LatencyView | null, expected: number): void => {
  expect(latency?.count).toBe(1);
  expectNear(latency?.p50, expected);
  expectNear(latency?.max, expected);
};

const agentOf = (v: ReturnType<typeof view>, id: string) => v.agents.find((a) => a.agentId === id)!;
const providerOf = (v: ReturnType<typeof view>, id: string) => v.providers.find((p) => p.provider === id)!;
const typeOf = (v: ReturnType<typeof view>, id: string) => v.taskTypes.find((t) => t.taskType === id)!;

describe('a task that runs to success', () => {
  const log = () =>
    new EventLog()
      .agent('a1', 'acme')
      .workflow('swarm', T0)
      .submit('t1', T0, { type: 'coder' })
      .ready('t1', T0 + 2 * SECOND)
      .assign('t1', 'a1', T0 + 7 * SECOND)
      .start('t1', 'a1', T0 + 9 * SECOND)
      .succeed('t1', 'a1', T0 + 39 * SECOND, { inputTokens: 1200, outputTokens: 300, costUsd: 0.042 });

  it('counts it for its agent, the agent provider, its type, its session and in total', () => {
    const v = view(log());
    for (const m of [agentOf(v, 'a1'), providerOf(v, 'acme'), typeOf(v, 'coder'), v.sessions[0]!, v.totals]) {
      expect(m.counts).toMatchObject({ assigned: 1, started: 1, succeeded: 1, failed: 0 });
      expect(m.successRate).toBe(1);
    }
    expect(v.totals.counts.submitted).toBe(1);
    expect(typeOf(v, 'coder').counts.submitted).toBe(1);
  });

  it('times the queue wait from ready to assigned, the run from start to end, and submit to success', () => {
    const m = agentOf(view(log()), 'a1');
    only(m.queueWaitMs, 5 * SECOND);
    only(m.runTimeMs, 30 * SECOND);
    only(m.endToEndMs, 39 * SECOND);
  });

  it('times the run from the assignment when the start was not reported', () => {
    const l = new EventLog()
      .agent('a1', 'acme')
      .submit('t1', T0)
      .ready('t1', T0)
      .assign('t1', 'a1', T0 + SECOND)
      .succeed('t1', 'a1', T0 + 21 * SECOND);
    only(view(l).totals.runTimeMs, 20 * SECOND);
  });

  it('adds up tokens and cost from the usage (uint64 as decimal strings)', () => {
    const m = view(
      log().succeed('t1', 'a1', T0 + 40 * SECOND, { inputTokens: 1, outputTokens: 1, costUsd: 0 }),
    ).totals;
    expect(m.tokens).toEqual({ input: 1201, output: 301 });
    expect(m.costUsd).toBeCloseTo(0.042, 9);
  });

  it('knows an agent provider from its registration, and calls it unknown otherwise', () => {
    const l = new EventLog()
      .submit('t1', T0)
      .ready('t1', T0)
      .assign('t1', 'ghost', T0 + SECOND);
    const v = view(l);
    expect(agentOf(v, 'ghost')).toMatchObject({ provider: 'unknown', status: 'unknown' });
    expect(providerOf(v, 'unknown').counts.assigned).toBe(1);
    expect(agentOf(view(log()), 'a1')).toMatchObject({
      provider: 'acme',
      model: 'acme-model',
      status: 'idle',
    });
  });

  it('forgets the task once it succeeded', () => {
    expect(fold(log()).tasks.size).toBe(0);
  });
});

describe('retries and reassignments', () => {
  const base = () =>
    new EventLog().agent('a1', 'acme').agent('b1', 'bolt').workflow().submit('t1', T0).ready('t1', T0);

  it('counts a failed attempt for its agent and the retried success for the next one', () => {
    const l = base()
      .assign('t1', 'a1', T0 + SECOND)
      .fail('t1', 'a1', T0 + 11 * SECOND)
      .retry('t1', 2, T0 + 11 * SECOND)
      .ready('t1', T0 + 13 * SECOND)
      .assign('t1', 'b1', T0 + 16 * SECOND, 2)
      .succeed('t1', 'b1', T0 + 26 * SECOND, {}, 2);
    const v = view(l);
    expect(agentOf(v, 'a1')).toMatchObject({
      counts: expect.objectContaining({ failed: 1, succeeded: 0 }),
      successRate: 0,
    });
    expect(agentOf(v, 'b1')).toMatchObject({
      counts: expect.objectContaining({ failed: 0, succeeded: 1 }),
      successRate: 1,
    });
    expect(v.totals.counts).toMatchObject({ assigned: 2, failed: 1, succeeded: 1, retries: 1 });
    expect(v.totals.successRate).toBe(0.5);
    expect(v.totals.queueWaitMs?.count).toBe(2);
    expectNear(v.totals.queueWaitMs?.p50, SECOND);
    expectNear(v.totals.queueWaitMs?.max, 3 * SECOND);
    expect(v.totals.runTimeMs?.count).toBe(2);
    only(v.totals.endToEndMs, 26 * SECOND);
  });

  it('gives the slot back when an assignment is lost, and counts the loss as no outcome', () => {
    const l = base()
      .assign('t1', 'a1', T0 + SECOND)
      .lost('t1', 'a1', T0 + 5 * SECOND)
      .ready('t1', T0 + 6 * SECOND);
    const v = view(l);
    expect(agentOf(v, 'a1')).toMatchObject({ activeTasks: 0, status: 'idle', successRate: null });
    expect(agentOf(v, 'a1').counts.lost).toBe(1);
    const reassigned = view(l.assign('t1', 'b1', T0 + 8 * SECOND, 2));
    expect(agentOf(reassigned, 'b1')).toMatchObject({ activeTasks: 1, status: 'busy' });
    expect(providerOf(reassigned, 'bolt').activeTasks).toBe(1);
    expect(providerOf(reassigned, 'acme').activeTasks).toBe(0);
  });

  it('ends the attempt of a task handed off', () => {
    const v = view(
      base()
        .assign('t1', 'a1', T0 + SECOND)
        .handoff('t1', 'a1', T0 + 3 * SECOND),
    );
    expect(agentOf(v, 'a1')).toMatchObject({ activeTasks: 0 });
    expect(agentOf(v, 'a1').counts.handedOff).toBe(1);
  });

  it('counts a timeout as a failed outcome', () => {
    const v = view(
      base()
        .assign('t1', 'a1', T0 + SECOND)
        .timeout('t1', 'a1', T0 + MINUTE),
    );
    expect(agentOf(v, 'a1')).toMatchObject({ successRate: 0, activeTasks: 0 });
    expect(agentOf(v, 'a1').counts.timedOut).toBe(1);
    expect(v.series.points.reduce((n, p) => n + p.failed, 0)).toBe(1);
  });

  it('counts a dead letter for the agent of the last attempt and forgets the task', () => {
    const l = base()
      .assign('t1', 'a1', T0 + SECOND)
      .fail('t1', 'a1', T0 + 2 * SECOND)
      .deadLetter('t1', 1, T0 + 2 * SECOND);
    const state = fold(l);
    const v = metricsView(state);
    expect(agentOf(v, 'a1').counts.deadLettered).toBe(1);
    expect(agentOf(v, 'b1').counts.deadLettered).toBe(0);
    expect(v.totals.counts.deadLettered).toBe(1);
    expect(state.tasks.size).toBe(0);
  });

  it('gives the slot of a cancelled task back and counts the cancel for its holder', () => {
    const v = view(
      base()
        .assign('t1', 'a1', T0 + SECOND)
        .cancel('t1', T0 + 2 * SECOND, 'a1'),
    );
    expect(agentOf(v, 'a1')).toMatchObject({ activeTasks: 0 });
    expect(agentOf(v, 'a1').counts.cancelled).toBe(1);
  });

  it('counts a preemption without counting it as a failure', () => {
    const v = view(
      base()
        .assign('t1', 'a1', T0 + SECOND)
        .preempted('t1', 'a1', T0 + 2 * SECOND),
    );
    expect(agentOf(v, 'a1')).toMatchObject({ activeTasks: 0, successRate: null });
    expect(agentOf(v, 'a1').counts).toMatchObject({ preempted: 1, failed: 0 });
  });

  it('releases the first holder when a task is assigned again without its end being seen', () => {
    const v = view(
      base()
        .assign('t1', 'a1', T0 + SECOND)
        .assign('t1', 'b1', T0 + 2 * SECOND, 2),
    );
    expect(agentOf(v, 'a1').activeTasks).toBe(0);
    expect(agentOf(v, 'b1').activeTasks).toBe(1);
  });

  it('keeps a pair task after its success until its review, and counts a reopened round again', () => {
    const l = new EventLog()
      .agent('a1', 'acme')
      .workflow('pair')
      .submit('t1', T0)
      .ready('t1', T0)
      .assign('t1', 'a1', T0 + SECOND)
      .succeed('t1', 'a1', T0 + 10 * SECOND);
    expect(fold(l).tasks.size).toBe(1);
    l.reopen('t1', 2, T0 + 20 * SECOND)
      .ready('t1', T0 + 21 * SECOND)
      .assign('t1', 'a1', T0 + 22 * SECOND, 2)
      .succeed('t1', 'a1', T0 + 30 * SECOND, {}, 2);
    const v = view(l);
    expect(v.totals.counts).toMatchObject({ succeeded: 2, reopened: 1, submitted: 1 });
    expect(v.totals.endToEndMs?.count).toBe(2);
    expect(fold(l.completeWorkflow(T0 + MINUTE)).tasks.size).toBe(0);
  });
});

describe('pools and locks', () => {
  const pooled = () =>
    new EventLog()
      .agent('a1', 'acme')
      .raw('PoolDefined', { poolId: 'gpu', kind: 'quantity', capacity: 4, unit: 'gpu', at: iso(T0) }, T0)
      .submit('t1', T0, { claims: [{ pool: 'gpu', amount: 2 }] })
      .ready('t1', T0);

  it('follows what a pool holds from allocations (keyed by attempt) and releases', () => {
    const l = pooled().raw(
      'ResourcesAllocated',
      { taskId: 't1#1', allocations: [{ poolId: 'gpu', amount: 2 }], at: iso(T0 + SECOND) },
      T0 + SECOND,
    );
    expect(view(l).pools[0]).toMatchObject({
      poolId: 'gpu',
      kind: 'quantity',
      capacity: 4,
      allocated: 2,
      holders: 1,
    });
    l.raw('ResourcesReleased', { taskId: 't1#1', at: iso(T0 + MINUTE) }, T0 + MINUTE);
    expect(view(l).pools[0]).toMatchObject({ allocated: 0, holders: 0, allocations: 1, released: 1 });
  });

  it('measures utilisation over the window as the amount held over time against the capacity', () => {
    const l = pooled().raw(
      'ResourcesAllocated',
      { taskId: 't1#1', allocations: [{ poolId: 'gpu', amount: 2 }], at: iso(T0) },
      T0,
    );
    l.raw('ResourcesReleased', { taskId: 't1#1', at: iso(T0 + 30 * MINUTE) }, T0 + 30 * MINUTE);
    const v = metricsView(fold(l), { window: 60, now: new Date(T0 + 60 * MINUTE - 1) });
    // Half the capacity for half the hour.
    expect(v.pools[0]!.utilisation).toBeCloseTo(0.25, 2);
    expect(v.pools[0]!.peakUtilisation).toBe(0.5);
  });

  it('counts blocked allocations and the tasks waiting, and how long they waited', () => {
    const l = pooled()
      .raw(
        'AllocationBlocked',
        {
          taskId: 't1#1',
          waitingFor: 'resources',
          poolId: 'gpu',
          amount: 2,
          reason: 'full',
          at: iso(T0 + SECOND),
        },
        T0 + SECOND,
      )
      .waiting('t1', 'resources', T0 + SECOND);
    expect(view(l).pools[0]).toMatchObject({ blocked: 1, waiting: 1, waitingAmount: 2 });
    l.raw(
      'ResourcesAllocated',
      { taskId: 't1#1', allocations: [{ poolId: 'gpu', amount: 2 }], at: iso(T0 + 9 * SECOND) },
      T0 + 9 * SECOND,
    );
    const pool = view(l).pools[0]!;
    expect(pool).toMatchObject({ waiting: 0, allocated: 2 });
    only(pool.waitMs, 8 * SECOND);
  });

  it('counts demand for a pool once per readiness, from the claims and from resources alike', () => {
    const l = pooled()
      .raw('AllocationBlocked', { taskId: 't1', poolId: 'gpu', amount: 2, at: iso(T0 + SECOND) }, T0 + SECOND)
      .raw(
        'ResourcesAllocated',
        {
          taskId: 't1',
          allocations: [
            { poolId: 'gpu', amount: 2 },
            { poolId: 'tokens', amount: 500 },
          ],
          at: iso(T0 + 2 * SECOND),
        },
        T0 + 2 * SECOND,
      );
    const state = fold(l);
    expect(state.pools.get('gpu')!.demand.get(Math.floor(T0 / HOUR))).toBe(1);
    expect(state.pools.get('tokens')!.demand.get(Math.floor(T0 / HOUR))).toBe(1);
    const series = metricsView(state, { window: 5 }).series.pools.find((p) => p.poolId === 'gpu')!;
    expect(series.points.reduce((n, p) => n + p.demand, 0)).toBe(1);
    expect(series.points.reduce((n, p) => n + p.demandAmount, 0)).toBe(2);
  });

  it('counts a wait on a lock against the lock, until the task resumes', () => {
    const l = pooled()
      .raw(
        'AllocationBlocked',
        { taskId: 't1#1', waitingFor: 'lock', lock: 'repo:acme/api:src/**', reason: 'held' },
        T0 + SECOND,
      )
      .waiting('t1', 'lock', T0 + SECOND);
    expect(view(l).locks).toEqual([
      expect.objectContaining({ lock: 'repo:acme/api:src/**', blocked: 1, waiting: 1 }),
    ]);
    l.resumed('t1', T0 + 6 * SECOND);
    const lock = view(l).locks[0]!;
    expect(lock.waiting).toBe(0);
    only(lock.waitMs, 5 * SECOND);
  });

  it('keeps what a pool update does not say', () => {
    const l = pooled().raw(
      'PoolUpdated',
      { poolId: 'gpu', capacity: '8', somethingNew: { x: 1 } },
      T0 + SECOND,
    );
    expect(view(l).pools[0]).toMatchObject({ kind: 'quantity', unit: 'gpu', capacity: 8 });
  });
});

describe('the log itself', () => {
  const simple = () => new EventLog().agent('a1', 'acme').task('t1', 'a1', T0);

  it('ignores an event at a position already applied, and one below it', () => {
    const l = simple();
    const once = fold(l);
    const state = fold(l);
    for (const e of [l.events[3]!, l.events[1]!, l.events[l.events.length - 1]!]) evolve(state, e);
    expect(state.duplicates).toBe(3);
    expect({ ...metricsView(state), events: null }).toEqual({ ...metricsView(once), events: null });
  });

  it('counts event types it does not read, by type, and goes on', () => {
    const l = simple();
    l.raw('ConflictDetected', { conflictId: 'c1' }, T0 + HOUR);
    l.raw('ConflictDetected', { conflictId: 'c2' }, T0 + HOUR);
    l.raw('SomethingInvented', 42, T0 + HOUR);
    const v = view(l);
    expect(v.events.unhandled).toEqual({ ConflictDetected: 2, SomethingInvented: 1 });
    expect(v.totals.counts.succeeded).toBe(1);
  });

  it('counts known events that lack their ids or a readable time as malformed, without throwing', () => {
    const l = simple();
    l.raw('TaskAssigned', { taskId: 't9' }, T0);
    l.raw('TaskSucceeded', null, T0);
    l.raw('AgentRegistered', ['not', 'an', 'object'], T0);
    l.events.push({
      type: 'TaskReady',
      data: { taskId: 't1', readyAt: 'yesterday' },
      occurredAt: 'never',
      globalPosition: 1_000n,
    });
    const v = view(l);
    expect(v.events.malformed).toBe(4);
    expect(v.totals.counts.succeeded).toBe(1);
  });

  it('takes a wait that ends before it began (clock skew between services) as zero', () => {
    const l = new EventLog()
      .agent('a1', 'acme')
      .submit('t1', T0)
      .ready('t1', T0 + 5 * SECOND)
      .assign('t1', 'a1', T0 + 2 * SECOND);
    only(view(l).totals.queueWaitMs, 0);
  });

  it('accepts occurredAt as a Date', () => {
    const l = simple();
    const events: AnalyticsEvent[] = l.events.map((e) => ({
      ...e,
      occurredAt: new Date(String(e.occurredAt)),
    }));
    expect(metricsView(evolveAll(initialAnalyticsState(), events)).totals).toEqual(view(l).totals);
  });

  it('reads every event type of the workflow, agent and session contracts', () => {
    expect(unreadContractTypes()).toEqual([]);
  });
});

describe('per-minute series', () => {
  it('puts submissions, successes, failures and cost in their minutes', () => {
    const l = new EventLog()
      .agent('a1', 'acme')
      .task('t1', 'a1', T0, { wait: SECOND, run: 10 * SECOND, cost: 0.5 })
      .submit('t2', T0 + 2 * MINUTE)
      .ready('t2', T0 + 2 * MINUTE)
      .assign('t2', 'a1', T0 + 2 * MINUTE)
      .fail('t2', 'a1', T0 + 3 * MINUTE + 5 * SECOND);
    const v = metricsView(fold(l), { window: 4 });
    expect(v.series.windowMinutes).toBe(4);
    expect(v.series.from).toBe(iso(T0));
    expect(v.series.points.map((p) => [p.submitted, p.succeeded, p.failed, p.costUsd])).toEqual([
      [1, 1, 0, 0.5],
      [0, 0, 0, 0],
      [1, 0, 0, 0],
      [0, 0, 1, 0],
    ]);
  });

  it('refuses a window that is not a positive whole number of minutes', () => {
    const state = fold(new EventLog());
    expect(() => metricsView(state, { window: 0 })).toThrow(/window/);
    expect(() => metricsView(state, { window: 1.5 })).toThrow(/window/);
  });

  it('keeps minutes only within the retention', () => {
    const l = new EventLog()
      .agent('a1', 'acme')
      .task('t1', 'a1', T0)
      .task('t2', 'a1', T0 + 2 * HOUR);
    const state = fold(l, { minuteRetention: 30 });
    expect([...state.minutes.keys()].every((m) => m * MINUTE >= T0 + HOUR)).toBe(true);
    const points = metricsView(state, { window: 1_000 }).series.points;
    expect(points).toHaveLength(30);
    expect(points.reduce((n, p) => n + p.submitted, 0)).toBe(1);
  });
});

describe('sessions', () => {
  it('shows a session pattern, status and duration', () => {
    const l = new EventLog()
      .agent('a1', 'acme')
      .workflow('solo', T0)
      .task('t1', 'a1', T0)
      .completeWorkflow(T0 + MINUTE);
    expect(view(l).sessions).toEqual([
      expect.objectContaining({ sessionId: 's1', pattern: 'solo', status: 'completed', durationMs: MINUTE }),
    ]);
  });

  it('forgets the oldest ended sessions beyond the limit, and does not bring them back', () => {
    const l = new EventLog().agent('a1', 'acme');
    for (const id of ['s1', 's2', 's3']) {
      const at = T0 + Number(id.slice(1)) * MINUTE;
      l.workflow('swarm', at, id);
      l.add('WorkflowCompleted', { sessionId: id, completedAt: iso(at + SECOND) }, at + SECOND);
    }
    l.add(
      'SessionClosed',
      { sessionId: 's1', status: 'completed', reason: '', closedAt: iso(T0 + HOUR) },
      T0 + HOUR,
    );
    expect(view(l, { maxClosedSessions: 2 }).sessions.map((s) => s.sessionId)).toEqual(['s3', 's2']);
  });

  it('ends the tasks a cancelled session leaves open', () => {
    const l = new EventLog()
      .agent('a1', 'acme')
      .workflow()
      .submit('t1', T0)
      .ready('t1', T0)
      .assign('t1', 'a1', T0 + SECOND);
    l.add(
      'SessionCancelled',
      { sessionId: 's1', reason: 'user', cancelledAt: iso(T0 + MINUTE) },
      T0 + MINUTE,
    );
    const state = fold(l);
    expect(state.tasks.size).toBe(0);
    expect(metricsView(state).agents[0]!.activeTasks).toBe(0);
    expect(metricsView(state).sessions[0]!.status).toBe('cancelled');
  });
});

describe('agents and circuits', () => {
  it('opens an agent circuit after five failures in a minute, half-open after the cooldown', () => {
    const l = new EventLog().agent('a1', 'acme').workflow();
    for (let i = 0; i < 5; i++) {
      const at = T0 + i * SECOND;
      l.submit(`t${i}`, at)
        .ready(`t${i}`, at)
        .assign(`t${i}`, 'a1', at)
        .fail(`t${i}`, 'a1', at + 100);
    }
    const state = fold(l);
    const at = (ms: number) => metricsView(state, { now: new Date(ms) });
    expect(at(T0 + 10 * SECOND).agents[0]!.circuit).toBe('open');
    expect(at(T0 + 10 * SECOND).providers[0]!.circuit).toBe('open');
    expect(at(T0 + 4 * SECOND + 100 + 30 * SECOND).agents[0]!.circuit).toBe('half_open');
  });

  it('follows health, draining and capacity from the agent events', () => {
    const l = new EventLog().agent('a1', 'acme', T0, 3).agent('a2', 'acme', T0, 2);
    expect(providerOf(view(l), 'acme')).toMatchObject({ agents: 2, capacity: 5 });
    l.add('AgentBecameUnhealthy', { agentId: 'a1', releasedTaskIds: [], at: iso(T0 + SECOND) }, T0 + SECOND);
    l.add('AgentDraining', { agentId: 'a2', at: iso(T0 + SECOND) }, T0 + SECOND);
    const v = view(l);
    expect(agentOf(v, 'a1').status).toBe('unhealthy');
    expect(agentOf(v, 'a2').status).toBe('draining');
    expect(providerOf(v, 'acme').capacity).toBe(0);
    l.add('AgentRecovered', { agentId: 'a1', at: iso(T0 + MINUTE) }, T0 + MINUTE);
    l.add(
      'AgentDeregistered',
      { agentId: 'a2', reason: 'gone', deregisteredAt: iso(T0 + MINUTE) },
      T0 + MINUTE,
    );
    const after = view(l);
    expect(agentOf(after, 'a1').status).toBe('idle');
    expect(agentOf(after, 'a2').status).toBe('offline');
    expect(providerOf(after, 'acme')).toMatchObject({ agents: 1, capacity: 3 });
  });
});
