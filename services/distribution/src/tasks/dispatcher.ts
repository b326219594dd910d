import { create } from '@bufbuild/protobuf';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AssignAgentSchema, ReleaseAgentSchema, commandInfo, type AgentAssignment } from '@orch/contracts';
import { taskById, type TaskState, type Workflow } from '@orch/distribution';
import { isDomainError } from '@orch/domain-kit';
import { CommandBus, MESSAGING_LOGGER } from '@orch/messaging';
import type { ServiceMetrics } from '@orch/observability';
import type { Logger } from 'pino';
import { registerDispatchMetrics, type DispatchMetrics } from '../metrics';
import { CLOCK, DISTRIBUTION_OPTIONS, METRICS, type Clock, type DistributionModuleOptions } from '../tokens';
import type { ReadyEntry } from './ready-queue';
import { WorkflowHost } from './workflow-host';
import { toSelectionData } from './workflow.mapping';

const ASSIGN = commandInfo('coordination.AssignAgent');
const RELEASE = commandInfo('coordination.ReleaseAgent');

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
        await this.release(wf.sessionId, task.taskId, task.attempt + 1, reply.agentId, err.message);
        return;
      }
      await this.settleUnknown(entry, task, reply.agentId, err);
    }
  }

  /**
   * MarkAssigned failed without an answer (the store, a run of lost races): the stream says
   * whether the assignment was recorded; the slot is given back when it was not. When the
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
