import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import type { RateLimits } from '../config';
import { RateLimitedError } from '../problem/errors';
import { isOpsPath } from './edge-hooks';

export { rateLimit };

/**
 * Per-key rate limiting: the bucket is the API key id (so one noisy agent cannot starve the
 * others behind the same address), or the client address when no valid key was presented.
 * Limits are per role. Counters live in this process: with N replicas a client may get up to N
 * times the limit - acceptable for fairness and abuse protection; a shared store (Redis) would
 * make it exact.
 */
export function rateLimitOptions(limits: RateLimits): RateLimitPluginOptions {
  return {
    global: true,
    hook: 'onRequest',
    timeWindow: limits.windowMs,
    keyGenerator: (req: FastifyRequest) => (req.principal ? `key:${req.principal.id}` : `ip:${req.ip}`),
    max: (req: FastifyRequest) => (req.principal ? limits.perRole[req.principal.role] : limits.anonymous),
    allowList: (req: FastifyRequest) => isOpsPath(req.url),
    errorResponseBuilder: (_req, ctx) =>
      new RateLimitedError(ctx.max, Math.max(1, Math.ceil(ctx.ttl / 1000))),
  };
}
