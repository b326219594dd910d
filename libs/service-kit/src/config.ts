import { z } from 'zod';

/** A PostgreSQL schema name: lower-case letters, digits and underscores, not starting with a digit. */
export const identifier = z.string().regex(/^[a-z_][a-z0-9_]*$/);

/**
 * The settings every service backed by the event store reads, in this order. Spread them first
 * into the service's `z.object`, then its own schema and settings, `opsPortFields` and `logLevel`.
 */
export const baseServiceConfig = {
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/orchestrator'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  /** Prefix for subjects and streams; lets several installations share a NATS server. */
  ORCH_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .default(''),
  /** Schema of the shared event store. */
  EVENTSTORE_SCHEMA: identifier.default('eventstore'),
};

/**
 * The `LOG_LEVEL` setting, kept apart from `baseServiceConfig` because services list it last and
 * zod reports invalid variables in the order of the schema's keys.
 */
export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

const opsPort = (defaultPort: number) => z.coerce.number().int().min(0).max(65535).default(defaultPort);
const opsHost = () => z.string().default('0.0.0.0');

/** The fields `opsPortFields(prefix, ...)` returns, named after `prefix`. */
export type OpsPortFields<P extends string> = {
  readonly [K in `${P}_OPS_PORT`]: ReturnType<typeof opsPort>;
} & {
  readonly [K in `${P}_OPS_HOST`]: ReturnType<typeof opsHost>;
};

/**
 * `<prefix>_OPS_PORT` (the port of the health and metrics endpoints, `defaultPort` unless set;
 * 0 picks a free port) and `<prefix>_OPS_HOST` (default `0.0.0.0`).
 */
export function opsPortFields<P extends string>(prefix: P, defaultPort: number): OpsPortFields<P> {
  return {
    [`${prefix}_OPS_PORT`]: opsPort(defaultPort),
    [`${prefix}_OPS_HOST`]: opsHost(),
  } as OpsPortFields<P>;
}

/**
 * Parses `env` with `schema`, failing with every invalid variable named:
 * `invalid <serviceName> configuration: PATH: message; PATH: message`.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: unknown, serviceName: string): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid ${serviceName} configuration: ${problems}`);
  }
  return parsed.data;
}
