/**
 * Errors raised by the gateway itself (as opposed to domain errors from @orch/domain-kit and
 * messaging errors from @orch/messaging). Each has a stable `code`; `problem.ts` maps them.
 */

/** No API key, or one that is unknown or revoked. Answered 401 with WWW-Authenticate. */
export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
  readonly code = 'unauthenticated';
  constructor(
    message: string,
    /** `invalid_token` when a key was presented but not accepted (RFC 6750). */
    readonly reason: 'missing' | 'invalid_token',
  ) {
    super(message);
  }
}

/** The same Idempotency-Key was used for a different request. Answered 422. */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  readonly code = 'idempotency_key_reused';
  constructor(readonly key: string) {
    super(`Idempotency-Key "${key}" was already used for a different request`);
  }
}

/** A request with this Idempotency-Key is still being processed. Answered 409. */
export class IdempotencyInProgressError extends Error {
  override readonly name = 'IdempotencyInProgressError';
  readonly code = 'idempotency_in_progress';
  constructor(readonly key: string) {
    super(`a request with Idempotency-Key "${key}" is still in progress; retry later`);
  }
}

/** Too many requests for this key (or client address) in the current window. Answered 429. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  readonly code = 'rate_limited';
  constructor(
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`rate limit of ${limit} requests exceeded; retry in ${retryAfterSeconds} s`);
  }
}

/**
 * The agent was registered but its API key could not be issued. Answered 503 and not stored
 * under the Idempotency-Key, so a retry with the same key re-sends the (idempotent) registration
 * and issues the key.
 */
export class AgentKeyNotIssuedError extends Error {
  override readonly name = 'AgentKeyNotIssuedError';
  readonly code = 'agent_key_not_issued';
  constructor(
    readonly agentId: string,
    options?: { cause?: unknown },
  ) {
    super(
      `agent ${agentId} is registered but its API key could not be issued; retry the request with the same Idempotency-Key`,
      options,
    );
  }
}

/**
 * A dependency the request needs (PostgreSQL for key lookups, a service whose answer a check
 * needs) is unreachable. Answered 503 with Retry-After.
 */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
  readonly code = 'unavailable';
  constructor(
    readonly dependency: string,
    /** `detail` replaces the generic message, to say what could not be done. */
    options?: { cause?: unknown; detail?: string },
  ) {
    super(options?.detail ?? `${dependency} is unavailable; retry later`, options);
  }
}

/** A conditional write (If-Match) found the resource at another version. Answered 412. */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
  readonly code = 'precondition_failed';
  constructor(
    message: string,
    /** The version the resource is at now, for the client's next If-Match. */
    readonly currentVersion: number | undefined,
  ) {
    super(message);
  }
}
