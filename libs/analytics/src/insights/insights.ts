import { summarise, type Histogram } from '../histogram';
import { retentionCutoffs } from '../projection/evolve';
import type { AnalyticsState, WindowBucket } from '../projection/state';
import { isoAt, round } from '../views/format';
import {
  bucketsIn,
  meanSd,
  rangeView,
  stageTotals,
  totalsOf,
  windowsAt,
  type RangeView,
  type StageTotals,
  type WindowOptions,
  type Windows,
} from './windows';

/**
 * `insights`: what `GET /api/analytics/insights` answers - where work waits (bottlenecks) and what
 * behaves unlike its own recent past (anomalies), each classified critical / warning / info with
 * the numbers it rests on.
 *
 * Bottlenecks compare the time tasks spent in each stage during the window: waiting for an agent,
 * for resources, a lock or budget, and running. A waiting stage is reported when it takes at least
 * 10% of the tasks' time; critical from 50%, warning from 25%, info below - but never above info
 * while its mean wait is under a second (a queue that drains in milliseconds is not a bottleneck).
 * Each names its culprits: the pools, locks or agents (and their providers) that made tasks wait
 * longest.
 *
 * Anomalies compare each agent's and provider's run-time p90, failure rate and cost per task in
 * the window with its own baseline (the hours before the window): the ratio of the two and a
 * z-score - against the spread of the baseline's hourly values for p90 and cost, a binomial one for
 * the failure rate. Only increases are reported, and only with at least 5 samples in the window and
 * 20 in the baseline. Critical: z >= 3 and ratio >= 1.5; warning: z >= 2 and ratio >= 1.25; info:
 * z >= 2 and ratio >= 1.1, or ratio >= 1.5. Without a z-score (fewer than 3 baseline hours with
 * 5 samples): critical from ratio 3, warning from 2, info from 1.5. A failure rate must also be
 * at least 5 points above its baseline.
 */

export type Severity = 'critical' | 'warning' | 'info';

export type Stage = 'agent' | 'resources' | 'lock' | 'budget' | 'running';

export interface StageView {
  readonly stage: Stage;
  /** Task time spent in the stage during the window. */
  readonly ms: number;
  /** Waits (or runs) that ended in the window. */
  readonly count: number;
  readonly meanMs: number | null;
  /** Share of all task time (waiting and running) in the window. */
  readonly share: number | null;
}

export interface Culprit {
  readonly type: 'agent' | 'provider' | 'pool' | 'lock';
  readonly id: string;
  readonly ms: number;
  readonly waits: number;
  /** Share of the stage's time. */
  readonly share: number;
}

export interface Bottleneck {
  readonly kind: 'bottleneck';
  readonly severity: Severity;
  readonly stage: Exclude<Stage, 'running'>;
  readonly title: string;
  readonly evidence: {
    readonly stageMs: number;
    readonly waits: number;
    readonly meanWaitMs: number;
    readonly share: number;
    /** Tasks waiting on the stage's pools or locks now (claims stages). */
    readonly waitingNow?: number;
  };
  readonly culprits: readonly Culprit[];
  readonly window: RangeView;
}

export type AnomalyMetric = 'latency_p90' | 'failure_rate' | 'cost_per_task';

export interface Anomaly {
  readonly kind: 'anomaly';
  readonly severity: Severity;
  readonly metric: AnomalyMetric;
  readonly subject: { readonly type: 'agent' | 'provider'; readonly id: string };
  readonly title: string;
  readonly evidence: {
    readonly value: number;
    readonly baseline: number;
    readonly ratio: number;
    readonly zScore: number | null;
    /** ms for latency, share 0..1 for the failure rate, USD for cost. */
    readonly unit: 'ms' | 'ratio' | 'usd';
    readonly samples: number;
    readonly baselineSamples: number;
  };
  readonly window: RangeView;
  readonly baseline: RangeView;
}

export interface InsightsView {
  readonly at: string;
  readonly window: RangeView;
  readonly baseline: RangeView;
  readonly stages: readonly StageView[];
  /** Most severe first. */
  readonly bottlenecks: readonly Bottleneck[];
  /** Most severe first. */
  readonly anomalies: readonly Anomaly[];
}

export type InsightOptions = WindowOptions;

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
const MIN_WINDOW_SAMPLES = 5;
const MIN_BASELINE_SAMPLES = 20;
const MIN_BUCKET_SAMPLES = 5;
const MIN_BASELINE_BUCKETS = 3;
const MIN_STAGE_SHARE = 0.1;
const MIN_SIGNIFICANT_WAIT_MS = 1_000;

// ---------------------------------------------------------------- classification

/** The severity of an increase with this z-score (null: none) and ratio, or undefined for none. */
export function classify(z: number | null, ratio: number): Severity | undefined {
  if (z === null) return ratio >= 3 ? 'critical' : ratio >= 2 ? 'warning' : ratio >= 1.5 ? 'info' : undefined;
  if (z >= 3 && ratio >= 1.5) return 'critical';
  if (z >= 2 && ratio >= 1.25) return 'warning';
  if ((z >= 2 && ratio >= 1.1) || ratio >= 1.5) return 'info';
  return undefined;
}

function stageSeverity(share: number, meanWaitMs: number): Severity | undefined {
  if (share < MIN_STAGE_SHARE) return undefined;
  if (meanWaitMs < MIN_SIGNIFICANT_WAIT_MS) return 'info';
  return share >= 0.5 ? 'critical' : share >= 0.25 ? 'warning' : 'info';
}

// ---------------------------------------------------------------- bottlenecks

function stagesOf(t: StageTotals): StageView[] {
  const all = t.agentMs + t.resourcesMs + t.lockMs + t.budgetMs + t.runningMs;
  const view = (stage: Stage, ms: number, count: number): StageView => ({
    stage,
    ms,
    count,
    meanMs: count > 0 ? Math.round(ms / count) : null,
    share: all > 0 ? round(ms / all) : null,
  });
  return [
    view('agent', t.agentMs, t.agentWaits),
    view('resources', t.resourcesMs, t.resourcesWaits),
    view('lock', t.lockMs, t.lockWaits),
    view('budget', t.budgetMs, t.budgetWaits),
    view('running', t.runningMs, t.runs),
  ];
}

function culprits(
  type: Culprit['type'],
  by: ReadonlyMap<string, [number, number]>,
  stageMs: number,
  keep: (id: string) => boolean = () => true,
): Culprit[] {
  return [...by]
    .filter(([id, [ms]]) => keep(id) && ms > 0)
    .sort((a, b) => b[1][0] - a[1][0] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 3)
    .map(([id, [ms, waits]]) => ({ type, id, ms, waits, share: stageMs > 0 ? round(ms / stageMs) : 0 }));
}

function bottlenecks(
  state: AnalyticsState,
  t: StageTotals,
  stages: readonly StageView[],
  w: Windows,
): Bottleneck[] {
  const window = rangeView(w.window);
  const out: Bottleneck[] = [];
  const isBudget = (pool: string): boolean => state.pools.get(pool)?.kind === 'budget';
  for (const s of stages) {
    if (s.stage === 'running' || s.share === null || s.meanMs === null) continue;
    const severity = stageSeverity(s.share, s.meanMs);
    if (!severity) continue;
    let found: Culprit[] = [];
    let waitingNow: number | undefined;
    let title: string;
    switch (s.stage) {
      case 'agent': {
        found = culprits('agent', t.byAgent, s.ms);
        const byProvider = new Map<string, [number, number]>();
        for (const [agentId, [ms, n]] of t.byAgent) {
          const provider = state.agents.get(agentId)?.provider ?? 'unknown';
          const pair = byProvider.get(provider) ?? [0, 0];
          byProvider.set(provider, [pair[0] + ms, pair[1] + n]);
        }
        found.push(...culprits('provider', byProvider, s.ms).slice(0, 1));
        title = `Tasks wait for an agent: ${pct(s.share)} of task time`;
        break;
      }
      case 'lock':
        found = culprits('lock', t.byLock, s.ms);
        waitingNow = [...state.locks.values()].reduce((n, l) => n + l.waiting.size, 0);
        title = `Tasks wait for locks: ${pct(s.share)} of task time`;
        break;
      case 'resources':
      case 'budget': {
        const budget = s.stage === 'budget';
        found = culprits('pool', t.byPool, s.ms, (p) => isBudget(p) === budget || !state.pools.get(p)?.kind);
        waitingNow = [...state.pools.values()]
          .filter((p) => (p.kind === 'budget') === budget)
          .reduce((n, p) => n + p.waiting.size, 0);
        title = `Tasks wait for ${budget ? 'budget' : 'resources'}: ${pct(s.share)} of task time`;
        break;
      }
    }
    if (found[0]) title += `, mostly ${found[0].type} ${found[0].id}`;
    out.push({
      kind: 'bottleneck',
      severity,
      stage: s.stage,
      title,
      evidence: {
        stageMs: s.ms,
        waits: s.count,
        meanWaitMs: s.meanMs,
        share: s.share,
        ...(waitingNow !== undefined ? { waitingNow } : {}),
      },
      culprits: found,
      window,
    });
  }
  return out.sort(
    (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || b.evidence.share - a.evidence.share,
  );
}

const pct = (share: number): string => `${Math.round(share * 100)}%`;

// ---------------------------------------------------------------- anomalies

const p90 = (h: Histogram | undefined): number | undefined => summarise(h)?.p90;

/** The spread of a per-hour value over the baseline hours with enough samples. */
function hourlySpread(
  baseline: readonly WindowBucket[],
  value: (b: WindowBucket) => { n: number; v: number | undefined },
): { mean: number; sd: number } | undefined {
  const values: number[] = [];
  for (const b of baseline) {
    const { n, v } = value(b);
    if (n >= MIN_BUCKET_SAMPLES && v !== undefined) values.push(v);
  }
  return values.length >= MIN_BASELINE_BUCKETS ? meanSd(values) : undefined;
}

/** A z-score against the baseline's hourly spread; none when the baseline did not vary (rounding aside). */
const zAgainst = (value: number, spread: { mean: number; sd: number } | undefined): number | null =>
  spread && spread.sd > Math.abs(spread.mean) * 1e-9 ? round((value - spread.mean) / spread.sd, 2) : null;

function anomaliesOf(
  subject: Anomaly['subject'],
  recent: ReadonlyMap<number, WindowBucket>,
  w: Windows,
): Anomaly[] {
  const windowBuckets = bucketsIn(recent, w.window);
  const baselineBuckets = bucketsIn(recent, w.baseline);
  const cur = totalsOf(windowBuckets);
  const base = totalsOf(baselineBuckets);
  const ranges = { window: rangeView(w.window), baseline: rangeView(w.baseline) };
  const out: Anomaly[] = [];
  const emit = (
    metric: AnomalyMetric,
    unit: Anomaly['evidence']['unit'],
    value: number,
    baseline: number,
    ratio: number,
    z: number | null,
    samples: number,
    baselineSamples: number,
    describe: string,
  ): void => {
    const severity = classify(z, ratio);
    if (!severity) return;
    out.push({
      kind: 'anomaly',
      severity,
      metric,
      subject,
      title: `${subject.type} ${subject.id}: ${describe}`,
      evidence: { value, baseline, ratio: round(ratio, 3), zScore: z, unit, samples, baselineSamples },
      ...ranges,
    });
  };

  // Run-time p90.
  const curP90 = p90(cur.runTime);
  const baseP90 = p90(base.runTime);
  const curRuns = cur.runTime?.totalCount ?? 0;
  const baseRuns = base.runTime?.totalCount ?? 0;
  if (
    curP90 !== undefined &&
    baseP90 !== undefined &&
    curRuns >= MIN_WINDOW_SAMPLES &&
    baseRuns >= MIN_BASELINE_SAMPLES
  ) {
    const spread = hourlySpread(baselineBuckets, (b) => ({
      n: b.runTime?.totalCount ?? 0,
      v: p90(b.runTime),
    }));
    const ratio = curP90 / Math.max(1, baseP90);
    emit(
      'latency_p90',
      'ms',
      curP90,
      baseP90,
      ratio,
      zAgainst(curP90, spread),
      curRuns,
      baseRuns,
      `run time p90 ${curP90} ms against ${baseP90} ms before`,
    );
  }

  // Failure rate: a binomial z-score against the baseline rate.
  if (cur.outcomes >= MIN_WINDOW_SAMPLES && base.outcomes >= MIN_BASELINE_SAMPLES) {
    const rate = cur.failures / cur.outcomes;
    const baseRate = base.failures / base.outcomes;
    const p0 = Math.min(0.99, Math.max(0.01, baseRate));
    const z = round((rate - baseRate) / Math.sqrt((p0 * (1 - p0)) / cur.outcomes), 2);
    if (rate - baseRate >= 0.05)
      emit(
        'failure_rate',
        'ratio',
        round(rate),
        round(baseRate),
        rate / Math.max(0.01, baseRate),
        z,
        cur.outcomes,
        base.outcomes,
        `failure rate ${pct(rate)} against ${pct(baseRate)} before`,
      );
  }

  // Cost per task.
  if (cur.costed >= MIN_WINDOW_SAMPLES && base.costed >= MIN_BASELINE_SAMPLES && base.costUsd > 0) {
    const cost = cur.costUsd / cur.costed;
    const baseCost = base.costUsd / base.costed;
    const spread = hourlySpread(baselineBuckets, (b) => ({
      n: b.costed,
      v: b.costed > 0 ? b.costUsd / b.costed : undefined,
    }));
    emit(
      'cost_per_task',
      'usd',
      round(cost, 6),
      round(baseCost, 6),
      cost / baseCost,
      zAgainst(cost, spread),
      cur.costed,
      base.costed,
      `cost per task $${round(cost, 4)} against $${round(baseCost, 4)} before`,
    );
  }
  return out;
}

// ---------------------------------------------------------------- the view

/** Bottlenecks and anomalies at `now` (see the file's comment). */
export function insights(state: AnalyticsState, now: Date, options: InsightOptions = {}): InsightsView {
  const w = windowsAt(now.getTime(), options, retentionCutoffs(state).recentHour);
  const totals = stageTotals(bucketsIn(state.stages, w.window));
  const stages = stagesOf(totals);
  const anomalies: Anomaly[] = [];
  for (const a of [...state.agents.values()].sort((x, y) => (x.agentId < y.agentId ? -1 : 1)))
    anomalies.push(...anomaliesOf({ type: 'agent', id: a.agentId }, a.recent, w));
  for (const p of [...state.providers.values()].sort((x, y) => (x.provider < y.provider ? -1 : 1)))
    anomalies.push(...anomaliesOf({ type: 'provider', id: p.provider }, p.recent, w));
  anomalies.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (b.evidence.zScore ?? 0) - (a.evidence.zScore ?? 0) ||
      b.evidence.ratio - a.evidence.ratio,
  );
  return {
    at: isoAt(w.now),
    window: rangeView(w.window),
    baseline: rangeView(w.baseline),
    stages,
    bottlenecks: bottlenecks(state, totals, stages, w),
    anomalies,
  };
}
