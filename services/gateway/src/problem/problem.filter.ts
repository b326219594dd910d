import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem';

/** Sends every error as application/problem+json, through {@link toProblem}. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendProblem(err, req, reply, this.logger);
  }
}

export function sendProblem(err: unknown, req: FastifyRequest, reply: FastifyReply, logger: Logger): void {
  const problem = toProblem(err, { correlationId: req.id, instance: req.url.split('?')[0] ?? req.url });
  if (problem.log === 'error') {
    logger.error({ err, method: req.method, url: req.url }, 'request failed unexpectedly');
  } else if (problem.log === 'warn') {
    logger.warn(
      { err: err instanceof Error ? err.message : String(err), status: problem.status },
      'request failed downstream',
    );
  }
  if (reply.sent || reply.raw.headersSent) {
    // Streaming responses (SSE) cannot change their status any more; just end them.
    reply.raw.end();
    return;
  }
  void reply.code(problem.status).headers(problem.headers).type(PROBLEM_CONTENT_TYPE).send(problem.body);
}
