import { STATUS_CODES } from 'node:http';
import { ClosedConnectionError, ConnectionError, DrainingConnectionError } from '@nats-io/nats-core';
import { HttpException } from '@nestjs/common';
import { isDomainError, ValidationError, type FieldProblem } from '@orch/domain-kit';
import {
  CommandTimeoutError,
  isRemoteDomainError,
  ReplyDecodeError,
  ServiceUnavailableError,
} from '@orch/messaging';
import {
  AgentKeyNotIssuedError,
  DependencyUnavailableError,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  PreconditionFailedError,
  RateLimitedError,
  UnauthenticatedError,
} from './errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem document, the body of every error response. */
export interface Problem {
  /** Stable URI naming the kind of problem: `urn:orch:problem:<code>`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Field-level problems (validation). */
  readonly errors?: readonly FieldProblem[];
  /** The request path. */
  readonly instance?: string;
  readonly correlationId: string;
  /** Extra members for some problems (e.g. `agentId`). */
  readonly [extension: string]: unknown;
}

export interface ProblemResponse {
  readonly status: number;
  readonly body: Problem;
  readonly headers: Readonly<Record<string, string>>;
  /** How loud to log it: client mistakes are not server faults. */
  readonly log: 'none' | 'warn' | 'error';
}

export interface ProblemContext {
  readonly correlationId: string;
  readonly instance?: string;
}

/** HTTP status of each remote (command reply) error code. A remote `internal` is a downstream failure: 502. */
const REMOTE_STATUS: Readonly<Record<string, number>> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  illegal_state: 409,
  concurrency: 409,
  forbidden: 403,
  unavailable: 503,
  timeout: 504,
  internal: 502,
};

/** Fastify's own client errors, by code. */
const FASTIFY_PROBLEMS: Readonly<Record<string, { status: number; code: string; detail: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'malformed_json',
    detail: 'the request body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'malformed_json',
    detail: 'the request declares a JSON body but it is empty',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'payload_too_large',
    detail: 'the request body is larger than the limit',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    detail: 'send the request body as application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'bad_request',
    detail: 'the Content-Length header does not match the body',
  },
};

const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  502: 'bad_gateway',
  503: 'unavailable',
  504: 'timeout',
};

/**
 * THE mapping of errors to HTTP: every error response of the gateway is built here, whether the
 * error came from validation, authentication, Fastify's body parsing, a domain rule, a remote
 * service's reply or a bug. Anything unrecognised is a 500 with a generic detail; the real
 * error goes to the log, never to the client.
 */
export function toProblem(err: unknown, ctx: ProblemContext): ProblemResponse {
  const make = (
    status: number,
    code: string,
    detail: string,
    extra: {
      errors?: readonly FieldProblem[];
      headers?: Record<string, string>;
      fields?: Record<string, unknown>;
    } = {},
  ): ProblemResponse => ({
    status,
    headers: extra.headers ?? {},
    log: status >= 500 ? (status === 500 ? 'error' : 'warn') : 'none',
    body: {
      type: `urn:orch:problem:${code}`,
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail,
      ...(extra.errors && extra.errors.length > 0 ? { errors: extra.errors } : {}),
      ...extra.fields,
      ...(ctx.instance ? { instance: ctx.instance } : {}),
      correlationId: ctx.correlationId,
    },
  });

  if (err instanceof ValidationError) return make(400, 'validation', err.message, { errors: err.errors });
  if (isDomainError(err)) {
    const status = REMOTE_STATUS[err.code] ?? 400;
    return make(status, err.code, err.message);
  }
  if (err instanceof UnauthenticatedError) {
    const challenge =
      err.reason === 'invalid_token'
        ? 'Bearer realm="orchestrator", error="invalid_token"'
        : 'Bearer realm="orchestrator"';
    return make(401, err.code, err.message, { headers: { 'WWW-Authenticate': challenge } });
  }
  if (err instanceof IdempotencyKeyReusedError) return make(422, err.code, err.message);
  if (err instanceof PreconditionFailedError) {
    return make(412, err.code, err.message, {
      fields: err.currentVersion !== undefined ? { currentVersion: err.currentVersion } : {},
      ...(err.currentVersion !== undefined ? { headers: { ETag: `"${err.currentVersion}"` } } : {}),
    });
  }
  if (err instanceof IdempotencyInProgressError)
    return make(409, err.code, err.message, { headers: { 'Retry-After': '1' } });
  if (err instanceof RateLimitedError) {
    return make(429, err.code, err.message, { headers: { 'Retry-After': String(err.retryAfterSeconds) } });
  }
  if (err instanceof DependencyUnavailableError) {
    return make(503, err.code, err.message, { headers: { 'Retry-After': '1' } });
  }
  if (err instanceof AgentKeyNotIssuedError)
    return make(503, err.code, err.message, { fields: { agentId: err.agentId } });

  if (isRemoteDomainError(err)) {
    const status = REMOTE_STATUS[err.code] ?? 502;
    const detail =
      status === 502
        ? `a downstream service failed while handling ${err.command || 'the request'}`
        : err.message;
    return make(status, status === 502 ? 'bad_gateway' : err.code, detail, {
      errors: err.errors.map((e) => ({ path: e.path, message: e.message })),
    });
  }
  if (err instanceof ServiceUnavailableError) {
    return make(503, err.code, `no service is available to handle ${err.command}; retry later`, {
      headers: { 'Retry-After': '1' },
    });
  }
  if (err instanceof CommandTimeoutError) {
    return make(
      504,
      err.code,
      `${err.command} did not answer within ${err.timeoutMs} ms; it may still complete`,
    );
  }
  if (err instanceof ReplyDecodeError)
    return make(502, 'bad_gateway', 'a downstream service sent an unreadable reply');
  if (isBrokerUnavailable(err)) {
    return make(503, 'unavailable', 'the message broker is unavailable; retry later', {
      headers: { 'Retry-After': '1' },
    });
  }

  const fastifyCode = fastifyErrorCode(err);
  const known = fastifyCode ? FASTIFY_PROBLEMS[fastifyCode] : undefined;
  if (known) return make(known.status, known.code, known.detail);

  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status < 500) {
      return make(status, CODE_BY_STATUS[status] ?? 'bad_request', err.message);
    }
  }
  return make(500, 'internal', 'an unexpected error occurred; it has been logged with this correlationId');
}

/** The NATS connection is closed, draining or broken: nothing can be sent until it is back. */
function isBrokerUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (
      e instanceof ClosedConnectionError ||
      e instanceof DrainingConnectionError ||
      e instanceof ConnectionError
    )
      return true;
  }
  return false;
}

/** The FST_* code of a Fastify error, also when Nest wrapped it in an HttpException. */
function fastifyErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('FST_')) return code;
  }
  return undefined;
}
