/**
 * What each collaboration pattern adds to the plain DAG (docs/orchestration.md "Patterns"): who a
 * task is pinned to, and the tasks a pattern creates itself (reviews, the plan, supervision).
 */
import type { FieldProblem } from '@orch/domain-kit';
import { parseTaskSpecs, taskSpec } from './task-specs';
import type { JsonObject, JsonValue, Pattern, TaskRole, TaskSpecData } from './workflow.events';
import { tasksInOrder, type TaskState, type Workflow } from './workflow.state';

export const PATTERNS: readonly Pattern[] = ['solo', 'pair', 'hierarchical', 'swarm'];

/** Review rounds (pair) or supervision rounds (hierarchical) when the session gives 0. */
export const DEFAULT_MAX_ROUNDS: Readonly<Record<Pattern, number>> = {
  solo: 0,
  pair: 3,
  hierarchical: 5,
  swarm: 0,
};

/** The roles each pattern needs an agent for. */
export const REQUIRED_ROLES: Readonly<Record<Pattern, readonly (keyof Workflow['roles'])[]>> = {
  solo: ['soloAgentId'],
  pair: ['driverAgentId', 'navigatorAgentId'],
  hierarchical: ['supervisorAgentId'],
  swarm: [],
};

/** The agent a task of `role` must run on in this workflow; empty means any. */
export function pinnedAgentFor(wf: Pick<Workflow, 'pattern' | 'roles'>, role: TaskRole): string {
  switch (wf.pattern) {
    case 'solo':
      return wf.roles.soloAgentId;
    case 'pair':
      return role === 'review' ? wf.roles.navigatorAgentId : wf.roles.driverAgentId;
    case 'hierarchical':
      return role === 'plan' || role === 'supervise' ? wf.roles.supervisorAgentId : '';
    case 'swarm':
      return '';
  }
}

/** The round a new work task starts in: pair counts review rounds from 1. */
export const firstRound = (wf: Workflow, parent: TaskState | undefined): number =>
  wf.pattern === 'pair' ? 1 : wf.pattern === 'hierarchical' ? (parent?.round ?? wf.supervisorRound) : 0;

// ---------------------------------------------------------------- pair

export const reviewKey = (key: string, round: number): string => `${key}.review.${round}`;

/** The review of a pair task's output, for its navigator. */
export const reviewSpec = (work: TaskState): TaskSpecData =>
  taskSpec({
    key: reviewKey(work.key, work.round),
    type: 'review',
    description: `Review the output of "${work.key}" (round ${work.round})`,
    input: {
      task: work.key,
      description: work.spec.description,
      output: work.output ?? {},
      round: work.round,
    },
    capabilities: ['review'],
    priority: work.spec.priority,
    // The reviewed task decides what a failed review means (see the decider's deadLetter).
    allowFailure: true,
  });

// ---------------------------------------------------------------- hierarchical

export const PLAN_KEY = 'plan';
export const superviseKey = (round: number): string => `supervise.${round}`;

/** The first task of a hierarchical session: the supervisor plans the goal; given tasks are hints. */
export const planSpec = (goal: string, hints: readonly TaskSpecData[]): TaskSpecData =>
  taskSpec({
    key: PLAN_KEY,
    type: 'plan',
    description: 'Plan the tasks that reach the goal',
    input: { goal, tasks: hints },
    capabilities: ['planning'],
  });

/** The supervisor's look at the results of a round: it answers done, or plans more. */
export function superviseSpec(wf: Workflow, round: number): TaskSpecData {
  const results: Record<string, JsonValue> = {};
  const failures: Record<string, JsonValue> = {};
  for (const t of tasksInOrder(wf)) {
    if (t.role !== 'work') continue;
    if (t.status === 'succeeded') results[t.key] = t.output ?? {};
    else failures[t.key] = { status: t.status, error: t.error };
  }
  return taskSpec({
    key: superviseKey(round),
    type: 'supervise',
    description: `Review the results of round ${round}: answer done, or plan more tasks`,
    input: { goal: wf.goal, round, results, failures },
    capabilities: ['planning'],
  });
}

export type SupervisorAnswer =
  | { readonly kind: 'done' }
  | { readonly kind: 'plan'; readonly tasks: TaskSpecData[] }
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly problems: FieldProblem[] };

/** What a plan or supervise task's output says: done, a plan (`plan.tasks`), nothing, or a broken plan. */
export function supervisorAnswer(role: TaskRole, output: JsonObject): SupervisorAnswer {
  if (role === 'supervise' && output['done'] === true) return { kind: 'done' };
  const plan = output['plan'];
  if (plan === undefined) return { kind: 'none' };
  const tasks =
    typeof plan === 'object' && plan !== null && !Array.isArray(plan)
      ? (plan as JsonObject)['tasks']
      : undefined;
  const { specs, problems } = parseTaskSpecs(tasks, 'output.plan.tasks');
  return problems.length > 0 ? { kind: 'invalid', problems } : { kind: 'plan', tasks: specs };
}
