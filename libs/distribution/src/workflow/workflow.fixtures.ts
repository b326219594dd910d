/**
 * Test helpers for the workflow decider (used by the unit specs only): a session to submit, and a
 * `WorkflowRun` that plays commands through decide and evolve the way the service does.
 */
import { taskSpec } from './task-specs';
import { taskIdFor } from './task-id';
import type { SubmitWorkflow, WorkflowCommand, WorkflowPolicy } from './workflow.commands';
import { workflowDecider } from './workflow.decider';
import type { JsonObject, SessionRolesData, TaskSpecData, WorkflowEvent } from './workflow.events';
import { taskByKey, type TaskState, type Workflow, type WorkflowState } from './workflow.state';

export const SESSION = '7d0c7b0e-3c4b-4f5e-9a51-2f6a0c1d9e11';
export const t0 = new Date('2026-11-21T10:00:00.000Z');
export const later = (ms: number, from: Date = t0): Date => new Date(from.getTime() + ms);
export const idOf = (key: string): string => taskIdFor(SESSION, key);

export const policy: WorkflowPolicy = {
  defaultTimeoutMs: 60_000,
  defaultMaxAttempts: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 8_000,
  maxTasks: 1_000,
};

export const noRoles: SessionRolesData = {
  soloAgentId: '',
  driverAgentId: '',
  navigatorAgentId: '',
  supervisorAgentId: '',
};

/** A work task: `spec('b', ['a'])` depends on a. */
export const spec = (key: string, dependsOn: string[] = [], more: Partial<TaskSpecData> = {}): TaskSpecData =>
  taskSpec({ key, type: 'coder', capabilities: ['code'], dependsOn, ...more });

export const submit = (
  tasks: readonly TaskSpecData[],
  more: Partial<SubmitWorkflow> = {},
): SubmitWorkflow => ({
  type: 'SubmitWorkflow',
  sessionId: SESSION,
  goal: 'ship the feature',
  pattern: 'swarm',
  patternReason: 'chosen by the user',
  roles: noRoles,
  agentIds: [],
  strategy: 'weighted',
  maxRounds: 0,
  conflictPolicy: '',
  tasks,
  policy,
  at: t0,
  ...more,
});

export const selection = (agentId: string) => ({
  strategy: 'weighted',
  agentId,
  candidates: [{ agentId, score: 1, reasons: ['free slot'] }],
  eligible: 1,
  notes: [],
});

/** Plays commands through the decider, keeping every event and the state they fold into. */
export class WorkflowRun {
  readonly events: WorkflowEvent[] = [];
  state: WorkflowState = workflowDecider.initialState();
  clock = t0;

  /** Decides and applies; returns the events of this command. */
  exec(command: WorkflowCommand): readonly WorkflowEvent[] {
    const events = workflowDecider.decide(command, this.state);
    this.events.push(...events);
    this.state = events.reduce(workflowDecider.evolve, this.state);
    return events;
  }

  get wf(): Workflow {
    if (this.state.status === 'unsubmitted') throw new Error('not submitted');
    return this.state;
  }

  task(key: string): TaskState {
    const t = taskByKey(this.wf, key);
    if (!t) throw new Error(`no task ${key}`);
    return t;
  }

  status(key: string): string {
    return this.task(key).status;
  }

  tick(ms = 1): Date {
    this.clock = later(ms, this.clock);
    return this.clock;
  }

  assign(key: string, agentId: string): readonly WorkflowEvent[] {
    const t = this.task(key);
    const at = this.tick();
    return this.exec({
      type: 'MarkAssigned',
      taskId: t.taskId,
      agentId,
      attempt: t.attempt + 1,
      deadline: later(t.spec.timeoutMs, at),
      selection: selection(agentId),
      at,
    });
  }

  complete(key: string, output: JsonObject = {}): readonly WorkflowEvent[] {
    const t = this.task(key);
    return this.exec({
      type: 'CompleteTask',
      taskId: t.taskId,
      agentId: t.agentId,
      output,
      usage: { inputTokens: '10', outputTokens: '5', costUsd: 0.01 },
      policy,
      jitter: 0,
      at: this.tick(),
    });
  }

  fail(key: string, retryable = true, error = 'boom'): readonly WorkflowEvent[] {
    const t = this.task(key);
    return this.exec({
      type: 'FailTask',
      taskId: t.taskId,
      agentId: t.agentId,
      error,
      retryable,
      policy,
      jitter: 0,
      at: this.tick(),
    });
  }

  /** Assigns and completes in one go. */
  run(key: string, agentId: string, output: JsonObject = {}): readonly WorkflowEvent[] {
    this.assign(key, agentId);
    return this.complete(key, output);
  }

  /** Runs the retry timer of a task whose retry is scheduled. */
  retry(key: string): readonly WorkflowEvent[] {
    const t = this.task(key);
    this.clock = new Date(Math.max(this.clock.getTime(), Date.parse(t.notBefore)));
    return this.exec({ type: 'MakeReady', taskId: t.taskId, at: this.clock });
  }

  /** Keys of the tasks that are ready now. */
  readyKeys(): string[] {
    return [...this.wf.tasks.values()]
      .filter((t) => t.status === 'ready')
      .sort((a, b) => a.seq - b.seq)
      .map((t) => t.key);
  }

  types(events: readonly WorkflowEvent[] = this.events): string[] {
    return events.map((e) => e.type);
  }
}
