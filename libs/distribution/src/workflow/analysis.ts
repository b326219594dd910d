import {
  criticalPath,
  parallelism,
  topologicalLevels,
  validateDag,
  type DagLimits,
  type DagNode,
  type DagProblem,
} from './dag';

/** A task as analysis sees it. */
export interface WorkflowTaskSpec extends DagNode {
  readonly type: string;
  /** Expected run time when the author knows it. */
  readonly estimatedDurationMs?: number;
}

/** Duration of a task of a given type, from observed history; undefined when there is none. */
export type ObservedDuration = (type: string) => number | undefined;

/** Used when neither the task nor history says how long it takes. */
export const DEFAULT_TASK_DURATION_MS = 60_000;

export interface WorkflowAnalysis {
  readonly valid: boolean;
  readonly problems: readonly DagProblem[];
  /** The cycle's path when the workflow has one. */
  readonly cycle?: readonly string[];
  readonly levels: readonly (readonly string[])[];
  readonly criticalPath: readonly string[];
  readonly parallelism: number;
  readonly estimates: {
    /** The critical path's duration: the least time with unlimited agents. */
    readonly durationMs: number;
    /** Every task's duration added up. */
    readonly totalWorkMs: number;
    readonly basis: string;
  };
}

/**
 * Validates a workflow and, when valid, reports how it can run. A task's duration is, in order:
 * what the task states, the observed median for its type, or {@link DEFAULT_TASK_DURATION_MS}; the
 * `basis` says which were used.
 */
export function analyzeWorkflow(
  tasks: readonly WorkflowTaskSpec[],
  observed: ObservedDuration = () => undefined,
  limits?: DagLimits,
): WorkflowAnalysis {
  const problems = validateDag(tasks, limits);
  if (problems.length > 0) {
    const cycle = problems.find((p) => p.kind === 'cycle');
    return {
      valid: false,
      problems,
      ...(cycle?.kind === 'cycle' ? { cycle: cycle.path } : {}),
      levels: [],
      criticalPath: [],
      parallelism: 0,
      estimates: { durationMs: 0, totalWorkMs: 0, basis: 'not estimated: the workflow is invalid' },
    };
  }
  const sources = { stated: 0, observed: 0, fallback: 0 };
  const durations = new Map<string, number>();
  for (const task of tasks) {
    const seen = observed(task.type);
    const ms =
      task.estimatedDurationMs !== undefined && task.estimatedDurationMs > 0
        ? (sources.stated++, task.estimatedDurationMs)
        : seen !== undefined
          ? (sources.observed++, seen)
          : (sources.fallback++, DEFAULT_TASK_DURATION_MS);
    durations.set(task.id, ms);
  }
  const levels = topologicalLevels(tasks);
  const critical = criticalPath(tasks, (id) => durations.get(id) ?? 0);
  return {
    valid: true,
    problems: [],
    levels,
    criticalPath: critical.path,
    parallelism: parallelism(levels),
    estimates: {
      durationMs: critical.duration,
      totalWorkMs: [...durations.values()].reduce((a, b) => a + b, 0),
      basis: describeBasis(sources),
    },
  };
}

function describeBasis(sources: { stated: number; observed: number; fallback: number }): string {
  const parts = [
    sources.stated > 0 ? `${sources.stated} task(s) by their stated estimatedDurationMs` : '',
    sources.observed > 0 ? `${sources.observed} by the observed median of their type` : '',
    sources.fallback > 0
      ? `${sources.fallback} by the ${DEFAULT_TASK_DURATION_MS / 1000} s default (no stated or observed duration)`
      : '',
  ];
  return parts.filter(Boolean).join('; ');
}

/** A problem as one sentence for people. */
export function describeProblem(p: DagProblem): string {
  switch (p.kind) {
    case 'empty':
      return 'the workflow has no tasks';
    case 'too_many_tasks':
      return `the workflow has ${p.count} tasks; at most ${p.limit} are allowed`;
    case 'duplicate_id':
      return `task id "${p.id}" is used ${p.indexes.length} times (positions ${p.indexes.join(', ')})`;
    case 'unknown_dependency':
      return `task "${p.id}" depends on "${p.dependsOn}", which is not in the workflow`;
    case 'self_dependency':
      return `task "${p.id}" depends on itself`;
    case 'cycle':
      return `dependency cycle: ${p.path.join(' -> ')}`;
  }
}
