import { z } from 'zod';

const id = z.string().trim().min(1).max(200);

/** A task as a workflow declares it (API.md "Sessions and tasks"); fields for sessions are accepted too. */
export const WorkflowTaskInputSchema = z.strictObject({
  id,
  type: z.string().trim().min(1).max(100),
  description: z.string().max(10_000).optional(),
  input: z.unknown().optional(),
  capabilities: z.array(z.string().trim().min(1).max(100)).max(64).optional(),
  dependsOn: z.array(id).max(1_000).optional(),
  priority: z.number().int().min(-1_000).max(1_000).optional(),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3_600_000)
    .optional(),
  maxAttempts: z.number().int().min(1).max(100).optional(),
  estimatedDurationMs: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3_600_000)
    .optional(),
});

/** POST /api/workflows/analyze. The size limit is enforced by distribution (configurable). */
export const AnalyzeWorkflowBodySchema = z.strictObject({
  tasks: z.array(WorkflowTaskInputSchema).max(100_000),
});
export type AnalyzeWorkflowBody = z.output<typeof AnalyzeWorkflowBodySchema>;

export const WorkflowAnalysisResponseSchema = z.object({
  valid: z.boolean(),
  problems: z.array(
    z.object({
      kind: z.enum([
        'empty',
        'too_many_tasks',
        'duplicate_id',
        'unknown_dependency',
        'self_dependency',
        'cycle',
      ]),
      message: z.string(),
      taskId: z.string().optional(),
      dependsOn: z.string().optional(),
      path: z.array(z.string()).optional(),
      indexes: z.array(z.number()).optional(),
    }),
  ),
  cycle: z.array(z.string()).optional().describe('The dependency cycle, ending with its first task'),
  levels: z.array(z.array(z.string())).describe('Tasks grouped by depth; each level can run in parallel'),
  criticalPath: z.array(z.string()),
  parallelism: z.number().int(),
  estimates: z.object({ durationMs: z.number(), totalWorkMs: z.number(), basis: z.string() }),
});
export type WorkflowAnalysisResponse = z.output<typeof WorkflowAnalysisResponseSchema>;
