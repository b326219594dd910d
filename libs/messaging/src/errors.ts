/**
 * Errors a command caller can receive. Each has a stable `code`; match on it or use the
 * predicates, never on messages.
 */

/** A field-level problem reported by a remote validation error. */
export interface RemoteFieldError {
  readonly path: string;
  readonly message: string;
}

/** Base class of the errors thrown by the command bus. */
export abstract class MessagingError extends Error {
  abstract readonly code: string;
}

/**
 * Thrown by `CommandBus.request` when the service answered with an ErrorReply: a business
 * rejection (`validation`, `not_found`, `conflict`, `forbidden`, `illegal_state`), a
 * `concurrency` conflict, or `internal`. `code` is the remote code, unchanged.
 */
export class RemoteDomainError extends MessagingError {
  override readonly name = 'RemoteDomainError';
  constructor(
    readonly code: string,
    message: string,
    readonly errors: readonly RemoteFieldError[] = [],
    readonly details: Readonly<Record<string, unknown>> = {},
    /** The command that was rejected, `<service>.<name>`. */
    readonly command = '',
  ) {
    super(message);
  }
}

/** Thrown by `CommandBus.request` when no reply arrived within the timeout; the command may or may not have run. */
export class CommandTimeoutError extends MessagingError {
  override readonly name = 'CommandTimeoutError';
  readonly code = 'timeout';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`no reply to ${command} within ${timeoutMs} ms`, options);
  }
}

/** Thrown by `CommandBus.request` when no replica of the service listens (NATS "no responders"); the command did not run. */
export class ServiceUnavailableError extends MessagingError {
  override readonly name = 'ServiceUnavailableError';
  readonly code = 'unavailable';
  constructor(
    readonly command: string,
    options?: { cause?: unknown },
  ) {
    super(`no service is serving ${command}`, options);
  }
}

/** Thrown when a reply cannot be decoded as the reply message declared for the command. */
export class ReplyDecodeError extends MessagingError {
  override readonly name = 'ReplyDecodeError';
  readonly code = 'bad_reply';
}

export const isRemoteDomainError = (e: unknown): e is RemoteDomainError => e instanceof RemoteDomainError;
export const isCommandTimeout = (e: unknown): e is CommandTimeoutError => e instanceof CommandTimeoutError;
export const isServiceUnavailable = (e: unknown): e is ServiceUnavailableError =>
  e instanceof ServiceUnavailableError;
