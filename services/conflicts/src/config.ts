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
  /** This service's own schema (messaging tables; the service appends and consumes nothing today). */
  CONFLICTS_SCHEMA: identifier.default('conflicts'),
  /**
   * Resolved conflicts kept in memory, the most recently resolved ones; older ones are dropped
   * from the book (they remain in the event store). Open conflicts are always kept.
   */
  CONFLICTS_KEEP_RESOLVED: z.coerce.number().int().min(0).max(10_000_000).default(10_000),
  /** Port of the health and metrics endpoints. 0 picks a free port. */
  CONFLICTS_OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9104),
  CONFLICTS_OPS_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ConflictsConfig = z.infer<typeof schema>;

/** Reads the configuration from `env`, failing with every invalid variable named. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConflictsConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid conflicts configuration: ${problems}`);
  }
  return parsed.data;
}
