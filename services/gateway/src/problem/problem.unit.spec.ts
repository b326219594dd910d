import { HttpException, NotFoundException } from '@nestjs/common';
import { ClosedConnectionError } from '@nats-io/nats-core';
import { ConflictError, NotFoundError, ValidationError } from '@orch/domain-kit';
import {
  CommandTimeoutError,
  RemoteDomainError,
  ReplyDecodeError,
  ServiceUnavailableError,
} from '@orch/messaging';
import {
  AgentKeyNotIssuedError,
  DependencyUnavailableError,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  RateLimitedError,
  UnauthenticatedError,
} from './errors';
import { toProblem } from './problem';

const ctx = { correlationId: 'corr-1', instance: '/api/agents' };
const fastifyError = (code: string, statusCode: number) =>
  Object.assign(new Error(`fastify ${code}`), { code, statusCode });

describe('toProblem', () => {
  it.each([
    ['validation', 400],
    ['not_found', 404],
    ['conflict', 409],
    ['illegal_state', 409],
    ['concurrency', 409],
    ['forbidden', 403],
    ['unavailable', 503],
    ['timeout', 504],
    ['internal', 502],
    ['something_new', 502],
  ])('maps a remote %s to %i', (code, status) => {
    const p = toProblem(
      new RemoteDomainError(code, `remote says ${code}`, [], {}, 'coordination.RegisterAgent'),
      ctx,
    );
    expect(p.status).toBe(status);
    expect(p.body.status).toBe(status);
  });

  it('keeps remote field errors and hides the message of a remote internal failure', () => {
    const v = toProblem(
      new RemoteDomainError('validation', 'bad', [{ path: 'name', message: 'taken' }]),
      ctx,
    );
    expect(v.body).toMatchObject({
      type: 'urn:orch:problem:validation',
      detail: 'bad',
      errors: [{ path: 'name', message: 'taken' }],
    });
    const i = toProblem(
      new RemoteDomainError('internal', 'stack trace here', [], {}, 'coordination.GetAgent'),
      ctx,
    );
    expect(i.body.detail).toBe('a downstream service failed while handling coordination.GetAgent');
    expect(i.body.type).toBe('urn:orch:problem:bad_gateway');
  });

  it('builds a complete RFC 9457 document with the correlation id', () => {
    expect(
      toProblem(
        new ValidationError('the request body is invalid', [{ path: 'name', message: 'required' }]),
        ctx,
      ),
    ).toEqual({
      status: 400,
      headers: {},
      log: 'none',
      body: {
        type: 'urn:orch:problem:validation',
        title: 'Bad Request',
        status: 400,
        detail: 'the request body is invalid',
        errors: [{ path: 'name', message: 'required' }],
        instance: '/api/agents',
        correlationId: 'corr-1',
      },
    });
  });

  it('maps local domain errors by code', () => {
    expect(toProblem(new NotFoundError('no key'), ctx).status).toBe(404);
    expect(toProblem(new ConflictError('dup'), ctx).status).toBe(409);
  });

  it('challenges a missing or invalid key with WWW-Authenticate', () => {
    expect(toProblem(new UnauthenticatedError('no key', 'missing'), ctx).headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="orchestrator"',
    });
    const invalid = toProblem(new UnauthenticatedError('bad key', 'invalid_token'), ctx);
    expect(invalid.status).toBe(401);
    expect(invalid.headers['WWW-Authenticate']).toContain('error="invalid_token"');
  });

  it('maps the gateway errors', () => {
    expect(toProblem(new IdempotencyKeyReusedError('k'), ctx).status).toBe(422);
    expect(toProblem(new IdempotencyInProgressError('k'), ctx).status).toBe(409);
    const limited = toProblem(new RateLimitedError(10, 42), ctx);
    expect(limited.status).toBe(429);
    expect(limited.headers['Retry-After']).toBe('42');
    const keyless = toProblem(new AgentKeyNotIssuedError('agent-9'), ctx);
    expect(keyless.status).toBe(503);
    expect(keyless.body['agentId']).toBe('agent-9');
    expect(toProblem(new DependencyUnavailableError('postgres'), ctx).status).toBe(503);
  });

  it('maps messaging failures: no responders 503, timeout 504, unreadable reply 502, closed connection 503', () => {
    expect(toProblem(new ServiceUnavailableError('coordination.GetAgent'), ctx).status).toBe(503);
    expect(toProblem(new CommandTimeoutError('coordination.GetAgent', 500), ctx).status).toBe(504);
    expect(toProblem(new ReplyDecodeError('garbage'), ctx).status).toBe(502);
    expect(toProblem(new ClosedConnectionError(), ctx).status).toBe(503);
  });

  it.each([
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 400, 'malformed_json'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 400, 'malformed_json'],
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 413, 'payload_too_large'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 415, 'unsupported_media_type'],
  ])('maps Fastify %s (also wrapped by Nest) to %i', (code, fastifyStatus, status, kind) => {
    const raw = fastifyError(code, fastifyStatus);
    const wrapped = new HttpException(raw.message, fastifyStatus, { cause: raw });
    for (const err of [raw, wrapped]) {
      const p = toProblem(err, ctx);
      expect(p.status).toBe(status);
      expect(p.body.type).toBe(`urn:orch:problem:${kind}`);
    }
  });

  it('keeps the status of a client-side HttpException (never a 500 for a client mistake)', () => {
    expect(toProblem(new NotFoundException('Cannot GET /x'), ctx)).toMatchObject({
      status: 404,
      log: 'none',
    });
    expect(toProblem(new HttpException('gone', 405), ctx).body.type).toBe(
      'urn:orch:problem:method_not_allowed',
    );
  });

  it('answers anything unexpected with a generic 500 and asks for it to be logged', () => {
    const p = toProblem(new TypeError("Cannot read properties of undefined (reading 'secret')"), ctx);
    expect(p).toMatchObject({ status: 500, log: 'error' });
    expect(p.body.detail).not.toContain('secret');
    expect(toProblem('a thrown string', ctx).status).toBe(500);
    expect(toProblem(new HttpException('server side', 500), ctx).body.type).toBe('urn:orch:problem:internal');
  });

  it('asks for downstream failures to be logged as warnings', () => {
    expect(toProblem(new ServiceUnavailableError('x.Y'), ctx).log).toBe('warn');
    expect(toProblem(new RemoteDomainError('conflict', 'c'), ctx).log).toBe('none');
  });
});
