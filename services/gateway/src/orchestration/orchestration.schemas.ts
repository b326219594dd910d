import { z } from 'zod';
import { ClaimsSchema } from '../resources/claims.schemas';
import { WorkflowTaskInputSchema } from '../workflows/workflows.schemas';

const text = (max: number) => z.string().trim().min(1).max(max);
const jsonObject = z.record(z.string(), z.unknown());

export const PATTERNS = ['solo', 'pair', 'hierarchical', 'swarm', 'auto'] as const;
export const STRATEGIES = ['round_robin', 'least_loaded', 'capability_match', 'weighted'] as const;
export const SESSION_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export const CONFLICT_POLICIES = ['queue', 'preempt', 'wait-die', 'wound-wait', 'manual'] as const;

/** A session task (API.md): the workflow task plus claims and `allowFailure`. */
export const SessionTaskInputSchema = WorkflowTaskInputSchema.extend({
  input: jsonObject.optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  claims: ClaimsSchema.optional().describe(
    'Pools and locks the task needs, granted all-or-nothing when it is assigned: {pool, amount, reservation?} or {lock, mode?}',
  ),
  allowFailure: z.boolean().optional(),
});
export type SessionTaskInput = z.output<typeof SessionTaskInputSchema>;

/** POST /api/orchestration/sessions. */
export const StartSessionBodySchema = z.strictObject({
  goal: text(4000),
  pattern: z.enum(PATTERNS).default('auto'),
  tasks: z.array(SessionTaskInputSchema).max(1000).optional(),
  agents: z.array(z.uuid()).max(1000).optional().describe("The session's pool; absent means the fleet"),
  budget: z.number().min(0).max(1e9).optional().describe('USD'),
  strategy: z.enum(STRATEGIES).optional(),
  maxRounds: z.number().int().min(1).max(20).optional(),
  conflictPolicy: z
    .enum(CONFLICT_POLICIES)
    .optional()
    .describe("Contention policy for the session's claims; absent keeps each pool's or lock namespace's"),
});
export type StartSessionBody = z.output<typeof StartSessionBodySchema>;

export const ListSessionsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(512).optional(),
  status: z.enum(SESSION_STATUSES).optional(),
});
export type ListSessionsQuery = z.output<typeof ListSessionsQuerySchema>;

export const CancelBodySchema = z
  .strictObject({ reason: z.string().trim().max(1000).optional() })
  .default({});

/** Who acts on a task: an agent key acts as its agent; admin and operator name the agent. */
const actingAgent = { agentId: z.uuid().optional() };

export const ProgressBodySchema = z.strictObject({
  ...actingAgent,
  percent: z.number().min(0).max(100).optional(),
  message: z.string().max(4000).optional(),
});
export const CompleteBodySchema = z.strictObject({
  ...actingAgent,
  output: jsonObject.optional(),
  usage: z
    .strictObject({
      inputTokens: z.number().int().min(0).max(1e12).default(0),
      outputTokens: z.number().int().min(0).max(1e12).default(0),
      costUsd: z.number().min(0).max(1e9).default(0),
    })
    .optional(),
});
export const FailBodySchema = z.strictObject({
  ...actingAgent,
  error: text(10_000),
  retryable: z.boolean().default(true),
});
export const HandoffBodySchema = z
  .strictObject({
    ...actingAgent,
    toCapabilities: z.array(text(100)).min(1).max(64).optional(),
    toAgentId: z.uuid().optional(),
    reason: text(2000),
  })
  .refine((b) => (b.toCapabilities === undefined) !== (b.toAgentId === undefined), {
    message: 'give exactly one of toCapabilities and toAgentId',
    path: ['toCapabilities'],
  });
export const SubtasksBodySchema = z.strictObject({
  ...actingAgent,
  tasks: z.array(SessionTaskInputSchema).min(1).max(1000),
});
export const ActingAgentBodySchema = z.strictObject(actingAgent).default({});

export const AssignmentQuerySchema = z.strictObject({
  waitMs: z.coerce.number().int().min(0).max(30_000).default(0),
});

export const SelectAgentBodySchema = z.strictObject({
  capabilities: z.array(text(100)).min(1).max(64),
  strategy: z.enum(STRATEGIES).optional(),
  provider: text(100).optional(),
  agents: z.array(z.uuid()).max(10_000).optional(),
  exclude: z.array(z.uuid()).max(10_000).optional(),
});

export const CommunicateBodySchema = z.strictObject({
  sessionId: z.uuid(),
  from: text(200).optional().describe('Defaults to the calling agent, or "user"'),
  to: z.uuid().optional().describe('An agent id; absent means broadcast'),
  body: z.unknown().refine((b) => b !== undefined, 'is required'),
});

export const MessagesQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  agentId: z.uuid().optional(),
  waitMs: z.coerce.number().int().min(0).max(30_000).default(0),
});

export const ContextKeyParam = z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'letters, digits and . _ : -');
export const PutContextBodySchema = z.strictObject({
  value: z.unknown().refine((v) => v !== undefined, 'is required'),
});

export const SuggestBodySchema = z.strictObject({
  goal: text(4000),
  tasks: z.array(SessionTaskInputSchema).max(1000).optional(),
});

export const AdaptBodySchema = z
  .strictObject({
    sessionId: z.uuid(),
    add: z.array(SessionTaskInputSchema).max(1000).optional(),
    remove: z.array(text(100)).max(1000).optional(),
    replace: z.array(SessionTaskInputSchema).max(1000).optional(),
  })
  .refine((b) => (b.add?.length ?? 0) + (b.remove?.length ?? 0) + (b.replace?.length ?? 0) > 0, {
    message: 'give at least one of add, remove and replace',
    path: ['add'],
  });

// ------------------------------------------------------------------ responses (OpenAPI)

const selection = z.object({
  strategy: z.string(),
  agentId: z.string(),
  candidates: z.array(z.object({ agentId: z.string(), score: z.number(), reasons: z.array(z.string()) })),
  eligible: z.number().int(),
  notes: z.array(z.string()),
});

export const TaskResponseSchema = z.object({
  taskId: z.string(),
  key: z.string(),
  sessionId: z.string(),
  type: z.string(),
  status: z.string(),
  waitingFor: z.string(),
  agentId: z.string(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  role: z.string(),
  input: jsonObject.optional(),
  output: jsonObject.optional(),
  error: z.string(),
  selection: selection.optional(),
});

export const SessionResponseSchema = z.object({
  id: z.string(),
  goal: z.string(),
  pattern: z.enum(PATTERNS),
  patternReason: z.string(),
  status: z.enum(SESSION_STATUSES),
  reason: z.string(),
  roles: z.record(z.string(), z.string()),
  tasks: z.array(TaskResponseSchema),
  counts: z.record(z.string(), z.number()),
});

export const SessionStartedResponseSchema = z.object({
  sessionId: z.uuid(),
  pattern: z.enum(PATTERNS),
  patternReason: z.string().optional(),
  roles: z.record(z.string(), z.string()),
});

export const TaskAckResponseSchema = z.object({
  taskId: z.string(),
  sessionId: z.string(),
  status: z.string(),
  addedTaskIds: z.array(z.string()),
});

export const AssignmentResponseSchema = z.object({
  taskId: z.string(),
  key: z.string(),
  sessionId: z.string(),
  type: z.string(),
  description: z.string(),
  input: jsonObject.optional(),
  attempt: z.number().int(),
  deadline: z.string(),
  capabilities: z.array(z.string()),
  role: z.enum(['work', 'review', 'plan', 'supervise']),
  reviewOf: z.string(),
  round: z.number().int(),
  goal: z.string(),
  pattern: z.string(),
});

export const SelectionResponseSchema = selection;

export const MessageResponseSchema = z.object({
  messageId: z.string(),
  sequence: z.number().int(),
  from: z.string(),
  to: z.string(),
  body: z.unknown(),
  postedAt: z.string(),
});

export const ContextResponseSchema = z.object({
  key: z.string(),
  value: z.unknown(),
  version: z.number().int(),
  updatedAt: z.string().optional(),
});
