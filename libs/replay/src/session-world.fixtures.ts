/**
 * A whole session played through every real decider its history touches (for the replay and
 * verify specs): the session and its context (coordination), the workflow (distribution), two
 * agents shared with another session (coordination), and the allocator (resources) with one GPU
 * slot that both sessions want. Checkpoints name the positions the specs replay to.
 */
import {
  agentDecider,
  agentStreamId,
  contextDecider,
  contextStreamId,
  sessionDecider,
  sessionStreamId,
  type AgentCommand,
  type StartSession,
} from '@orch/coordination';
import { taskByKey, type TaskState } from '@orch/distribution';
import { ALLOCATOR_STREAM, allocatorDecider, type AllocatorCommand } from '@orch/resources';
import { Recorder, StreamRun, T0, later } from './history.fixtures';
import { SESSION, WorkflowPlay, policy, selection, spec, submit } from './workflow-play.fixtures';

export const OTHER = 'a1b2c3d4-0000-4000-8000-000000000002';
const NO_ROLES = { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' };

export const startSession = (at: Date = T0): StartSession => ({
  type: 'StartSession',
  sessionId: SESSION,
  goal: 'ship the feature',
  pattern: 'swarm',
  tasks: [spec('a'), spec('b')],
  agentIds: [],
  budgetUsd: 5,
  strategy: '',
  maxRounds: 0,
  resolved: { pattern: 'swarm', reason: '', roles: NO_ROLES },
  fleet: { offers: () => true, isRegistered: () => true },
  at,
});

export function registration(agentId: string, maxConcurrency: number): AgentCommand {
  return {
    type: 'RegisterAgent',
    agentId,
    name: `${agentId} name`,
    provider: 'anthropic',
    model: 'claude',
    capabilities: [{ name: 'code', level: 0.9 }],
    maxConcurrency,
    cost: { per1kInputTokensUsd: 0.003, per1kOutputTokensUsd: 0.015 },
    labels: {},
    agentType: 'generic',
    at: T0,
  };
}

export class SessionWorld {
  readonly recorder = new Recorder();
  readonly session = new StreamRun(this.recorder, sessionStreamId(SESSION), sessionDecider, 'coordination');
  readonly context = new StreamRun(
    this.recorder,
    contextStreamId(SESSION, 'plan'),
    contextDecider,
    'coordination',
  );
  readonly workflow = new WorkflowPlay(this.recorder);
  readonly agents = new Map(
    ['agent-a', 'agent-b'].map((id) => [
      id,
      new StreamRun(this.recorder, agentStreamId(id), agentDecider, 'coordination'),
    ]),
  );
  readonly allocator = new StreamRun(this.recorder, ALLOCATOR_STREAM, allocatorDecider(), 'resources');
  /** Positions (the last event's) after named steps. */
  readonly checkpoints = new Map<string, bigint>();
  private ms = 0;

  at(): Date {
    this.ms += 1_000;
    return later(this.ms);
  }

  checkpoint(name: string): void {
    this.checkpoints.set(name, this.recorder.log[this.recorder.log.length - 1]!.position);
  }

  task(key: string): TaskState {
    return taskByKey(this.workflow.wf, key)!;
  }

  agent(id: string): StreamRun<AgentCommand, never, never> {
    return this.agents.get(id) as unknown as StreamRun<AgentCommand, never, never>;
  }

  allocate(taskId: string, sessionId: string): void {
    const c: AllocatorCommand = {
      type: 'Allocate',
      taskId,
      attempt: 1,
      sessionId,
      priority: 0,
      claims: [],
      incremental: false,
      at: this.at(),
    };
    this.allocator.exec(c, sessionId);
  }

  release(taskId: string, sessionId: string): void {
    this.allocator.exec(
      { type: 'Release', taskId, attempt: 1, reason: 'TaskSucceeded', at: this.at() },
      sessionId,
    );
  }

  assignAgent(agentId: string, taskId: string, sessionId: string): void {
    this.agent(agentId).exec(
      {
        type: 'AssignTask',
        agentId,
        taskId,
        attempt: 1,
        sessionId,
        selection: selection(agentId),
        at: this.at(),
      },
      sessionId,
    );
  }

  releaseAgent(agentId: string, taskId: string, sessionId: string): void {
    this.agent(agentId).exec(
      { type: 'ReleaseTask', agentId, taskId, attempt: 1, reason: 'TaskSucceeded', at: this.at() },
      sessionId,
    );
  }

  /** Assigns, starts and completes the session's task `key` on `agentId`, its claims already granted. */
  run(key: string, agentId: string): void {
    const t = this.task(key);
    const at = this.at();
    this.workflow.run.exec(
      {
        type: 'MarkAssigned',
        taskId: t.taskId,
        agentId,
        attempt: 1,
        deadline: later(60_000, at),
        selection: selection(agentId),
        at,
      },
      SESSION,
    );
    this.assignAgent(agentId, t.taskId, SESSION);
    this.workflow.run.exec({ type: 'StartTask', taskId: t.taskId, agentId, at: this.at() }, SESSION);
    this.checkpoint(`${key} running`);
    this.workflow.run.exec(
      {
        type: 'CompleteTask',
        taskId: t.taskId,
        agentId,
        output: { done: key },
        usage: { inputTokens: '100', outputTokens: '50', costUsd: 0.02 },
        policy,
        jitter: 0,
        at: this.at(),
      },
      SESSION,
    );
    this.releaseAgent(agentId, t.taskId, SESSION);
    this.release(t.taskId, SESSION);
  }
}

/**
 * The session's story: it starts and writes its plan; the other session takes the GPU for x1 on
 * agent-a; the session's task a waits for it (a conflict), gets it when x1 ends, runs on agent-a
 * and ends; b runs on agent-b; the workflow completes and the session closes.
 */
export function playSession(): SessionWorld {
  const w = new SessionWorld();
  w.allocator.exec(
    { type: 'DefinePool', poolId: 'gpu', kind: 'concurrency', capacity: 1, unit: 'gpus', at: T0 },
    'ops',
  );
  w.agent('agent-a').exec(registration('agent-a', 2), 'fleet');
  w.agent('agent-b').exec(registration('agent-b', 2), 'fleet');
  w.recorder.skip(2);
  w.session.exec(startSession(w.at()), SESSION);
  w.context.exec(
    { type: 'PutContext', sessionId: SESSION, key: 'plan', value: { steps: ['a', 'b'] }, at: w.at() },
    SESSION,
  );
  w.workflow.run.exec(submit([spec('a'), spec('b')], w.at()), SESSION);
  w.checkpoint('submitted');

  w.allocate('x1', OTHER);
  w.assignAgent('agent-a', 'x1', OTHER);
  w.recorder.skip(3);
  w.allocate(w.task('a').taskId, SESSION);
  const conflictId = 'conflict-1';
  w.workflow.run.exec(
    {
      type: 'HoldTask',
      taskId: w.task('a').taskId,
      attempt: 1,
      waitingFor: 'resources',
      reason: 'the gpu is held by x1',
      conflictId,
      retryAt: undefined,
      at: w.at(),
    },
    SESSION,
  );
  w.checkpoint('a waiting');

  w.release('x1', OTHER); // grants a's request in the same decision (the other session's)
  w.releaseAgent('agent-a', 'x1', OTHER);
  w.workflow.run.exec(
    { type: 'ResumeTask', taskId: w.task('a').taskId, reason: 'granted', at: w.at() },
    SESSION,
  );
  w.run('a', 'agent-a');
  w.checkpoint('a done');

  w.allocate(w.task('b').taskId, SESSION);
  w.run('b', 'agent-b');
  w.session.exec(
    { type: 'CloseSession', sessionId: SESSION, status: 'completed', reason: '', at: w.at() },
    SESSION,
  );
  w.checkpoint('closed');
  return w;
}
