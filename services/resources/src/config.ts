import { baseServiceConfig, identifier, logLevel, opsPortFields, parseConfig } from '@orch/service-kit';
import { z } from 'zod';

const schema = z.object({
  ...baseServiceConfig,
  /** This service's own schema: relay checkpoint, consumer inbox. */
  RESOURCES_SCHEMA: identifier.default('resources'),
  /** Waiting time that raises a waiter's priority by one step, so nothing starves. */
  ALLOCATOR_AGING_STEP_MS: z.coerce.number().int().min(1).max(86_400_000).default(30_000),
  /** Longest pause between two looks at the waiters when no pool or clock edge is due. */
  ALLOCATOR_TICK_MAX_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  ...opsPortFields('RESOURCES', 9103),
  LOG_LEVEL: logLevel,
});

export type ResourcesConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ResourcesConfig {
  return parseConfig(schema, env, 'resources');
}
