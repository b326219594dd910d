import { topologicalLevels, validateDag, type TaskSpecData } from '@orch/distribution';
import { ValidationError } from '@orch/domain-kit';
import { GENERIC_AGENT_TYPE, bestCatalogueEntry } from '../catalogue/catalogue';
import type { FleetIndex } from '../selection/fleet-index';
import { allCapabilities, capabilitySets, choosePattern } from './patterns';
import { goalProblems } from './session.validation';

export interface SuggestedAgentData {
  /** A catalogue agent type, or generic when none offers the capabilities. */
  readonly agentType: string;
  readonly capabilities: readonly string[];
  readonly count: number;
  readonly reason: string;
  /** Registered agents that could fill the role now (the best few). */
  readonly availableAgentIds: readonly string[];
}

export interface SessionSuggestion {
  readonly pattern: string;
  readonly reasons: readonly string[];
  readonly agents: readonly SuggestedAgentData[];
}

/** Registered agents listed per suggested role. */
const AVAILABLE_LISTED = 10;

/**
 * The pattern auto would choose for a goal (and tasks) and the agents it needs: catalogue types
 * for each role, how many, why, and which registered agents could fill them now.
 */
export function suggestSession(
  goal: string,
  tasks: readonly TaskSpecData[],
  index: FleetIndex,
): SessionSuggestion {
  const problems = goalProblems(goal);
  if (problems.length > 0) throw new ValidationError('invalid suggestion request', problems);
  const { pattern, reason } = choosePattern(goal, tasks);
  const role = (capabilities: readonly string[], count: number, why: string): SuggestedAgentData => ({
    agentType: bestCatalogueEntry(capabilities)?.type ?? GENERIC_AGENT_TYPE,
    capabilities,
    count,
    reason: why,
    availableAgentIds: index.candidatesFor(capabilities, { limit: AVAILABLE_LISTED }).map((a) => a.agentId),
  });
  const work = allCapabilities(tasks);
  const agents: SuggestedAgentData[] = [];
  switch (pattern) {
    case 'solo':
      agents.push(role(work, 1, 'works every task alone'));
      break;
    case 'pair':
      agents.push(
        role(work, 1, 'driver: does the work'),
        role(['review'], 1, 'navigator: reviews every task'),
      );
      break;
    case 'hierarchical':
      agents.push(role(['planning'], 1, 'supervisor: plans the work and judges the results'));
      agents.push(...workers(tasks, role));
      break;
    case 'swarm':
      agents.push(...workers(tasks, role));
      break;
  }
  const unstaffed = agents.filter((a) => a.availableAgentIds.length === 0);
  return {
    pattern,
    reasons: [
      reason,
      ...unstaffed.map(
        (a) => `no registered agent can be the ${a.agentType} (${a.capabilities.join(', ')}) yet`,
      ),
    ],
    agents,
  };
}

/** One role per capability set, with as many agents as its tasks can run at once. */
function workers(
  tasks: readonly TaskSpecData[],
  role: (capabilities: readonly string[], count: number, why: string) => SuggestedAgentData,
): SuggestedAgentData[] {
  const levels =
    validateDag(tasks.map(node)).length === 0
      ? topologicalLevels(tasks.map(node))
      : [tasks.map((t) => t.key)];
  const setOf = new Map(tasks.map((t) => [t.key, [...new Set(t.capabilities)].sort().join(',')]));
  return capabilitySets(tasks).map((set) => {
    const group = tasks.filter((t) => setOf.get(t.key) === set);
    const parallel = Math.max(
      1,
      ...levels.map((level) => level.filter((key) => setOf.get(key) === set).length),
    );
    const capabilities = set === '' ? [] : set.split(',');
    return role(capabilities, parallel, `${group.length} task(s), up to ${parallel} at once`);
  });
}

const node = (t: TaskSpecData) => ({ id: t.key, dependsOn: t.dependsOn });
