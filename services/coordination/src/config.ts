import { baseServiceConfig, identifier, logLevel, opsPortFields, parseConfig } from '@orch/service-kit';
import { z } from 'zod';

const schema = z.object({
  ...baseServiceConfig,
  /** This service's own schema: read models, relay checkpoint, consumer inbox. */
  COORDINATION_SCHEMA: identifier.default('coordination'),
  ...opsPortFields('COORDINATION', 9101),
  /** An agent not heard from for this long becomes unhealthy and its slots are released. */
  AGENT_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  /** How often every replica looks for agents that missed their heartbeats. */
  AGENT_LIVENESS_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
  /** Longest long-poll of ListMessages. */
  MESSAGES_MAX_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  LOG_LEVEL: logLevel,
});

export type CoordinationConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CoordinationConfig {
  return parseConfig(schema, env, 'coordination');
}
