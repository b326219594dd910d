import { z } from 'zod';

const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/);
const ms = (max: number) => z.coerce.number().int().min(0).max(max);

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
  /** Port of the health and metrics endpoints. 0 picks a free port. */
  DISTRIBUTION_OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9102),
  DISTRIBUTION_OPS_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type DistributionConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DistributionConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid distribution configuration: ${problems}`);
  }
  return parsed.data;
}
