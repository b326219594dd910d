import type { JsonValue, Pattern, SessionRolesData, TaskSpecData } from '@orch/distribution';
import type { SessionOutcome } from './session.events';

/** What a session is started with, as the client asked (before auto and roles are resolved). */
export interface SessionRequest {
  readonly sessionId: string;
  readonly goal: string;
  /** solo | pair | hierarchical | swarm | auto */
  readonly pattern: string;
  readonly tasks: readonly TaskSpecData[];
  /** The session's pool; empty means the whole fleet. */
  readonly agentIds: readonly string[];
  /** 0 means no budget. */
  readonly budgetUsd: number;
  /** Empty means weighted. */
  readonly strategy: string;
  /** 0 means the pattern's default. */
  readonly maxRounds: number;
  /**
   * Contention policy for the session's claims, one of SESSION_CONFLICT_POLICIES; empty keeps each
   * pool's or lock namespace's (as is absent).
   */
  readonly conflictPolicy?: string;
}

/** What the fleet offers now, for validation. */
export interface FleetFacts {
  /** Whether some registered agent offers the capability. */
  offers(capability: string): boolean;
  isRegistered(agentId: string): boolean;
}

export interface StartSession extends SessionRequest {
  readonly type: 'StartSession';
  /** The concrete pattern, why auto chose it ('' when asked for), and the agents given its roles. */
  readonly resolved: { readonly pattern: Pattern; readonly reason: string; readonly roles: SessionRolesData };
  readonly fleet: FleetFacts;
  readonly at: Date;
}

export interface CancelSession {
  readonly type: 'CancelSession';
  readonly sessionId: string;
  readonly reason: string;
  readonly at: Date;
}

/** The session's workflow ended (distribution's WorkflowCompleted, WorkflowFailed, WorkflowCancelled). */
export interface CloseSession {
  readonly type: 'CloseSession';
  readonly sessionId: string;
  readonly status: SessionOutcome;
  readonly reason: string;
  readonly at: Date;
}

export interface PostMessage {
  readonly type: 'PostMessage';
  readonly sessionId: string;
  /** Chosen by the caller, so a retry is recognised. */
  readonly messageId: string;
  readonly from: string;
  /** Empty: broadcast. */
  readonly to: string;
  /** Undefined when the client sent none. */
  readonly body: JsonValue | undefined;
  readonly at: Date;
}

export type SessionCommand = StartSession | CancelSession | CloseSession | PostMessage;

/** Write one key of a session's shared context. */
export interface PutContext {
  readonly type: 'PutContext';
  readonly sessionId: string;
  readonly key: string;
  readonly value: JsonValue | undefined;
  /** When given, the write succeeds only at this version (If-Match). */
  readonly expectedVersion?: number;
  readonly at: Date;
}
