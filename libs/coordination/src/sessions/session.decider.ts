import {
  canonicalJson,
  ConflictError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  assertNever,
  rfc3339,
  type Decider,
} from '@orch/domain-kit';
import { DEFAULT_STRATEGY } from '../selection/selection';
import type {
  CancelSession,
  CloseSession,
  PostMessage,
  SessionCommand,
  StartSession,
} from './session.commands';
import type { SessionEvent, SessionMessagePosted, SessionOutcome, SessionStarted } from './session.events';
import { assertValidSession } from './session.validation';

// ---------------------------------------------------------------- state

export type StartedData = SessionStarted['data'];
export type PostedMessage = SessionMessagePosted['data'];

interface Started {
  readonly started: StartedData;
  /** The conversation, in sequence order (sequence n at index n - 1). */
  readonly messages: readonly PostedMessage[];
}

/**
 * A session's lifecycle: running until a user cancels it (cancelling: distribution is cancelling
 * its tasks) or its workflow ends (closed). Messages are kept for ListMessages.
 */
export type SessionState =
  | { readonly status: 'none' }
  | (Started & { readonly status: 'running' | 'cancelling' })
  | (Started & { readonly status: 'closed'; readonly outcome: SessionOutcome });

export const sessionStreamId = (sessionId: string): string => `session-${sessionId}`;

/** Status as SessionAck shows it: running | completed | failed | cancelled. */
export const sessionStatus = (state: SessionState): string => {
  switch (state.status) {
    case 'none':
    case 'running':
      return 'running';
    case 'cancelling':
      return 'cancelled';
    case 'closed':
      return state.outcome;
    default:
      return assertNever(state, 'session state');
  }
};

const SESSION_OUTCOMES: readonly SessionOutcome[] = ['completed', 'failed', 'cancelled'];
const MAX_MESSAGE_ID = 200;

// ---------------------------------------------------------------- decide

/** The request a SessionStarted records, in a form two requests can be compared by. */
function requestKey(r: {
  goal: string;
  tasks: readonly unknown[];
  agentIds: readonly string[];
  budgetUsd: number;
  strategy: string;
  maxRounds: number;
  conflictPolicy?: string | undefined;
}): string {
  const { goal, tasks, agentIds, budgetUsd, strategy, maxRounds, conflictPolicy } = r;
  return canonicalJson({
    goal,
    tasks,
    agentIds,
    budgetUsd,
    strategy: strategy || DEFAULT_STRATEGY,
    maxRounds,
    // Events stored before the field existed have none: the same as no override.
    conflictPolicy: conflictPolicy ?? '',
  });
}

/** A retry of the start that happened: same request; auto is recognised by its recorded reason. */
const sameStart = (c: StartSession, s: StartedData): boolean =>
  requestKey(c) === requestKey(s) &&
  (c.pattern === 'auto' ? s.patternReason !== '' : s.patternReason === '' && s.pattern === c.pattern);

function start(c: StartSession, state: SessionState): SessionEvent[] {
  if (state.status !== 'none') {
    if (sameStart(c, state.started)) return [];
    throw new ConflictError(`session ${c.sessionId} was already started with a different request`, {
      sessionId: c.sessionId,
    });
  }
  assertValidSession(c, c.fleet);
  const { pattern, reason, roles } = c.resolved;
  return [
    {
      type: 'SessionStarted',
      data: {
        sessionId: c.sessionId,
        goal: c.goal,
        pattern,
        patternReason: reason,
        tasks: c.tasks,
        agentIds: [...c.agentIds],
        roles,
        strategy: c.strategy || DEFAULT_STRATEGY,
        maxRounds: c.maxRounds,
        budgetUsd: c.budgetUsd,
        startedAt: rfc3339(c.at),
        conflictPolicy: c.conflictPolicy ?? '',
      },
    },
  ];
}

const notFound = (sessionId: string): NotFoundError =>
  new NotFoundError(`session ${sessionId} does not exist`, { sessionId });

function cancel(c: CancelSession, state: SessionState): SessionEvent[] {
  switch (state.status) {
    case 'none':
      throw notFound(c.sessionId);
    case 'cancelling':
      return [];
    case 'closed':
      if (state.outcome === 'cancelled') return [];
      throw new IllegalStateError(`session ${c.sessionId} already ${state.outcome}; it cannot be cancelled`, {
        sessionId: c.sessionId,
        status: state.outcome,
      });
    case 'running':
      return [
        {
          type: 'SessionCancelled',
          data: { sessionId: c.sessionId, reason: c.reason, cancelledAt: rfc3339(c.at) },
        },
      ];
    default:
      return assertNever(state, 'session state');
  }
}

function close(c: CloseSession, state: SessionState): SessionEvent[] {
  if (!SESSION_OUTCOMES.includes(c.status))
    throw new ValidationError('invalid close', [
      { path: 'status', message: `must be one of ${SESSION_OUTCOMES.join(', ')}` },
    ]);
  if (state.status === 'none') throw notFound(c.sessionId);
  if (state.status === 'closed') return [];
  return [
    {
      type: 'SessionClosed',
      data: { sessionId: c.sessionId, status: c.status, reason: c.reason, closedAt: rfc3339(c.at) },
    },
  ];
}

function post(c: PostMessage, state: SessionState): SessionEvent[] {
  const problems = [
    ...(c.messageId.trim() === '' || c.messageId.length > MAX_MESSAGE_ID
      ? [{ path: 'messageId', message: `must be 1 to ${MAX_MESSAGE_ID} characters` }]
      : []),
    ...(c.from.trim() === '' ? [{ path: 'from', message: 'must not be empty' }] : []),
    ...(c.body === undefined ? [{ path: 'body', message: 'is required' }] : []),
  ];
  if (problems.length > 0) throw new ValidationError('invalid message', problems);
  if (state.status === 'none') throw notFound(c.sessionId);
  if (state.messages.some((m) => m.messageId === c.messageId)) return [];
  if (state.status === 'closed')
    throw new IllegalStateError(`session ${c.sessionId} is ${state.outcome}; it takes no more messages`, {
      sessionId: c.sessionId,
    });
  return [
    {
      type: 'SessionMessagePosted',
      data: {
        sessionId: c.sessionId,
        messageId: c.messageId,
        sequence: String(state.messages.length + 1),
        from: c.from,
        to: c.to,
        body: c.body ?? null,
        postedAt: rfc3339(c.at),
      },
    },
  ];
}

// ---------------------------------------------------------------- evolve

function evolve(state: SessionState, event: SessionEvent): SessionState {
  switch (event.type) {
    case 'SessionStarted':
      return { status: 'running', started: event.data, messages: [] };
    case 'SessionCancelled':
      return state.status === 'running' ? { ...state, status: 'cancelling' } : state;
    case 'SessionClosed':
      return state.status === 'none' ? state : { ...state, status: 'closed', outcome: event.data.status };
    case 'SessionMessagePosted':
      return state.status === 'none' ? state : { ...state, messages: [...state.messages, event.data] };
    default:
      return assertNever(event, 'session event');
  }
}

export const sessionDecider: Decider<SessionCommand, SessionEvent, SessionState> = {
  decide(command, state) {
    switch (command.type) {
      case 'StartSession':
        return start(command, state);
      case 'CancelSession':
        return cancel(command, state);
      case 'CloseSession':
        return close(command, state);
      case 'PostMessage':
        return post(command, state);
      default:
        return assertNever(command, 'session command');
    }
  },
  evolve,
  initialState: () => ({ status: 'none' }),
};

/**
 * The messages after `afterSequence`, at most `limit`, in order; with `agentId`, only those it
 * receives (broadcasts and messages to it).
 */
export function messagesAfter(
  state: SessionState,
  afterSequence: number,
  limit: number,
  agentId?: string,
): PostedMessage[] {
  if (state.status === 'none') return [];
  const page: PostedMessage[] = [];
  for (let i = Math.max(0, afterSequence); i < state.messages.length && page.length < limit; i++) {
    const m = state.messages[i]!;
    if (!agentId || m.to === '' || m.to === agentId) page.push(m);
  }
  return page;
}
