import { textProblems, type FieldProblem } from '@orch/domain-kit';
import { describeProblem } from './analysis';
import { validateDag, type DagNode } from './dag';
import type { WorkflowPolicy } from './workflow.commands';
import type { JsonObject, JsonValue, TaskSpecData } from './workflow.events';
import { isFinished, satisfies, tasksInOrder, taskByKey, type Workflow } from './workflow.state';

const MAX_KEY = 200;
const MAX_TYPE = 100;

/** A spec with the session defaults filled in, as TaskSubmitted records it. */
export const resolveSpec = (spec: TaskSpecData, policy: WorkflowPolicy): TaskSpecData => ({
  ...spec,
  timeoutMs: spec.timeoutMs || policy.defaultTimeoutMs,
  maxAttempts: spec.maxAttempts || policy.defaultMaxAttempts,
});

/** A spec with every field at its default but the ones given. */
export const taskSpec = (
  fields: Partial<TaskSpecData> & Pick<TaskSpecData, 'key' | 'type'>,
): TaskSpecData => ({
  description: '',
  input: {},
  capabilities: [],
  dependsOn: [],
  priority: 0,
  timeoutMs: 0,
  maxAttempts: 0,
  claims: [],
  allowFailure: false,
  estimatedDurationMs: '0',
  ...fields,
});

/** Problems of one spec's own fields (the DAG is checked separately). */
export function specProblems(spec: TaskSpecData, path: string): FieldProblem[] {
  const problems: FieldProblem[] = [
    ...textProblems(`${path}.key`, spec.key, MAX_KEY),
    ...textProblems(`${path}.type`, spec.type, MAX_TYPE),
  ];
  spec.capabilities.forEach((c, i) => {
    if (c.trim() === '') problems.push({ path: `${path}.capabilities[${i}]`, message: 'must not be empty' });
  });
  for (const field of ['priority', 'timeoutMs', 'maxAttempts'] as const) {
    const value = spec[field];
    const min = field === 'priority' ? -(2 ** 31) : 0;
    if (!Number.isInteger(value) || value < min || value > 2 ** 31 - 1)
      problems.push({
        path: `${path}.${field}`,
        message: `must be an integer from ${min} to ${2 ** 31 - 1}`,
      });
  }
  return problems;
}

/** Dependencies on tasks that finished and will never count as met (cancelled, or failed for good). */
export function dependencyProblems(
  wf: Workflow,
  specs: readonly TaskSpecData[],
  path: string,
): FieldProblem[] {
  return specs.flatMap((s, i) =>
    s.dependsOn.flatMap((dep, j) => {
      const t = taskByKey(wf, dep);
      return t && isFinished(t) && !satisfies(t)
        ? [{ path: `${path}[${i}].dependsOn[${j}]`, message: `task "${dep}" is ${t.status}` }]
        : [];
    }),
  );
}

/**
 * Problems of tasks joining a running workflow: their fields, keys that exist already,
 * dependencies on cancelled tasks, and the whole graph (existing tasks and these) as a DAG.
 */
export function newTaskProblems(
  wf: Workflow,
  specs: readonly TaskSpecData[],
  policy: WorkflowPolicy,
  path: string,
): FieldProblem[] {
  if (specs.length === 0) return [{ path, message: 'must hold at least one task' }];
  const problems = [
    ...specs.flatMap((s, i) => specProblems(s, `${path}[${i}]`)),
    ...specs.flatMap((s, i) =>
      taskByKey(wf, s.key) ? [{ path: `${path}[${i}].key`, message: `task "${s.key}" already exists` }] : [],
    ),
    ...dependencyProblems(wf, specs, path),
  ];
  return problems.length > 0
    ? problems
    : dagProblems([...workflowNodes(wf), ...specs.map(specNode)], policy, path);
}

export const specNode = (s: TaskSpecData): DagNode => ({ id: s.key, dependsOn: s.dependsOn });

/** The workflow's tasks as DAG nodes, in submission order. */
export const workflowNodes = (wf: Workflow): DagNode[] => tasksInOrder(wf).map((t) => specNode(t.spec));

/** Problems of a whole graph as a DAG, as field problems at `path`. */
export const dagProblems = (
  nodes: readonly DagNode[],
  policy: WorkflowPolicy,
  path: string,
): FieldProblem[] =>
  validateDag(nodes, { maxTasks: policy.maxTasks }).map((p) => ({ path, message: describeProblem(p) }));

// ---------------------------------------------------------------- specs in agents' outputs

const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const strings = (v: JsonValue | undefined): string[] | undefined =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined;

/**
 * Tasks in the shape the API takes (`id` or `key`, type, description, input, capabilities,
 * dependsOn, priority, timeoutMs, maxAttempts, claims, allowFailure, estimatedDurationMs), as an
 * agent writes them in an output; every problem is reported with its path.
 */
export function parseTaskSpecs(
  value: JsonValue | undefined,
  path: string,
): { specs: TaskSpecData[]; problems: FieldProblem[] } {
  if (!Array.isArray(value) || value.length === 0)
    return { specs: [], problems: [{ path, message: 'must be a non-empty list of tasks' }] };
  const problems: FieldProblem[] = [];
  const specs = (value as readonly JsonValue[]).map((raw, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(raw)) {
      problems.push({ path: at, message: 'must be an object' });
      return taskSpec({ key: '', type: '' });
    }
    const read = parseFields(raw, at, problems);
    return taskSpec(read);
  });
  return {
    specs,
    problems: problems.length > 0 ? problems : specs.flatMap((s, i) => specProblems(s, `${path}[${i}]`)),
  };
}

function parseFields(
  raw: JsonObject,
  at: string,
  problems: FieldProblem[],
): Partial<TaskSpecData> & Pick<TaskSpecData, 'key' | 'type'> {
  const wrong = (field: string, expected: string): void => {
    problems.push({ path: `${at}.${field}`, message: `must be ${expected}` });
  };
  const text = (field: string): string | undefined => {
    const v = raw[field];
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    wrong(field, 'a string');
    return undefined;
  };
  const integer = (field: string): number | undefined => {
    const v = raw[field];
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    // The protobuf JSON mapping writes 64-bit integers as strings: a plan echoing the task hints
    // it was given (estimatedDurationMs: "0") is as valid as one written by hand.
    if (typeof v === 'string' && /^-?\d{1,15}$/.test(v)) return Number(v);
    wrong(field, 'an integer');
    return undefined;
  };
  const list = (field: string): string[] | undefined => {
    const v = raw[field];
    if (v === undefined) return undefined;
    const s = strings(v);
    if (!s) wrong(field, 'a list of strings');
    return s;
  };
  const input = raw['input'];
  if (input !== undefined && !isObject(input)) wrong('input', 'an object');
  const claims = raw['claims'];
  if (claims !== undefined && !(Array.isArray(claims) && claims.every(isObject)))
    wrong('claims', 'a list of objects');
  const allowFailure = raw['allowFailure'];
  if (allowFailure !== undefined && typeof allowFailure !== 'boolean') wrong('allowFailure', 'true or false');
  const estimated = integer('estimatedDurationMs');
  const fields: Partial<TaskSpecData> = {
    description: text('description'),
    input: isObject(input) ? input : undefined,
    capabilities: list('capabilities'),
    dependsOn: list('dependsOn'),
    priority: integer('priority'),
    timeoutMs: integer('timeoutMs'),
    maxAttempts: integer('maxAttempts'),
    claims: Array.isArray(claims) ? (claims.filter(isObject) as JsonObject[]) : undefined,
    allowFailure: typeof allowFailure === 'boolean' ? allowFailure : undefined,
    estimatedDurationMs: estimated !== undefined && estimated >= 0 ? String(estimated) : undefined,
  };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { ...defined, key: text('id') ?? text('key') ?? '', type: text('type') ?? '' };
}
