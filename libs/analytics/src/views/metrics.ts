import { ValidationError } from '@orch/domain-kit';
import type { CircuitState } from '../breaker';
import { summarise, type Summary } from '../histogram';
import { retentionCutoffs } from '../projection/evolve';
import {
  COUNT_FIELDS,
  type AgentInfo,
  type AnalyticsState,
  type CountField,
  type EntityStats,
  type PoolInfo,
  type SessionStatus,
} from '../projection/state';
import { MINUTE_MS, minuteOf } from '../series';
import { byKey, iso, isoAt, ratio, round } from './format';
import { poolUse, waitingAmount } from './pools';

/**
 * `metricsView`: what `GET /api/analytics/metrics` answers. Plain JSON; times are RFC 3339, durations
 * ms, money USD.
 */

export type CountsView = Readonly<Record<CountField, number>>;

/** Latency percentiles in ms (HDR histogram, values within 1%). */
export type LatencyView = Summary;

/** What every entity (and the whole system) reports. */
export interface EntityMetricsView {
  readonly counts: CountsView;
  /** succeeded / (succeeded + failed + timedOut): outcomes only, as coordination's breakers count. */
  readonly successRate: number | null;
  /** First TaskReady since the last attempt -> TaskAssigned. */
  readonly queueWaitMs: LatencyView | null;
  /** TaskStarted (or TaskAssigned) -> the attempt's outcome. */
  readonly runTimeMs: LatencyView | null;
  /** TaskSubmitted -> TaskSucceeded. */
  readonly endToEndMs: LatencyView | null;
  readonly tokens: { readonly input: number; readonly output: number };
  readonly costUsd: number;
  /** Mean cost of a success that reported usage. */
  readonly costPerTaskUsd: number | null;
}

/** idle | busy | unhealthy | draining | offline as the agents API says, unknown for an agent never registered. */
export type AgentStatusView = 'idle' | 'busy' | 'unhealthy' | 'draining' | 'offline' | 'unknown';

export interface AgentMetricsView extends EntityMetricsView {
  readonly agentId: string;
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly status: AgentStatusView;
  readonly activeTasks: number;
  readonly maxConcurrency: number;
  /** Its circuit as coordination's breaker rules give it from the recorded outcomes. */
  readonly circuit: CircuitState;
}

export interface ProviderMetricsView extends EntityMetricsView {
  readonly provider: string;
  readonly agents: number;
  /** Slots its registered, healthy, not draining agents offer now. */
  readonly capacity: number;
  readonly activeTasks: number;
  readonly circuit: CircuitState;
}

export interface TaskTypeMetricsView extends EntityMetricsView {
  readonly taskType: string;
}

export interface SessionMetricsView extends EntityMetricsView {
  readonly sessionId: string;
  readonly goal: string;
  readonly pattern: string;
  readonly status: SessionStatus;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly durationMs: number | null;
}

export interface PoolMetricsView {
  readonly poolId: string;
  /** rate | concurrency | quantity | budget; '' until the pool's definition was seen. */
  readonly kind: string;
  readonly unit: string;
  readonly capacity: number | null;
  /** Amount held now. */
  readonly allocated: number;
  /** Mean utilisation over the view's window (0..1), null while the capacity is unknown. */
  readonly utilisation: number | null;
  readonly peakUtilisation: number | null;
  readonly holders: number;
  readonly waiting: number;
  readonly waitingAmount: number;
  readonly allocations: number;
  readonly blocked: number;
  readonly released: number;
  /** Actual minus estimated usage reconciled so far. */
  readonly reconciledDelta: number;
  /** How long tasks waited for this pool. */
  readonly waitMs: LatencyView | null;
}

export interface LockMetricsView {
  readonly lock: string;
  readonly blocked: number;
  readonly waiting: number;
  readonly waitMs: LatencyView | null;
}

/** One minute of the whole system. */
export interface SeriesPoint {
  readonly at: string;
  readonly submitted: number;
  readonly assigned: number;
  readonly succeeded: number;
  /** Attempts that failed or timed out. */
  readonly failed: number;
  readonly deadLettered: number;
  readonly costUsd: number;
}

/** One minute of a pool. */
export interface PoolSeriesPoint {
  readonly at: string;
  /** Tasks that asked for the pool (once per readiness). */
  readonly demand: number;
  readonly demandAmount: number;
  readonly allocations: number;
  readonly blocked: number;
  /** Highest amount held during the minute (amount granted for a rate pool). */
  readonly peakAllocated: number;
}

export interface MetricsView {
  /** Time of the latest event folded (the view's "now" unless one was given). */
  readonly asOf: string | null;
  /** Global position of the last event folded. */
  readonly position: string | null;
  readonly events: {
    readonly applied: number;
    /** Redeliveries ignored since the projection (re)started. */
    readonly duplicates: number;
    readonly malformed: number;
    /** Event types the projection does not read, with how many it saw. */
    readonly unhandled: Readonly<Record<string, number>>;
  };
  readonly totals: EntityMetricsView;
  readonly agents: readonly AgentMetricsView[];
  readonly providers: readonly ProviderMetricsView[];
  readonly taskTypes: readonly TaskTypeMetricsView[];
  /** Newest first. */
  readonly sessions: readonly SessionMetricsView[];
  readonly pools: readonly PoolMetricsView[];
  readonly locks: readonly LockMetricsView[];
  readonly series: {
    /** Minutes covered, ending with the minute of `asOf`. */
    readonly windowMinutes: number;
    readonly from: string | null;
    readonly to: string | null;
    readonly points: readonly SeriesPoint[];
    readonly pools: readonly { readonly poolId: string; readonly points: readonly PoolSeriesPoint[] }[];
  };
}

export interface MetricsOptions {
  /** Minutes of per-minute series to include (default 60, at most the retention). */
  readonly window?: number;
  /** The view's "now" (default: the latest event's time). */
  readonly now?: Date;
}

export const DEFAULT_METRICS_WINDOW_MINUTES = 60;

// ---------------------------------------------------------------- entity parts

export function entityMetrics(st: EntityStats): EntityMetricsView {
  const counts = {} as Record<CountField, number>;
  for (const f of COUNT_FIELDS) counts[f] = st[f];
  return {
    counts,
    successRate: ratio(st.succeeded, st.succeeded + st.failed + st.timedOut),
    queueWaitMs: summarise(st.queueWait),
    runTimeMs: summarise(st.runTime),
    endToEndMs: summarise(st.endToEnd),
    tokens: { input: st.inputTokens, output: st.outputTokens },
    costUsd: round(st.costUsd, 6),
    costPerTaskUsd: ratio(st.costUsd, st.costed, 6),
  };
}

export function agentStatus(a: AgentInfo): AgentStatusView {
  if (!a.registered) return 'unknown';
  if (a.deregistered) return 'offline';
  if (a.health === 'unhealthy') return 'unhealthy';
  if (a.draining) return 'draining';
  return a.active > 0 ? 'busy' : 'idle';
}

function poolMetrics(p: PoolInfo, fromMinute: number, toMinute: number, nowMs: number): PoolMetricsView {
  const use = poolUse(p, fromMinute, toMinute, nowMs);
  return {
    poolId: p.pool,
    kind: p.kind,
    unit: p.unit,
    capacity: p.capacity > 0 ? p.capacity : null,
    allocated: p.allocated,
    utilisation: use ? round(use.mean) : null,
    peakUtilisation: use ? round(use.peak) : null,
    holders: p.holders.size,
    waiting: p.waiting.size,
    waitingAmount: waitingAmount(p),
    allocations: p.allocations,
    blocked: p.blocked,
    released: p.released,
    reconciledDelta: round(p.reconciledDelta, 6),
    waitMs: summarise(p.wait),
  };
}

// ---------------------------------------------------------------- the view

/**
 * Counts, success rates, latency percentiles, tokens and cost per agent, provider, task type and
 * session, pools and locks, and per-minute series over `window` minutes.
 * Throws ValidationError for a window that is not a positive whole number.
 */
export function metricsView(state: AnalyticsState, options: MetricsOptions = {}): MetricsView {
  const window = options.window ?? DEFAULT_METRICS_WINDOW_MINUTES;
  if (!Number.isInteger(window) || window < 1)
    throw new ValidationError('window must be a positive whole number of minutes', [
      { path: 'window', message: 'must be a whole number of minutes, at least 1' },
    ]);
  const nowMs = options.now?.getTime() ?? state.clock;
  const minutes = Math.min(window, state.options.minuteRetention);
  const toMinute = minuteOf(nowMs) + 1;
  const fromMinute = Math.max(toMinute - minutes, retentionCutoffs(state).minute);
  const hasTime = nowMs >= 0;
  const unhandled: Record<string, number> = {};
  for (const [type, n] of [...state.unhandled].sort(byKey(([t]) => t))) unhandled[type] = n;

  return {
    asOf: iso(nowMs),
    position: state.position < 0n ? null : state.position.toString(),
    events: { applied: state.applied, duplicates: state.duplicates, malformed: state.malformed, unhandled },
    totals: entityMetrics(state.totals),
    agents: [...state.agents.values()].sort(byKey((a) => a.agentId)).map((a) => ({
      agentId: a.agentId,
      name: a.name,
      provider: a.provider,
      model: a.model,
      status: agentStatus(a),
      activeTasks: a.active,
      maxConcurrency: a.maxConcurrency,
      circuit: a.breaker.state(nowMs, state.options.breaker),
      ...entityMetrics(a.stats),
    })),
    providers: [...state.providers.values()].sort(byKey((p) => p.provider)).map((p) => ({
      provider: p.provider,
      agents: [...state.agents.values()].filter(
        (a) => a.provider === p.provider && a.registered && !a.deregistered,
      ).length,
      capacity: p.capacity.value,
      activeTasks: p.busy.value,
      circuit: p.breaker.state(nowMs, state.options.breaker),
      ...entityMetrics(p.stats),
    })),
    taskTypes: [...state.taskTypes]
      .sort(byKey(([t]) => t))
      .map(([taskType, st]) => ({ taskType, ...entityMetrics(st) })),
    sessions: [...state.sessions.values()]
      .sort((a, b) => b.startedAt - a.startedAt || (a.sessionId < b.sessionId ? -1 : 1))
      .map((s) => ({
        sessionId: s.sessionId,
        goal: s.goal,
        pattern: s.pattern,
        status: s.status,
        startedAt: iso(s.startedAt),
        endedAt: iso(s.endedAt),
        durationMs: s.startedAt >= 0 && s.endedAt >= 0 ? Math.max(0, s.endedAt - s.startedAt) : null,
        ...entityMetrics(s.stats),
      })),
    pools: [...state.pools.values()]
      .sort(byKey((p) => p.pool))
      .map((p) => poolMetrics(p, fromMinute, toMinute, nowMs)),
    locks: [...state.locks.values()].sort(byKey((l) => l.lock)).map((l) => ({
      lock: l.lock,
      blocked: l.blocked,
      waiting: l.waiting.size,
      waitMs: summarise(l.wait),
    })),
    series: {
      windowMinutes: hasTime ? toMinute - fromMinute : 0,
      from: hasTime ? isoAt(fromMinute * MINUTE_MS) : null,
      to: hasTime ? isoAt(toMinute * MINUTE_MS) : null,
      points: hasTime ? systemSeries(state, fromMinute, toMinute) : [],
      pools: hasTime
        ? [...state.pools.values()].sort(byKey((p) => p.pool)).map((p) => ({
            poolId: p.pool,
            points: poolSeries(p, fromMinute, toMinute),
          }))
        : [],
    },
  };
}

function systemSeries(state: AnalyticsState, from: number, to: number): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (let m = from; m < to; m++) {
    const b = state.minutes.get(m);
    points.push({
      at: isoAt(m * MINUTE_MS),
      submitted: b?.submitted ?? 0,
      assigned: b?.assigned ?? 0,
      succeeded: b?.succeeded ?? 0,
      failed: b?.failed ?? 0,
      deadLettered: b?.deadLettered ?? 0,
      costUsd: round(b?.costUsd ?? 0, 6),
    });
  }
  return points;
}

function poolSeries(p: PoolInfo, from: number, to: number): PoolSeriesPoint[] {
  const points: PoolSeriesPoint[] = [];
  for (let m = from; m < to; m++) {
    const b = p.minutes.get(m);
    points.push({
      at: isoAt(m * MINUTE_MS),
      demand: b?.demand ?? 0,
      demandAmount: b?.demandAmount ?? 0,
      allocations: b?.allocations ?? 0,
      blocked: b?.blocked ?? 0,
      peakAllocated: p.kind === 'rate' ? (b?.allocatedAmount ?? 0) : peakHeld(p, m),
    });
  }
  return points;
}

/** The highest amount held during minute `m`, including a level held since before it. */
function peakHeld(p: PoolInfo, m: number): number {
  const recorded = p.gauge.minutes.get(m)?.peak ?? 0;
  const g = p.gauge;
  const heldThrough = g.since >= 0 && g.since < (m + 1) * MINUTE_MS ? g.value : 0;
  return Math.max(recorded, heldThrough);
}
