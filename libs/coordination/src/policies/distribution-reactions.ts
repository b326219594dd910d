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
] as const;

export const WORKFLOW_END_TYPES = ['WorkflowCompleted', 'WorkflowFailed', 'WorkflowCancelled'] as const;

/** An agent's attempt at a task that ended. */
export interface TaskEnd {
  readonly agentId: string;
  readonly taskId: string;
  readonly sessionId: string;
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

const costOf = (d: Data): number | undefined => {
  const usage = d['usage'] as Data | undefined;
  const cost = usage?.['costUsd'];
  return typeof cost === 'number' ? cost : undefined;
};

/** The attempt an event ends, or undefined when it ends none (or names no agent). */
export function taskEndOf(type: string, data: unknown, occurredAt: Date): TaskEnd | undefined {
  const d = (data ?? {}) as Data;
  const base = { taskId: text(d, 'taskId'), sessionId: text(d, 'sessionId'), reason: type };
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
    case 'TaskCancelled':
      end = { ...base, agentId: text(d, 'agentId'), at: time(d, 'at', occurredAt) };
      break;
    case 'TaskHandedOff':
      end = { ...base, agentId: text(d, 'fromAgentId'), at: time(d, 'at', occurredAt) };
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
