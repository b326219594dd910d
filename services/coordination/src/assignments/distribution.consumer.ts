import { Inject, Injectable } from '@nestjs/common';
import { TASK_END_TYPES, WORKFLOW_END_TYPES, sessionEndOf, taskEndOf } from '@orch/coordination';
import { EventHandler, reactionMetadata, type DecodedEvent } from '@orch/messaging';
import { FleetService } from '../fleet/fleet.service';
import { SessionsService } from '../sessions/sessions.service';
import { CLOCK, type Clock } from '../tokens';

export const DISTRIBUTION_REACTIONS = 'distribution-reactions';

/**
 * Gives agents' slots back when distribution ends their attempts, repairs a slot taken for a task
 * that distribution then gave to another agent, and closes a session when its workflow ends. Outcomes reach the statistics and breakers
 * through the global log instead (FleetService), so that every replica's index learns them, not
 * only the one that consumes an event here.
 *
 * Every reaction is idempotent on its stream (a task no longer held is not released again, a closed
 * session is not closed again), so a redelivered event changes nothing and needs no inbox.
 */
@Injectable()
export class DistributionReactions {
  constructor(
    private readonly fleet: FleetService,
    private readonly sessions: SessionsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventHandler({
    consumer: DISTRIBUTION_REACTIONS,
    types: ['TaskAssigned', ...TASK_END_TYPES, ...WORKFLOW_END_TYPES],
    startPosition: 'all',
  })
  async apply(event: DecodedEvent): Promise<void> {
    if (event.type === 'TaskAssigned') return this.releaseStrayHolder(event);
    const closed = sessionEndOf(event.type, event.data, event.occurredAt);
    if (closed) {
      await this.sessions.execute(
        {
          type: 'CloseSession',
          sessionId: closed.sessionId,
          status: closed.status,
          reason: closed.reason,
          at: closed.at,
        },
        reactionMetadata(event),
      );
      return;
    }
    const end = taskEndOf(event.type, event.data, event.occurredAt);
    if (!end) return;
    await this.fleet.execute(
      {
        type: 'ReleaseTask',
        agentId: end.agentId,
        taskId: end.taskId,
        reason: end.reason,
        at: this.clock.now(),
      },
      reactionMetadata(event),
    );
  }

  /** A slot held for the task by an agent other than the one distribution assigned it to. */
  private async releaseStrayHolder(event: DecodedEvent): Promise<void> {
    const data = event.data as { taskId?: string; agentId?: string };
    const holder = data.taskId ? this.fleet.index.holderOf(data.taskId) : undefined;
    if (!holder || !data.taskId || holder === data.agentId) return;
    await this.fleet.execute(
      {
        type: 'ReleaseTask',
        agentId: holder,
        taskId: data.taskId,
        reason: `task assigned to ${data.agentId ?? 'another agent'}`,
        at: this.clock.now(),
      },
      reactionMetadata(event),
    );
  }
}
