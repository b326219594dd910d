/**
 * A recorded event as replay reads it: what the event store keeps (libs/eventstore RecordedEvent),
 * in the shape the analytics service passes in and the NDJSON export writes out. `data` is the
 * protobuf JSON mapping of the event's proto message; `metadata` holds at least `correlationId`
 * (the session id for everything a session causes), `causationId` and, on the first event of every
 * decision recorded since commands were, `decision` (see decision.ts).
 */
export interface ReplayEvent {
  /** Position in the global log. */
  readonly position: bigint;
  readonly eventId: string;
  readonly type: string;
  /** The service that appended it. */
  readonly source: string;
  readonly streamId: string;
  /** 1-based version of the event in its stream. */
  readonly streamVersion: bigint;
  readonly occurredAt: Date;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly schemaVersion: number;
}

/** The session (or request) the event belongs to: `metadata.correlationId`, '' when absent. */
export const correlationOf = (e: ReplayEvent): string => {
  const id = e.metadata['correlationId'];
  return typeof id === 'string' ? id : '';
};

/** Whether the event opens a decision: it carries the recorded command (`metadata.decision`). */
export const opensDecision = (e: ReplayEvent): boolean => {
  const decision = e.metadata['decision'];
  return decision !== undefined && decision !== null;
};
