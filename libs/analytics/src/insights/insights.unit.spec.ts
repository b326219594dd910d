import { EventLog, HOUR, MINUTE, SECOND, T0, iso } from '../analytics.fixtures';
import { evolveAll } from '../projection/evolve';
import { initialAnalyticsState, type AnalyticsState } from '../projection/state';
import { classify, insights } from './insights';

const fold = (log: EventLog): AnalyticsState => evolveAll(initialAnalyticsState(), log.inTimeOrder());

/** `n` tasks of one agent in the hour from `start`, each waiting `waitMs` and running `runMs`. */
function hourOfWork(
  log: EventLog,
  agentId: string,
  start: number,
  n: number,
  o: { runMs: number; waitMs?: number; costUsd?: number; failures?: number; prefix?: string },
): void {
  const step = Math.floor(HOUR / n);
  for (let i = 0; i < n; i++) {
    const taskId = `${o.prefix ?? agentId}-${start}-${i}`;
    const ready = start + i * step;
    const assigned = ready + (o.waitMs ?? SECOND);
    log
      .submit(taskId, ready)
      .ready(taskId, ready)
      .assign(taskId, agentId, assigned)
      .start(taskId, agentId, assigned);
    if (i < (o.failures ?? 0)) log.fail(taskId, agentId, assigned + o.runMs);
    else log.succeed(taskId, agentId, assigned + o.runMs, { costUsd: o.costUsd ?? 0.01 });
  }
}

describe('bottlenecks', () => {
  it('names the lock that made tasks wait most of their time', () => {
    const log = new EventLog().agent('a1', 'acme');
    for (let i = 0; i < 5; i++) {
      const t = `t${i}`;
      const at = T0 + i * MINUTE;
      const lock = i < 4 ? 'repo:acme/api:src/auth/**' : 'repo:acme/api:docs/**';
      log
        .submit(t, at)
        .ready(t, at)
        .raw(
          'AllocationBlocked',
          { taskId: `${t}#1`, waitingFor: 'lock', lock, reason: 'held', at: iso(at) },
          at,
        )
        .waiting(t, 'lock', at)
        .resumed(t, at + 50 * SECOND)
        .assign(t, 'a1', at + 51 * SECOND)
        .succeed(t, 'a1', at + 61 * SECOND);
    }
    const v = insights(fold(log), new Date(T0 + 10 * MINUTE));
    const lock = v.stages.find((s) => s.stage === 'lock')!;
    expect(lock).toMatchObject({ ms: 250 * SECOND, count: 5, meanMs: 50 * SECOND });
    expect(v.stages.find((s) => s.stage === 'agent')).toMatchObject({ ms: 5 * SECOND, count: 5 });
    expect(v.stages.find((s) => s.stage === 'running')).toMatchObject({ ms: 50 * SECOND, count: 5 });
    expect(v.bottlenecks).toHaveLength(1);
    expect(v.bottlenecks[0]).toMatchObject({
      kind: 'bottleneck',
      severity: 'critical',
      stage: 'lock',
      evidence: { stageMs: 250 * SECOND, waits: 5, meanWaitMs: 50 * SECOND, share: 0.8197, waitingNow: 0 },
    });
    expect(v.bottlenecks[0]!.culprits.map((c) => [c.type, c.id, c.ms])).toEqual([
      ['lock', 'repo:acme/api:src/auth/**', 200 * SECOND],
      ['lock', 'repo:acme/api:docs/**', 50 * SECOND],
    ]);
  });

  it('names the agent tasks waited for, and its provider', () => {
    const log = new EventLog().agent('a1', 'acme').agent('b1', 'bolt');
    hourOfWork(log, 'a1', T0, 6, { waitMs: 40 * SECOND, runMs: 10 * SECOND });
    hourOfWork(log, 'b1', T0, 6, { waitMs: 2 * SECOND, runMs: 10 * SECOND });
    const v = insights(fold(log), new Date(T0 + 30 * MINUTE));
    expect(v.bottlenecks).toHaveLength(1);
    const b = v.bottlenecks[0]!;
    // 252 s waiting for agents against 120 s running.
    expect(b).toMatchObject({
      stage: 'agent',
      severity: 'critical',
      evidence: { stageMs: 252 * SECOND, share: 0.6774 },
    });
    expect(b.culprits[0]).toMatchObject({ type: 'agent', id: 'a1', ms: 240 * SECOND, waits: 6 });
    expect(b.culprits.find((c) => c.type === 'provider')).toMatchObject({ id: 'acme' });
  });

  it('reports no bottleneck where work waits milliseconds, and at most info when waits are short', () => {
    const quick = new EventLog().agent('a1', 'acme');
    hourOfWork(quick, 'a1', T0, 10, { waitMs: 50, runMs: 10 * SECOND });
    expect(insights(fold(quick), new Date(T0 + 30 * MINUTE)).bottlenecks).toEqual([]);
    const shortRuns = new EventLog().agent('a1', 'acme');
    hourOfWork(shortRuns, 'a1', T0, 10, { waitMs: 500, runMs: 100 });
    expect(insights(fold(shortRuns), new Date(T0 + 30 * MINUTE)).bottlenecks.map((b) => b.severity)).toEqual([
      'info',
    ]);
  });
});

describe('anomalies', () => {
  /** 24 hours of steady work before T0 (run 10 s give or take, 1 cent), then what `recent` does. */
  function history(recent: (log: EventLog) => void): AnalyticsState {
    const log = new EventLog().agent('a1', 'acme', T0 - 26 * HOUR).agent('b1', 'bolt', T0 - 26 * HOUR);
    for (let h = 25; h >= 2; h--) {
      const start = T0 - h * HOUR;
      hourOfWork(log, 'a1', start, 10, { runMs: 9 * SECOND + (h % 5) * 500, prefix: `a-${h}` });
      hourOfWork(log, 'b1', start, 10, { runMs: 9 * SECOND + (h % 5) * 500, prefix: `b-${h}` });
    }
    recent(log);
    return fold(log);
  }
  const now = new Date(T0 + 50 * MINUTE);

  it('finds nothing in an agent that behaves as it always did', () => {
    const state = history((log) => {
      hourOfWork(log, 'a1', T0, 10, { runMs: 10 * SECOND, prefix: 'a-now' });
      hourOfWork(log, 'b1', T0, 10, { runMs: 10 * SECOND, prefix: 'b-now' });
    });
    expect(insights(state, now).anomalies).toEqual([]);
  });

  it('flags a run-time p90 far above the agent and provider baselines as critical, with its evidence', () => {
    const state = history((log) => {
      hourOfWork(log, 'a1', T0, 10, { runMs: 40 * SECOND, prefix: 'a-now' });
      hourOfWork(log, 'b1', T0, 10, { runMs: 10 * SECOND, prefix: 'b-now' });
    });
    const v = insights(state, now);
    expect(v.window).toEqual({ from: iso(T0 - HOUR), to: iso(T0 + HOUR), hours: 2 });
    expect(v.baseline).toEqual({ from: iso(T0 - 25 * HOUR), to: iso(T0 - HOUR), hours: 24 });
    const forAgent = v.anomalies.filter((a) => a.subject.id === 'a1');
    expect(forAgent).toHaveLength(1);
    expect(forAgent[0]).toMatchObject({
      kind: 'anomaly',
      severity: 'critical',
      metric: 'latency_p90',
      subject: { type: 'agent', id: 'a1' },
    });
    const e = forAgent[0]!.evidence;
    expect(e.unit).toBe('ms');
    expect(e.value / 40_000).toBeCloseTo(1, 1);
    expect(e.baseline).toBeGreaterThan(9_000);
    expect(e.baseline).toBeLessThan(12_000);
    expect(e.ratio).toBeGreaterThan(3);
    expect(e.zScore!).toBeGreaterThan(3);
    expect(e).toMatchObject({ samples: 10, baselineSamples: 240 });
    expect(v.anomalies.find((a) => a.subject.type === 'provider')).toMatchObject({
      subject: { id: 'acme' },
      metric: 'latency_p90',
    });
    expect(v.anomalies.some((a) => a.subject.id === 'b1' || a.subject.id === 'bolt')).toBe(false);
  });

  it('flags a failure rate far above the baseline', () => {
    const state = history((log) =>
      hourOfWork(log, 'a1', T0, 10, { runMs: 10 * SECOND, failures: 6, prefix: 'a-now' }),
    );
    const a = insights(state, now).anomalies.find(
      (x) => x.metric === 'failure_rate' && x.subject.id === 'a1',
    );
    expect(a).toMatchObject({
      severity: 'critical',
      evidence: { value: 0.6, baseline: 0, unit: 'ratio', samples: 10 },
    });
  });

  it('flags a cost per task above the baseline', () => {
    const state = history((log) =>
      hourOfWork(log, 'a1', T0, 10, { runMs: 10 * SECOND, costUsd: 0.05, prefix: 'a-now' }),
    );
    const a = insights(state, now).anomalies.find(
      (x) => x.metric === 'cost_per_task' && x.subject.id === 'a1',
    );
    expect(a?.evidence).toMatchObject({ value: 0.05, baseline: 0.01, unit: 'usd' });
    expect(a?.evidence.ratio).toBeCloseTo(5, 6);
    // Every baseline hour cost the same: no spread, so no z-score; a ratio of 5 is critical.
    expect(a).toMatchObject({ severity: 'critical', evidence: { zScore: null } });
  });

  it('needs enough samples in the window before it says anything', () => {
    const state = history((log) =>
      hourOfWork(log, 'a1', T0, 3, { runMs: 60 * SECOND, failures: 3, prefix: 'a-now' }),
    );
    expect(insights(state, now).anomalies.filter((a) => a.subject.type === 'agent')).toEqual([]);
  });
});

describe('classifying a change', () => {
  it.each([
    [4, 2, 'critical'],
    [2.5, 1.3, 'warning'],
    [2.1, 1.12, 'info'],
    [1, 1.6, 'info'],
    [1, 1.2, undefined],
    [null, 3.5, 'critical'],
    [null, 2.2, 'warning'],
    [null, 1.6, 'info'],
    [null, 1.2, undefined],
  ] as const)('z %p with ratio %p is %p', (z, ratio, severity) => {
    expect(classify(z, ratio)).toBe(severity);
  });
});
