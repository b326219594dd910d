import { CONFLICT_POLICIES } from '@orch/conflicts';
import { z } from 'zod';
import { documentedAs } from '../openapi/openapi';
import { ClaimsSchema, LOCK_MODES } from './claims.schemas';
import { DURATION_FORMAT, parseDuration } from './duration';

export const POOL_KINDS = ['rate', 'concurrency', 'quantity', 'budget'] as const;
export const SCOPE_KINDS = ['global', 'provider', 'session', 'label'] as const;
export const RESOLVE_STRATEGIES = ['queue', 'preempt', 'abort', 'grant'] as const;
export const CONFLICT_STATUSES = ['open', 'resolved'] as const;
const POLICIES = CONFLICT_POLICIES as readonly [string, ...string[]];

/** Shortest rate window the allocator accepts, and the longest window of any pool (a year). */
export const MIN_RATE_WINDOW_MS = 1_000;
export const MAX_WINDOW_MS = 366 * 86_400_000;
/** Largest capacity or amount taken, to keep arithmetic exact well within a double. */
const MAX_AMOUNT = 1e12;

const amount = () => z.number().positive().max(MAX_AMOUNT);

/** A pool id: lower-case letters, digits and `_ . : -`, starting with a letter or digit. */
export const PoolIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.:-]{0,127}$/,
    'must be 1-128 characters: lower-case letters, digits and _ . : - (starting with a letter or digit)',
  );

/** A lock namespace (the text before the first ':' of a lock name). */
export const NamespaceSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,100}$/, "must be 1-100 letters, digits, '_', '.' or '-'");

/** A reservation id, chosen by the client or generated. */
const ReservationIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
    'must be 1-128 characters: letters, digits and _ . : - (starting with a letter or digit)',
  );

/** A conflict id as the conflicts service issues them. */
export const ConflictIdSchema = z.string().regex(/^[A-Za-z0-9_.:#-]{1,200}$/, 'is not a conflict id');

// ------------------------------------------------------------------ scope and window

/** Which tasks a pool applies to. */
export interface PoolScopeInput {
  readonly kind: (typeof SCOPE_KINDS)[number];
  readonly value: string;
}

/** What is wrong with the `value` of a scope of `kind`, or undefined when it fits the kind. */
function scopeValueProblem(kind: PoolScopeInput['kind'], value: string): string | undefined {
  if (kind === 'global' && value !== '') return 'must be empty for a global scope';
  if ((kind === 'provider' || kind === 'session') && value.trim() === '') return `must name the ${kind}`;
  if (kind === 'label' && !/^[^=\s]+=.*$/.test(value)) return 'must be a label written key=value';
  return undefined;
}

/**
 * A scope written as a string: `global`, `provider:<name>`, `session:<id>` or `label:<key>=<value>`.
 * Undefined when it is none of these.
 */
export function parseScope(text: string): PoolScopeInput | undefined {
  const s = text.trim();
  if (s === 'global') return { kind: 'global', value: '' };
  const colon = s.indexOf(':');
  if (colon < 0) return undefined;
  const kind = SCOPE_KINDS.find((k) => k === s.slice(0, colon));
  if (!kind || kind === 'global') return undefined;
  const value = s.slice(colon + 1).trim();
  return scopeValueProblem(kind, value) ? undefined : { kind, value };
}

const SCOPE_FORMAT = '"global", "provider:<name>", "session:<id>" or "label:<key>=<value>"';

const ScopeObjectSchema = z
  .strictObject({
    kind: z.enum(SCOPE_KINDS),
    value: z.string().trim().max(200).default(''),
  })
  .superRefine((s, ctx) => {
    const problem = scopeValueProblem(s.kind, s.value);
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
  });

/** `{kind, value}` or the string form (see {@link parseScope}); errors at `scope`, `scope.kind` or `scope.value`. */
export const ScopeSchema = documentedAs(
  z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    const scope = parseScope(v);
    if (!scope)
      ctx.addIssue({ code: 'custom', input: v, message: `"${v}" is not a scope; write ${SCOPE_FORMAT}` });
    return scope ?? v;
  }, ScopeObjectSchema),
  z.union([z.string().max(220).describe(`A scope as a string: ${SCOPE_FORMAT}`), ScopeObjectSchema]),
);

/** A window in milliseconds, from a number of ms or a duration string (see parseDuration). */
export const WindowSchema = z
  .union([
    z.number().describe('Milliseconds'),
    z.string().max(40).describe('A duration such as "30s", "1m", "1h30m", "1d"'),
  ])
  .transform((v, ctx): number => {
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a duration; write ${DURATION_FORMAT}` });
      return z.NEVER;
    }
    if (!Number.isInteger(ms) || ms < MIN_RATE_WINDOW_MS || ms > MAX_WINDOW_MS) {
      ctx.addIssue({
        code: 'custom',
        message: `must be from 1s (${MIN_RATE_WINDOW_MS} ms) to 366d, in whole milliseconds`,
      });
      return z.NEVER;
    }
    return ms;
  });

// ------------------------------------------------------------------ requests

/** POST /api/resources/pools. */
export const DefinePoolBodySchema = z
  .strictObject({
    id: PoolIdSchema,
    kind: z.enum(POOL_KINDS),
    capacity: amount().describe(
      'rate: requests (or tokens) per window; concurrency/quantity: units held at once; budget: money per period',
    ),
    unit: z.string().trim().max(32).optional().describe('Defaults: requests, slots, units, usd'),
    window: WindowSchema.optional().describe(
      `rate (required) and budget (the period; absent = never resets): ${DURATION_FORMAT}`,
    ),
    burst: amount().optional().describe('rate only: tokens available at once (default: capacity)'),
    scope: ScopeSchema.optional().describe(
      `Which tasks claim it by default: {kind, value} or ${SCOPE_FORMAT}`,
    ),
    softLimit: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('budget only: warn at this fraction (default 0.8)'),
    policy: z.enum(POLICIES).optional().describe('Contention policy (default queue)'),
    defaultAmount: z
      .number()
      .min(0)
      .max(MAX_AMOUNT)
      .optional()
      .describe(
        'The claim a task in scope gets without declaring one (default 1 for rate and concurrency, else 0)',
      ),
  })
  .superRefine((b, ctx) => {
    if (b.kind === 'rate' && b.window === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['window'],
        message: `a rate pool needs its window (${DURATION_FORMAT})`,
      });
    if ((b.kind === 'concurrency' || b.kind === 'quantity') && b.window !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['window'],
        message: `applies to rate and budget pools only, not ${b.kind}`,
      });
    if (b.burst !== undefined && b.kind !== 'rate')
      ctx.addIssue({ code: 'custom', path: ['burst'], message: 'applies to rate pools only' });
    if (b.softLimit !== undefined && b.kind !== 'budget')
      ctx.addIssue({ code: 'custom', path: ['softLimit'], message: 'applies to budget pools only' });
  });
export type DefinePoolBody = z.output<typeof DefinePoolBodySchema>;

/** PATCH /api/resources/pools/{id}. */
export const UpdatePoolBodySchema = z
  .strictObject({
    capacity: amount().optional(),
    softLimit: z.number().min(0).max(1).optional(),
    policy: z.enum(POLICIES).optional(),
    burst: amount().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), {
    message: 'give at least one of capacity, softLimit, policy and burst',
  });
export type UpdatePoolBody = z.output<typeof UpdatePoolBodySchema>;

/** PUT /api/resources/policies/{namespace}. */
export const SetPolicyBodySchema = z.strictObject({ policy: z.enum(POLICIES) });

/** POST /api/resources/reservations: `from` and `to` are RFC 3339 instants, `to` after `from`. */
export const ReserveBodySchema = z
  .strictObject({
    pool: PoolIdSchema,
    amount: amount(),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    taskId: z.uuid().optional().describe('Only this task uses it; absent: claims naming the reservation do'),
    id: ReservationIdSchema.optional().describe('Chosen by the client, else generated'),
  })
  .superRefine((b, ctx) => {
    if (Date.parse(b.to) <= Date.parse(b.from))
      ctx.addIssue({ code: 'custom', path: ['to'], message: `must be after from (${b.from})` });
  });
export type ReserveBody = z.output<typeof ReserveBodySchema>;

export const ReservationsQuerySchema = z.strictObject({ pool: PoolIdSchema.optional() });

/** POST /api/resources/allocate: more claims for a task attempt (hold-and-wait when incremental). */
export const AllocateBodySchema = z.strictObject({
  taskId: z.uuid(),
  attempt: z.number().int().min(1).max(1_000).optional().describe("Default: the task's current attempt"),
  claims: ClaimsSchema.min(1),
  incremental: z
    .boolean()
    .default(true)
    .describe('Add to what the attempt already holds (default); false asks for these claims all-or-nothing'),
  priority: z.number().int().min(-1_000).max(1_000).optional().describe("Default: the task's priority"),
  sessionId: z.uuid().optional().describe("Default: the task's session"),
});
export type AllocateBody = z.output<typeof AllocateBodySchema>;

export const AllocationQuerySchema = z.strictObject({
  sessionId: z.uuid().optional(),
  taskId: z.uuid().optional(),
});
export type AllocationQuery = z.output<typeof AllocationQuerySchema>;

export const MonitoringQuerySchema = z.strictObject({
  horizonHours: z.coerce.number().positive().max(720).optional().describe('Default 1'),
});

export const ConflictsQuerySchema = z.strictObject({
  status: z.enum(CONFLICT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(512).optional(),
});
export type ConflictsQuery = z.output<typeof ConflictsQuerySchema>;

export const ResolveConflictBodySchema = z
  .strictObject({
    strategy: z.enum(RESOLVE_STRATEGIES),
    winner: z.uuid().optional().describe('grant: the task id of the party that wins'),
  })
  .superRefine((b, ctx) => {
    if (b.strategy === 'grant' && b.winner === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['winner'],
        message: 'is required to grant: the task id of the party that wins',
      });
    if (b.strategy !== 'grant' && b.winner !== undefined)
      ctx.addIssue({ code: 'custom', path: ['winner'], message: 'applies to the grant strategy only' });
  });
export type ResolveConflictBody = z.output<typeof ResolveConflictBodySchema>;

// ------------------------------------------------------------------ responses (OpenAPI)

const timestamp = z.string().nullable().describe('RFC 3339; null when not set');

const ScopeResponseSchema = z.object({ kind: z.enum(SCOPE_KINDS), value: z.string() });

export const PoolResponseSchema = z.object({
  id: z.string(),
  kind: z.enum(POOL_KINDS),
  capacity: z.number(),
  unit: z.string(),
  window: z.number().describe('Milliseconds (rate window, budget period); 0 when none'),
  burst: z.number(),
  scope: ScopeResponseSchema,
  softLimit: z.number(),
  policy: z.string(),
  defaultAmount: z.number(),
  used: z.number(),
  available: z.number(),
  utilization: z.number(),
  reserved: z.number(),
  waiting: z.number().int(),
  waitingDemand: z.number(),
  holders: z.number().int(),
  spent: z.number(),
  held: z.number(),
  periodStart: timestamp,
  tokens: z.number(),
});
export type PoolResponse = z.output<typeof PoolResponseSchema>;

export const PoolListResponseSchema = z.object({ items: z.array(PoolResponseSchema), nextCursor: z.null() });

export const ReservationResponseSchema = z.object({
  id: z.string(),
  pool: z.string(),
  amount: z.number(),
  from: timestamp,
  to: timestamp,
  taskId: z.string(),
  status: z.enum(['pending', 'active', 'ended']),
  used: z.number(),
});
export type ReservationResponse = z.output<typeof ReservationResponseSchema>;

export const ReservationListResponseSchema = z.object({
  items: z.array(ReservationResponseSchema),
  nextCursor: z.null(),
});

const GrantResponseSchema = z.object({
  pool: z.string(),
  amount: z.number(),
  reservation: z.string().optional(),
});
const LockResponseSchema = z.object({ lock: z.string(), mode: z.enum(LOCK_MODES) });
const ClaimResponseSchema = z.union([
  z.object({ pool: z.string(), amount: z.number(), reservation: z.string().optional() }),
  LockResponseSchema,
]);
export type GrantResponse = z.output<typeof GrantResponseSchema>;
export type LockResponse = z.output<typeof LockResponseSchema>;
export type ClaimResponse = z.output<typeof ClaimResponseSchema>;

export const AllocationResultResponseSchema = z.object({
  status: z.enum(['granted', 'waiting', 'refused']),
  allocationId: z.string(),
  grants: z.array(GrantResponseSchema),
  locks: z.array(LockResponseSchema),
  waitingFor: z.enum(['resources', 'lock', 'budget']).optional(),
  reason: z.string().optional(),
  blockers: z.array(z.string()).describe('Tasks it waits for'),
  retryAt: z.string().optional(),
  conflictIds: z.array(z.string()),
});
export type AllocationResultResponse = z.output<typeof AllocationResultResponseSchema>;

export const AllocationResponseSchema = z.object({
  allocations: z.array(
    z.object({
      allocationId: z.string(),
      taskId: z.string(),
      attempt: z.number().int(),
      sessionId: z.string(),
      priority: z.number().int(),
      grants: z.array(GrantResponseSchema),
      locks: z.array(LockResponseSchema),
      since: timestamp,
      grantedAt: timestamp,
      preemptedBy: z.string(),
    }),
  ),
  waiters: z.array(
    z.object({
      allocationId: z.string(),
      taskId: z.string(),
      attempt: z.number().int(),
      sessionId: z.string(),
      priority: z.number().int(),
      claims: z.array(ClaimResponseSchema),
      waitingFor: z.string(),
      reason: z.string(),
      blockers: z.array(z.string()),
      retryAt: timestamp,
      since: timestamp,
      position: z.number().int(),
      conflictIds: z.array(z.string()),
      holding: z.boolean(),
    }),
  ),
});
export type AllocationResponse = z.output<typeof AllocationResponseSchema>;

export const MonitoringResponseSchema = z.object({
  at: timestamp,
  pools: z.array(PoolResponseSchema),
  demand: z.array(
    z.object({
      pool: z.string(),
      demand: z.number(),
      capacity: z.number(),
      horizonMs: z.number(),
      method: z.string(),
      samples: z.number().int(),
    }),
  ),
  actions: z.array(
    z.object({
      kind: z.enum(['raise_pool', 'add_agents', 'shift_work']),
      pool: z.string(),
      provider: z.string(),
      toProvider: z.string(),
      toPool: z.string(),
      capacity: z.number(),
      demand: z.number(),
      utilization: z.number(),
      suggestedCapacity: z.number(),
      headroom: z.number(),
      reason: z.string(),
    }),
  ),
});
export type MonitoringResponse = z.output<typeof MonitoringResponseSchema>;

export const PolicyResponseSchema = z.object({ namespace: z.string(), policy: z.string() });

export const ConflictResponseSchema = z.object({
  id: z.string(),
  kind: z.enum(['lock', 'pool']),
  resource: z.string().describe('The pool id or the lock name contended for'),
  allocationId: z.string().describe('The waiting allocation (taskId#attempt)'),
  parties: z.array(
    z.object({
      taskId: z.string(),
      attempt: z.number().int(),
      priority: z.number().int(),
      role: z.enum(['waiter', 'holder']),
    }),
  ),
  policy: z.string(),
  status: z.enum(CONFLICT_STATUSES),
  resolution: z.string(),
  winner: z.string(),
  strategy: z.string(),
  reason: z.string(),
  since: timestamp,
  detectedAt: timestamp,
  resolvedAt: timestamp,
});
export type ConflictResponse = z.output<typeof ConflictResponseSchema>;

export const ConflictPageResponseSchema = z.object({
  items: z.array(ConflictResponseSchema),
  nextCursor: z.string().nullable(),
});
