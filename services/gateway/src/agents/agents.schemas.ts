import { z } from 'zod';

const text = (max: number) => z.string().trim().min(1).max(max);

/** A capability with a proficiency between 0 and 1. */
export const CapabilityInputSchema = z.strictObject({
  name: text(100),
  level: z.number().min(0).max(1),
});

/** POST /api/agents (API.md). Capabilities as `[{name, level}]`, or `[name]` meaning level 1. */
export const RegisterAgentBodySchema = z
  .strictObject({
    name: text(200),
    provider: text(100),
    model: text(200),
    capabilities: z
      .array(z.union([CapabilityInputSchema, text(100)]))
      .min(1)
      .max(100),
    maxConcurrency: z.number().int().min(1).max(1000),
    costPer1kInputTokens: z.number().min(0).max(10_000).optional(),
    costPer1kOutputTokens: z.number().min(0).max(10_000).optional(),
    labels: z
      .record(z.string().min(1).max(63), z.string().max(256))
      .refine((l) => Object.keys(l).length <= 50, 'at most 50 labels')
      .optional(),
    type: text(100).optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.capabilities.forEach((c, i) => {
      const name = typeof c === 'string' ? c : c.name;
      if (seen.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['capabilities', i],
          message: `duplicate capability "${name}"`,
        });
      seen.add(name);
    });
  });
export type RegisterAgentBody = z.output<typeof RegisterAgentBodySchema>;

/** GET /api/agents query. */
export const ListAgentsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(512).optional(),
});
export type ListAgentsQuery = z.output<typeof ListAgentsQuerySchema>;

export const AgentIdParam = z.uuid();

// ------------------------------------------------------------------ responses (OpenAPI)

export const AgentRegisteredResponseSchema = z.object({
  id: z.uuid(),
  apiKey: z.string().describe('Agent-scoped API key; shown once'),
  apiKeyId: z.string(),
});

export const AgentResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  provider: z.string(),
  model: z.string(),
  status: z.enum(['idle', 'busy', 'unhealthy', 'draining', 'offline']),
  activeTasks: z.number().int(),
  capabilities: z.array(z.object({ name: z.string(), level: z.number() })),
  circuit: z.enum(['closed', 'open', 'half_open']),
  maxConcurrency: z.number().int(),
  costPer1kInputTokens: z.number(),
  costPer1kOutputTokens: z.number(),
  labels: z.record(z.string(), z.string()),
  type: z.string(),
  registeredAt: z.iso.datetime().nullable(),
});
export type AgentResponse = z.output<typeof AgentResponseSchema>;

export const AgentPageResponseSchema = z.object({
  items: z.array(AgentResponseSchema),
  nextCursor: z.string().nullable(),
});
export type AgentPageResponse = z.output<typeof AgentPageResponseSchema>;
