import { baseServiceConfig, identifier, logLevel, opsPortFields, parseConfig } from '@orch/service-kit';
import { z } from 'zod';

const schema = z.object({
  ...baseServiceConfig,
  /** This service's own schema (messaging tables; the service appends and consumes nothing today). */
  CONFLICTS_SCHEMA: identifier.default('conflicts'),
  /**
   * Resolved conflicts kept in memory, the most recently resolved ones; older ones are dropped
   * from the book (they remain in the event store). Open conflicts are always kept.
   */
  CONFLICTS_KEEP_RESOLVED: z.coerce.number().int().min(0).max(10_000_000).default(10_000),
  ...opsPortFields('CONFLICTS', 9104),
  LOG_LEVEL: logLevel,
});

export type ConflictsConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConflictsConfig {
  return parseConfig(schema, env, 'conflicts');
}
