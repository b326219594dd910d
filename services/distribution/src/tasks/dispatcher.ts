import { create } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  AssignAgentSchema,
  ReleaseAgentSchema,
  commandInfo,
  type AgentAssignment,
  type AllocationResult,
} from '@orch/contracts';
import { taskById, type ClaimWait, type TaskState, type Workflow } from '@orch/distribution';
import { isDomainError } from '@orch/domain-kit';
import { CommandBus, MESSAGING_LOGGER } from '@orch/messaging';
import type { ServiceMetrics } from '@orch/observability';
import type { Logger } from 'pino';
import { registerDispatchMetrics, type DispatchMetrics } from '../metrics';
import { CLOCK, DISTRIBUTION_OPTIONS, METRICS, type Clock, type DistributionModuleOptions } from '../tokens';
import { ClaimsGate } from './claims-gate';
import type { ReadyEntry } from './ready-queue';
import { WorkflowHost } from './workflow-host';
import { toSelectionData } from './workflow.mapping';

const ASSIGN = commandInfo('coordination.AssignAgent');
const RELEASE = commandInfo('coordination.ReleaseAgent');
const CLAIM_WAITS: readonly ClaimWait[] = ['resources', 'lock', 'budget'];
/** A task whose claims the allocator rejected is offered again after this long. */
const INVALID_CLAIMS_RETRY_MS = 30_000;

/**
 * Gives ready tasks to agents (docs/orchestration.md step 3): by priority then age, at most
 * `concurrency` offers at once, each `coordination.AssignAgent` (which takes a slot on the best
 * agent) then `MarkAssigned` on the workflow. A task that stopped being ready meanwhile gives its
 * slot back with `coordination.ReleaseAgent`. A task no agent could take is parked until capacity
 * may have appeared: a capacity event (`wake`) or, failing that, every `retryIntervalMs`.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly parked = new Map<string, ReadyEntry>();
  /** Tasks being offered now; a second entry for one of them is dropped. */
  private readonly offering = new Set<string>();
  private readonly metrics: DispatchMetrics;
  private inFlight = 0;
  private wakeScheduled = false;
  private stopped = true;
  private interval: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly host: WorkflowHost,
    private readonly bus: CommandBus,
    private readonly claims: ClaimsGate,
    @Inject(DISTRIBUTION_OPTIONS) private readonly options: DistributionModuleOptions,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(METRICS) metrics: ServiceMetrics,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    this.metrics = registerDispatchMetrics(metrics, {
      ready: () => host.ready.size,
      parked: () => this.parked.size,
    });
  }

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.host.onReady(() => this.pump());
    this.interval = setInterval(() => this.wake(), this.options.dispatch.retryIntervalMs);
    this.interval.unref();
    this.pump();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    await Promise.allSettled([...this.running]);
  }

  /** Capacity may have appeared: parked tasks are offered again (calls in one tick are merged). */
  wake(): void {
    if (this.wakeScheduled || this.stopped) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const entry of this.parked.values()) this.host.ready.offer(entry);
      this.parked.clear();
      this.pump();
    });
  }

  /** Starts offers until the concurrency is used or no task is ready. */
  private pump(): void {
    while (!this.stopped && this.inFlight < this.options.dispatch.concurrency) {
      const entry = this.host.ready.poll();
      if (!entry) return;
      if (this.offering.has(entry.taskId)) continue;
      this.inFlight++;
      this.offering.add(entry.taskId);
      const offer = this.offer(entry)
        .catch((err: unknown) =>
          this.logger.error({ err, taskId: entry.taskId }, 'dispatching a task failed'),
        )
        .finally(() => {
          this.inFlight--;
          this.offering.delete(entry.taskId);
          this.running.delete(offer);
          this.pump();
        });
      this.running.add(offer);
    }
  }

  /** The task still ready in a running workflow, or undefined. */
  private readyTask(entry: ReadyEntry): { wf: Workflow; task: TaskState } | undefined {
    const wf = this.host.workflow(entry.sessionId);
    const task = wf && taskById(wf, entry.taskId);
    return wf?.status === 'running' && task?.status === 'ready' ? { wf, task } : undefined;
  }

  private async offer(entry: ReadyEntry): Promise<void> {
    const ready = this.readyTask(entry);
    if (!ready) return;
    const { wf, task } = ready;
    const reply = await this.assignAgent(wf, task);
    if (!reply?.assigned) {
      this.metrics.offers.inc({ outcome: reply ? 'no_agent' : 'error' });
      this.parked.set(entry.taskId, entry);
      return;
    }
    const attempt = task.attempt + 1;
    if (this.claims.needsClaims(task) && !(await this.takeClaims(entry, wf, task, attempt, reply))) return;
    const at = this.clock.now();
    try {
      await this.host.execute(
        wf.sessionId,
        {
          type: 'MarkAssigned',
          taskId: task.taskId,
          agentId: reply.agentId,
          attempt: task.attempt + 1,
          deadline: new Date(at.getTime() + task.spec.timeoutMs),
          selection: toSelectionData(reply.selection),
          at,
        },
        { correlationId: wf.sessionId, causationId: task.taskId },
      );
      this.metrics.offers.inc({ outcome: 'assigned' });
      this.metrics.readyToAssigned.observe(Math.max(0, Date.now() - Date.parse(task.readyAt)) / 1000);
    } catch (err) {
      if (isDomainError(err)) {
        this.metrics.offers.inc({ outcome: 'rejected' });
        await this.release(wf.sessionId, task.taskId, attempt, reply.agentId, err.message);
        if (this.claims.needsClaims(task))
          await this.claims.release(wf.sessionId, task.taskId, attempt, err.message);
        return;
      }
      await this.settleUnknown(entry, task, reply.agentId, err);
    }
  }

  /**
   * Asks resources for the attempt's claims once its agent is known (docs/adr/0009). Granted: the
   * assignment goes ahead. Otherwise the slot is given back and the task waits without an agent:
   * for the allocator to grant it (queued: `ResourcesAllocated` resumes it), or until a retry time
   * (refused by wait-die, or claims resources cannot accept). Resources not answering leaves the
   * task ready, parked like a task no agent could take.
   */
  private async takeClaims(
    entry: ReadyEntry,
    wf: Workflow,
    task: TaskState,
    attempt: number,
    reply: AgentAssignment,
  ): Promise<boolean> {
    const agent = { agentId: reply.agentId, provider: reply.provider, labels: reply.labels };
    let result: AllocationResult;
    try {
      result = await this.claims.allocate(wf, task, attempt, agent);
    } catch (err) {
      await this.release(wf.sessionId, task.taskId, attempt, reply.agentId, 'its claims were not granted');
      if (!isDomainError(err)) {
        this.logger.warn({ err, taskId: task.taskId }, 'resources.Allocate failed; the task stays ready');
        this.metrics.offers.inc({ outcome: 'error' });
        this.parked.set(entry.taskId, entry);
        return false;
      }
      // Claims the allocator rejects (a pool that does not exist): looked at again later, so defining
      // the pool or adapting the task lets it run.
      this.metrics.offers.inc({ outcome: 'claims_invalid' });
      await this.hold(wf, task, attempt, 'resources', `its claims are not valid: ${err.message}`, {
        retryAt: new Date(this.clock.now().getTime() + INVALID_CLAIMS_RETRY_MS),
      });
      return false;
    }
    if (result.status === 'granted') return true;
    await this.release(wf.sessionId, task.taskId, attempt, reply.agentId, `its claims are ${result.status}`);
    this.metrics.offers.inc({ outcome: `claims_${result.status}` });
    const waitingFor = CLAIM_WAITS.find((w) => w === result.waitingFor) ?? 'resources';
    const retryAt =
      result.status === 'refused'
        ? result.retryAt
          ? timestampDate(result.retryAt)
          : new Date(this.clock.now().getTime() + this.options.dispatch.retryIntervalMs)
        : undefined;
    await this.hold(wf, task, attempt, waitingFor, result.reason, {
      retryAt,
      conflictId: result.conflictIds[0] ?? '',
    });
    return false;
  }

  /** Records that the task waits for its claims; a task that moved on meanwhile is left alone. */
  private async hold(
    wf: Workflow,
    task: TaskState,
    attempt: number,
    waitingFor: ClaimWait,
    reason: string,
    more: { retryAt?: Date | undefined; conflictId?: string },
  ): Promise<void> {
    try {
      await this.host.execute(
        wf.sessionId,
        {
          type: 'HoldTask',
          taskId: task.taskId,
          attempt,
          waitingFor,
          reason,
          conflictId: more.conflictId ?? '',
          retryAt: more.retryAt,
          at: this.clock.now(),
        },
        { correlationId: wf.sessionId, causationId: task.taskId },
      );
    } catch (err) {
      if (!isDomainError(err)) throw err;
      // Cancelled or ended meanwhile: resources withdraws the wait when it sees the task's end.
      this.logger.debug({ taskId: task.taskId, reason: err.message }, 'a task that moved on does not wait');
    }
  }

  /**
   * MarkAssigned failed without an answer (the store, a run of lost races): the stream says
   * whether the assignment was recorded; the slot is given back when it was not (claims granted
   * stay: the next offer is the same attempt, which the allocator answers with the same grant). When the
   * stream cannot be read either, the task is offered again later, keeping the slot:
   * coordination answers a repeated AssignAgent with the agent already holding it.
   */
  private async settleUnknown(
    entry: ReadyEntry,
    task: TaskState,
    agentId: string,
    err: unknown,
  ): Promise<void> {
    const read = await this.host.catchUp(entry.sessionId).then(
      () => true,
      () => false,
    );
    if (!read) {
      this.parked.set(entry.taskId, entry);
      throw err;
    }
    const now = this.host.workflow(entry.sessionId);
    const t = now && taskById(now, entry.taskId);
    if (t?.agentId === agentId && t.attempt === task.attempt + 1) return;
    this.logger.warn({ err, taskId: entry.taskId }, 'could not record an assignment; the task stays ready');
    this.metrics.offers.inc({ outcome: 'error' });
    await this.release(
      entry.sessionId,
      entry.taskId,
      task.attempt + 1,
      agentId,
      'the assignment could not be recorded',
    );
    this.parked.set(entry.taskId, entry);
  }

  /** coordination's answer, or undefined when it could not be asked (logged). */
  private async assignAgent(wf: Workflow, task: TaskState): Promise<AgentAssignment | undefined> {
    try {
      return await this.bus.request<AgentAssignment>(
        ASSIGN,
        create(AssignAgentSchema, {
          taskId: task.taskId,
          attempt: task.attempt + 1,
          sessionId: wf.sessionId,
          capabilities: [...task.spec.capabilities],
          strategy: wf.strategy,
          pinnedAgentId: task.pinnedAgentId,
          agentIds: [...wf.agentIds],
        }),
        { correlationId: wf.sessionId },
      );
    } catch (err) {
      this.logger.warn({ err, taskId: task.taskId }, 'coordination.AssignAgent failed; the task stays ready');
      return undefined;
    }
  }

  /** Gives back the slot taken for `attempt` of the task (slots are per attempt in coordination). */
  private async release(
    sessionId: string,
    taskId: string,
    attempt: number,
    agentId: string,
    reason: string,
  ): Promise<void> {
    try {
      await this.bus.request(RELEASE, create(ReleaseAgentSchema, { agentId, taskId, attempt, reason }), {
        correlationId: sessionId,
      });
    } catch (err) {
      this.logger.warn({ err, taskId, agentId }, 'could not give an unused slot back to coordination');
    }
  }
}
