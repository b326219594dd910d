import { create, type Message } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  AssignmentPollSchema,
  SessionPageSchema,
  commandInfo,
  type AdaptWorkflow,
  type AssignmentPoll,
  type CancelTask,
  type CompleteTask,
  type FailTask,
  type GetSession,
  type GetTask,
  type HandOffTask,
  type ListSessions,
  type NextAssignment,
  type ReportTaskProgress,
  type SessionPage,
  type SessionView,
  type SpawnSubtasks,
  type StartTask,
  type TaskAck,
  type TaskView,
} from '@orch/contracts';
import { taskById, type JsonObject, type WorkflowCommand } from '@orch/distribution';
import { NotFoundError, ValidationError } from '@orch/domain-kit';
import { CommandHandler, commandMetadata, type CommandContext } from '@orch/messaging';
import { CLOCK, DISTRIBUTION_OPTIONS, type Clock, type DistributionModuleOptions } from '../tokens';
import type { DirectoryEntry } from './session-directory';
import { WorkflowHost, type ExecutedCommand } from './workflow-host';
import {
  toAssignment,
  toSessionView,
  toTaskAck,
  toTaskSpecData,
  toTaskView,
  toUsageData,
} from './workflow.mapping';

export const MAX_PAGE = 500;
/** Longest long poll of NextAssignment. */
export const MAX_WAIT_MS = 30_000;
/** Time kept to answer before the caller's deadline. */
const REPLY_MARGIN_MS = 100;
const STATUSES = ['running', 'completed', 'failed', 'cancelled'];

/**
 * NATS adapters of the task and session use cases (tasks.proto): map the wire to the domain and
 * back. The agent id in the agents' commands is the caller's, filled in by the gateway.
 */
@Injectable()
export class TasksHandlers {
  constructor(
    private readonly host: WorkflowHost,
    @Inject(DISTRIBUTION_OPTIONS) private readonly options: DistributionModuleOptions,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  // ---------------------------------------------------------------- queries

  @CommandHandler(commandInfo('distribution.GetSession'))
  async getSession(message: GetSession): Promise<SessionView> {
    const loaded = await this.host.load(message.sessionId);
    if (!loaded) throw new NotFoundError(`session ${message.sessionId} does not exist`, message);
    return toSessionView(loaded.workflow, loaded.version, true);
  }

  @CommandHandler(commandInfo('distribution.ListSessions'))
  async listSessions(message: ListSessions): Promise<SessionPage> {
    const limit = message.limit === 0 ? 50 : message.limit;
    const problems = [
      ...(limit > MAX_PAGE ? [{ path: 'limit', message: `must be at most ${MAX_PAGE}` }] : []),
      ...(message.cursor !== '' && !/^[1-9][0-9]{0,18}$/.test(message.cursor)
        ? [{ path: 'cursor', message: 'is not a cursor this service issued' }]
        : []),
      ...(message.status !== '' && !STATUSES.includes(message.status)
        ? [{ path: 'status', message: `must be one of ${STATUSES.join(', ')}` }]
        : []),
    ];
    if (problems.length > 0) throw new ValidationError('invalid session query', problems);
    const before = message.cursor === '' ? undefined : BigInt(message.cursor);
    const view = (e: DirectoryEntry): SessionView | undefined => {
      if (e.ended) return e.ended;
      const running = this.host.cached(e.sessionId);
      return running && toSessionView(running.workflow, running.version, false);
    };
    const page = this.host.sessions.page(before, limit, (e) =>
      message.status === '' ? true : (e.ended?.status ?? 'running') === message.status,
    );
    return create(SessionPageSchema, {
      items: page.items.map(view).filter((v) => v !== undefined),
      nextCursor: page.next?.toString() ?? '',
    });
  }

  @CommandHandler(commandInfo('distribution.GetTask'))
  async getTask(message: GetTask): Promise<TaskView> {
    const loaded = await this.host.load(this.sessionOf(message.taskId));
    const task = loaded && taskById(loaded.workflow, message.taskId);
    if (!loaded || !task) throw new NotFoundError(`task ${message.taskId} does not exist`, message);
    return toTaskView(loaded.workflow, task);
  }

  @CommandHandler(commandInfo('distribution.NextAssignment'))
  async nextAssignment(message: NextAssignment, ctx: CommandContext): Promise<AssignmentPoll> {
    requireAgent(message.agentId);
    const now = this.clock.now().getTime();
    const callerGivesUp = ctx.deadline ? ctx.deadline.getTime() - REPLY_MARGIN_MS : Infinity;
    const until = Math.min(now + Math.min(message.waitMs, MAX_WAIT_MS), callerGivesUp);
    for (;;) {
      const ref =
        this.host.board.take(message.agentId) ??
        (await this.host.board.wait(message.agentId, Math.max(0, until - this.clock.now().getTime())));
      if (!ref) return create(AssignmentPollSchema, { found: false });
      const wf = this.host.workflow(ref.sessionId);
      const task = wf && taskById(wf, ref.taskId);
      // The attempt may have ended between being assigned and being asked for.
      if (
        wf &&
        task?.status === 'assigned' &&
        task.agentId === message.agentId &&
        task.attempt === ref.attempt
      )
        return create(AssignmentPollSchema, { found: true, assignment: toAssignment(wf, task) });
    }
  }

  // ---------------------------------------------------------------- the agent holding a task

  @CommandHandler(commandInfo('distribution.StartTask'))
  async start(message: StartTask, ctx: CommandContext): Promise<TaskAck> {
    return this.byHolder(message, ctx, { type: 'StartTask' });
  }

  @CommandHandler(commandInfo('distribution.ReportTaskProgress'))
  async progress(message: ReportTaskProgress, ctx: CommandContext): Promise<TaskAck> {
    return this.byHolder(message, ctx, {
      type: 'ReportTaskProgress',
      percent: message.percent,
      message: message.message,
    });
  }

  @CommandHandler(commandInfo('distribution.CompleteTask'))
  async complete(message: CompleteTask, ctx: CommandContext): Promise<TaskAck> {
    return this.byHolder(message, ctx, {
      type: 'CompleteTask',
      output: (message.output ?? {}) as JsonObject,
      usage: toUsageData(message.usage),
      policy: this.options.policy,
      jitter: Math.random(),
    });
  }

  @CommandHandler(commandInfo('distribution.FailTask'))
  async fail(message: FailTask, ctx: CommandContext): Promise<TaskAck> {
    return this.byHolder(message, ctx, {
      type: 'FailTask',
      error: message.error,
      retryable: message.retryable,
      policy: this.options.policy,
      jitter: Math.random(),
    });
  }

  @CommandHandler(commandInfo('distribution.HandOffTask'))
  async handOff(message: HandOffTask, ctx: CommandContext): Promise<TaskAck> {
    return this.byHolder(message, ctx, {
      type: 'HandOffTask',
      toCapabilities: [...message.toCapabilities],
      toAgentId: message.toAgentId,
      reason: message.reason,
    });
  }

  @CommandHandler(commandInfo('distribution.SpawnSubtasks'))
  async spawn(message: SpawnSubtasks, ctx: CommandContext): Promise<TaskAck> {
    return this.byHolder(message, ctx, {
      type: 'SpawnSubtasks',
      tasks: message.tasks.map(toTaskSpecData),
      policy: this.options.policy,
    });
  }

  // ---------------------------------------------------------------- users and operators

  @CommandHandler(commandInfo('distribution.CancelTask'))
  async cancel(message: CancelTask, ctx: CommandContext): Promise<TaskAck> {
    return this.onTask(message.taskId, ctx, message, (at) => ({
      type: 'CancelTask',
      taskId: message.taskId,
      reason: message.reason || 'cancelled',
      policy: this.options.policy,
      at,
    }));
  }

  @CommandHandler(commandInfo('distribution.AdaptWorkflow'))
  async adapt(message: AdaptWorkflow, ctx: CommandContext): Promise<SessionView> {
    if (!this.host.sessions.get(message.sessionId))
      throw new NotFoundError(`session ${message.sessionId} does not exist`, message);
    const done = await this.host.execute(
      message.sessionId,
      {
        type: 'AdaptWorkflow',
        add: message.add.map(toTaskSpecData),
        remove: [...message.remove],
        replace: message.replace.map(toTaskSpecData),
        policy: this.options.policy,
        at: this.clock.now(),
      },
      commandMetadata(ctx, message, message.sessionId),
    );
    return toSessionView(done.workflow, done.version, true);
  }

  // ---------------------------------------------------------------- helpers

  private sessionOf(taskId: string): string {
    const sessionId = this.host.sessionOf(taskId);
    if (!sessionId) throw new NotFoundError(`task ${taskId} does not exist`, { taskId });
    return sessionId;
  }

  /** A report of the agent holding the task (the gateway fills in the caller's agent id). */
  private byHolder(
    message: Message & { readonly taskId: string; readonly agentId: string },
    ctx: CommandContext,
    fields: HolderFields,
  ): Promise<TaskAck> {
    requireAgent(message.agentId);
    const { taskId, agentId } = message;
    return this.onTask(taskId, ctx, message, (at) => ({ ...fields, taskId, agentId, at }) as WorkflowCommand);
  }

  /** Runs a command on the workflow holding the task; the ack names the tasks it added. */
  private async onTask(
    taskId: string,
    ctx: CommandContext,
    message: Message,
    toCommand: (at: Date) => WorkflowCommand,
  ): Promise<TaskAck> {
    const sessionId = this.sessionOf(taskId);
    const done = await this.host.execute(
      sessionId,
      toCommand(this.clock.now()),
      commandMetadata(ctx, message, sessionId),
    );
    const task = taskById(done.workflow, taskId);
    if (!task) throw new NotFoundError(`task ${taskId} does not exist`, { taskId });
    return toTaskAck(done.workflow, task, addedKeys(done));
  }
}

/** A command of the agent holding a task, without what every one of them carries. */
type HolderCommand = Extract<WorkflowCommand, { readonly agentId: string; readonly taskId: string }>;
type HolderFields = HolderCommand extends infer C
  ? C extends HolderCommand
    ? Omit<C, 'taskId' | 'agentId' | 'at'>
    : never
  : never;

const requireAgent = (agentId: string): void => {
  if (agentId === '')
    throw new ValidationError('an agent id is required', [{ path: 'agentId', message: 'must not be empty' }]);
};

const addedKeys = (done: ExecutedCommand): string[] =>
  done.events.flatMap((e) => (e.type === 'TaskSubmitted' ? [e.data.spec.key] : []));
