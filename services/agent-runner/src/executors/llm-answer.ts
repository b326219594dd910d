import { z } from 'zod';

/**
 * Reading what a model answered. Models wrap JSON in prose or a ```json fence; the JSON is
 * taken from the fence, else from the outermost braces. An answer that does not hold what the
 * role asks for is rejected with a reason that names what is wrong, so the failure (retried by
 * the gateway) is worth reading.
 */

const TaskSchema = z.looseObject({
  id: z.string().trim().min(1),
  type: z.string().trim().min(1),
  description: z.string().optional(),
  input: z.record(z.string(), z.unknown()).optional(),
  capabilities: z.array(z.string().min(1)).optional(),
  dependsOn: z.array(z.string().min(1)).optional(),
  priority: z.number().int().optional(),
  timeoutMs: z.number().int().min(0).optional(),
  maxAttempts: z.number().int().min(1).optional(),
});

const PlanSchema = z
  .object({ tasks: z.array(TaskSchema).min(1, 'must hold at least one task') })
  .superRefine((plan, ctx) => {
    const seen = new Set<string>();
    plan.tasks.forEach((task, i) => {
      if (seen.has(task.id))
        ctx.addIssue({ code: 'custom', path: ['tasks', i, 'id'], message: `duplicate task id "${task.id}"` });
      seen.add(task.id);
    });
  });

const PlanAnswerSchema = z.object({ plan: PlanSchema });
const SuperviseAnswerSchema = z.union([z.object({ done: z.literal(true) }), PlanAnswerSchema]);
const ReviewAnswerSchema = z.object({
  verdict: z.enum(['approved', 'changes_requested']),
  comments: z.array(z.string()).default([]),
});

export type PlanAnswer = z.output<typeof PlanAnswerSchema>;
export type SuperviseAnswer = z.output<typeof SuperviseAnswerSchema>;
export type ReviewAnswer = z.output<typeof ReviewAnswerSchema>;

/** Thrown when an answer is not what the role asks for; `message` says why. */
export class InvalidAnswerError extends Error {
  override readonly name = 'InvalidAnswerError';
  readonly code = 'invalid_answer';
}

export function parsePlanAnswer(text: string): PlanAnswer {
  return parseAnswer(text, PlanAnswerSchema, 'a plan ({"plan": {"tasks": [...]}})');
}

export function parseSuperviseAnswer(text: string): SuperviseAnswer {
  const json = extractJson(text, '{"done": true} or a new plan');
  // Tell "not done, and no plan" apart from a broken plan: the union's own message would not.
  if (typeof json === 'object' && json !== null && 'plan' in json)
    return validate(json, PlanAnswerSchema, 'a plan');
  return validate(json, SuperviseAnswerSchema, '{"done": true} or a new plan');
}

export function parseReviewAnswer(text: string): ReviewAnswer {
  return parseAnswer(text, ReviewAnswerSchema, 'a review ({"verdict": "approved" | "changes_requested"})');
}

function parseAnswer<T>(text: string, schema: z.ZodType<T>, what: string): T {
  return validate(extractJson(text, what), schema, what);
}

function validate<T>(json: unknown, schema: z.ZodType<T>, what: string): T {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(answer)'}: ${i.message}`,
  );
  throw new InvalidAnswerError(`the answer is not ${what}: ${problems.join('; ')}`);
}

/** The JSON in a model's answer: a fenced block, the whole text, or its outermost braces. */
export function extractJson(text: string, what: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text)?.[1];
  const candidates = [fenced, text, outermostBraces(text)].filter((c): c is string => c !== undefined);
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate.trim());
    } catch {
      // try the next reading
    }
  }
  const preview = text.trim().slice(0, 120);
  throw new InvalidAnswerError(
    `the answer is not ${what}: it holds no JSON${preview ? ` (it starts "${preview}")` : ''}`,
  );
}

function outermostBraces(text: string): string | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}
