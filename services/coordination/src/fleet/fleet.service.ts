import { toAgentEvent } from '@orch/coordination';
import { Inject, Injectable } from '@nestjs/common';
import {
  FleetIndex,
  TASK_OUTCOME_TYPES,
  agentDecider,
  agentEventTypes,
  agentStreamId,
  taskEndOf,
  type AgentCommand,
  type AgentEvent,
  type AgentState,
  type TaskEnd,
} from '@orch/coordination';
import {
  AggregateCache,
  type CachedAggregate,
  type CachedExecution,
  type EventMetadataInput,
  type EventStore,
  type RecordedEvent,
} from '@orch/eventstore';
import { MESSAGING_LOGGER } from '@orch/messaging';
import type { Logger } from 'pino';
import { CLOCK, EVENT_STORE, type Clock } from '../tokens';
import type { LogObserver } from './event-log.follower';

const FOLLOWED: readonly string[] = [...agentEventTypes, ...TASK_OUTCOME_TYPES];

/**
 * The fleet as this replica knows it: every agent's stream in an AggregateCache (the write side:
 * capacity, health, drain) and the FleetIndex that selection reads. Both are rebuilt from the
 * store's global log at start and follow it (EventLogFollower); this replica's own writes reach the
 * index at once. The index ignores versions it has seen, so the two paths never apply twice.
 */
@Injectable()
export class FleetService implements LogObserver {
  readonly index = new FleetIndex();
  /** Agent events and attempt outcomes, from the start of the log: the index is made of both. */
  readonly types = FOLLOWED;
  readonly rebuildTypes = FOLLOWED;
  private readonly cache: AggregateCache<AgentCommand, AgentEvent, AgentState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    this.cache = new AggregateCache(store, {
      decider: agentDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: (r) => {
        const event = toAgentEvent(r.type, r.data);
        if (!event) throw new Error(`stream ${r.streamId} holds ${r.type}, which is not an agent event`);
        return event;
      },
    });
  }

  /**
   * Decides and appends a command on the agent's stream. Whatever happens, the index takes the
   * state the cache ends with: after a rejection it may have caught up with another replica's writes.
   */
  async execute(
    command: AgentCommand,
    metadata: EventMetadataInput,
  ): Promise<CachedExecution<AgentEvent, AgentState>> {
    const streamId = agentStreamId(command.agentId);
    try {
      const result = await this.cache.execute(streamId, command, metadata);
      this.index.upsert(result.state, Number(result.version), command.at);
      return result;
    } catch (err) {
      const known = this.cache.peek(streamId);
      if (known) this.index.upsert(known.state, Number(known.version), command.at);
      throw err;
    }
  }

  /** The agent's state and stream version, read from the store the first time. */
  state(agentId: string): Promise<CachedAggregate<AgentState>> {
    return this.cache.get(agentStreamId(agentId));
  }

  /** Follows an agent event or an attempt outcome from the global log (written by any replica). */
  observe(recorded: RecordedEvent): void {
    if (recorded.streamId.startsWith('agent-')) this.observeAgent(recorded);
    else {
      const end = taskEndOf(recorded.type, recorded.data, recorded.occurredAt);
      if (end) this.recordOutcome(end);
    }
  }

  private observeAgent(recorded: RecordedEvent): void {
    const entry = this.cache.observe(recorded);
    if (entry) {
      this.index.upsert(entry.state, Number(entry.version), recorded.occurredAt);
      return;
    }
    // A gap (events this replica missed): read the stream again.
    this.cache.get(recorded.streamId).then(
      (fresh) => this.index.upsert(fresh.state, Number(fresh.version), this.clock.now()),
      (err: unknown) =>
        this.logger.warn({ err, streamId: recorded.streamId }, 'could not reload an agent stream'),
    );
  }

  /**
   * Feeds a finished attempt to the agent's statistics and breakers; latency from when it took the
   * attempt's slot (or the task's slot taken without an attempt, before slots carried attempts).
   */
  recordOutcome(end: TaskEnd): void {
    if (!end.outcome) return;
    const slotTakenAt = (attempt: number) => this.index.assignedAt(end.agentId, end.taskId, attempt);
    const assignedAt =
      typeof end.attempt === 'number' ? (slotTakenAt(end.attempt) ?? slotTakenAt(0)) : undefined;
    this.index.recordOutcome(
      end.agentId,
      {
        ok: end.outcome.ok,
        ...(assignedAt ? { latencyMs: Math.max(0, end.at.getTime() - assignedAt.getTime()) } : {}),
        ...(end.outcome.costUsd !== undefined ? { costUsd: end.outcome.costUsd } : {}),
      },
      end.at,
    );
  }
}
