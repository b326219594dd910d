import { z } from 'zod';

const schema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/orchestrator'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** Prefix for subjects and streams; lets several installations share a NATS server. */
  ORCH_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .default(''),
  /** Schema of the shared event store. */
  EVENTSTORE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('eventstore'),
  /** This service's own schema: read models, relay checkpoint, consumer inbox. */
  COORDINATION_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('coordination'),
  /** Port of the health and metrics endpoints. 0 picks a free port. */
  COORDINATION_OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9101),
  COORDINATION_OPS_HOST: z.string().default('0.0.0.0'),
  /** An agent not heard from for this long becomes unhealthy and its slots are released. */
  AGENT_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  /** How often every replica looks for agents that missed their heartbeats. */
  AGENT_LIVENESS_INTERVAL_MS: z.coerce.number().int().min(10).default(1_000),
  /** Longest long-poll of ListMessages. */
  MESSAGES_MAX_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type CoordinationConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CoordinationConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid coordination configuration: ${problems}`);
  }
  return parsed.data;
}
