import { randomUUID } from 'node:crypto';
import {
  agentDecider,
  toAgentEvent,
  agentStreamId,
  sessionDecider,
  toSessionEvent,
  sessionStreamId,
  type AgentCommand,
  type AgentEvent,
  type AgentState,
  type SessionCommand,
  type SessionEvent,
  type SessionState,
} from '@orch/coordination';
import {
  taskIdFor,
  taskSpec,
  toWorkflowEvent,
  workflowDecider,
  workflowStreamId,
  type TaskSpecData,
  type WorkflowCommand,
  type WorkflowEvent,
  type WorkflowPolicy,
  type WorkflowState,
} from '@orch/distribution';
import {
  AggregateCache,
  PostgresEventStore,
  type EventMetadataInput,
  type EventStore,
  type RecordedEvent,
} from '@orch/eventstore';
import { testDatabaseUrl } from '@orch/testing';

const POLICY: WorkflowPolicy = {
  defaultTimeoutMs: 600_000,
  defaultMaxAttempts: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 8_000,
  maxTasks: 1_000,
};

const strict =
  <E>(read: (type: string, data: unknown) => E | undefined) =>
  (r: RecordedEvent): E => {
    const event = read(r.type, r.data);
    if (!event) throw new Error(`stream ${r.streamId} holds ${r.type}`);
    return event;
  };

const selection = (agentId: string) => ({
  strategy: 'weighted',
  agentId,
  candidates: [{ agentId, score: 1, reasons: ['free slot'] }],
  eligible: 1,
  notes: [],
});

/** Task statuses of a workflow, by key. */
export type Statuses = Record<string, string>;

/** What the workflow looked like just after an event was appended, as the live service knew it. */
export interface Moment {
  readonly position: bigint;
  readonly statuses: Statuses;
}

/** How one attempt of a task goes: times are ms after the session started. */
export interface AttemptPlan {
  readonly agentId: string;
  readonly assignAt: number;
  readonly startAt: number;
  readonly endAt: number;
  /** A retryable failure instead of a success. */
  readonly fail?: boolean;
  readonly costUsd?: number;
}

/**
 * Writes realistic history to the store the way the services do: each aggregate decided by its
 * real decider through AggregateCache (so `metadata.decision` is recorded as in production), with
 * the source of the service that owns it (coordination: agents and sessions; distribution:
 * workflows) and the session id as correlation id for everything the session causes.
 */
export class HistoryWriter {
  private readonly agents: AggregateCache<AgentCommand, AgentEvent, AgentState>;
  private readonly sessions: AggregateCache<SessionCommand, SessionEvent, SessionState>;
  private readonly workflows: AggregateCache<WorkflowCommand, WorkflowEvent, WorkflowState>;
  /** The workflow after every workflow command, in the order appended. */
  readonly moments: (Moment & { readonly sessionId: string; readonly command: string })[] = [];

  private constructor(
    private readonly coordination: EventStore,
    private readonly distribution: EventStore,
  ) {
    this.agents = new AggregateCache(coordination, {
      decider: agentDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: strict(toAgentEvent),
    });
    this.sessions = new AggregateCache(coordination, {
      decider: sessionDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: strict(toSessionEvent),
    });
    this.workflows = new AggregateCache(distribution, {
      decider: workflowDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: strict(toWorkflowEvent),
    });
  }

  /** Writers on the event store in `schema` (created if missing). */
  static async open(schema: string): Promise<HistoryWriter> {
    const open = (source: string) =>
      PostgresEventStore.create({ connectionString: testDatabaseUrl(), schema, source, poolSize: 2 });
    const coordination = await open('coordination');
    const distribution = await open('distribution');
    return new HistoryWriter(coordination, distribution);
  }

  /** The store as coordination writes it (any adapter reads the whole log). */
  get store(): EventStore {
    return this.coordination;
  }

  async close(): Promise<void> {
    await this.coordination.close();
    await this.distribution.close();
  }

  async registerAgent(agentId: string, provider: string, at: Date): Promise<void> {
    await this.agents.execute(
      agentStreamId(agentId),
      {
        type: 'RegisterAgent',
        agentId,
        name: `agent ${agentId}`,
        provider,
        model: `${provider}-model`,
        capabilities: [{ name: 'code', level: 0.9 }],
        maxConcurrency: 2,
        cost: { per1kInputTokensUsd: 0.001, per1kOutputTokensUsd: 0.002 },
        labels: {},
        agentType: 'generic',
        at,
      },
      { correlationId: randomUUID(), causationId: randomUUID() },
    );
  }

  /** Starts a swarm session (coordination) and submits its workflow (distribution). */
  async startSession(sessionId: string, tasks: readonly TaskSpecData[], at: Date): Promise<Moment> {
    const meta = this.meta(sessionId);
    const started = await this.sessions.execute(
      sessionStreamId(sessionId),
      {
        type: 'StartSession',
        sessionId,
        goal: 'ship the feature',
        pattern: 'swarm',
        tasks,
        agentIds: [],
        budgetUsd: 0,
        strategy: '',
        maxRounds: 0,
        resolved: {
          pattern: 'swarm',
          reason: '',
          roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
        },
        fleet: { offers: () => true, isRegistered: () => true },
        at,
      },
      meta,
    );
    const data = started.events[0]!.data as Extract<SessionEvent, { type: 'SessionStarted' }>['data'];
    return this.workflow(sessionId, {
      type: 'SubmitWorkflow',
      sessionId,
      goal: data.goal,
      pattern: data.pattern,
      patternReason: data.patternReason,
      roles: data.roles,
      agentIds: [...data.agentIds],
      strategy: data.strategy,
      maxRounds: data.maxRounds,
      tasks: data.tasks,
      policy: POLICY,
      at: new Date(at.getTime() + 5),
    });
  }

  /**
   * One attempt of a task as the services play it: coordination takes a slot of the agent,
   * distribution records the assignment, the start and the outcome, coordination gives the slot back.
   * A failure is retried: distribution makes the task ready again when the retry is due.
   */
  async attempt(sessionId: string, key: string, origin: Date, plan: AttemptPlan): Promise<Moment> {
    const taskId = taskIdFor(sessionId, key);
    const at = (ms: number) => new Date(origin.getTime() + ms);
    const meta = this.meta(sessionId);
    const wf = this.workflows.peek(workflowStreamId(sessionId))?.state;
    const task = wf && wf.status !== 'unsubmitted' ? wf.tasks.get(taskId) : undefined;
    if (!task) throw new Error(`no task ${key} in session ${sessionId}`);
    const attempt = task.attempt + 1;
    await this.agents.execute(
      agentStreamId(plan.agentId),
      {
        type: 'AssignTask',
        agentId: plan.agentId,
        taskId,
        attempt,
        sessionId,
        selection: selection(plan.agentId),
        at: at(plan.assignAt),
      },
      meta,
    );
    await this.workflow(sessionId, {
      type: 'MarkAssigned',
      taskId,
      agentId: plan.agentId,
      attempt,
      deadline: at(plan.assignAt + POLICY.defaultTimeoutMs),
      selection: selection(plan.agentId),
      at: at(plan.assignAt),
    });
    await this.workflow(sessionId, {
      type: 'StartTask',
      taskId,
      agentId: plan.agentId,
      at: at(plan.startAt),
    });
    const ended = plan.fail
      ? await this.workflow(sessionId, {
          type: 'FailTask',
          taskId,
          agentId: plan.agentId,
          error: 'tests failed',
          retryable: true,
          policy: POLICY,
          jitter: 0,
          at: at(plan.endAt),
        })
      : await this.workflow(sessionId, {
          type: 'CompleteTask',
          taskId,
          agentId: plan.agentId,
          output: { ok: true },
          usage: { inputTokens: '1000', outputTokens: '500', costUsd: plan.costUsd ?? 0.01 },
          policy: POLICY,
          jitter: 0,
          at: at(plan.endAt),
        });
    await this.agents.execute(
      agentStreamId(plan.agentId),
      {
        type: 'ReleaseTask',
        agentId: plan.agentId,
        taskId,
        attempt,
        reason: plan.fail ? 'TaskFailed' : 'TaskSucceeded',
        at: at(plan.endAt + 1),
      },
      meta,
    );
    if (!plan.fail) return ended;
    return this.workflow(sessionId, { type: 'MakeReady', taskId, at: at(plan.endAt + POLICY.retryBaseMs) });
  }

  /** Coordination closes the session once its workflow ended. */
  async closeSession(sessionId: string, at: Date): Promise<void> {
    await this.sessions.execute(
      sessionStreamId(sessionId),
      { type: 'CloseSession', sessionId, status: 'completed', reason: 'workflow completed', at },
      this.meta(sessionId),
    );
  }

  /** The workflow's task statuses as distribution holds them now. */
  statuses(sessionId: string): Statuses {
    const wf = this.workflows.peek(workflowStreamId(sessionId))?.state;
    const out: Statuses = {};
    if (wf && wf.status !== 'unsubmitted') for (const t of wf.tasks.values()) out[t.key] = t.status;
    return out;
  }

  private async workflow(sessionId: string, command: WorkflowCommand): Promise<Moment> {
    const outcome = await this.workflows.execute(workflowStreamId(sessionId), command, this.meta(sessionId));
    if (!outcome.result) throw new Error(`${command.type} changed nothing`);
    const moment = { position: outcome.result.lastGlobalPosition, statuses: this.statuses(sessionId) };
    this.moments.push({ ...moment, sessionId, command: command.type });
    return moment;
  }

  private meta(sessionId: string): EventMetadataInput {
    return { correlationId: sessionId, causationId: randomUUID() };
  }
}

/** A work task needing code; `spec('b', ['a'])` depends on a. */
export const spec = (key: string, dependsOn: string[] = [], type = 'coder'): TaskSpecData =>
  taskSpec({ key, type, capabilities: ['code'], dependsOn });
