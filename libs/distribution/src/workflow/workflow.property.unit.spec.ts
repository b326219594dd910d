import { isDomainError } from '@orch/domain-kit';
import fc from 'fast-check';
import type { WorkflowCommand } from './workflow.commands';
import {
  workflowTerminalEventTypes,
  type JsonObject,
  type TaskSpecData,
  type WorkflowEvent,
} from './workflow.events';
import { WorkflowRun, noRoles, policy, selection, spec, submit } from './workflow.fixtures';
import { dependenciesMet, isHeld, taskById, type TaskState, type Workflow } from './workflow.state';

/** A random DAG: task i may depend on any task before it; some tasks may fail without failing the session. */
const dags = fc
  .array(fc.record({ deps: fc.array(fc.nat(), { maxLength: 3 }), allowFailure: fc.boolean() }), {
    minLength: 1,
    maxLength: 12,
  })
  .map((tasks) =>
    tasks.map((t, i) =>
      spec(`t${i}`, i === 0 ? [] : [...new Set(t.deps.map((d) => `t${d % i}`))], {
        allowFailure: t.allowFailure && i % 3 === 0,
        maxAttempts: 2,
      }),
    ),
  );

/** What happens next: the kind of step, which candidate it applies to, and its random details. */
const steps = fc.array(
  fc.record({
    kind: fc.constantFrom(
      'assign',
      'assign',
      'start',
      'complete',
      'complete',
      'complete',
      'fail',
      'timeout',
      'lose',
      'retry',
      'cancel',
      'misassign',
      'spawn',
      'handoff',
      'adapt',
    ),
    pick: fc.nat(),
    agent: fc.nat({ max: 2 }),
    flag: fc.boolean(),
    jitter: fc.double({ min: 0, max: 0.999, noNaN: true }),
  }),
  { maxLength: 150 },
);

const patterns = fc.constantFrom('swarm', 'solo', 'pair', 'hierarchical');
const roles = {
  ...noRoles,
  soloAgentId: 'agent-0',
  driverAgentId: 'agent-0',
  navigatorAgentId: 'agent-1',
  supervisorAgentId: 'agent-2',
};

type Step = { kind: string; pick: number; agent: number; flag: boolean; jitter: number };

const choose = <T>(items: readonly T[], pick: number): T | undefined =>
  items[pick % Math.max(1, items.length)];

/** The output an agent would give for the task: verdicts for reviews, the DAG as the plan, done for supervision. */
function outputFor(t: TaskState, dag: readonly TaskSpecData[], step: Step): JsonObject {
  if (t.role === 'review') return { verdict: step.flag ? 'approved' : 'changes_requested' };
  if (t.role === 'plan')
    return { plan: { tasks: dag.map((s) => ({ id: s.key, type: s.type, dependsOn: [...s.dependsOn] })) } };
  if (t.role === 'supervise') return { done: true };
  return { by: t.agentId };
}

/** The command a step stands for, or undefined when nothing fits. */
function commandFor(run: WorkflowRun, dag: readonly TaskSpecData[], step: Step): WorkflowCommand | undefined {
  const tasks = [...run.wf.tasks.values()].sort((a, b) => a.seq - b.seq);
  const held = choose(tasks.filter(isHeld), step.pick);
  const at = run.tick(10_000);
  const base = { policy, jitter: step.jitter, at };
  switch (step.kind) {
    case 'assign':
    case 'misassign': {
      const pool = step.kind === 'assign' ? tasks.filter((t) => t.status === 'ready') : tasks;
      const t = choose(pool, step.pick);
      const agentId = t?.pinnedAgentId || `agent-${step.agent}`;
      return (
        t && {
          type: 'MarkAssigned',
          taskId: t.taskId,
          agentId,
          attempt: t.attempt + 1,
          deadline: at,
          selection: selection(agentId),
          at,
        }
      );
    }
    case 'start':
      return held && { type: 'StartTask', taskId: held.taskId, agentId: held.agentId, at };
    case 'complete':
      return (
        held && {
          type: 'CompleteTask',
          taskId: held.taskId,
          agentId: held.agentId,
          output: outputFor(held, dag, step),
          usage: { inputTokens: '1', outputTokens: '1', costUsd: 0 },
          ...base,
        }
      );
    case 'fail':
      return (
        held && {
          type: 'FailTask',
          taskId: held.taskId,
          agentId: held.agentId,
          error: 'x',
          retryable: step.flag,
          ...base,
        }
      );
    case 'timeout':
      return held && { type: 'TimeOutTask', taskId: held.taskId, attempt: held.attempt, ...base };
    case 'lose':
      return { type: 'LoseAssignment', agentId: `agent-${step.agent}`, reason: 'unhealthy', ...base };
    case 'handoff':
      return (
        held && {
          type: 'HandOffTask',
          taskId: held.taskId,
          agentId: held.agentId,
          toCapabilities: ['code'],
          toAgentId: '',
          reason: 'property',
          at,
        }
      );
    case 'adapt': {
      const other = choose(tasks, step.pick);
      const added = spec(`added-${tasks.length}`, other ? [other.key] : []);
      const change = step.flag ? { add: [added], remove: [] } : { add: [], remove: other ? [other.key] : [] };
      return { type: 'AdaptWorkflow', replace: [], ...change, policy, at };
    }
    case 'spawn': {
      const dependsOn = choose(tasks, step.pick + 1)?.key;
      const key = `spawned-${tasks.length}`;
      const spawned = spec(key, step.flag && dependsOn ? [dependsOn] : []);
      return (
        held && {
          type: 'SpawnSubtasks',
          taskId: held.taskId,
          agentId: held.agentId,
          tasks: [spawned],
          ...base,
        }
      );
    }
    case 'retry': {
      const t = choose(
        tasks.filter((s) => s.notBefore !== ''),
        step.pick,
      );
      return (
        t && {
          type: 'MakeReady',
          taskId: t.taskId,
          at: new Date(Math.max(at.getTime(), Date.parse(t.notBefore))),
        }
      );
    }
    default: {
      const t = choose(tasks, step.pick);
      return t && { type: 'CancelTask', taskId: t.taskId, reason: 'property', policy, at };
    }
  }
}

/** The invariants one decision must keep, given the workflow before it and after it. */
function checkDecision(before: Workflow, events: readonly WorkflowEvent[], after: Workflow): void {
  for (const e of events) {
    if (e.type === 'TaskAssigned') {
      // Never assigned while an agent holds it: only a ready task is assigned.
      expect(taskById(before, e.data.taskId)?.status).toBe('ready');
    }
    if (e.type === 'TaskReady') {
      // Never ready before its dependencies succeeded (or were allowed to fail).
      const t = taskById(after, e.data.taskId)!;
      expect(dependenciesMet(after, t)).toBe(true);
    }
  }
}

/** Runs a step's command, if any, checking the invariants; a domain rejection must change nothing. */
function play(run: WorkflowRun, dag: readonly TaskSpecData[], step: Step): void {
  const command = commandFor(run, dag, step);
  if (!command) return;
  const before = run.wf;
  try {
    checkDecision(before, run.exec(command), run.wf);
  } catch (e) {
    if (!isDomainError(e)) throw e;
    expect(run.wf).toBe(before);
  }
}

/** Steps that always make progress: finish a held task well, run a due retry, assign a ready task. */
const progress: Step[] = ['complete', 'retry', 'assign'].map((kind) => ({
  kind,
  pick: 0,
  agent: 0,
  flag: true,
  jitter: 0,
}));

describe('the workflow decider, over random DAGs and random outcomes', () => {
  it('never assigns a held task, never readies a task early, and always ends in exactly one terminal event', () => {
    fc.assert(
      fc.property(patterns, dags, steps, (pattern, dag, plan) => {
        const run = new WorkflowRun();
        run.exec(submit(dag, { pattern, roles, agentIds: [] }));
        for (const step of plan) if (run.wf.status === 'running') play(run, dag, step);
        // Then agents that do their work: every session must end by itself, whatever happened before.
        for (let i = 0; i < 600 && run.wf.status === 'running'; i++) play(run, dag, progress[i % 3]!);
        expect(run.wf.status).not.toBe('running');
        const terminal = run.events.filter((e) => workflowTerminalEventTypes.includes(e.type));
        expect(terminal).toHaveLength(1);
        expect(run.events[run.events.length - 1]).toBe(terminal[0]);
        expect(run.wf.open).toBe(0);
        for (const step of plan.slice(0, 5)) {
          const command = commandFor(run, dag, step);
          if (command) expect(() => run.exec(command)).toThrow(/workflow of session .* is/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
