import type { AgentProfile } from '../agents/agent.decider';
import type { SelectionWeights } from '../catalogue/catalogue';

/**
 * How agents are scored for selection. Every score is between 0 and 1, higher is better. Scores
 * are numbers only, computed for every eligible agent; the reasons (strings) are written for the
 * few candidates a selection reports.
 */

/** What the index has observed of an agent's results. */
export interface AgentStats {
  /** Outcomes recorded (successes and failures). */
  readonly outcomes: number;
  readonly successes: number;
  /** Moving average of assignment-to-result time; undefined before any measured outcome. */
  readonly latencyMs: number | undefined;
  /** Moving average of the cost of a successful task; undefined before any reported cost. */
  readonly costUsd: number | undefined;
}

export const NO_STATS: AgentStats = { outcomes: 0, successes: 0, latencyMs: undefined, costUsd: undefined };

/** Weight of the newest observation in the moving averages. */
const SMOOTHING = 0.2;
/** Latency that scores 0.5. */
const LATENCY_REFERENCE_MS = 30_000;
/** Cost per task that scores 0.5. */
const COST_REFERENCE_USD = 0.05;

const average = (previous: number | undefined, value: number | undefined): number | undefined =>
  value === undefined ? previous : previous === undefined ? value : previous + SMOOTHING * (value - previous);

export interface Outcome {
  readonly ok: boolean;
  readonly latencyMs?: number;
  readonly costUsd?: number;
}

export const withOutcome = (stats: AgentStats, outcome: Outcome): AgentStats => ({
  outcomes: stats.outcomes + 1,
  successes: stats.successes + (outcome.ok ? 1 : 0),
  latencyMs: average(stats.latencyMs, outcome.latencyMs),
  costUsd: average(stats.costUsd, outcome.costUsd),
});

/** What a strategy scores: the agent, what it holds and what it has done. */
export interface Scorable {
  readonly profile: AgentProfile;
  readonly activeTasks: number;
  readonly stats: AgentStats;
}

export const roundScore = (n: number): number => Math.round(n * 10_000) / 10_000;

const levelOf = (a: Scorable, capability: string): number =>
  a.profile.capabilities.find((c) => c.name === capability)?.level ?? 0;

// ---------------------------------------------------------------- components

/** Mean proficiency in `capabilities` (1 when none is asked for). */
export function capabilityScore(a: Scorable, capabilities: readonly string[]): number {
  if (capabilities.length === 0) return 1;
  return capabilities.reduce((sum, c) => sum + levelOf(a, c), 0) / capabilities.length;
}

const capabilityReason = (a: Scorable, capabilities: readonly string[]): string =>
  capabilities.length === 0
    ? 'no capability required'
    : `capability ${capabilities.map((c) => `${c} ${levelOf(a, c).toFixed(2)}`).join(', ')}`;

/** Share of free slots. */
export const loadScore = (a: Scorable): number => 1 - a.activeTasks / a.profile.maxConcurrency;
const loadReason = (a: Scorable): string => `load ${a.activeTasks}/${a.profile.maxConcurrency}`;

/** Observed success rate, smoothed so that an agent without history starts at 0.5. */
const successScore = (s: AgentStats): number => (s.successes + 1) / (s.outcomes + 2);
const successReason = (s: AgentStats): string =>
  s.outcomes === 0
    ? 'success unknown (no outcome yet)'
    : `success ${Math.round((100 * s.successes) / s.outcomes)}% of ${s.outcomes}`;

const latencyScore = (s: AgentStats): number =>
  s.latencyMs === undefined ? 0.5 : 1 / (1 + s.latencyMs / LATENCY_REFERENCE_MS);
const latencyReason = (s: AgentStats): string =>
  s.latencyMs === undefined ? 'latency unknown' : `latency ~${Math.round(s.latencyMs)} ms`;

/** Observed cost per task, or before any, the price of a thousand input and output tokens. */
const costPerTask = (a: Scorable): number =>
  a.stats.costUsd ?? a.profile.cost.per1kInputTokensUsd + a.profile.cost.per1kOutputTokensUsd;
const costScore = (a: Scorable): number => 1 / (1 + costPerTask(a) / COST_REFERENCE_USD);
const costReason = (a: Scorable): string =>
  `cost ~$${costPerTask(a).toFixed(4)}/task (${a.stats.costUsd === undefined ? 'modelled' : 'observed'})`;

// ---------------------------------------------------------------- strategies

export type ScoredStrategy = 'least_loaded' | 'capability_match' | 'weighted';

/** The score of `a` under `strategy`, rounded so that recorded scores read well. */
export function scoreOf(
  strategy: ScoredStrategy,
  a: Scorable,
  capabilities: readonly string[],
  w: SelectionWeights,
): number {
  if (strategy === 'least_loaded') return roundScore(loadScore(a));
  if (strategy === 'capability_match') return roundScore(capabilityScore(a, capabilities));
  const total = w.capability + w.success + w.latency + w.cost + w.load || 1;
  const sum =
    w.capability * capabilityScore(a, capabilities) +
    w.success * successScore(a.stats) +
    w.latency * latencyScore(a.stats) +
    w.cost * costScore(a) +
    w.load * loadScore(a);
  return roundScore(sum / total);
}

/** Why `a` scored as it did under `strategy`. */
export function reasonsOf(strategy: ScoredStrategy, a: Scorable, capabilities: readonly string[]): string[] {
  if (strategy === 'least_loaded') return [loadReason(a)];
  if (strategy === 'capability_match') return [capabilityReason(a, capabilities)];
  return [
    capabilityReason(a, capabilities),
    successReason(a.stats),
    latencyReason(a.stats),
    costReason(a),
    loadReason(a),
  ];
}
