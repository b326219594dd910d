import { Inject, Injectable } from '@nestjs/common';
import { attemptsOfTask } from '@orch/resources';
import { EventHandler, reactionMetadata, type DecodedEvent } from '@orch/messaging';
import { CLOCK, type Clock } from '../tokens';
import { AllocatorHost } from './allocator-host';

type Data = Readonly<Record<string, unknown>>;

const text = (d: Data, field: string): string => (typeof d[field] === 'string' ? (d[field] as string) : '');
const attemptOf = (d: Data): number => (typeof d['attempt'] === 'number' ? (d['attempt'] as number) : 0);
const tokens = (v: unknown): number => {
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : 0;
  return Number.isFinite(n) && n >= 0 ? n : 0;
};

/** Events that end one attempt, naming it. */
const ATTEMPT_ENDS = ['TaskSucceeded', 'TaskFailed', 'TaskTimedOut', 'TaskAssignmentLost', 'TaskPreempted'];
/** Events after which a task holds nothing, naming no attempt: every attempt of it is released. */
const TASK_ENDS = ['TaskCancelled', 'TaskDeadLettered', 'TaskHandedOff'];

/**
 * Gives claims back when distribution ends an attempt (docs/adr/0009): its pools and locks are
 * released and its wait withdrawn, which may grant waiters; a success first reconciles the budget
 * estimates with the usage the agent reported. Releases and reconciliations are idempotent in the
 * allocator (an attempt released already has nothing left), so a redelivery changes nothing.
 */
@Injectable()
export class DistributionConsumers {
  constructor(
    private readonly host: AllocatorHost,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @EventHandler({ consumer: 'task-ends', types: [...ATTEMPT_ENDS, ...TASK_ENDS], startPosition: 'all' })
  async apply(event: DecodedEvent): Promise<void> {
    const d = (event.data ?? {}) as Data;
    const taskId = text(d, 'taskId');
    if (taskId === '') return;
    const metadata = reactionMetadata(event, text(d, 'sessionId') || undefined);
    const at = this.clock.now();
    const attempts = ATTEMPT_ENDS.includes(event.type)
      ? [attemptOf(d)]
      : attemptsOfTask(this.host.state, taskId);
    if (event.type === 'TaskSucceeded') {
      const usage = (d['usage'] ?? {}) as Data;
      await this.host.execute(
        {
          type: 'ReconcileUsage',
          taskId,
          attempt: attemptOf(d),
          inputTokens: tokens(usage['inputTokens']),
          outputTokens: tokens(usage['outputTokens']),
          costUsd: tokens(usage['costUsd']),
          at,
        },
        metadata,
      );
    }
    for (const attempt of attempts) {
      await this.host.execute({ type: 'Release', taskId, attempt, reason: event.type, at }, metadata);
    }
  }
}
