import { z } from 'zod';

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/);

const schema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/orchestrator'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** Prefix for subjects and streams; lets several installations share a NATS server. */
  ORCH_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .default(''),
  /** Schema of the shared event store. */
  EVENTSTORE_SCHEMA: identifier.default('eventstore'),
  /** This service's own schema: the projection checkpoint. */
  ANALYTICS_SCHEMA: identifier.default('analytics'),
  /** Events applied after which the projection is checkpointed (or the interval, whichever first). */
  ANALYTICS_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(10_000_000).default(5_000),
  /** Longest time applied events stay without a checkpoint. */
  ANALYTICS_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(10).max(86_400_000).default(5_000),
  /** The resources service's aging step, so verify decides allocator commands as it did. */
  ALLOCATOR_AGING_STEP_MS: z.coerce.number().int().min(1).max(86_400_000).default(30_000),
  /** Port of the health and metrics endpoints. 0 picks a free port. */
  ANALYTICS_OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9105),
  ANALYTICS_OPS_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type AnalyticsConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AnalyticsConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid analytics configuration: ${problems}`);
  }
  return parsed.data;
}
