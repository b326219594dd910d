import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import {
  AllocateSchema,
  ClaimSchema,
  ReleaseSchema,
  commandInfo,
  type Allocate,
  type AllocationResult,
} from '@orch/contracts';
import type { JsonObject, TaskState, Workflow } from '@orch/distribution';
import { LogFollower, type EventStore } from '@orch/eventstore';
import { CommandBus, MESSAGING_LOGGER } from '@orch/messaging';
import type { Logger } from 'pino';
import { EVENT_STORE } from '../tokens';

const ALLOCATE = commandInfo('resources.Allocate');
const RELEASE = commandInfo('resources.Release');

/** The agent a task is offered to: its provider and labels decide which scoped pools it claims. */
export interface OfferedAgent {
  readonly agentId: string;
  readonly provider: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A task spec's claim (a Struct in the spec) as the allocator's Claim. */
export function toClaim(claim: JsonObject): MessageInitShape<typeof ClaimSchema> {
  const text = (field: string): string => (typeof claim[field] === 'string' ? (claim[field] as string) : '');
  const amount = claim['amount'];
  return {
    pool: text('pool'),
    amount: typeof amount === 'number' ? amount : Number(amount ?? 0),
    lock: text('lock'),
    mode: text('mode'),
    reservation: text('reservation'),
  };
}

/**
 * The allocator's request for an attempt's claims: the task's declared claims, its priority and age,
 * the agent it is offered to, and the session's contention policy (empty keeps each pool's or lock
 * namespace's).
 */
export function allocateRequest(
  wf: Workflow,
  task: TaskState,
  attempt: number,
  agent: OfferedAgent,
): Allocate {
  return create(AllocateSchema, {
    taskId: task.taskId,
    attempt,
    sessionId: wf.sessionId,
    priority: task.spec.priority,
    claims: task.spec.claims.map(toClaim),
    agent: { agentId: agent.agentId, provider: agent.provider, labels: { ...agent.labels } },
    // The task's age, kept across attempts: wait-die and wound-wait favour older requests.
    requestedAt: timestampFromDate(new Date(task.submittedAt)),
    // Workflows submitted before sessions could choose one have none.
    policy: (wf.conflictPolicy as string | undefined) ?? '',
  });
}

/**
 * Where distribution meets the resources service (docs/adr/0009): whether a task's offer must ask
 * for claims, the request for an attempt's claims, and giving them back when the assignment could
 * not be recorded. A task asks when it declares claims or when any pool exists (pools apply by
 * scope); a store with no pool costs no round trip. Pools are learnt from the global log, so
 * every replica knows as soon as the first one is defined.
 */
@Injectable()
export class ClaimsGate implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private poolsDefined = false;
  private readonly follower: LogFollower;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    private readonly bus: CommandBus,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    this.follower = new LogFollower(store, {
      filter: { sources: ['resources'], types: ['PoolDefined'] },
      apply: () => {
        this.poolsDefined = true;
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.follower.catchUp();
  }

  onApplicationBootstrap(): void {
    this.follower.start((err) => this.logger.error({ err }, 'following pool definitions stopped'));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.follower.stop();
  }

  /** The offer of `task` must ask resources for its claims. */
  needsClaims(task: TaskState): boolean {
    return this.poolsDefined || task.spec.claims.length > 0;
  }

  /** resources' decision on the attempt's claims; throws when resources could not be asked. */
  allocate(wf: Workflow, task: TaskState, attempt: number, agent: OfferedAgent): Promise<AllocationResult> {
    return this.bus.request<AllocationResult>(ALLOCATE, allocateRequest(wf, task, attempt, agent), {
      correlationId: wf.sessionId,
    });
  }

  /** Gives back what an attempt was granted (or withdraws its wait); logged when it cannot. */
  async release(sessionId: string, taskId: string, attempt: number, reason: string): Promise<void> {
    try {
      await this.bus.request(RELEASE, create(ReleaseSchema, { taskId, attempt, reason }), {
        correlationId: sessionId,
      });
    } catch (err) {
      this.logger.warn({ err, taskId, attempt }, 'could not give unused claims back to resources');
    }
  }
}
