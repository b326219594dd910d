import {
  ConflictError,
  ForbiddenError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  type DomainError,
} from '@orch/domain-kit';
import { isRemoteDomainError } from '@orch/messaging';

/**
 * The business rejection a peer answered with, as this service's own domain error, so that it
 * reaches the caller with the same code, message, field problems and details (a handler that
 * lets a RemoteDomainError through answers `internal`). A version conflict (`concurrency`) becomes
 * a ConflictError: both are 409 to a client. Anything else - a peer's internal error, a timeout,
 * no responder - is returned unchanged and answered as an internal error.
 */
export function passThrough(err: unknown): unknown {
  if (!isRemoteDomainError(err)) return err;
  const local = (): DomainError | undefined => {
    switch (err.code) {
      case 'validation':
        return new ValidationError(err.message, err.errors, err.details);
      case 'not_found':
        return new NotFoundError(err.message, err.details);
      case 'conflict':
      case 'concurrency':
        return new ConflictError(err.message, err.details);
      case 'forbidden':
        return new ForbiddenError(err.message, err.details);
      case 'illegal_state':
        return new IllegalStateError(err.message, err.details);
      default:
        return undefined;
    }
  };
  const domain = local();
  if (domain) domain.cause = err;
  return domain ?? err;
}
