import { lockNameProblems } from '@orch/conflicts';
import { z } from 'zod';
import { documentedAs } from '../openapi/openapi';

export const LOCK_MODES = ['exclusive', 'shared'] as const;
/** Most claims one task (or one allocate request) may carry. */
export const MAX_CLAIMS = 64;

const POOL_ID_MAX = 128;

/** A claim on an amount of a pool, as the API shows and takes it. */
export interface PoolClaimInput {
  readonly pool: string;
  readonly amount: number;
  /** A reservation to draw from (see POST /api/resources/reservations). */
  readonly reservation?: string;
}

/** A claim on a lock, as the API shows and takes it. */
export interface LockClaimInput {
  readonly lock: string;
  readonly mode: (typeof LOCK_MODES)[number];
}

export type ClaimInput = PoolClaimInput | LockClaimInput;

export const isPoolClaim = (c: ClaimInput): c is PoolClaimInput => 'pool' in c;

/** What clients send: the two kinds documented apart (OpenAPI `anyOf`). */
const ClaimDocument = z.union([
  z
    .strictObject({
      pool: z.string().min(1).max(POOL_ID_MAX).describe('A pool id'),
      amount: z.number().positive().describe('Units of the pool (> 0)'),
      reservation: z.string().min(1).max(128).optional().describe('A reservation of the pool to draw from'),
    })
    .describe('An amount of a pool'),
  z
    .strictObject({
      lock: z
        .string()
        .min(1)
        .max(512)
        .describe('<namespace>:<path>, segments split by / or :, globs * ? ** (e.g. repo:acme/api:src/**)'),
      mode: z.enum(LOCK_MODES).default('exclusive'),
    })
    .describe('A lock on a named thing'),
]);

/**
 * One claim of a task: `{pool, amount, reservation?}` or `{lock, mode?}` (mode defaults to
 * exclusive). Validated field by field so a mistake is reported where it is, e.g.
 * `tasks[2].claims[0].amount`; lock names are checked by the same rules as the allocator's
 * (`lockNameProblems`). Whether a pool exists is checked later, against the resources service.
 */
export const ClaimInputSchema = documentedAs(
  z
    .strictObject({
      pool: z.string().trim().min(1).max(POOL_ID_MAX).optional(),
      amount: z.number().positive().max(1e12).optional(),
      reservation: z.string().trim().min(1).max(128).optional(),
      lock: z.string().max(1_000).optional(),
      mode: z.enum(LOCK_MODES).optional(),
    })
    .superRefine((c, ctx) => {
      const issue = (path: string | undefined, message: string) =>
        ctx.addIssue({ code: 'custom', path: path === undefined ? [] : [path], message });
      if (c.pool !== undefined && c.lock !== undefined) {
        issue(undefined, 'names both a pool and a lock; use two claims');
        return;
      }
      if (c.pool === undefined && c.lock === undefined) {
        issue(undefined, 'needs a pool ({pool, amount}) or a lock ({lock, mode})');
        return;
      }
      if (c.pool !== undefined) {
        if (c.amount === undefined) issue('amount', 'is required for a pool claim (a number > 0)');
        if (c.mode !== undefined) issue('mode', 'applies to lock claims only');
        return;
      }
      for (const p of lockNameProblems('lock', c.lock!)) issue('lock', p.message);
      if (c.amount !== undefined) issue('amount', 'applies to pool claims only');
      if (c.reservation !== undefined) issue('reservation', 'applies to pool claims only');
    })
    .transform((c): ClaimInput =>
      c.pool !== undefined
        ? {
            pool: c.pool,
            amount: c.amount!,
            ...(c.reservation !== undefined ? { reservation: c.reservation } : {}),
          }
        : { lock: c.lock!, mode: c.mode ?? 'exclusive' },
    ),
  ClaimDocument,
);

/** A task's claims (or an allocate request's). */
export const ClaimsSchema = z.array(ClaimInputSchema).max(MAX_CLAIMS);
