import { z } from 'zod';

const schema = z.object({
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** Prefix for subjects and streams; lets several installations share a NATS server. */
  ORCH_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .default(''),
  /** Most tasks one workflow may hold. */
  DISTRIBUTION_MAX_TASKS: z.coerce.number().int().min(1).max(100_000).default(10_000),
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
