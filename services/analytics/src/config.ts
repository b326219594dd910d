import { baseServiceConfig, identifier, logLevel, opsPortFields, parseConfig } from '@orch/service-kit';
import { z } from 'zod';

const schema = z.object({
  ...baseServiceConfig,
  /** This service's own schema: the projection checkpoint. */
  ANALYTICS_SCHEMA: identifier.default('analytics'),
  /** Events applied after which the projection is checkpointed (or the interval, whichever first). */
  ANALYTICS_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(10_000_000).default(5_000),
  /** Longest time applied events stay without a checkpoint. */
  ANALYTICS_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(10).max(86_400_000).default(5_000),
  /** The resources service's aging step, so verify decides allocator commands as it did. */
  ALLOCATOR_AGING_STEP_MS: z.coerce.number().int().min(1).max(86_400_000).default(30_000),
  ...opsPortFields('ANALYTICS', 9105),
  LOG_LEVEL: logLevel,
});

export type AnalyticsConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AnalyticsConfig {
  return parseConfig(schema, env, 'analytics');
}
