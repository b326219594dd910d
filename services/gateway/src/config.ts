import { z } from 'zod';

/** Roles of API keys (API.md): what each may do is decided per route. */
export const ROLES = ['admin', 'operator', 'agent', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Requests per rate-limit window, per API key (or per client IP when unauthenticated). */
export interface RateLimits {
  readonly windowMs: number;
  readonly perRole: Readonly<Record<Role, number>>;
  readonly anonymous: number;
}

/** Everything the gateway reads from its environment, validated once at start-up. */
export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  /** PostgreSQL schema holding the gateway's own tables (api_keys, idempotency_keys). */
  readonly dbSchema: string;
  readonly natsUrl: string;
  /** Messaging namespace (subject and stream prefix); '' for none. */
  readonly namespace: string;
  /** Bootstrap admin key, upserted at start; absent when keys already exist in the database. */
  readonly adminKey?: string;
  readonly bodyLimitBytes: number;
  readonly rateLimits: RateLimits;
  /** How long an API key lookup (hit or miss) is cached in memory; bounds revocation delay across replicas. */
  readonly keyCacheTtlMs: number;
  readonly idempotencyTtlMs: number;
  /** An in-progress idempotency record older than this is considered abandoned (crashed replica). */
  readonly idempotencyLeaseMs: number;
  readonly commandTimeoutMs: number;
  readonly sseHeartbeatMs: number;
  /** How often an SSE stream that asked for live metrics gets an `event: metrics` summary. */
  readonly analyticsSseIntervalMs: number;
  /**
   * Trust X-Forwarded-For from the load balancer in front, so per-address rate limits see the
   * client's address instead of the balancer's. Only enable behind a proxy that sets it.
   */
  readonly trustProxy: boolean;
  /** Serve the Swagger UI at /api/docs (the JSON document at /api/docs-json is always served). */
  readonly openApiUi: boolean;
  readonly logLevel: string;
  readonly logPretty: boolean;
}

/** Thrown by {@link loadConfig} with every invalid variable named, so a bad deployment fails at once and clearly. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'config';
  constructor(readonly problems: readonly string[]) {
    super(`invalid gateway configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `must be an integer between ${min} and ${max}`)
        .max(max, `must be an integer between ${min} and ${max}`),
    )
    .default(fallback);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(fallback);

const url = (protocols: readonly string[]) =>
  z
    .string({ message: 'is required' })
    .trim()
    .min(1, 'is required')
    .refine((v) => v.split(',').every((u) => protocols.some((p) => u.trim().startsWith(`${p}://`))), {
      message: `must be a ${protocols.join(' or ')} URL`,
    });

const envSchema = z.object({
  GATEWAY_PORT: int(0, 65535, 8080),
  GATEWAY_HOST: z.string().trim().min(1).default('0.0.0.0'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  GATEWAY_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL identifier')
    .default('gateway'),
  NATS_URL: url(['nats', 'tls', 'ws', 'wss']),
  ORCH_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'must be a single NATS subject token ([A-Za-z0-9_-])')
    .default(''),
  // The key is hashed with plain SHA-256 (docs/adr/0006): that is only sound for high-entropy keys.
  ORCH_ADMIN_KEY: z.string().min(32, 'must be at least 32 characters (use a random key)').optional(),
  GATEWAY_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024, 1024 * 1024),
  GATEWAY_RATE_LIMIT_WINDOW_MS: int(1000, 3_600_000, 60_000),
  GATEWAY_RATE_LIMIT_ADMIN: int(1, 10_000_000, 60_000),
  GATEWAY_RATE_LIMIT_OPERATOR: int(1, 10_000_000, 60_000),
  GATEWAY_RATE_LIMIT_AGENT: int(1, 10_000_000, 12_000),
  GATEWAY_RATE_LIMIT_VIEWER: int(1, 10_000_000, 30_000),
  GATEWAY_RATE_LIMIT_ANONYMOUS: int(1, 10_000_000, 600),
  GATEWAY_KEY_CACHE_TTL_MS: int(0, 600_000, 10_000),
  GATEWAY_IDEMPOTENCY_TTL_HOURS: int(1, 24 * 30, 24),
  GATEWAY_COMMAND_TIMEOUT_MS: int(100, 120_000, 5_000),
  GATEWAY_SSE_HEARTBEAT_MS: int(100, 300_000, 15_000),
  ANALYTICS_SSE_INTERVAL_MS: int(100, 3_600_000, 5_000),
  GATEWAY_TRUST_PROXY: bool(false),
  GATEWAY_OPENAPI_UI: bool(true),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_PRETTY: bool(false),
});

/**
 * Reads and validates the gateway's environment. Throws {@link ConfigError} listing every
 * invalid or missing variable (not just the first).
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  // An empty variable means "not set", as in most deployment tools.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  const commandTimeoutMs = e.GATEWAY_COMMAND_TIMEOUT_MS;
  return {
    port: e.GATEWAY_PORT,
    host: e.GATEWAY_HOST,
    databaseUrl: e.DATABASE_URL,
    dbSchema: e.GATEWAY_DB_SCHEMA,
    natsUrl: e.NATS_URL,
    namespace: e.ORCH_NAMESPACE,
    ...(e.ORCH_ADMIN_KEY ? { adminKey: e.ORCH_ADMIN_KEY } : {}),
    bodyLimitBytes: e.GATEWAY_BODY_LIMIT_BYTES,
    rateLimits: {
      windowMs: e.GATEWAY_RATE_LIMIT_WINDOW_MS,
      perRole: {
        admin: e.GATEWAY_RATE_LIMIT_ADMIN,
        operator: e.GATEWAY_RATE_LIMIT_OPERATOR,
        agent: e.GATEWAY_RATE_LIMIT_AGENT,
        viewer: e.GATEWAY_RATE_LIMIT_VIEWER,
      },
      anonymous: e.GATEWAY_RATE_LIMIT_ANONYMOUS,
    },
    keyCacheTtlMs: e.GATEWAY_KEY_CACHE_TTL_MS,
    idempotencyTtlMs: e.GATEWAY_IDEMPOTENCY_TTL_HOURS * 3_600_000,
    // Longer than any request can take (command timeout plus margin), so a live request never loses its lease.
    idempotencyLeaseMs: commandTimeoutMs * 2 + 30_000,
    commandTimeoutMs,
    sseHeartbeatMs: e.GATEWAY_SSE_HEARTBEAT_MS,
    analyticsSseIntervalMs: e.ANALYTICS_SSE_INTERVAL_MS,
    trustProxy: e.GATEWAY_TRUST_PROXY,
    openApiUi: e.GATEWAY_OPENAPI_UI,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY,
  };
}
