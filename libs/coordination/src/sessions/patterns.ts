import { ConflictError } from '@orch/domain-kit';
import type { Pattern, SessionRolesData, TaskSpecData } from '@orch/distribution';
import type { FleetIndex } from '../selection/fleet-index';

/** At most this many tasks, all needing the same capabilities, are one agent's work. */
export const SOLO_MAX_TASKS = 5;

export interface PatternChoice {
  readonly pattern: Pattern;
  readonly reason: string;
}

const REVIEW = 'review';

/** The distinct capability sets the tasks need, each as a sorted, comma-joined key. */
export const capabilitySets = (tasks: readonly TaskSpecData[]): string[] => [
  ...new Set(tasks.map((t) => [...new Set(t.capabilities)].sort().join(','))),
];

/** Every capability any of the tasks needs, in first-seen order. */
export const allCapabilities = (tasks: readonly TaskSpecData[]): string[] => [
  ...new Set(tasks.flatMap((t) => t.capabilities)),
];

function reviewAskedFor(goal: string, tasks: readonly TaskSpecData[]): string | undefined {
  const task = tasks.find((t) => t.type.toLowerCase() === REVIEW || t.capabilities.includes(REVIEW));
  if (task) return `task "${task.key}" asks for a review`;
  return /\breview/i.test(goal) ? 'the goal asks for a review' : undefined;
}

/**
 * The pattern `auto` resolves to, by these rules, first match wins:
 * 1. no tasks: hierarchical (a supervisor must plan the work);
 * 2. a review is asked for (a task of type review, a task needing `review`, or the goal mentions a
 *    review): pair (a driver works, a navigator reviews every task);
 * 3. one task, or at most SOLO_MAX_TASKS tasks all needing the same capabilities: solo;
 * 4. otherwise (many tasks, or diverse capabilities): swarm, a pool working in parallel.
 */
export function choosePattern(goal: string, tasks: readonly TaskSpecData[]): PatternChoice {
  if (tasks.length === 0)
    return { pattern: 'hierarchical', reason: 'no tasks were given: a supervisor plans the work' };
  const review = reviewAskedFor(goal, tasks);
  if (review)
    return { pattern: 'pair', reason: `${review}: a driver does the work and a navigator reviews it` };
  if (tasks.length === 1) return { pattern: 'solo', reason: 'a single task: one agent does it' };
  const sets = capabilitySets(tasks);
  if (sets.length === 1 && tasks.length <= SOLO_MAX_TASKS) {
    const needing = sets[0] === '' ? 'no particular capability' : sets[0];
    return { pattern: 'solo', reason: `${tasks.length} tasks all needing ${needing}: one agent does them` };
  }
  return {
    pattern: 'swarm',
    reason: `${tasks.length} tasks needing ${sets.length} different capability set(s): a pool of agents works them in parallel`,
  };
}

const NO_ROLES: SessionRolesData = {
  soloAgentId: '',
  driverAgentId: '',
  navigatorAgentId: '',
  supervisorAgentId: '',
};

const missing = (pattern: Pattern, message: string, capabilities: readonly string[]): ConflictError =>
  new ConflictError(message, { pattern, capabilities: [...capabilities] });

const listed = (capabilities: readonly string[]): string =>
  capabilities.length > 0 ? capabilities.join(', ') : 'no particular capability';

/**
 * Gives the pattern's roles to agents of the pool (the whole fleet when empty): solo, an agent with
 * every capability the tasks need; pair, a driver with those and a different navigator with
 * `review`; hierarchical, a supervisor with `planning`; swarm, none. The most proficient, least
 * loaded healthy agent wins. A ConflictError says what no agent has.
 */
export function chooseRoles(
  pattern: Pattern,
  tasks: readonly TaskSpecData[],
  index: FleetIndex,
  pool: readonly string[],
): SessionRolesData {
  const work = allCapabilities(tasks);
  switch (pattern) {
    case 'solo': {
      const [solo] = index.candidatesFor(work, { pool, limit: 1 });
      if (!solo)
        throw missing(
          pattern,
          `no healthy agent can work this session alone: none has ${listed(work)}`,
          work,
        );
      return { ...NO_ROLES, soloAgentId: solo.agentId };
    }
    case 'pair':
      return pairRoles(work, index, pool);
    case 'hierarchical': {
      const [supervisor] = index.candidatesFor(['planning'], { pool, limit: 1 });
      if (!supervisor)
        throw missing(pattern, 'no healthy agent can supervise this session: none has planning', [
          'planning',
        ]);
      return { ...NO_ROLES, supervisorAgentId: supervisor.agentId };
    }
    case 'swarm':
      return NO_ROLES;
  }
}

function pairRoles(work: readonly string[], index: FleetIndex, pool: readonly string[]): SessionRolesData {
  const drivers = index.candidatesFor(work, { pool, limit: 2 });
  if (drivers.length === 0)
    throw missing('pair', `no healthy agent can drive this session: none has ${listed(work)}`, work);
  const navigators = index.candidatesFor([REVIEW], { pool, limit: 2 });
  if (navigators.length === 0)
    throw missing('pair', 'no healthy agent can navigate this session: none has review', [REVIEW]);
  for (const driver of drivers) {
    const navigator = navigators.find((n) => n.agentId !== driver.agentId);
    if (navigator) return { ...NO_ROLES, driverAgentId: driver.agentId, navigatorAgentId: navigator.agentId };
  }
  throw missing(
    'pair',
    `driver and navigator must be different agents, and only ${drivers[0]!.agentId} can be either (${listed(work)}; review)`,
    [...work, REVIEW],
  );
}
