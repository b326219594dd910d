import { z } from 'zod';
import { ROLES } from '../config';

/** POST /api/keys. An agent key names its agent; other roles must not. */
export const CreateKeyBodySchema = z
  .strictObject({
    role: z.enum(ROLES),
    name: z.string().trim().min(1).max(200),
    agentId: z.string().min(1).max(200).optional(),
  })
  .superRefine((body, ctx) => {
    if (body.role === 'agent' && body.agentId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['agentId'], message: 'required for role agent' });
    }
    if (body.role !== 'agent' && body.agentId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['agentId'], message: 'only agent keys are bound to an agent' });
    }
  });
export type CreateKeyBody = z.output<typeof CreateKeyBodySchema>;

export const CreatedKeyResponseSchema = z.object({
  id: z.string(),
  key: z.string().describe('The API key; shown once, never retrievable again'),
  role: z.enum(ROLES),
  name: z.string(),
  agentId: z.string().optional(),
});
export type CreatedKeyResponse = z.output<typeof CreatedKeyResponseSchema>;
