import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const CORRELATION_HEADER = 'x-correlation-id';

// Generous enough for UUIDs, ULIDs and W3C-ish ids; strict enough to keep logs and headers clean.
const VALID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The request's correlation id: the client's X-Correlation-Id when it is a sane token, else a
 * new UUID. Used as Fastify's request id, so `req.id` is the correlation id everywhere.
 */
export function correlationIdFor(req: IncomingMessage): string {
  const header = req.headers[CORRELATION_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && VALID.test(value) ? value : randomUUID();
}
