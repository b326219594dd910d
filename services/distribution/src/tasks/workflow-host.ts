import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import {
  isHeld,
  taskById,
  toWorkflowEvent,
  workflowDecider,
  workflowEventTypes,
  workflowStreamId,
  workflowTerminalEventTypes,
  type TaskState,
  type Workflow,
  type WorkflowCommand,
  type WorkflowEvent,
  type WorkflowState,
} from '@orch/distribution';
import { isDomainError } from '@orch/domain-kit';
import {
  AggregateCache,
  type EventMetadataInput,
  type EventStore,
  type RecordedEvent,
  type Subscription,
} from '@orch/eventstore';
import type { NatsConnection } from '@nats-io/nats-core';
import { MESSAGING_LOGGER, MESSAGING_NAMING, NATS_CONNECTION, type Naming } from '@orch/messaging';
import type { Logger } from 'pino';
import {
  CLOCK,
  DISTRIBUTION_OPTIONS,
  EVENT_STORE,
  SERVICE,
  type Clock,
  type DistributionModuleOptions,
} from '../tokens';
import { AssignmentBoard } from './assignment-board';
import { HandoutGossip } from './handout-gossip';
import { ReadyQueue } from './ready-queue';
import { SessionDirectory } from './session-directory';
import { TaskTimers } from './task-timers';
import { toSessionView } from './workflow.mapping';

const PAGE = 1_000;
/** A timer whose command failed for a transient reason runs again after this long. */
const TIMER_RETRY_MS = 1_000;
const LOG_FILTER = { sources: [SERVICE], types: workflowEventTypes };

/** A workflow with the version of its stream. */
export interface LoadedWorkflow {
  readonly workflow: Workflow;
  readonly version: bigint;
}

export interface ExecutedCommand extends LoadedWorkflow {
  /** The events appended (none for a repeat). */
  readonly events: readonly WorkflowEvent[];
}

const submittedWorkflow = (state: WorkflowState | undefined): Workflow | undefined =>
  state && state.status !== 'unsubmitted' ? state : undefined;

const sessionOfStream = (streamId: string): string => streamId.slice('workflow-'.length);

/** Tasks an event changes; undefined for events about the whole workflow. */
const taskOf = (e: WorkflowEvent): string | undefined => ('taskId' in e.data ? e.data.taskId : undefined);

/**
 * Every workflow of the running sessions, in memory (docs/orchestration.md "Both services keep the
 * aggregates they work on in memory"), and what the dispatcher, the timers and the agents' polls
 * need from them: ready tasks by priority, attempts not yet handed to their agents, deadlines and
 * retries, who holds what.
 *
 * Rebuilt from the store's global log at start, then kept current from it (writes by other
 * replicas); writes go through the cache, whose version check means a task is never assigned
 * twice whatever the number of replicas. The indexes are derived from a task's current state, not
 * from events, so seeing a change twice (own write, then the log) is harmless.
 *
 * An ended workflow leaves the cache; its session keeps a summary in the directory and is read
 * from the store when asked for.
 */
@Injectable()
export class WorkflowHost implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly ready = new ReadyQueue();
  readonly board: AssignmentBoard;
  private readonly gossip: HandoutGossip;
  readonly sessions = new SessionDirectory();
  private readonly timers = new TaskTimers();
  private readonly cache: AggregateCache<WorkflowCommand, WorkflowEvent, WorkflowState>;
  private readonly sessionOfTask = new Map<string, string>();
  /** Agent -> tasks it holds (assigned or running). */
  private readonly held = new Map<string, Set<string>>();
  private readonly holderOf = new Map<string, string>();
  private readyListeners: (() => void)[] = [];
  private position = 0n;
  private subscription: Subscription | undefined;
  private following: Promise<void> | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DISTRIBUTION_OPTIONS) private readonly options: DistributionModuleOptions,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    @Inject(MESSAGING_NAMING) naming: Naming,
  ) {
    this.gossip = new HandoutGossip(nc, naming, logger);
    this.board = new AssignmentBoard((ref) => this.gossip.announce(ref));
    this.cache = new AggregateCache(store, {
      decider: workflowDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      // Every replica's dispatcher writes to the busy workflows: a few lost races in a row are
      // normal, and each retry only reads the events it missed.
      maxRetries: 25,
      fromRecorded: (r) => {
        const event = toWorkflowEvent(r.type, r.data);
        if (!event) throw new Error(`stream ${r.streamId} holds ${r.type}, which is not a workflow event`);
        return event;
      },
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Rebuilds every workflow before command handlers and consumers start (at bootstrap). */
  async onModuleInit(): Promise<void> {
    const started = performance.now();
    const head = await this.store.headPosition();
    const touched = new Set<string>();
    let count = 0;
    for (;;) {
      const page = await this.store.readAll(this.position, PAGE, LOG_FILTER);
      for (const recorded of page) {
        const sessionId = this.fold(recorded);
        if (!sessionId) continue;
        // An ended workflow leaves memory at once, so a long history does not have to fit in it.
        if (workflowTerminalEventTypes.includes(recorded.type as WorkflowEvent['type']))
          this.sync(sessionId, undefined);
        else touched.add(sessionId);
      }
      count += page.length;
      if (page.length > 0) this.position = page[page.length - 1]!.globalPosition;
      if (page.length < PAGE) break;
    }
    if (head > this.position) this.position = head;
    for (const sessionId of touched) this.sync(sessionId, undefined);
    this.logger.info(
      { events: count, sessions: this.sessions.size, ms: Math.round(performance.now() - started) },
      'workflows rebuilt from the event store',
    );
  }

  onApplicationBootstrap(): void {
    this.gossip.start(this.board);
    const subscription = this.store.subscribeAll(this.position, LOG_FILTER);
    this.subscription = subscription;
    this.following = (async () => {
      try {
        for await (const recorded of subscription) {
          const sessionId = this.fold(recorded);
          const event = toWorkflowEvent(recorded.type, recorded.data);
          if (sessionId) this.sync(sessionId, event && [taskOf(event)]);
        }
      } catch (err) {
        this.logger.error({ err }, 'following the event store stopped');
      }
    })();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.gossip.stop();
    await this.subscription?.close();
    await this.following;
    this.timers.clearAll();
    this.board.close();
  }

  /** Called whenever a task becomes ready (the dispatcher wakes up). */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  // ---------------------------------------------------------------- reads

  /** A running session's workflow as this replica knows it, without I/O. */
  cached(sessionId: string): LoadedWorkflow | undefined {
    const cached = this.cache.peek(workflowStreamId(sessionId));
    const workflow = submittedWorkflow(cached?.state);
    return cached && workflow && { workflow, version: cached.version };
  }

  workflow(sessionId: string): Workflow | undefined {
    return this.cached(sessionId)?.workflow;
  }

  /** Any session's workflow: from the cache, or read from the store for an ended one. */
  async load(sessionId: string): Promise<LoadedWorkflow | undefined> {
    const cached = this.cached(sessionId);
    if (cached) return cached;
    let state: WorkflowState = workflowDecider.initialState();
    let version = 0n;
    for (const recorded of await this.store.readStream(workflowStreamId(sessionId))) {
      const event = toWorkflowEvent(recorded.type, recorded.data);
      if (event) state = workflowDecider.evolve(state, event);
      version = recorded.streamVersion;
    }
    const workflow = submittedWorkflow(state);
    return workflow && { workflow, version };
  }

  sessionOf(taskId: string): string | undefined {
    return this.sessionOfTask.get(taskId);
  }

  /** Sessions in which the agent holds tasks. */
  sessionsHeldBy(agentId: string): string[] {
    const sessions = new Set<string>();
    for (const taskId of this.held.get(agentId) ?? []) {
      const sessionId = this.sessionOfTask.get(taskId);
      if (sessionId) sessions.add(sessionId);
    }
    return [...sessions];
  }

  // ---------------------------------------------------------------- writes

  /**
   * Decides `command` on the session's workflow and appends its events (a version conflict with
   * another replica is caught up and decided again). Domain errors propagate; nothing changes then.
   * A workflow that ended is not cached: the decider only says whether the command is a repeat.
   */
  async execute(
    sessionId: string,
    command: WorkflowCommand,
    metadata: EventMetadataInput,
  ): Promise<ExecutedCommand> {
    try {
      return await this.decide(sessionId, command, metadata);
    } catch (err) {
      // Rejected on a state that may be behind another replica's writes (an agent's report can
      // reach this replica before the log shows it the assignment): catch up, decide again.
      if (!isDomainError(err) || !(await this.catchUp(sessionId))) throw err;
      return this.decide(sessionId, command, metadata);
    } finally {
      // Reading the stream for a command on a session that has ended (or has no workflow) must
      // not keep it in memory.
      if (this.sessions.isEnded(sessionId) || !this.workflow(sessionId))
        this.cache.evict(workflowStreamId(sessionId));
    }
  }

  /** Folds the events of the session's stream this replica has not seen yet; false when none. */
  async catchUp(sessionId: string): Promise<boolean> {
    const streamId = workflowStreamId(sessionId);
    const known = this.cache.peek(streamId)?.version ?? 0n;
    const missed = await this.store.readStream(streamId, { fromVersion: known + 1n });
    for (const recorded of missed) this.fold(recorded);
    if (missed.length > 0) this.sync(sessionId, undefined);
    return missed.length > 0;
  }

  private async decide(
    sessionId: string,
    command: WorkflowCommand,
    metadata: EventMetadataInput,
  ): Promise<ExecutedCommand> {
    if (this.sessions.isEnded(sessionId)) return this.decideEnded(sessionId, command);
    const done = await this.cache.execute(workflowStreamId(sessionId), command, metadata);
    done.events.forEach((e, i) => {
      const position = done.result?.positions[i];
      if (e.type === 'WorkflowSubmitted' && position !== undefined) this.sessions.add(sessionId, position);
    });
    const workflow = submittedWorkflow(done.state);
    if (!workflow) throw new Error(`session ${sessionId} has no workflow after ${command.type}`);
    this.sync(sessionId, done.events.map(taskOf));
    return { workflow, version: done.version, events: done.events };
  }

  /** An ended workflow takes no more events: the decider only says whether that is a repeat or an error. */
  private async decideEnded(sessionId: string, command: WorkflowCommand): Promise<ExecutedCommand> {
    const loaded = await this.load(sessionId);
    if (!loaded) throw new Error(`ended session ${sessionId} has no workflow in the store`);
    workflowDecider.decide(command, loaded.workflow);
    return { ...loaded, events: [] };
  }

  // ---------------------------------------------------------------- keeping the indexes

  /**
   * Folds an event of the global log into its workflow (a no-op when this replica already has it:
   * its own write, or read while catching up); returns the session, unless it is not followed.
   */
  private fold(recorded: RecordedEvent): string | undefined {
    const sessionId = sessionOfStream(recorded.streamId);
    if (this.sessions.isEnded(sessionId) || !this.cache.observe(recorded)) return undefined;
    if (recorded.type === 'WorkflowSubmitted') this.sessions.add(sessionId, recorded.globalPosition);
    return sessionId;
  }

  /**
   * Brings the indexes in line with the current state of the tasks named (all of them when
   * undefined, or when an event named none). Idempotent: it reads state, not events.
   */
  private sync(sessionId: string, taskIds: readonly (string | undefined)[] | undefined): void {
    const cached = this.cache.peek(workflowStreamId(sessionId));
    const workflow = submittedWorkflow(cached?.state);
    if (!cached || !workflow) return;
    if (workflow.status !== 'running') return this.finish(workflow, cached.version);
    const all = taskIds === undefined || taskIds.includes(undefined);
    const tasks = all
      ? [...workflow.tasks.values()]
      : [...new Set(taskIds)].map((id) => taskById(workflow, id!));
    for (const t of tasks) if (t) this.place(workflow, t);
  }

  private place(wf: Workflow, t: TaskState): void {
    const { sessionId } = wf;
    this.sessionOfTask.set(t.taskId, sessionId);
    this.trackHolder(t);
    if (t.status === 'ready') {
      this.ready.offer({
        sessionId,
        taskId: t.taskId,
        priority: t.spec.priority,
        readyAt: Date.parse(t.readyAt),
      });
      for (const listener of this.readyListeners) listener();
    } else this.ready.delete(t.taskId);
    if (t.status === 'assigned')
      this.board.offer(t.agentId, { sessionId, taskId: t.taskId, attempt: t.attempt });
    else this.board.withdraw(t.taskId, t.attempt);
    if (isHeld(t)) this.arm(sessionId, t, Date.parse(t.deadline), 'deadline');
    else if (t.notBefore !== '') this.arm(sessionId, t, Date.parse(t.notBefore), 'retry');
    else this.timers.clear(t.taskId);
  }

  /** An ended workflow: nothing of it to dispatch, hand out or time; its summary stays listed. */
  private finish(wf: Workflow, version: bigint): void {
    for (const t of wf.tasks.values()) {
      this.sessionOfTask.set(t.taskId, wf.sessionId);
      this.ready.delete(t.taskId);
      this.board.withdraw(t.taskId, t.attempt);
      this.timers.clear(t.taskId);
      this.trackHolder({ ...t, status: 'cancelled' });
    }
    this.sessions.end(wf.sessionId, toSessionView(wf, version, false));
    this.cache.evict(workflowStreamId(wf.sessionId));
  }

  private trackHolder(t: TaskState): void {
    const previous = this.holderOf.get(t.taskId);
    const holder = isHeld(t) ? t.agentId : undefined;
    if (previous === holder) return;
    if (previous !== undefined) {
      this.held.get(previous)?.delete(t.taskId);
      if (this.held.get(previous)?.size === 0) this.held.delete(previous);
      this.holderOf.delete(t.taskId);
    }
    if (holder !== undefined) {
      this.held.set(holder, (this.held.get(holder) ?? new Set()).add(t.taskId));
      this.holderOf.set(t.taskId, holder);
    }
  }

  // ---------------------------------------------------------------- timers

  private arm(sessionId: string, t: TaskState, due: number, kind: 'deadline' | 'retry'): void {
    const command = (at: Date): WorkflowCommand =>
      kind === 'deadline'
        ? {
            type: 'TimeOutTask',
            taskId: t.taskId,
            attempt: t.attempt,
            policy: this.options.policy,
            jitter: Math.random(),
            at,
          }
        : { type: 'MakeReady', taskId: t.taskId, at };
    this.timers.set(t.taskId, due, () => void this.fire(sessionId, t, due, command));
  }

  /** Runs a timer's command; a transient failure arms it again, a rejection means it was no longer due. */
  private async fire(
    sessionId: string,
    t: TaskState,
    due: number,
    command: (at: Date) => WorkflowCommand,
  ): Promise<void> {
    // Never before the due time the decider checks, whatever the timer's own rounding.
    const at = new Date(Math.max(this.clock.now().getTime(), due));
    const c = command(at);
    try {
      await this.execute(sessionId, c, {
        correlationId: sessionId,
        command: { name: `distribution.${c.type}`, payload: { taskId: t.taskId, attempt: t.attempt } },
      });
    } catch (err) {
      if (isDomainError(err)) {
        this.logger.debug({ err, taskId: t.taskId, command: c.type }, 'timer no longer applies');
        return;
      }
      this.logger.warn({ err, taskId: t.taskId, command: c.type }, 'timer command failed; trying again');
      this.timers.set(
        t.taskId,
        Date.now() + TIMER_RETRY_MS,
        () => void this.fire(sessionId, t, due, command),
      );
    }
  }
}
