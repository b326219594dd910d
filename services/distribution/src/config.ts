import { baseServiceConfig, identifier, logLevel, opsPortFields, parseConfig } from '@orch/service-kit';
import { z } from 'zod';

const ms = (max: number) => z.coerce.number().int().min(0).max(max);

const schema = z.object({
  ...baseServiceConfig,
  /** This service's own schema: relay checkpoint, consumer inbox. */
  DISTRIBUTION_SCHEMA: identifier.default('distribution'),
  /** Most tasks one workflow may hold. */
  DISTRIBUTION_MAX_TASKS: z.coerce.number().int().min(1).max(100_000).default(10_000),
  /** Ready tasks being offered to coordination at once. */
  DISPATCH_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(32),
  /** How often tasks no agent could take are offered again when no capacity event came. */
  DISPATCH_RETRY_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  /** Timeout of a task whose spec gives none. */
  TASK_DEFAULT_TIMEOUT_MS: ms(2 ** 31 - 1).default(300_000),
  /** Failed attempts before a task whose spec gives none is dead-lettered. */
  TASK_DEFAULT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1_000).default(3),
  /** Backoff before the first retry; it doubles with each failed attempt (equal jitter). */
  RETRY_BASE_MS: ms(86_400_000).default(1_000),
  /** Longest backoff before a retry. */
  RETRY_MAX_MS: ms(86_400_000).default(60_000),
  ...opsPortFields('DISTRIBUTION', 9102),
  LOG_LEVEL: logLevel,
});

export type DistributionConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DistributionConfig {
  return parseConfig(schema, env, 'distribution');
}
