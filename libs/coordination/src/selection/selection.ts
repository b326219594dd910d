import { ValidationError } from '@orch/domain-kit';
import type { SelectionWeights } from '../catalogue/catalogue';

export const SELECTION_STRATEGIES = ['round_robin', 'least_loaded', 'capability_match', 'weighted'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];
export const DEFAULT_STRATEGY: SelectionStrategy = 'weighted';

/** Candidates a selection reports, best first. */
export const MAX_CANDIDATES = 5;

export const isStrategy = (s: string): s is SelectionStrategy =>
  (SELECTION_STRATEGIES as readonly string[]).includes(s);

/** The strategy a request names ('' means the default); a ValidationError for an unknown one. */
export function strategyOf(name: string | undefined, path = 'strategy'): SelectionStrategy {
  const s = name || DEFAULT_STRATEGY;
  if (!isStrategy(s)) {
    throw new ValidationError('invalid selection strategy', [
      { path, message: `unknown strategy "${s}"; known: ${SELECTION_STRATEGIES.join(', ')}` },
    ]);
  }
  return s;
}

/** What an agent must offer, and where it may come from. */
export interface SelectionRequest {
  /** The agent must have every one. */
  readonly capabilities: readonly string[];
  /** Empty or absent means weighted. */
  readonly strategy?: string;
  /** Prefer agents of this provider; the others remain as failover. */
  readonly provider?: string;
  /** A session's pool; empty or absent means the whole fleet. */
  readonly agentIds?: readonly string[];
  readonly excludeAgentIds?: readonly string[];
  /** Only this agent may be chosen. */
  readonly pinnedAgentId?: string;
  /** Weights of the weighted strategy; absent takes the catalogue's routing preferences. */
  readonly weights?: SelectionWeights;
}
