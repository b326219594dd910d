/**
 * Task DAGs: validation and analysis, pure (DESIGN.md "the work is a DAG of tasks").
 *
 * Every function is deterministic: ties are broken by the order tasks were given in, so the same
 * workflow always yields the same levels, cycle and critical path (replay depends on it).
 */

/** What the analysis needs of a task: its id (the session-unique `key`) and its dependencies. */
export interface DagNode {
  readonly id: string;
  readonly dependsOn?: readonly string[];
}

export type DagProblem =
  | { readonly kind: 'empty' }
  | { readonly kind: 'too_many_tasks'; readonly count: number; readonly limit: number }
  | { readonly kind: 'duplicate_id'; readonly id: string; readonly indexes: readonly number[] }
  | { readonly kind: 'unknown_dependency'; readonly id: string; readonly dependsOn: string }
  | { readonly kind: 'self_dependency'; readonly id: string }
  /** `path` starts and ends with the same id: a -> b -> c -> a means a depends on b, b on c, c on a. */
  | { readonly kind: 'cycle'; readonly path: readonly string[] };

export interface DagLimits {
  /** Most tasks one workflow may hold. */
  readonly maxTasks: number;
}

export const DEFAULT_DAG_LIMITS: DagLimits = { maxTasks: 10_000 };

/** Every problem of a workflow, in a stable order; an empty list means it is a valid DAG. */
export function validateDag(tasks: readonly DagNode[], limits: DagLimits = DEFAULT_DAG_LIMITS): DagProblem[] {
  if (tasks.length === 0) return [{ kind: 'empty' }];
  if (tasks.length > limits.maxTasks)
    return [{ kind: 'too_many_tasks', count: tasks.length, limit: limits.maxTasks }];
  const problems: DagProblem[] = [];
  const indexes = new Map<string, number[]>();
  tasks.forEach((t, i) => indexes.set(t.id, [...(indexes.get(t.id) ?? []), i]));
  for (const [id, at] of indexes) if (at.length > 1) problems.push({ kind: 'duplicate_id', id, indexes: at });
  for (const task of tasks) {
    for (const dep of task.dependsOn ?? []) {
      if (dep === task.id) problems.push({ kind: 'self_dependency', id: task.id });
      else if (!indexes.has(dep)) problems.push({ kind: 'unknown_dependency', id: task.id, dependsOn: dep });
    }
  }
  if (problems.length > 0) return problems;
  const cycle = findCycle(tasks);
  return cycle ? [{ kind: 'cycle', path: cycle }] : [];
}

/** Dependencies by id, keeping only known ids (validation reports the others). */
function dependencies(tasks: readonly DagNode[]): Map<string, readonly string[]> {
  const known = new Set(tasks.map((t) => t.id));
  return new Map(tasks.map((t) => [t.id, (t.dependsOn ?? []).filter((d) => known.has(d) && d !== t.id)]));
}

/**
 * One dependency cycle as a path that returns to its start, or undefined when there is none.
 * Iterative depth-first search (a 10,000-task chain must not overflow the stack).
 */
export function findCycle(tasks: readonly DagNode[]): string[] | undefined {
  const deps = dependencies(tasks);
  const state = new Map<string, 'visiting' | 'done'>();
  for (const root of tasks) {
    if (state.has(root.id)) continue;
    const stack: { id: string; next: number }[] = [{ id: root.id, next: 0 }];
    state.set(root.id, 'visiting');
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const edges = deps.get(frame.id) ?? [];
      if (frame.next >= edges.length) {
        state.set(frame.id, 'done');
        stack.pop();
        continue;
      }
      const dep = edges[frame.next++]!;
      const seen = state.get(dep);
      if (seen === 'visiting') {
        const from = stack.findIndex((f) => f.id === dep);
        return [...stack.slice(from).map((f) => f.id), dep];
      }
      if (seen === undefined) {
        state.set(dep, 'visiting');
        stack.push({ id: dep, next: 0 });
      }
    }
  }
  return undefined;
}

/**
 * Tasks grouped by depth: level 0 has no dependencies, level n depends only on levels below n
 * and on at least one task of level n - 1. Tasks of one level can run in parallel.
 * Expects a valid DAG (see validateDag).
 */
export function topologicalLevels(tasks: readonly DagNode[]): string[][] {
  const deps = dependencies(tasks);
  const level = new Map<string, number>();
  const order = topologicalOrder(tasks);
  for (const id of order) {
    const ds = deps.get(id) ?? [];
    level.set(id, ds.length === 0 ? 0 : 1 + Math.max(...ds.map((d) => level.get(d) ?? 0)));
  }
  const levels: string[][] = [];
  for (const task of tasks) {
    const l = level.get(task.id) ?? 0;
    (levels[l] ??= []).push(task.id);
  }
  return levels;
}

/**
 * Ids in an order where every task comes after its dependencies (Kahn's algorithm; among the
 * tasks ready at a step, the one listed first goes first).
 */
export function topologicalOrder(tasks: readonly DagNode[]): string[] {
  const deps = dependencies(tasks);
  const dependents = new Map<string, string[]>();
  const waiting = new Map<string, number>();
  for (const t of tasks) {
    const ds = deps.get(t.id) ?? [];
    waiting.set(t.id, ds.length);
    for (const d of ds) dependents.set(d, [...(dependents.get(d) ?? []), t.id]);
  }
  const position = new Map(tasks.map((t, i) => [t.id, i]));
  const ready = tasks.filter((t) => waiting.get(t.id) === 0).map((t) => t.id);
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = (waiting.get(next) ?? 0) - 1;
      waiting.set(next, left);
      if (left === 0) {
        // Keep `ready` sorted by input position so the order is stable.
        const at = ready.findIndex((r) => (position.get(r) ?? 0) > (position.get(next) ?? 0));
        ready.splice(at === -1 ? ready.length : at, 0, next);
      }
    }
  }
  if (order.length !== tasks.length)
    throw new Error('topologicalOrder needs an acyclic workflow (see validateDag)');
  return order;
}

/**
 * The longest chain of dependent work, by `duration` of each task: the least time the workflow
 * can take with unlimited agents. Expects a valid DAG.
 */
export function criticalPath(
  tasks: readonly DagNode[],
  duration: (id: string) => number,
): { readonly path: string[]; readonly duration: number } {
  const deps = dependencies(tasks);
  const finish = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  for (const id of topologicalOrder(tasks)) {
    let start = 0;
    let before: string | undefined;
    for (const d of deps.get(id) ?? []) {
      const f = finish.get(d) ?? 0;
      if (before === undefined || f > start) {
        start = f;
        before = d;
      }
    }
    finish.set(id, start + duration(id));
    via.set(id, before);
  }
  let end: string | undefined;
  for (const t of tasks)
    if (end === undefined || (finish.get(t.id) ?? 0) > (finish.get(end) ?? 0)) end = t.id;
  const path: string[] = [];
  for (let cur = end; cur !== undefined; cur = via.get(cur)) path.unshift(cur);
  return { path, duration: end === undefined ? 0 : (finish.get(end) ?? 0) };
}

/** The most tasks that can run at once by dependencies alone (the widest level). */
export const parallelism = (levels: readonly (readonly string[])[]): number =>
  levels.reduce((max, l) => Math.max(max, l.length), 0);
