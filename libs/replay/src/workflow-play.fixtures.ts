/**
 * Random workflows played through the real workflow decider (for the replay and verify specs):
 * a random DAG, then random dispatcher, agent and timer commands, then agents that finish their
 * work until the workflow ends. Every decision is recorded as the store would keep it.
 */
import {
  isHeld,
  taskSpec,
  tasksInOrder,
  workflowDecider,
  workflowStreamId,
  type TaskSpecData,
  type TaskState,
  type Workflow,
  type WorkflowCommand,
  type WorkflowEvent,
  type WorkflowPolicy,
  type WorkflowState,
} from '@orch/distribution';
import fc from 'fast-check';
import { Recorder, StreamRun, T0, later } from './history.fixtures';

export const SESSION = '7d0c7b0e-3c4b-4f5e-9a51-2f6a0c1d9e11';

export const policy: WorkflowPolicy = {
  defaultTimeoutMs: 60_000,
  defaultMaxAttempts: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 8_000,
  maxTasks: 100_000,
};

export const spec = (key: string, dependsOn: string[] = [], more: Partial<TaskSpecData> = {}): TaskSpecData =>
  taskSpec({ key, type: 'coder', capabilities: ['code'], dependsOn, ...more });

export const submit = (tasks: readonly TaskSpecData[], at: Date = T0): WorkflowCommand => ({
  type: 'SubmitWorkflow',
  sessionId: SESSION,
  goal: 'ship the feature',
  pattern: 'swarm',
  patternReason: '',
  roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
  agentIds: [],
  strategy: 'weighted',
  maxRounds: 0,
  tasks,
  policy,
  at,
});

export const selection = (agentId: string) => ({
  strategy: 'weighted',
  agentId,
  candidates: [{ agentId, score: 1, reasons: ['free slot'] }],
  eligible: 1,
  notes: [],
});

/** A random DAG: task i may depend on tasks before it; a few may fail without failing the session. */
export const dags = fc
  .array(fc.record({ deps: fc.array(fc.nat(), { maxLength: 3 }), allowFailure: fc.boolean() }), {
    minLength: 1,
    maxLength: 8,
  })
  .map((tasks) =>
    tasks.map((t, i) =>
      spec(`t${i}`, i === 0 ? [] : [...new Set(t.deps.map((d) => `t${d % i}`))], {
        allowFailure: t.allowFailure && i % 3 === 0,
        maxAttempts: 2,
      }),
    ),
  );

export interface Step {
  readonly kind: string;
  readonly pick: number;
  readonly agent: number;
  readonly flag: boolean;
  readonly jitter: number;
  /** Positions other sessions take before the next decision. */
  readonly gap: number;
}

export const steps = fc.array(
  fc.record({
    kind: fc.constantFrom(
      'assign',
      'assign',
      'start',
      'progress',
      'complete',
      'complete',
      'fail',
      'timeout',
      'lose',
      'retry',
      'cancel',
    ),
    pick: fc.nat(),
    agent: fc.nat({ max: 2 }),
    flag: fc.boolean(),
    jitter: fc.double({ min: 0, max: 0.999, noNaN: true }),
    gap: fc.constantFrom(0, 0, 1, 3),
  }),
  { maxLength: 40 },
);

const choose = <T>(items: readonly T[], pick: number): T | undefined =>
  items[pick % Math.max(1, items.length)];

/** A workflow played into a recorder. */
export class WorkflowPlay {
  readonly run: StreamRun<WorkflowCommand, WorkflowEvent, WorkflowState>;
  clock = T0;

  constructor(readonly recorder: Recorder = new Recorder()) {
    this.run = new StreamRun(recorder, workflowStreamId(SESSION), workflowDecider, 'distribution');
  }

  get wf(): Workflow {
    if (this.run.state.status === 'unsubmitted') throw new Error('not submitted');
    return this.run.state;
  }

  tick(ms: number): Date {
    this.clock = later(ms, this.clock);
    return this.clock;
  }

  /** The command a step stands for, or undefined when nothing fits. */
  commandFor(step: Step): WorkflowCommand | undefined {
    const tasks = tasksInOrder(this.wf);
    const held = choose(tasks.filter(isHeld), step.pick);
    const at = this.tick(10_000);
    const base = { policy, jitter: step.jitter, at };
    switch (step.kind) {
      case 'assign': {
        const t = choose(
          tasks.filter((x) => x.status === 'ready'),
          step.pick,
        );
        const agentId = `agent-${step.agent}`;
        return (
          t && {
            type: 'MarkAssigned',
            taskId: t.taskId,
            agentId,
            attempt: t.attempt + 1,
            deadline: later(60_000, at),
            selection: selection(agentId),
            at,
          }
        );
      }
      case 'start':
        return held && { type: 'StartTask', taskId: held.taskId, agentId: held.agentId, at };
      case 'progress':
        return (
          held && {
            type: 'ReportTaskProgress',
            taskId: held.taskId,
            agentId: held.agentId,
            percent: 50,
            message: 'half way',
            at,
          }
        );
      case 'complete':
        return (
          held && {
            type: 'CompleteTask',
            taskId: held.taskId,
            agentId: held.agentId,
            output: { by: held.agentId },
            usage: { inputTokens: '10', outputTokens: '5', costUsd: 0.01 },
            ...base,
          }
        );
      case 'fail':
        return (
          held && {
            type: 'FailTask',
            taskId: held.taskId,
            agentId: held.agentId,
            error: 'boom',
            retryable: step.flag,
            ...base,
          }
        );
      case 'timeout':
        return held && { type: 'TimeOutTask', taskId: held.taskId, attempt: held.attempt, ...base };
      case 'lose':
        return { type: 'LoseAssignment', agentId: `agent-${step.agent}`, reason: 'unhealthy', ...base };
      case 'retry': {
        const t = choose(
          tasks.filter((x: TaskState) => x.notBefore !== ''),
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
        return t && { type: 'CancelTask', taskId: t.taskId, reason: 'not needed', policy, at };
      }
    }
  }

  /** Plays one step (a rejected command records nothing, as the service would answer it). */
  play(step: Step): void {
    const command = this.commandFor(step);
    if (command) this.run.try(command, SESSION);
    this.recorder.skip(step.gap);
  }
}

/** Steps that always make progress: finish a held task, run a due retry, assign a ready task. */
const progress: Step[] = ['complete', 'retry', 'assign'].map((kind) => ({
  kind,
  pick: 0,
  agent: 0,
  flag: true,
  jitter: 0.5,
  gap: 1,
}));

/** Submits the DAG, plays the steps, then finishes the workflow; the play and its recorder. */
export function playWorkflow(
  dag: readonly TaskSpecData[],
  plan: readonly Step[],
  recorder = new Recorder(),
): WorkflowPlay {
  const play = new WorkflowPlay(recorder);
  play.run.exec(submit(dag), SESSION);
  for (const step of plan) if (play.wf.status === 'running') play.play(step);
  for (let i = 0; i < 600 && play.wf.status === 'running'; i++) play.play(progress[i % 3]!);
  return play;
}
