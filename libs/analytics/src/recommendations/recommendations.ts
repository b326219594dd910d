import { summarise } from '../histogram';
import {
  bucketsIn,
  rangeView,
  stageTotals,
  totalsOf,
  windowsAt,
  type RangeView,
  type WindowOptions,
} from '../insights/windows';
import { retentionCutoffs } from '../projection/evolve';
import type { AgentInfo, AnalyticsState, PoolInfo, ProviderInfo } from '../projection/state';
import { HOUR_MS, MINUTE_MS, minuteOf } from '../series';
import { isoAt, round } from '../views/format';
import { perMinuteCapacity, poolActivity, poolUse, waitingAmount } from '../views/pools';

/**
 * `recommendations`: what `GET /api/analytics/recommendations` answers - changes an operator could
 * make, each with the change, its expected effect and the numbers it rests on.
 *
 * - raise_pool: over the window a pool ran at >= 90% peak or >= 80% mean utilisation and tasks were
 *   blocked on it (or wait now). New capacity: enough for the peak held plus what waits now at 80%
 *   utilisation (a rate pool: its peak per-minute demand), at least 25% more.
 * - lower_pool: over the last 24 hours (the per-minute retention at most, with at least half of it
 *   observed) a pool that is not a budget peaked at <= 50% and averaged <= 30%, and nothing was
 *   blocked on it. New capacity: its peak at 70% utilisation.
 * - add_agents: over the window a provider's agents were >= 80% busy, at least 5 tasks waited for
 *   one of them, and its queue-wait p90 rose 1.5x over its baseline (or, without a baseline, is
 *   above 10 s). Agents to add: enough slots for its mean busy slots at 70%.
 * - move_task_type: a task type's main provider (most outcomes) has an alternative with a success
 *   rate no more than 5 points lower at least 20% cheaper per task, both with >= 20 outcomes and
 *   >= 10 costed successes (all history).
 * - close_circuit: an agent's circuit is open or half-open while the agent is healthy and either
 *   recovered after the trip or has succeeded since; a provider's circuit while its agents have
 *   succeeded at least 3 times since it tripped.
 */

export type RecommendationKind =
  'raise_pool' | 'lower_pool' | 'add_agents' | 'move_task_type' | 'close_circuit';
export type Priority = 'high' | 'medium' | 'low';

export interface Recommendation {
  readonly kind: RecommendationKind;
  readonly priority: Priority;
  readonly subject: { readonly type: 'pool' | 'provider' | 'task_type' | 'agent'; readonly id: string };
  /** What to do, for a person. */
  readonly action: string;
  /** The change, for a machine: capacity, agents, provider or circuit, from and to. */
  readonly change: { readonly field: string; readonly from: number | string; readonly to: number | string };
  readonly expectedEffect: string;
  readonly evidence: Readonly<Record<string, number | string | null>>;
  /** The period the evidence covers. */
  readonly window: RangeView;
}

export interface RecommendationsView {
  readonly at: string;
  /** Highest priority first. */
  readonly items: readonly Recommendation[];
}

export interface RecommendationOptions extends WindowOptions {
  /** Hours a pool must have stayed under-used before lowering it is advised (default 24). */
  readonly lowUseHours?: number;
}

const PRIORITY_ORDER: Record<Priority, number> = { high: 0, medium: 1, low: 2 };
const pct = (share: number): string => `${Math.round(share * 100)}%`;

/** A range of minutes as the view reports it. */
const minutesRange = (from: number, to: number): RangeView => ({
  from: isoAt(from * MINUTE_MS),
  to: isoAt(to * MINUTE_MS),
  hours: round((to - from) / 60, 2),
});

// ---------------------------------------------------------------- pools

/** The first minute from `min` on with anything recorded for the pool. */
function firstObservedMinute(pool: PoolInfo, min: number): number {
  let first = Infinity;
  for (const m of pool.minutes.keys()) if (m >= min && m < first) first = m;
  for (const m of pool.gauge.minutes.keys()) if (m >= min && m < first) first = m;
  return first;
}

function raisePool(
  pool: PoolInfo,
  from: number,
  to: number,
  nowMs: number,
  waitMs: number,
): Recommendation | undefined {
  const use = poolUse(pool, from, to, nowMs);
  if (!use) return undefined;
  const act = poolActivity(pool, from, to);
  const waiting = pool.waiting.size;
  if (!(use.peak >= 0.9 || use.mean >= 0.8) || (act.blocked === 0 && waiting === 0)) return undefined;
  const cap = pool.capacity;
  const needed =
    pool.kind === 'rate'
      ? (cap * (act.peakDemandAmount / perMinuteCapacity(pool))) / 0.8
      : (use.peakAmount + waitingAmount(pool)) / 0.8;
  const suggested = Math.max(Math.ceil(cap * 1.25), Math.ceil(needed));
  const meanWait = act.blocked > 0 ? waitMs / act.blocked : 0;
  return {
    kind: 'raise_pool',
    priority: act.blocked >= 10 || meanWait >= 60_000 ? 'high' : 'medium',
    subject: { type: 'pool', id: pool.pool },
    action: `Raise pool ${pool.pool} from ${cap} to ${suggested}${pool.unit ? ` ${pool.unit}` : ''}`,
    change: { field: 'capacity', from: cap, to: suggested },
    expectedEffect:
      `The ${act.blocked} allocation(s) blocked in the window (${Math.round(waitMs / 1000)} s of waiting) ` +
      `would have been granted at once; peak utilisation would fall from ${pct(use.peak)} to about ` +
      `${pct((use.peak * cap) / suggested)}.`,
    evidence: {
      kind: pool.kind,
      capacity: cap,
      meanUtilisation: round(use.mean),
      peakUtilisation: round(use.peak),
      blockedInWindow: act.blocked,
      waitingNow: waiting,
      waitingAmount: waitingAmount(pool),
      waitMsInWindow: Math.round(waitMs),
      waitP90Ms: summarise(pool.wait)?.p90 ?? null,
    },
    window: minutesRange(from, to),
  };
}

function lowerPool(pool: PoolInfo, from: number, to: number, nowMs: number): Recommendation | undefined {
  if (pool.kind === 'budget' || pool.waiting.size > 0) return undefined;
  if (firstObservedMinute(pool, from) > from + (to - from) / 2) return undefined;
  const use = poolUse(pool, from, to, nowMs);
  if (!use) return undefined;
  const act = poolActivity(pool, from, to);
  if (act.blocked > 0 || act.allocations === 0 || use.peak > 0.5 || use.mean > 0.3) return undefined;
  const cap = pool.capacity;
  const suggested = Math.max(1, Math.ceil((use.peak * cap) / 0.7));
  if (suggested >= cap) return undefined;
  return {
    kind: 'lower_pool',
    priority: 'low',
    subject: { type: 'pool', id: pool.pool },
    action: `Lower pool ${pool.pool} from ${cap} to ${suggested}${pool.unit ? ` ${pool.unit}` : ''}`,
    change: { field: 'capacity', from: cap, to: suggested },
    expectedEffect:
      `Frees ${round(cap - suggested, 3)}${pool.unit ? ` ${pool.unit}` : ''}; the period's peak would use ` +
      `${pct((use.peak * cap) / suggested)} of the new capacity, nothing was blocked.`,
    evidence: {
      kind: pool.kind,
      capacity: cap,
      meanUtilisation: round(use.mean),
      peakUtilisation: round(use.peak),
      allocations: act.allocations,
      blocked: act.blocked,
    },
    window: minutesRange(from, to),
  };
}

// ---------------------------------------------------------------- providers

function addAgents(
  state: AnalyticsState,
  provider: ProviderInfo,
  agentWait: { ms: number; waits: number },
  r: {
    from: number;
    to: number;
    baselineFrom: number;
    baselineTo: number;
    minuteFrom: number;
    minuteTo: number;
  },
  nowMs: number,
): Recommendation | undefined {
  const busy = provider.busy.window(r.minuteFrom, r.minuteTo, nowMs);
  const capacity = provider.capacity.window(r.minuteFrom, r.minuteTo, nowMs);
  if (!(capacity.mean > 0) || agentWait.waits < 5) return undefined;
  const utilisation = busy.mean / capacity.mean;
  if (utilisation < 0.8) return undefined;
  const cur = summarise(totalsOf(bucketsIn(provider.recent, { from: r.from, to: r.to })).queueWait)?.p90;
  const base = summarise(
    totalsOf(bucketsIn(provider.recent, { from: r.baselineFrom, to: r.baselineTo })).queueWait,
  )?.p90;
  if (cur === undefined) return undefined;
  const ratio = base !== undefined ? cur / Math.max(1, base) : undefined;
  if (ratio !== undefined ? ratio < 1.5 : cur < 10_000) return undefined;

  const agents = [...state.agents.values()].filter((a) => a.provider === provider.provider && a.capacity > 0);
  const slotsPerAgent = Math.max(
    1,
    Math.round(agents.reduce((n, a) => n + a.maxConcurrency, 0) / Math.max(1, agents.length)),
  );
  const slotsNow = provider.capacity.value;
  const missing = Math.max(1, Math.ceil(busy.mean / 0.7) - slotsNow);
  const add = Math.max(1, Math.ceil(missing / slotsPerAgent));
  const newSlots = slotsNow + add * slotsPerAgent;
  return {
    kind: 'add_agents',
    priority: utilisation >= 0.95 || (ratio ?? 0) >= 2 ? 'high' : 'medium',
    subject: { type: 'provider', id: provider.provider },
    action: `Add ${add} agent(s) of provider ${provider.provider} (${slotsPerAgent} slot(s) each)`,
    change: { field: 'agents', from: agents.length, to: agents.length + add },
    expectedEffect:
      `Busy share of its slots would fall from ${pct(utilisation)} to about ${pct(busy.mean / Math.max(1, newSlots))}; ` +
      `queue wait p90 (${cur} ms${base !== undefined ? `, baseline ${base} ms` : ''}) should fall back ` +
      `towards its baseline.`,
    evidence: {
      agents: agents.length,
      slots: slotsNow,
      meanBusySlots: round(busy.mean, 2),
      peakBusySlots: busy.peak,
      utilisation: round(utilisation),
      queueWaitP90Ms: cur,
      baselineQueueWaitP90Ms: base ?? null,
      tasksWaitedForAgent: agentWait.waits,
      agentWaitMs: Math.round(agentWait.ms),
    },
    window: rangeView({ from: r.from, to: r.to }),
  };
}

// ---------------------------------------------------------------- task types

function moveTaskTypes(state: AnalyticsState, nowMs: number): Recommendation[] {
  const out: Recommendation[] = [];
  for (const [type, byProvider] of [...state.typeProviders].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const ranked = [...byProvider].sort((a, b) => b[1].outcomes - a[1].outcomes || (a[0] < b[0] ? -1 : 1));
    const main = ranked[0];
    if (!main || main[1].outcomes < 20 || main[1].costed < 10) continue;
    const [from, p] = main;
    const rateP = p.succeeded / p.outcomes;
    const costP = p.costUsd / p.costed;
    let best: { provider: string; rate: number; cost: number; outcomes: number } | undefined;
    for (const [provider, q] of ranked.slice(1)) {
      if (q.outcomes < 20 || q.costed < 10) continue;
      const rate = q.succeeded / q.outcomes;
      const cost = q.costUsd / q.costed;
      if (rate >= rateP - 0.05 && cost <= 0.8 * costP && (!best || cost < best.cost))
        best = { provider, rate, cost, outcomes: q.outcomes };
    }
    if (!best) continue;
    const hours = Math.max(1, (p.lastAt - p.firstAt) / HOUR_MS);
    const perHour = p.outcomes / hours;
    const saving = costP - best.cost;
    out.push({
      kind: 'move_task_type',
      priority: saving >= 0.5 * costP ? 'high' : 'medium',
      subject: { type: 'task_type', id: type },
      action: `Send task type ${type} to provider ${best.provider} instead of ${from}`,
      change: { field: 'provider', from, to: best.provider },
      expectedEffect:
        `Saves $${round(saving, 4)} per task (${pct(saving / costP)}), about $${round(saving * perHour, 2)} ` +
        `per hour at ${round(perHour, 1)} tasks/h, with a success rate of ${pct(best.rate)} against ${pct(rateP)}.`,
      evidence: {
        fromProvider: from,
        fromOutcomes: p.outcomes,
        fromSuccessRate: round(rateP),
        fromCostPerTaskUsd: round(costP, 6),
        toProvider: best.provider,
        toOutcomes: best.outcomes,
        toSuccessRate: round(best.rate),
        toCostPerTaskUsd: round(best.cost, 6),
        tasksPerHour: round(perHour, 2),
      },
      window: {
        from: isoAt(Math.max(0, p.firstAt)),
        to: isoAt(nowMs),
        hours: round((nowMs - p.firstAt) / HOUR_MS, 2),
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------- circuits

function closeAgentCircuit(state: AnalyticsState, a: AgentInfo, nowMs: number): Recommendation | undefined {
  const circuit = a.breaker.state(nowMs, state.options.breaker);
  const trip = a.breaker.lastTrip;
  if (circuit === 'closed' || !trip || !a.registered || a.deregistered || a.health !== 'healthy')
    return undefined;
  const recovered = a.recoveredAt >= trip.at;
  if (!recovered && a.breaker.successesSinceTrip < 1) return undefined;
  // Slots of the provider work can reach now: its agents' whose circuits are closed.
  let providerSlots = 0;
  for (const other of state.agents.values())
    if (other.provider === a.provider && other.breaker.state(nowMs, state.options.breaker) === 'closed')
      providerSlots += other.capacity;
  return {
    kind: 'close_circuit',
    priority: a.maxConcurrency * 4 >= providerSlots ? 'high' : 'medium',
    subject: { type: 'agent', id: a.agentId },
    action: `Close the ${circuit.replace('_', '-')} circuit of agent ${a.agentId}`,
    change: { field: 'circuit', from: circuit, to: 'closed' },
    expectedEffect:
      `Gives its ${a.maxConcurrency} slot(s) back to provider ${a.provider} ` +
      `(${providerSlots} -> ${providerSlots + a.maxConcurrency} usable).`,
    evidence: {
      trippedAt: isoAt(trip.at),
      outcomesAtTrip: trip.outcomes,
      failuresAtTrip: trip.failures,
      successesSinceTrip: a.breaker.successesSinceTrip,
      recoveredAt: a.recoveredAt >= 0 ? isoAt(a.recoveredAt) : null,
      slots: a.maxConcurrency,
    },
    window: { from: isoAt(trip.at), to: isoAt(nowMs), hours: round((nowMs - trip.at) / HOUR_MS, 2) },
  };
}

function closeProviderCircuit(
  state: AnalyticsState,
  p: ProviderInfo,
  nowMs: number,
): Recommendation | undefined {
  const circuit = p.breaker.state(nowMs, state.options.breaker);
  const trip = p.breaker.lastTrip;
  if (circuit === 'closed' || !trip || p.breaker.successesSinceTrip < 3 || p.capacity.value <= 0)
    return undefined;
  return {
    kind: 'close_circuit',
    priority: 'high',
    subject: { type: 'provider', id: p.provider },
    action: `Close the ${circuit.replace('_', '-')} circuit of provider ${p.provider}`,
    change: { field: 'circuit', from: circuit, to: 'closed' },
    expectedEffect: `Lets work reach its ${p.capacity.value} healthy slot(s) again instead of failing over.`,
    evidence: {
      trippedAt: isoAt(trip.at),
      outcomesAtTrip: trip.outcomes,
      failuresAtTrip: trip.failures,
      successesSinceTrip: p.breaker.successesSinceTrip,
      slots: p.capacity.value,
    },
    window: { from: isoAt(trip.at), to: isoAt(nowMs), hours: round((nowMs - trip.at) / HOUR_MS, 2) },
  };
}

// ---------------------------------------------------------------- the view

/** Recommendations at `now` (see the file's comment). */
export function recommendations(
  state: AnalyticsState,
  now: Date,
  options: RecommendationOptions = {},
): RecommendationsView {
  const nowMs = now.getTime();
  // Nothing before the retention is read: buckets older than it may linger until pruned.
  const cut = retentionCutoffs(state);
  const w = windowsAt(nowMs, options, cut.recentHour);
  const windowHours = options.windowHours ?? 1;
  const minuteTo = minuteOf(nowMs) + 1;
  const minuteFrom = Math.max(cut.minute, minuteTo - Math.round(windowHours * 60));
  const lowUseFrom = Math.max(cut.minute, minuteTo - Math.round((options.lowUseHours ?? 24) * 60));
  const stages = stageTotals(bucketsIn(state.stages, w.window));
  const items: Recommendation[] = [];

  for (const pool of [...state.pools.values()].sort((a, b) => (a.pool < b.pool ? -1 : 1))) {
    const raise = raisePool(pool, minuteFrom, minuteTo, nowMs, stages.byPool.get(pool.pool)?.[0] ?? 0);
    const item = raise ?? lowerPool(pool, lowUseFrom, minuteTo, nowMs);
    if (item) items.push(item);
  }

  const agentWait = new Map<string, { ms: number; waits: number }>();
  for (const [agentId, [ms, waits]] of stages.byAgent) {
    const provider = state.agents.get(agentId)?.provider;
    if (provider === undefined) continue;
    const sum = agentWait.get(provider) ?? { ms: 0, waits: 0 };
    agentWait.set(provider, { ms: sum.ms + ms, waits: sum.waits + waits });
  }
  const ranges = {
    from: w.window.from,
    to: w.window.to,
    baselineFrom: w.baseline.from,
    baselineTo: w.baseline.to,
    minuteFrom,
    minuteTo,
  };
  for (const p of [...state.providers.values()].sort((a, b) => (a.provider < b.provider ? -1 : 1))) {
    const add = addAgents(state, p, agentWait.get(p.provider) ?? { ms: 0, waits: 0 }, ranges, nowMs);
    if (add) items.push(add);
    const close = closeProviderCircuit(state, p, nowMs);
    if (close) items.push(close);
  }

  items.push(...moveTaskTypes(state, nowMs));

  for (const a of [...state.agents.values()].sort((x, y) => (x.agentId < y.agentId ? -1 : 1))) {
    const close = closeAgentCircuit(state, a, nowMs);
    if (close) items.push(close);
  }

  return {
    at: isoAt(nowMs),
    items: items.sort((a, b) => PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority]),
  };
}
