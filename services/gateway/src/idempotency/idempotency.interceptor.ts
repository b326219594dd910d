import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { ValidationError } from '@orch/domain-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { catchError, from, mergeMap, of, throwError, type Observable } from 'rxjs';
import { IdempotencyInProgressError, IdempotencyKeyReusedError } from '../problem/errors';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../problem/problem';
import { LOGGER } from '../tokens';
import { IdempotencyRepository, type IdempotencyScope } from './idempotency.repository';
import { isValidIdempotencyKey, requestHash } from './request-hash';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotency-Replayed';

/**
 * `Idempotency-Key` on POST requests. The first request with a key claims it (in progress) and
 * stores its response when done; a retry of the same request replays that response with
 * `Idempotency-Replayed: true`; the same key with a different request is a 422; a retry while
 * the first is still running is a 409. A 5xx is not stored - the key is released so the client
 * can retry. Client errors (4xx) are stored and replayed like successes: they would recur.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    @Inject(IdempotencyRepository) private readonly repo: IdempotencyRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const header = req.headers[IDEMPOTENCY_HEADER];
    if (req.method !== 'POST' || header === undefined || !req.principal) return next.handle();
    const key = Array.isArray(header) ? (header[0] ?? '') : header;
    if (!isValidIdempotencyKey(key)) {
      return throwError(
        () =>
          new ValidationError('the Idempotency-Key header is invalid', [
            { path: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' },
          ]),
      );
    }
    const scope: IdempotencyScope = { principalId: req.principal.id, key };
    const hash = requestHash(req.method, req.url, req.body);

    return from(this.repo.claim(scope, req.method, req.url, hash)).pipe(
      mergeMap((claim) => {
        switch (claim.kind) {
          case 'mismatch':
            return throwError(() => new IdempotencyKeyReusedError(key));
          case 'in_progress':
            return throwError(() => new IdempotencyInProgressError(key));
          case 'replay':
            void reply
              .code(claim.response.status)
              .header(REPLAYED_HEADER, 'true')
              .type(claim.response.contentType);
            return of(claim.response.body);
          case 'claimed':
            return next.handle().pipe(
              mergeMap((body) =>
                from(this.succeeded(scope, reply.statusCode, body)).pipe(mergeMap(() => of(body))),
              ),
              catchError((err: unknown) =>
                from(this.failed(scope, err, req)).pipe(mergeMap(() => throwError(() => err))),
              ),
            );
        }
      }),
    );
  }

  private async succeeded(scope: IdempotencyScope, status: number, body: unknown): Promise<void> {
    try {
      await this.repo.complete(scope, { status, contentType: 'application/json', body });
    } catch (err) {
      // The client still gets its response; without a stored one a retry runs the request again.
      this.logger.error({ err, key: scope.key }, 'could not store the idempotent response');
      await this.repo.release(scope).catch(() => undefined);
    }
  }

  private async failed(scope: IdempotencyScope, err: unknown, req: FastifyRequest): Promise<void> {
    const problem = toProblem(err, { correlationId: req.id, instance: req.url.split('?')[0] ?? req.url });
    try {
      if (problem.status >= 500) await this.repo.release(scope);
      else
        await this.repo.complete(scope, {
          status: problem.status,
          contentType: PROBLEM_CONTENT_TYPE,
          body: problem.body,
        });
    } catch (storeErr) {
      this.logger.error({ err: storeErr, key: scope.key }, 'could not settle the idempotency key');
      await this.repo.release(scope).catch(() => undefined);
    }
  }
}
