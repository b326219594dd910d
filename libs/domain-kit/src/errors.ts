/**
 * Domain errors: business rejections, as opposed to transient failures.
 * They cross the wire as data (messaging's ErrorReply) and are mapped to HTTP statuses in exactly
 * one place, the gateway. A handler that throws anything else is treated as a transient failure.
 */
export type DomainErrorCode = 'validation' | 'not_found' | 'conflict' | 'forbidden' | 'illegal_state';

export interface FieldProblem {
  /** JSON path of the offending field, e.g. "capabilities[0].level". */
  readonly path: string;
  readonly message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  constructor(
    message: string,
    /** Typed context for the error reply (ids, versions...). */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** A command or query whose content is invalid. */
export class ValidationError extends DomainError {
  override readonly name = 'ValidationError';
  readonly code = 'validation';
  constructor(
    message: string,
    readonly errors: readonly FieldProblem[] = [],
    details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message, details);
  }
}

/** The addressed entity does not exist. */
export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  readonly code = 'not_found';
}

/** The command conflicts with the current state (e.g. registering an id that exists). */
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  readonly code = 'conflict';
}

/** The principal may not do this. */
export class ForbiddenError extends DomainError {
  override readonly name = 'ForbiddenError';
  readonly code = 'forbidden';
}

/** The command is not allowed in the entity's current lifecycle state. */
export class IllegalStateError extends DomainError {
  override readonly name = 'IllegalStateError';
  readonly code = 'illegal_state';
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
