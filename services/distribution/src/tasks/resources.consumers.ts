import { Inject, Injectable } from '@nestjs/common';
import type { WorkflowCommand } from '@orch/distribution';
import { IllegalStateError, NotFoundError } from '@orch/domain-kit';
import { EventHandler, MESSAGING_LOGGER, reactionMetadata, type DecodedEvent } from '@orch/messaging';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '../tokens';
import { WorkflowHost } from './workflow-host';

type Data = Readonly<Record<string, unknown>>;

const text = (d: Data, field: string): string => (typeof d[field] === 'string' ? (d[field] as string) : '');
const count = (d: Data, field: string): number => (typeof d[field] === 'number' ? (d[field] as number) : 0);

/** The resources events distribution acts on (docs/adr/0009). */
export const RESOURCE_REACTION_TYPES = ['ResourcesAllocated', 'AllocationRefused', 'PreemptionRequested'];

/**
 * What a resources event asks of a workflow, or undefined when nothing:
 * - a waiter granted its claims (`ResourcesAllocated`, not an addition to a running attempt) is
 *   resumed: ready again, its offer finds the grant;
 * - a waiter refused after it was queued (an operator's abort, a pool that can no longer fit it)
 *   is resumed too, so it asks again; a refusal with a retry time (wait-die) was answered to the
 *   dispatcher, which made the task wait until then;
 * - a holder that must give way (`PreemptionRequested`) is preempted.
 */
export function reactionTo(type: string, data: unknown, at: Date): WorkflowCommand | undefined {
  const d = (data ?? {}) as Data;
  const taskId = text(d, 'taskId');
  if (taskId === '') return undefined;
  switch (type) {
    case 'ResourcesAllocated':
      return d['incremental'] === true
        ? undefined
        : { type: 'ResumeTask', taskId, reason: 'claims granted', at };
    case 'AllocationRefused':
      return text(d, 'retryAt') !== ''
        ? undefined
        : { type: 'ResumeTask', taskId, reason: `claims refused: ${text(d, 'reason')}`, at };
    case 'PreemptionRequested':
      return {
        type: 'PreemptTask',
        taskId,
        attempt: count(d, 'attempt'),
        byTaskId: text(d, 'byTaskId'),
        reason: text(d, 'reason') || 'preempted',
        at,
      };
    default:
      return undefined;
  }
}

/**
 * Applies resources' decisions to the workflows. Every reaction is idempotent in the decider (a task
 * resumed or preempted already, or whose attempt ended, is left as it is), so a redelivery changes
 * nothing; a session that ended has nothing left to change.
 */
@Injectable()
export class ResourcesConsumers {
  constructor(
    private readonly host: WorkflowHost,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {}

  @EventHandler({ consumer: 'resources', types: RESOURCE_REACTION_TYPES, startPosition: 'new' })
  async apply(event: DecodedEvent): Promise<void> {
    const command = reactionTo(event.type, event.data, this.clock.now());
    const d = (event.data ?? {}) as Data;
    const sessionId =
      text(d, 'sessionId') || (command && 'taskId' in command && this.host.sessionOf(command.taskId));
    if (!command || !sessionId) return;
    // The grant may answer an offer another replica is recording right now.
    await this.host.catchUp(sessionId).catch(() => false);
    await this.host.execute(sessionId, command, reactionMetadata(event, sessionId)).catch((err: unknown) => {
      if (!(err instanceof IllegalStateError || err instanceof NotFoundError)) throw err;
      this.logger.debug({ sessionId, type: event.type, reason: (err as Error).message }, 'nothing to change');
    });
  }
}
