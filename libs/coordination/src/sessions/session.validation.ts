import { ValidationError, textProblems, type FieldProblem } from '@orch/domain-kit';
import { describeProblem, validateDag, type DagProblem, type TaskSpecData } from '@orch/distribution';
import { catalogueCapabilities } from '../catalogue/catalogue';
import { SELECTION_STRATEGIES, isStrategy } from '../selection/selection';
import type { FleetFacts, SessionRequest } from './session.commands';

export const SESSION_PATTERNS = ['solo', 'pair', 'hierarchical', 'swarm', 'auto'] as const;
export const MAX_GOAL_LENGTH = 4_000;
export const MAX_SESSION_TASKS = 1_000;
export const MAX_TASK_PRIORITY = 1_000;
export const MAX_TASK_TIMEOUT_MS = 24 * 3_600_000;
export const MAX_TASK_ATTEMPTS = 20;
export const MAX_ROUNDS = 20;
/** The contention policies a session may impose on its claims (the allocator's ConflictPolicy values). */
export const SESSION_CONFLICT_POLICIES = ['queue', 'preempt', 'wait-die', 'wound-wait', 'manual'] as const;
export const TASK_KEY = /^[A-Za-z0-9._:-]{1,100}$/;

const problem = (path: string, message: string): FieldProblem => ({ path, message });

/** The goal of a session or a suggestion. */
export const goalProblems = (goal: string): FieldProblem[] => textProblems('goal', goal, MAX_GOAL_LENGTH);

function taskProblems(t: TaskSpecData, i: number, fleet: FleetFacts): FieldProblem[] {
  const at = (field: string) => `tasks[${i}].${field}`;
  const problems: FieldProblem[] = [];
  if (!TASK_KEY.test(t.key))
    problems.push(problem(at('key'), 'must be 1 to 100 letters, digits or the characters . _ : -'));
  if (t.type.trim() === '') problems.push(problem(at('type'), 'must not be empty'));
  if (!Number.isInteger(t.priority) || Math.abs(t.priority) > MAX_TASK_PRIORITY)
    problems.push(
      problem(at('priority'), `must be an integer from -${MAX_TASK_PRIORITY} to ${MAX_TASK_PRIORITY}`),
    );
  if (!(t.timeoutMs >= 0 && t.timeoutMs <= MAX_TASK_TIMEOUT_MS))
    problems.push(problem(at('timeoutMs'), `must be at most ${MAX_TASK_TIMEOUT_MS} (24 hours)`));
  if (!(t.maxAttempts >= 0 && t.maxAttempts <= MAX_TASK_ATTEMPTS))
    problems.push(problem(at('maxAttempts'), `must be at most ${MAX_TASK_ATTEMPTS}`));
  t.capabilities.forEach((c, j) => {
    if (c.trim() === '') problems.push(problem(at(`capabilities[${j}]`), 'must not be empty'));
    else if (!fleet.offers(c) && !catalogueCapabilities.has(c))
      problems.push(
        problem(
          at(`capabilities[${j}]`),
          `unknown capability "${c}": no registered agent and no catalogue type offers it`,
        ),
      );
  });
  return problems;
}

/** Where a DAG problem points in the request. */
function dagPath(p: DagProblem, keys: readonly string[]): string {
  switch (p.kind) {
    case 'duplicate_id':
      return `tasks[${p.indexes[p.indexes.length - 1]}].key`;
    case 'unknown_dependency':
    case 'self_dependency':
      return `tasks[${keys.indexOf(p.id)}].dependsOn`;
    default:
      return 'tasks';
  }
}

function tasksProblems(r: SessionRequest, fleet: FleetFacts): { problems: FieldProblem[]; cycle?: string[] } {
  if (r.tasks.length > MAX_SESSION_TASKS)
    return { problems: [problem('tasks', `must hold at most ${MAX_SESSION_TASKS} tasks`)] };
  if (r.tasks.length === 0) {
    const allowed = r.pattern === 'hierarchical' || r.pattern === 'auto';
    const message =
      'must hold at least one task (only a hierarchical session starts without: its supervisor plans them)';
    return { problems: allowed ? [] : [problem('tasks', message)] };
  }
  const problems = r.tasks.flatMap((t, i) => taskProblems(t, i, fleet));
  if (problems.some((p) => p.path.endsWith('.key'))) return { problems };
  const keys = r.tasks.map((t) => t.key);
  const dag = validateDag(r.tasks.map((t) => ({ id: t.key, dependsOn: t.dependsOn })));
  const cycle = dag.find((p) => p.kind === 'cycle');
  return {
    problems: [...problems, ...dag.map((p) => problem(dagPath(p, keys), describeProblem(p)))],
    ...(cycle?.kind === 'cycle' ? { cycle: [...cycle.path] } : {}),
  };
}

function settingsProblems(r: SessionRequest, fleet: FleetFacts): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!(SESSION_PATTERNS as readonly string[]).includes(r.pattern))
    problems.push(problem('pattern', `must be one of ${SESSION_PATTERNS.join(', ')}`));
  r.agentIds.forEach((id, i) => {
    if (!fleet.isRegistered(id)) problems.push(problem(`agentIds[${i}]`, `agent ${id} is not registered`));
  });
  if (!(Number.isFinite(r.budgetUsd) && r.budgetUsd >= 0))
    problems.push(problem('budgetUsd', 'must be a non-negative number'));
  if (r.strategy !== '' && !isStrategy(r.strategy))
    problems.push(problem('strategy', `must be one of ${SELECTION_STRATEGIES.join(', ')}`));
  if (!Number.isInteger(r.maxRounds) || r.maxRounds < 0 || r.maxRounds > MAX_ROUNDS)
    problems.push(problem('maxRounds', `must be an integer from 0 to ${MAX_ROUNDS}`));
  const conflictPolicy = r.conflictPolicy ?? '';
  if (conflictPolicy !== '' && !(SESSION_CONFLICT_POLICIES as readonly string[]).includes(conflictPolicy))
    problems.push(
      problem('conflictPolicy', `must be empty or one of ${SESSION_CONFLICT_POLICIES.join(', ')}`),
    );
  return problems;
}

/**
 * Throws a ValidationError naming every problem of a session request: the goal, the pattern, every
 * task field, the DAG (with the cycle's path in the details), capabilities nobody could ever offer,
 * the pool, the budget, the strategy, the rounds and the conflict policy.
 */
export function assertValidSession(r: SessionRequest, fleet: FleetFacts): void {
  const tasks = tasksProblems(r, fleet);
  const problems = [...goalProblems(r.goal), ...tasks.problems, ...settingsProblems(r, fleet)];
  if (problems.length === 0) return;
  const details = tasks.cycle ? { cycle: tasks.cycle } : {};
  throw new ValidationError('invalid session', problems, details);
}
