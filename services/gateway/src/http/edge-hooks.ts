import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import { runWithCorrelation, type ServiceMetrics } from '@orch/observability';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { bearerToken } from '../keys/api-key';
import type { KeysService } from '../keys/keys.service';
import { DependencyUnavailableError } from '../problem/errors';
import { CORRELATION_HEADER } from './correlation';

const tracer = trace.getTracer('@orch/gateway');

declare module 'fastify' {
  interface FastifyRequest {
    /** The server span of the request. */
    span?: Span;
  }
}

/** Health and metrics: no authentication, no rate limit, quiet logs. */
export const isOpsPath = (url: string): boolean =>
  url.startsWith('/health/') || url.split('?')[0] === '/metrics';

/** The route template (`/api/agents/:id`), never the raw URL: ids in labels would explode cardinality. */
const routeOf = (req: FastifyRequest): string => req.routeOptions.url ?? 'unmatched';

/**
 * Per-request plumbing that must run before NestJS sees the request:
 * 1. echo the correlation id (already the request id) and open the server span, continuing the
 *    caller's W3C trace context; the rest of the request runs inside that span's context and the
 *    correlation id's async context, so logs and outgoing commands carry both;
 * 2. resolve the Bearer key to a principal (authorization happens later, per route, in AccessGuard);
 * 3. close the span and record the request duration when the response is done.
 */
export function installEdgeHooks(
  app: FastifyInstance,
  deps: { keys: KeysService; metrics: ServiceMetrics; logger: Logger },
): void {
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header(CORRELATION_HEADER, req.id);
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const route = routeOf(req);
    const span = tracer.startSpan(
      `${req.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'http.route': route,
          'url.path': req.url.split('?')[0] ?? req.url,
          'orch.correlation_id': req.id,
        },
      },
      parent,
    );
    req.span = span;
    context.with(trace.setSpan(parent, span), () => runWithCorrelation(req.id, done));
  });

  app.addHook('onRequest', async (req) => {
    if (isOpsPath(req.url)) return;
    const header = req.headers.authorization;
    if (header === undefined) return;
    const token = bearerToken(header);
    if (!token) {
      req.authFailure = 'invalid_token';
      return;
    }
    let principal;
    try {
      principal = await deps.keys.authenticate(token);
    } catch (cause) {
      throw new DependencyUnavailableError('the API key store', { cause });
    }
    if (principal) {
      req.principal = principal;
      req.span?.setAttribute('orch.principal.id', principal.id);
    } else {
      req.authFailure = 'invalid_token';
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    finishSpan(req, status);
    deps.metrics.httpRequestDuration.observe(
      { method: req.method, route: routeOf(req), status: String(status) },
      reply.elapsedTime / 1000,
    );
    if (!isOpsPath(req.url)) {
      deps.logger.info(
        { method: req.method, url: req.url, status, durationMs: Math.round(reply.elapsedTime * 10) / 10 },
        'request completed',
      );
    }
  });

  app.addHook('onRequestAbort', async (req) => {
    finishSpan(req, 499);
  });
}

/** Ends the server span of the request (once); streaming routes call it when the stream closes. */
export function finishSpan(req: FastifyRequest, status: number): void {
  const span = req.span;
  if (!span || !span.isRecording()) return;
  span.setAttribute('http.response.status_code', status);
  // 4xx are the client's business, not a server fault (OTel HTTP semantic conventions).
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  req.span = undefined;
}
