import { STATUS_CODES } from 'node:http';

/** One field-level problem of a validation error (`errors[]` of a problem document). */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

/** Where a failed request went, for error messages and logs. */
export interface RequestTarget {
  readonly method: string;
  readonly path: string;
}

/**
 * The gateway answered with an error status. Built from its `application/problem+json` body
 * (RFC 9457); a body that is not a problem document still gives a readable `detail`.
 */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  readonly code = 'problem';
  readonly method: string;
  readonly path: string;
  /**
   * True when this answer came to a retry: an earlier attempt may have reached the gateway and
   * been applied (its answer was lost to a network error, a 502 or a 504). A 409 on a retried
   * completion usually means exactly that - the completion was recorded the first time.
   */
  readonly retried: boolean;
  /** The parsed response body as received (extension members included), or its text. */
  readonly body: unknown;

  constructor(
    target: RequestTarget,
    readonly status: number,
    readonly type: string,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly FieldProblem[],
    options: { retried?: boolean; body?: unknown } = {},
  ) {
    super(problemMessage(target, status, title, detail, errors));
    this.method = target.method;
    this.path = target.path;
    this.retried = options.retried ?? false;
    this.body = options.body;
  }

  /** Reads an error response: a problem document when it is one, a clear stand-in when not. */
  static fromResponse(
    target: RequestTarget,
    status: number,
    contentType: string,
    text: string,
    retried: boolean,
  ): ProblemError {
    const parsed = contentType.includes('json') ? tryParseJson(text) : undefined;
    const title = STATUS_CODES[status] ?? 'Error';
    if (!isRecord(parsed)) {
      const snippet = text.trim().slice(0, 200);
      const detail = snippet
        ? `the gateway answered ${status} with a body that is not a problem document: ${snippet}`
        : `the gateway answered ${status} with an empty body`;
      return new ProblemError(target, status, 'about:blank', title, detail, [], { retried, body: text });
    }
    return new ProblemError(
      target,
      status,
      stringOr(parsed['type'], 'about:blank'),
      stringOr(parsed['title'], title),
      stringOr(parsed['detail'], ''),
      fieldProblems(parsed['errors']),
      { retried, body: parsed },
    );
  }
}

/** The gateway could not be reached, or did not answer in time, on any attempt. */
export class GatewayUnreachableError extends Error {
  override readonly name = 'GatewayUnreachableError';
  readonly code = 'unreachable';
  readonly method: string;
  readonly path: string;

  constructor(
    target: RequestTarget,
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(
      `${target.method} ${target.path} failed after ${attempts} attempt(s): ${describeError(options.cause)}`,
      options,
    );
    this.method = target.method;
    this.path = target.path;
  }
}

/** The gateway answered 2xx with a body that is not the JSON the contract promises. */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
  readonly code = 'unexpected_response';

  constructor(
    target: RequestTarget,
    readonly status: number,
    reason: string,
  ) {
    super(`${target.method} ${target.path} answered ${status} but ${reason}`);
  }
}

/**
 * Thrown by a task handler to fail its task with a chosen retry decision. Any other error
 * thrown by a handler fails the task as retryable (the gateway retries it up to the task's
 * `maxAttempts`).
 */
export class TaskFailure extends Error {
  override readonly name = 'TaskFailure';
  readonly code = 'task_failed';
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
  }
}

/** True for a {@link ProblemError}, optionally only with one of the given statuses. */
export function isProblem(err: unknown, ...statuses: number[]): err is ProblemError {
  return err instanceof ProblemError && (statuses.length === 0 || statuses.includes(err.status));
}

/** Whether a failure should be retried by the gateway: a {@link TaskFailure} decides, anything else is. */
export function isRetryableFailure(err: unknown): boolean {
  return err instanceof TaskFailure ? err.retryable : true;
}

/** A one-line description of anything thrown, with the low-level cause of a failed fetch. */
export function describeError(err: unknown): string {
  if (!isErrorLike(err)) return String(err);
  const cause = isErrorLike(err.cause) ? err.cause.message : undefined;
  return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return isErrorLike(err) ? err.message : String(err);
}

/** Errors from another realm (fetch's, inside a test VM) fail `instanceof Error`: look at the shape. */
function isErrorLike(value: unknown): value is { message: string; cause?: unknown } {
  return isRecord(value) && typeof value['message'] === 'string';
}

function problemMessage(
  target: RequestTarget,
  status: number,
  title: string,
  detail: string,
  errors: readonly FieldProblem[],
): string {
  const fields = errors.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ');
  return `${target.method} ${target.path} failed with ${status} ${title}${detail ? `: ${detail}` : ''}${
    fields ? ` [${fields}]` : ''
  }`;
}

function fieldProblems(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(isRecord)
    .map((e) => ({ path: stringOr(e['path'], ''), message: stringOr(e['message'], '') }));
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
