import { EventLog, HOUR, MINUTE, SECOND, T0, iso } from '../analytics.fixtures';
import { evolveAll } from '../projection/evolve';
import { initialAnalyticsState, type AnalyticsState } from '../projection/state';
import { recommendations, type Recommendation } from './recommendations';

const fold = (log: EventLog): AnalyticsState => evolveAll(initialAnalyticsState(), log.inTimeOrder());
const kinds = (items: readonly Recommendation[]) => items.map((r) => `${r.kind}:${r.subject.id}`);

const pool = (log: EventLog, id: string, kind: string, capacity: number, at = T0 - 25 * HOUR): EventLog =>
  log.raw('PoolDefined', { poolId: id, kind, capacity, unit: 'slots', at: iso(at) }, at);
const allocate = (log: EventLog, taskId: string, poolId: string, amount: number, at: number): EventLog =>
  log.raw(
    'ResourcesAllocated',
    { taskId: `${taskId}#1`, allocations: [{ poolId, amount }], at: iso(at) },
    at,
  );
const release = (log: EventLog, taskId: string, at: number): EventLog =>
  log.raw('ResourcesReleased', { taskId: `${taskId}#1`, at: iso(at) }, at);
const block = (log: EventLog, taskId: string, poolId: string, amount: number, at: number): EventLog =>
  log.raw(
    'AllocationBlocked',
    { taskId: `${taskId}#1`, waitingFor: 'resources', poolId, amount, reason: 'full', at: iso(at) },
    at,
  );

describe('pool recommendations', () => {
  it('raises a pool that ran full while tasks were blocked on it, enough for what waited', () => {
    const log = pool(new EventLog(), 'gpu', 'concurrency', 4);
    allocate(log, 'h1', 'gpu', 2, T0 - 2 * HOUR);
    allocate(log, 'h2', 'gpu', 2, T0 - 2 * HOUR);
    for (let i = 0; i < 3; i++) {
      block(log, `w${i}`, 'gpu', 1, T0 + i * 10 * MINUTE);
      log.submit(`w${i}`, T0 + i * 10 * MINUTE).waiting(`w${i}`, 'resources', T0 + i * 10 * MINUTE);
    }
    const v = recommendations(fold(log), new Date(T0 + 40 * MINUTE));
    expect(kinds(v.items)).toEqual(['raise_pool:gpu']);
    const r = v.items[0]!;
    // Peak 4 held plus 3 waiting, at 80%: 8.75, so 9.
    expect(r).toMatchObject({ priority: 'medium', change: { field: 'capacity', from: 4, to: 9 } });
    expect(r.evidence).toMatchObject({
      capacity: 4,
      peakUtilisation: 1,
      meanUtilisation: 1,
      blockedInWindow: 3,
      waitingNow: 3,
      waitingAmount: 3,
    });
    expect(r.expectedEffect).toMatch(/3 allocation\(s\) blocked/);
  });

  it('lowers a pool used lightly for a day with nothing blocked, but never a budget', () => {
    const log = pool(pool(new EventLog(), 'cpu', 'quantity', 100), 'usd', 'budget', 100);
    allocate(log, 'h1', 'cpu', 5, T0 - 23 * HOUR);
    allocate(log, 'h2', 'usd', 5, T0 - 23 * HOUR);
    allocate(log, 'h3', 'cpu', 5, T0 - 10 * HOUR);
    release(log, 'h3', T0 - 9 * HOUR);
    const v = recommendations(fold(log), new Date(T0));
    expect(kinds(v.items)).toEqual(['lower_pool:cpu']);
    // Its peak (10) at 70%: 15.
    expect(v.items[0]).toMatchObject({ priority: 'low', change: { field: 'capacity', from: 100, to: 15 } });
    expect(v.items[0]!.evidence).toMatchObject({ peakUtilisation: 0.1, blocked: 0 });
  });

  it('says nothing about a pool whose capacity it does not know, or one seen for too short a time', () => {
    const unknown = new EventLog();
    allocate(unknown, 'h1', 'gpu', 2, T0);
    block(unknown, 'w1', 'gpu', 2, T0 + MINUTE);
    expect(recommendations(fold(unknown), new Date(T0 + 2 * MINUTE)).items).toEqual([]);
    const young = pool(new EventLog(), 'cpu', 'quantity', 100, T0);
    allocate(young, 'h1', 'cpu', 1, T0);
    expect(recommendations(fold(young), new Date(T0 + HOUR)).items).toEqual([]);
  });
});

describe('agent recommendations', () => {
  it('adds agents to a provider whose agents are all busy while its queue wait grew', () => {
    const log = new EventLog().agent('a1', 'acme', T0 - 10 * HOUR, 2);
    // Before: tasks waited a second.
    for (let h = 8; h >= 2; h--)
      for (let i = 0; i < 5; i++) {
        const at = T0 - h * HOUR + i * 10 * MINUTE;
        const t = `old-${h}-${i}`;
        log
          .submit(t, at)
          .ready(t, at)
          .assign(t, 'a1', at + SECOND)
          .succeed(t, 'a1', at + 2 * MINUTE);
      }
    // The last hour: both slots always busy, every task waited 30 s.
    for (let k = 0; k < 12; k++)
      for (const chain of [0, 1]) {
        const t = `new-${k}-${chain}`;
        const at = T0 + k * 5 * MINUTE;
        log
          .submit(t, at - 30 * SECOND)
          .ready(t, at - 30 * SECOND)
          .assign(t, 'a1', at)
          .succeed(t, 'a1', at + 5 * MINUTE);
      }
    const v = recommendations(evolveAll(initialAnalyticsState(), log.inTimeOrder()), new Date(T0 + HOUR));
    expect(kinds(v.items)).toEqual(['add_agents:acme']);
    const r = v.items[0]!;
    expect(r).toMatchObject({ priority: 'high', change: { field: 'agents', from: 1, to: 2 } });
    expect(r.evidence).toMatchObject({ agents: 1, slots: 2, tasksWaitedForAgent: 24 });
    expect(r.evidence['utilisation']).toBeGreaterThan(0.95);
    // Hourly window histograms keep one significant digit: values within 10%.
    expect(Math.abs((r.evidence['queueWaitP90Ms'] as number) - 30_000)).toBeLessThan(3_000);
    expect(Math.abs((r.evidence['baselineQueueWaitP90Ms'] as number) - 1_000)).toBeLessThan(100);
  });

  it('closes the circuit of an agent that recovered after failing', () => {
    const log = new EventLog().agent('a1', 'acme', T0 - HOUR, 3).agent('b1', 'acme', T0 - HOUR, 3);
    log.add('AgentBecameUnhealthy', { agentId: 'a1', releasedTaskIds: [], at: iso(T0) }, T0);
    for (let i = 0; i < 5; i++) {
      const t = `t${i}`;
      log
        .submit(t, T0)
        .ready(t, T0)
        .assign(t, 'a1', T0)
        .timeout(t, 'a1', T0 + (i + 1) * SECOND);
    }
    const tripped = fold(log);
    expect(recommendations(tripped, new Date(T0 + 10 * SECOND)).items).toEqual([]);
    log.add('AgentRecovered', { agentId: 'a1', at: iso(T0 + 8 * SECOND) }, T0 + 8 * SECOND);
    const v = recommendations(fold(log), new Date(T0 + 10 * SECOND));
    expect(kinds(v.items)).toEqual(['close_circuit:a1']);
    expect(v.items[0]).toMatchObject({
      change: { field: 'circuit', from: 'open', to: 'closed' },
      evidence: { trippedAt: iso(T0 + 5 * SECOND), outcomesAtTrip: 5, failuresAtTrip: 5, slots: 3 },
    });
    expect(v.items[0]!.expectedEffect).toMatch(/3 slot\(s\).*3 -> 6/);
  });
});

describe('moving a task type', () => {
  function providers(boltSuccesses: number): AnalyticsState {
    const log = new EventLog().agent('a1', 'acme').agent('b1', 'bolt');
    const run = (agentId: string, n: number, successes: number, cost: number, from: number) => {
      for (let i = 0; i < n; i++) {
        const t = `${agentId}-${i}`;
        const at = from + i * MINUTE;
        log.submit(t, at, { type: 'coder' }).ready(t, at).assign(t, agentId, at);
        if (i < successes) log.succeed(t, agentId, at + 30 * SECOND, { costUsd: cost });
        else log.fail(t, agentId, at + 30 * SECOND);
      }
    };
    run('a1', 30, 28, 0.1, T0);
    run('b1', 25, boltSuccesses, 0.03, T0 + HOUR);
    return fold(log);
  }

  it('moves a task type to a provider about as successful and much cheaper', () => {
    const v = recommendations(providers(24), new Date(T0 + 2 * HOUR));
    expect(kinds(v.items)).toEqual(['move_task_type:coder']);
    expect(v.items[0]).toMatchObject({
      priority: 'high',
      change: { field: 'provider', from: 'acme', to: 'bolt' },
      evidence: {
        fromSuccessRate: 0.9333,
        toSuccessRate: 0.96,
        fromCostPerTaskUsd: 0.1,
        toCostPerTaskUsd: 0.03,
        fromOutcomes: 30,
      },
    });
    expect(v.items[0]!.expectedEffect).toMatch(/Saves \$0\.07 per task \(70%\)/);
  });

  it('does not move work to a provider that fails it more often', () => {
    expect(recommendations(providers(15), new Date(T0 + 2 * HOUR)).items).toEqual([]);
  });
});
