import { eventReader } from '@orch/domain-kit';
import type { JsonValue, Pattern, SessionRolesData, TaskSpecData } from '@orch/distribution';

/**
 * Session events, on `session-<sessionId>` (and `session-<id>-context-<key>` for the shared
 * context). `data` is exactly the protobuf JSON mapping of the proto message of the same name
 * (proto/orchestrator/coordination/v1/sessions.proto): every field present, uint64 as strings.
 */

export type SessionOutcome = 'completed' | 'failed' | 'cancelled';

export interface SessionStarted {
  readonly type: 'SessionStarted';
  readonly data: {
    readonly sessionId: string;
    readonly goal: string;
    readonly pattern: Pattern;
    /** Why auto chose the pattern; empty when the pattern was asked for. */
    readonly patternReason: string;
    readonly tasks: readonly TaskSpecData[];
    readonly agentIds: readonly string[];
    readonly roles: SessionRolesData;
    readonly strategy: string;
    readonly maxRounds: number;
    readonly budgetUsd: number;
    readonly startedAt: string;
    /**
     * Contention policy for the session's claims (queue | preempt | wait-die | wound-wait | manual);
     * empty keeps each pool's or lock namespace's. Absent (undefined) in events stored before it existed.
     */
    readonly conflictPolicy: string;
  };
}

export interface SessionCancelled {
  readonly type: 'SessionCancelled';
  readonly data: { readonly sessionId: string; readonly reason: string; readonly cancelledAt: string };
}

export interface SessionClosed {
  readonly type: 'SessionClosed';
  readonly data: {
    readonly sessionId: string;
    readonly status: SessionOutcome;
    readonly reason: string;
    readonly closedAt: string;
  };
}

export interface SessionMessagePosted {
  readonly type: 'SessionMessagePosted';
  readonly data: {
    readonly sessionId: string;
    readonly messageId: string;
    /** Position in the conversation from 1 (uint64 as a decimal string). */
    readonly sequence: string;
    readonly from: string;
    /** Empty: broadcast to the session. */
    readonly to: string;
    readonly body: JsonValue;
    readonly postedAt: string;
  };
}

export type SessionEvent = SessionStarted | SessionCancelled | SessionClosed | SessionMessagePosted;

export const sessionEventTypes: readonly SessionEvent['type'][] = [
  'SessionStarted',
  'SessionCancelled',
  'SessionClosed',
  'SessionMessagePosted',
];

/** A stored or published event as a SessionEvent; undefined for other types. */
export const toSessionEvent = eventReader<SessionEvent>(sessionEventTypes);

export interface SessionContextUpdated {
  readonly type: 'SessionContextUpdated';
  readonly data: {
    readonly sessionId: string;
    readonly key: string;
    readonly value: JsonValue;
    /** The context stream's version after this event (uint64 as a decimal string). */
    readonly version: string;
    readonly updatedAt: string;
  };
}
