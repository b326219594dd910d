import { fromJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import {
  AgentBecameUnhealthySchema,
  AgentDeregisteredSchema,
  SessionCancelledSchema,
  SessionStartedSchema,
  protoRegistry,
} from '@orch/contracts';
import { IllegalStateError, NotFoundError } from '@orch/domain-kit';
import { EventHandler, MESSAGING_LOGGER, reactionMetadata, type DecodedEvent } from '@orch/messaging';
import type { Logger } from 'pino';
import { CLOCK, DISTRIBUTION_OPTIONS, type Clock, type DistributionModuleOptions } from '../tokens';
import { Dispatcher } from './dispatcher';
import { WorkflowHost } from './workflow-host';
import { toSubmitWorkflow } from './workflow.mapping';

/** Events after which an agent may have a free slot: ready tasks are offered again. */
export const CAPACITY_EVENTS = ['AgentTaskReleased', 'AgentRegistered', 'AgentRecovered'];
/** Events after which an agent holds nothing any more: its attempts are lost and retried. */
export const LOSS_EVENTS = ['AgentBecameUnhealthy', 'AgentDeregistered'];

/** The event's payload as its proto message (decoded from the JSON form when it came as JSON). */
function payloadOf<D extends DescMessage>(schema: D, event: DecodedEvent): MessageShape<D> {
  if (event.payload?.$typeName === schema.typeName) return event.payload as MessageShape<D>;
  return fromJson(schema, event.data, { registry: protoRegistry, ignoreUnknownFields: true });
}

const timeOf = (t: Timestamp | undefined, fallback: Date): Date => (t ? timestampDate(t) : fallback);

interface Loss {
  readonly agentId: string;
  readonly reason: string;
  readonly at: Date;
  /** The tasks whose slots coordination released with it, when it says. */
  readonly taskIds: readonly string[];
}

/** Which agent an AgentBecameUnhealthy or AgentDeregistered is about, why, and since when. */
function lossOf(event: DecodedEvent): Loss {
  if (event.type === 'AgentBecameUnhealthy') {
    const e = payloadOf(AgentBecameUnhealthySchema, event);
    const at = timeOf(e.at, event.occurredAt);
    return { agentId: e.agentId, reason: 'agent became unhealthy', at, taskIds: e.releasedTaskIds };
  }
  const e = payloadOf(AgentDeregisteredSchema, event);
  const reason = e.reason ? `agent deregistered: ${e.reason}` : 'agent deregistered';
  return { agentId: e.agentId, reason, at: timeOf(e.deregisteredAt, event.occurredAt), taskIds: [] };
}

/**
 * What distribution does with coordination's facts (docs/orchestration.md steps 2 and 6, "Agents,
 * health and selection"): a started session's workflow is submitted, a cancelled one cancelled;
 * an agent that became unhealthy or left loses the attempts it held; capacity that appeared wakes
 * the dispatcher. Every reaction is idempotent, so a redelivery changes nothing.
 */
@Injectable()
export class CoordinationConsumers {
  constructor(
    private readonly host: WorkflowHost,
    private readonly dispatcher: Dispatcher,
    @Inject(DISTRIBUTION_OPTIONS) private readonly options: DistributionModuleOptions,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {}

  @EventHandler({ consumer: 'sessions', types: ['SessionStarted', 'SessionCancelled'], startPosition: 'all' })
  async onSession(event: DecodedEvent): Promise<void> {
    if (event.type === 'SessionStarted') {
      const started = payloadOf(SessionStartedSchema, event);
      const command = toSubmitWorkflow(started, this.options.policy, this.clock.now());
      await this.host.execute(started.sessionId, command, reactionMetadata(event, started.sessionId));
      return;
    }
    const cancelled = payloadOf(SessionCancelledSchema, event);
    const at = timeOf(cancelled.cancelledAt, this.clock.now());
    const command = { type: 'CancelWorkflow', reason: cancelled.reason || 'session cancelled', at } as const;
    await this.host
      .execute(cancelled.sessionId, command, reactionMetadata(event, cancelled.sessionId))
      .catch((err: unknown) => {
        // Its SessionStarted may still be on its way (a redelivery): try again later.
        if (err instanceof NotFoundError)
          throw new Error(`session ${cancelled.sessionId} has no workflow yet`);
        // A session whose workflow already ended has nothing left to cancel.
        if (!(err instanceof IllegalStateError)) throw err;
        this.logger.debug({ sessionId: cancelled.sessionId }, 'nothing to cancel: the workflow ended');
      });
  }

  @EventHandler({ consumer: 'agents', types: [...LOSS_EVENTS, ...CAPACITY_EVENTS], startPosition: 'new' })
  async onAgent(event: DecodedEvent): Promise<void> {
    if (CAPACITY_EVENTS.includes(event.type)) {
      this.dispatcher.wake();
      return;
    }
    const loss = lossOf(event);
    for (const sessionId of this.sessionsOf(loss)) {
      // The assignment may have been written by another replica a moment ago.
      await this.host.catchUp(sessionId);
      const command = {
        type: 'LoseAssignment',
        agentId: loss.agentId,
        reason: loss.reason,
        at: loss.at,
        policy: this.options.policy,
        jitter: Math.random(),
      } as const;
      await this.host
        .execute(sessionId, command, reactionMetadata(event, sessionId))
        .catch((err: unknown) => {
          // The session ended meanwhile: its tasks were cancelled, none is held any more.
          if (!(err instanceof IllegalStateError)) throw err;
        });
    }
  }

  /** Sessions where the agent holds tasks, as this replica knows, and those of the tasks released. */
  private sessionsOf(loss: Loss): Set<string> {
    const released = loss.taskIds.map((id) => this.host.sessionOf(id));
    return new Set([...this.host.sessionsHeldBy(loss.agentId), ...released.filter((s) => s !== undefined)]);
  }
}
