import { Inject, Injectable } from '@nestjs/common';
import { TASK_END_TYPES, WORKFLOW_END_TYPES, sessionEndOf, taskEndOf } from '@orch/coordination';
import { EventHandler, reactionMetadata, type DecodedEvent } from '@orch/messaging';
import { FleetService } from '../fleet/fleet.service';
import { SessionsService } from '../sessions/sessions.service';
import { CLOCK, type Clock } from '../tokens';

export const DISTRIBUTION_REACTIONS = 'distribution-reactions';

/**
 * Gives agents' slots back when distribution ends their attempts (the slot of the attempt ended,
 * see `TaskEnd.attempt`), repairs slots that a task's assignment shows to be stale, and closes a
 * session when its workflow ends. Outcomes reach the statistics and breakers through the global
 * log instead (FleetService), so that every replica's index learns them, not only the one that
 * consumes an event here.
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
        attempt: end.attempt,
        reason: end.reason,
        at: this.clock.now(),
      },
      reactionMetadata(event),
    );
  }

  /**
   * Slots that distribution's TaskAssigned of attempt N shows to be stale: attempt N held by an
   * agent other than the one it was given to (a slot taken for an assignment that was not recorded),
   * and any earlier attempt of the task, which distribution ended before it assigned attempt N (a
   * safety net: their own end events release them too). Slots taken without an attempt are left to
   * the rule they were taken under: only one held by another agent goes.
   */
  private async releaseStrayHolder(event: DecodedEvent): Promise<void> {
    const data = event.data as { taskId?: string; agentId?: string; attempt?: number };
    const { taskId, agentId = '' } = data;
    if (!taskId) return;
    const attempt = typeof data.attempt === 'number' ? data.attempt : 0;
    const stale = this.fleet.index
      .holdersOf(taskId)
      .filter((h) =>
        h.attempt === attempt || h.attempt === 0 ? h.agentId !== agentId : h.attempt < attempt,
      );
    for (const holder of stale) {
      await this.fleet.execute(
        {
          type: 'ReleaseTask',
          agentId: holder.agentId,
          taskId,
          attempt: holder.attempt,
          reason:
            holder.attempt === attempt || holder.attempt === 0
              ? `task assigned to ${agentId || 'another agent'}`
              : `attempt ${attempt} of the task was assigned`,
          at: this.clock.now(),
        },
        reactionMetadata(event),
      );
    }
  }
}
