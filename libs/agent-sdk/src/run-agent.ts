import type { AgentClient } from './agent-client';
import { describeError, errorMessage, isProblem, isRetryableFailure, TaskFailure } from './errors';
import { silentLogger, withFields, type AgentLogger } from './logger';
import { backoffDelay, sleep, type RetryPolicy } from './retry';
import type {
  Assignment,
  HandOffTarget,
  PostedMessage,
  ProgressReport,
  SubtaskSpec,
  TaskAck,
  TaskUsage,
} from './types';

/** What a handler can do while it holds a task; every call names the task for it. */
export interface TaskContext {
  readonly assignment: Assignment;
  /**
   * Aborted when the assignment's deadline passes (the attempt is lost anyway) or when the run
   * is stopping and the task outlasted `shutdownGraceMs`. Long work should stop when it fires.
   */
  readonly signal: AbortSignal;
  /** Lines carry taskId, key, sessionId, role and attempt. */
  readonly logger: AgentLogger;
  /** Best effort: a progress report that fails is logged, never thrown. */
  progress(report: ProgressReport): Promise<void>;
  /** Posts a message in the task's session; to one agent, or to all when `to` is absent. */
  sendMessage(body: unknown, options?: { to?: string }): Promise<PostedMessage>;
  spawnSubtasks(tasks: readonly SubtaskSpec[]): Promise<TaskAck>;
  /** Passes the task on; the run then reports nothing more for it. */
  handOff(target: HandOffTarget): Promise<TaskAck>;
}

/** What a handler returns: the task's output and usage, or that it handed the task off. */
export type TaskResult =
  | { readonly output?: Record<string, unknown>; readonly usage?: TaskUsage; readonly handedOff?: false }
  | { readonly handedOff: true };

/**
 * Does one task. Returning completes it; throwing fails it, retryable unless the error is a
 * `TaskFailure` with `retryable: false`.
 */
export type TaskHandler = (
  assignment: Assignment,
  ctx: TaskContext,
) => Promise<TaskResult | void> | TaskResult | void;

export interface RunAgentOptions {
  /** Tasks handled at once; match the agent's `maxConcurrency`. Default 1. */
  readonly concurrency?: number;
  /** Long-poll wait of each `nextAssignment`. Default 20 s. */
  readonly waitMs?: number;
  /** Keep well under the gateway's heartbeat timeout (15 s by default). Default 5 s. */
  readonly heartbeatIntervalMs?: number;
  /** Aborting it stops the run: no new polls, in-flight tasks finish, then the promise resolves. */
  readonly signal?: AbortSignal;
  readonly logger?: AgentLogger;
  /** Drain the agent when stopping, so no task is assigned to it while in-flight ones finish. */
  readonly drainOnStop?: boolean;
  /** How long in-flight tasks may run after a stop before their `ctx.signal` aborts. Default 30 s. */
  readonly shutdownGraceMs?: number;
}

/** What a run did, counted per assignment received. */
export interface RunStats {
  assignments: number;
  completed: number;
  failed: number;
  handedOff: number;
  /** Assignments whose start or final report the gateway did not accept (logged with the reason). */
  abandoned: number;
}

/** Gateway `detail`s are bounded; a stack-trace-sized message is cut rather than rejected. */
const MAX_ERROR_LENGTH = 2_000;

/** Backoff between failed polls; the transport has already retried each one. */
const POLL_BACKOFF: RetryPolicy = {
  maxAttempts: Number.POSITIVE_INFINITY,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
};

/**
 * Runs an agent until `signal` aborts: heartbeats on an interval, long-polls for assignments
 * while it has a free slot, and for each one reports `start`, runs `handler`, then reports
 * `complete` with its output or `fail` with the error. Resolves with the counts once stopped
 * and every in-flight task is reported; rejects (after the same wait) when polling hits an
 * error that will not go away - the key was revoked or the agent deregistered (a 4xx).
 */
export async function runAgent(
  client: AgentClient,
  handler: TaskHandler,
  options: RunAgentOptions = {},
): Promise<RunStats> {
  return new AgentRun(client, handler, options).run();
}

class AgentRun {
  readonly stats: RunStats = { assignments: 0, completed: 0, failed: 0, handedOff: 0, abandoned: 0 };
  private readonly log: AgentLogger;
  private readonly concurrency: number;
  private readonly inFlight = new Set<Promise<void>>();
  /** Aborted to stop polling (the caller's signal, or a fatal poll error). */
  private readonly stopping = new AbortController();
  /** Wakes the poll loop waiting for a free slot (a task ended, or the run is stopping). */
  private wake: () => void = () => undefined;
  /** Aborted when in-flight tasks outlast the shutdown grace. */
  private readonly graceOver = new AbortController();
  private fatal: unknown;

  constructor(
    private readonly client: AgentClient,
    private readonly handler: TaskHandler,
    private readonly options: RunAgentOptions,
  ) {
    this.log = withFields(options.logger ?? silentLogger, { agentId: client.agentId });
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.stopping.signal.addEventListener('abort', () => this.wake(), { once: true });
  }

  async run(): Promise<RunStats> {
    const stop = (): void => this.stopping.abort();
    if (this.options.signal?.aborted) stop();
    this.options.signal?.addEventListener('abort', stop, { once: true });
    const stopHeartbeats = this.startHeartbeats();
    this.log.info({ concurrency: this.concurrency }, 'agent running');
    try {
      await this.pollUntilStopped();
      if (this.options.drainOnStop && this.fatal === undefined) await this.drain();
      await this.settleInFlight();
    } finally {
      stopHeartbeats();
      this.options.signal?.removeEventListener('abort', stop);
    }
    if (this.fatal !== undefined) throw this.fatal;
    this.log.info({ ...this.stats }, 'agent stopped');
    return this.stats;
  }

  // ---------------------------------------------------------------- polling

  private async pollUntilStopped(): Promise<void> {
    let failures = 0;
    while (await this.freeSlot()) {
      try {
        const assignment = await this.client.nextAssignment(this.options.waitMs ?? 20_000, {
          signal: this.stopping.signal,
        });
        failures = 0;
        if (assignment) this.launch(assignment);
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        if (isPermanent(err)) {
          this.log.error({ err: describeError(err) }, 'polling for assignments failed for good; stopping');
          this.fatal = err;
          this.stopping.abort();
          return;
        }
        failures++;
        this.log.warn({ err: describeError(err), failures }, 'polling for assignments failed; backing off');
        await sleep(backoffDelay(POLL_BACKOFF, failures), this.stopping.signal).catch(() => undefined);
      }
    }
  }

  /** Waits until fewer than `concurrency` tasks are in flight; false once the run is stopping. */
  private async freeSlot(): Promise<boolean> {
    while (!this.stopping.signal.aborted && this.inFlight.size >= this.concurrency) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return !this.stopping.signal.aborted;
  }

  private launch(assignment: Assignment): void {
    const task: Promise<void> = this.runTask(assignment).finally(() => {
      this.inFlight.delete(task);
      this.wake();
    });
    this.inFlight.add(task);
  }

  private async drain(): Promise<void> {
    try {
      await this.client.drain();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not drain the agent');
    }
  }

  /** Waits for in-flight tasks; past the grace, their `ctx.signal` aborts so they wind up sooner. */
  private async settleInFlight(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const graceMs = this.options.shutdownGraceMs ?? 30_000;
    this.log.info({ inFlight: this.inFlight.size }, 'waiting for in-flight tasks');
    const timer = setTimeout(() => {
      this.log.warn(
        { inFlight: this.inFlight.size, graceMs },
        'in-flight tasks outlasted the grace; aborting them',
      );
      this.graceOver.abort(new Error('the agent is stopping'));
    }, graceMs);
    try {
      await Promise.all([...this.inFlight]);
    } finally {
      clearTimeout(timer);
    }
  }

  private startHeartbeats(): () => void {
    let beating = false;
    const beat = async (): Promise<void> => {
      if (beating) return; // the previous one is still retrying
      beating = true;
      try {
        await this.client.heartbeat();
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'heartbeat failed');
      } finally {
        beating = false;
      }
    };
    void beat();
    const timer = setInterval(() => void beat(), this.options.heartbeatIntervalMs ?? 5_000);
    return () => clearInterval(timer);
  }

  // ---------------------------------------------------------------- one task

  /** Never rejects: every outcome is reported, counted and logged here. */
  private async runTask(assignment: Assignment): Promise<void> {
    const { taskId, key, sessionId, role, attempt } = assignment;
    const log = withFields(this.log, { taskId, key, sessionId, role, attempt });
    this.stats.assignments++;
    try {
      await this.client.start(taskId);
    } catch (err) {
      this.stats.abandoned++;
      log.warn({ err: describeError(err) }, 'the gateway did not accept the start; leaving the task');
      return;
    }
    log.info({ type: assignment.type }, 'task started');
    const scope = new TaskScope(assignment, this.graceOver.signal);
    let result: TaskResult | void;
    try {
      result = await this.handler(assignment, this.context(assignment, scope, log));
    } catch (err) {
      await this.fail(assignment, err, log);
      return;
    } finally {
      scope.dispose();
    }
    if (scope.handedOff || isHandedOff(result)) {
      this.stats.handedOff++;
      log.info({}, 'task handed off');
      return;
    }
    await this.complete(assignment, result ?? {}, log);
  }

  private context(assignment: Assignment, scope: TaskScope, logger: AgentLogger): TaskContext {
    const { client } = this;
    const { taskId, sessionId } = assignment;
    return {
      assignment,
      signal: scope.signal,
      logger,
      progress: async (report) => {
        try {
          await client.progress(taskId, report);
        } catch (err) {
          logger.warn({ err: describeError(err) }, 'progress report failed');
        }
      },
      sendMessage: (body, options) => client.sendMessage(sessionId, body, options),
      spawnSubtasks: (tasks) => client.spawnSubtasks(taskId, tasks),
      handOff: async (target) => {
        const ack = await client.handOff(taskId, target);
        scope.handedOff = true;
        return ack;
      },
    };
  }

  private async complete(
    assignment: Assignment,
    result: { output?: Record<string, unknown>; usage?: TaskUsage },
    log: AgentLogger,
  ): Promise<void> {
    try {
      await this.client.complete(assignment.taskId, result.output, result.usage);
      this.stats.completed++;
      log.info({ usage: result.usage }, 'task completed');
    } catch (err) {
      if (isProblem(err, 409) && err.retried) {
        // The first attempt reached the gateway and its answer was lost: it was recorded.
        this.stats.completed++;
        log.warn({ err: err.message }, 'completion answered 409 on a retry: the first attempt was recorded');
      } else if (isProblem(err, 400, 413, 422)) {
        // The output itself was refused: fail now rather than leave the attempt to its deadline.
        const reason = `the gateway rejected the output: ${err.detail || err.message}`;
        await this.fail(assignment, new TaskFailure(reason, { retryable: true }), log);
      } else {
        this.stats.abandoned++;
        log.error({ err: describeError(err) }, 'could not report the completion');
      }
    }
  }

  private async fail(assignment: Assignment, err: unknown, log: AgentLogger): Promise<void> {
    const message = errorMessage(err).slice(0, MAX_ERROR_LENGTH);
    const retryable = isRetryableFailure(err);
    try {
      await this.client.fail(assignment.taskId, message, retryable);
      this.stats.failed++;
      log.warn({ error: message, retryable }, 'task failed');
    } catch (reportErr) {
      if (isProblem(reportErr, 409) && reportErr.retried) {
        this.stats.failed++;
        return;
      }
      this.stats.abandoned++;
      log.error({ err: describeError(reportErr), error: message }, 'could not report the failure');
    }
  }
}

/** The signal of one task: its deadline, or the end of the shutdown grace, whichever comes first. */
class TaskScope {
  readonly signal: AbortSignal;
  handedOff = false;
  private readonly deadlineTimer: NodeJS.Timeout | undefined;

  constructor(assignment: Assignment, graceOver: AbortSignal) {
    const deadline = new AbortController();
    const at = assignment.deadline ? Date.parse(assignment.deadline) : Number.NaN;
    if (!Number.isNaN(at)) {
      // setTimeout holds at most ~24.8 days; a deadline further away is as good as none.
      const ms = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
      this.deadlineTimer = setTimeout(
        () => deadline.abort(new Error(`the deadline ${assignment.deadline} passed`)),
        ms,
      );
      this.deadlineTimer.unref();
    }
    this.signal = AbortSignal.any([graceOver, deadline.signal]);
  }

  dispose(): void {
    clearTimeout(this.deadlineTimer);
  }
}

function isHandedOff(result: TaskResult | void): result is { readonly handedOff: true } {
  return result?.handedOff === true;
}

/** A poll answered 4xx after the transport's retries (key revoked, agent gone): it will not go away. */
function isPermanent(err: unknown): boolean {
  return isProblem(err) && err.status >= 400 && err.status < 500 && ![408, 409, 429].includes(err.status);
}
