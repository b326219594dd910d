import type { ReleasedAttempt } from '../agents/agent.commands';
import type { SessionOutcome } from '../sessions/session.events';

/**
 * How coordination reacts to distribution's facts (docs/orchestration.md step 6): a task's attempt
 * that ended gives its agent's slot back and, when it succeeded or failed, is an outcome for the
 * agent's statistics and circuit breakers; a workflow that ended closes its session.
 *
 * The functions read the events' data in the protobuf JSON mapping, as the store and the wire
 * carry it, and take what they need.
 */

/** Attempt outcomes, fed to statistics and breakers. */
export const TASK_OUTCOME_TYPES = ['TaskSucceeded', 'TaskFailed', 'TaskTimedOut'] as const;

/** Events after which the agent that held a task no longer does. */
export const TASK_END_TYPES = [
  ...TASK_OUTCOME_TYPES,
  'TaskAssignmentLost',
  'TaskCancelled',
  'TaskHandedOff',
  'TaskPreempted',
] as const;

export const WORKFLOW_END_TYPES = ['WorkflowCompleted', 'WorkflowFailed', 'WorkflowCancelled'] as const;

/** An agent's attempt at a task that ended. */
export interface TaskEnd {
  readonly agentId: string;
  readonly taskId: string;
  readonly sessionId: string;
  /**
   * The attempt whose slot the end gives back (slots are per attempt: task-slots.ts).
   * - Successes, failures, timeouts and losses name their attempt.
   * - A cancellation does not; the task will never run again, so every slot the agent holds for
   *   it goes (0).
   * - A hand-off does not either; its task is ready again at once and its next attempt may be
   *   assigned to the same agent before the hand-off is processed, so it gives back the earliest
   *   attempt the agent holds ('earliest'), which is the attempt handed off. So does an outcome
   *   recorded without its attempt.
   */
  readonly attempt: ReleasedAttempt;
  /** Why the slot is released: the event type. */
  readonly reason: string;
  readonly at: Date;
  /** Present for successes and failures (an attempt the agent itself finished or let expire). */
  readonly outcome?: { readonly ok: boolean; readonly costUsd?: number };
}

export interface SessionEnd {
  readonly sessionId: string;
  readonly status: SessionOutcome;
  readonly reason: string;
  readonly at: Date;
}

type Data = Readonly<Record<string, unknown>>;

const text = (d: Data, field: string): string => (typeof d[field] === 'string' ? (d[field] as string) : '');

const time = (d: Data, field: string, fallback: Date): Date => {
  const ms = Date.parse(text(d, field));
  return Number.isNaN(ms) ? fallback : new Date(ms);
};

/** The attempt an event names, or 'earliest' when it names none. */
const attemptOf = (d: Data): ReleasedAttempt => {
  const attempt = d['attempt'];
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 0 ? attempt : 'earliest';
};

const costOf = (d: Data): number | undefined => {
  const usage = d['usage'] as Data | undefined;
  const cost = usage?.['costUsd'];
  return typeof cost === 'number' ? cost : undefined;
};

/** The attempt an event ends, or undefined when it ends none (or names no agent). */
export function taskEndOf(type: string, data: unknown, occurredAt: Date): TaskEnd | undefined {
  const d = (data ?? {}) as Data;
  const base = {
    taskId: text(d, 'taskId'),
    sessionId: text(d, 'sessionId'),
    reason: type,
    attempt: attemptOf(d),
  };
  let end: TaskEnd | undefined;
  switch (type) {
    case 'TaskSucceeded': {
      const costUsd = costOf(d);
      end = {
        ...base,
        agentId: text(d, 'agentId'),
        at: time(d, 'completedAt', occurredAt),
        outcome: { ok: true, ...(costUsd !== undefined ? { costUsd } : {}) },
      };
      break;
    }
    case 'TaskFailed':
      end = {
        ...base,
        agentId: text(d, 'agentId'),
        at: time(d, 'failedAt', occurredAt),
        outcome: { ok: false },
      };
      break;
    case 'TaskTimedOut':
      end = {
        ...base,
        agentId: text(d, 'agentId'),
        at: time(d, 'timedOutAt', occurredAt),
        outcome: { ok: false },
      };
      break;
    case 'TaskAssignmentLost':
    case 'TaskPreempted': // agentId is empty when the task was granted claims but not yet assigned
      end = { ...base, agentId: text(d, 'agentId'), at: time(d, 'at', occurredAt) };
      break;
    case 'TaskCancelled':
      end = { ...base, attempt: 0, agentId: text(d, 'agentId'), at: time(d, 'at', occurredAt) };
      break;
    case 'TaskHandedOff':
      end = { ...base, attempt: 'earliest', agentId: text(d, 'fromAgentId'), at: time(d, 'at', occurredAt) };
      break;
  }
  return end && end.agentId !== '' && end.taskId !== '' ? end : undefined;
}

/** The session a workflow event ends, or undefined. */
export function sessionEndOf(type: string, data: unknown, occurredAt: Date): SessionEnd | undefined {
  const d = (data ?? {}) as Data;
  const sessionId = text(d, 'sessionId');
  if (sessionId === '') return undefined;
  switch (type) {
    case 'WorkflowCompleted':
      return { sessionId, status: 'completed', reason: '', at: time(d, 'completedAt', occurredAt) };
    case 'WorkflowFailed':
      return { sessionId, status: 'failed', reason: text(d, 'reason'), at: time(d, 'failedAt', occurredAt) };
    case 'WorkflowCancelled':
      return {
        sessionId,
        status: 'cancelled',
        reason: text(d, 'reason'),
        at: time(d, 'cancelledAt', occurredAt),
      };
    default:
      return undefined;
  }
}
