import {
  IllegalStateError,
  NotFoundError,
  ValidationError,
  rfc3339,
  type FieldProblem,
} from '@orch/domain-kit';
import type { ConflictRecord, ConflictStatus, OpenConflict, PageQuery, SortKey } from './conflict-records';

/**
 * What the desk's two commands accept, checked before anything is looked up or sent: the page
 * query of ListConflicts with its cursor, and an operator's resolution.
 */

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
export const CONFLICT_STATUSES: readonly ConflictStatus[] = ['open', 'resolved'];

/** What an operator may ask the allocator to do with an open conflict. */
export type ResolveStrategy = 'queue' | 'preempt' | 'abort' | 'grant';
export const RESOLVE_STRATEGIES: readonly ResolveStrategy[] = ['queue', 'preempt', 'abort', 'grant'];

// ---------------------------------------------------------------- cursor

/** The opaque cursor of the page after `key`: base64url of `[detectedAtMs, conflictId]`. */
export const encodeCursor = (key: SortKey): string =>
  Buffer.from(JSON.stringify([key.at, key.id]), 'utf8').toString('base64url');

/** The key a cursor of {@link encodeCursor} carries, or undefined when it is not one. */
export function decodeCursor(cursor: string): SortKey | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
  const [at, id] = parsed as unknown[];
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || typeof id !== 'string' || id === '')
    return undefined;
  return { at, id };
}

// ---------------------------------------------------------------- ListConflicts

/**
 * The page query of a ListConflicts message: `status` open | resolved | '' (both), `limit` 0 for
 * {@link DEFAULT_PAGE} and at most {@link MAX_PAGE}, `cursor` '' or the `nextCursor` of a page.
 * @throws ValidationError naming every invalid field
 */
export function listQuery(message: {
  readonly status: string;
  readonly limit: number;
  readonly cursor: string;
}): PageQuery {
  const problems: FieldProblem[] = [];
  const status = CONFLICT_STATUSES.find((s) => s === message.status);
  if (message.status !== '' && !status) {
    problems.push({
      path: 'status',
      message: `must be one of ${CONFLICT_STATUSES.join(', ')} (or empty for both)`,
    });
  }
  const limit = message.limit === 0 ? DEFAULT_PAGE : message.limit;
  if (limit > MAX_PAGE) problems.push({ path: 'limit', message: `must be at most ${MAX_PAGE}` });
  const after = message.cursor === '' ? undefined : decodeCursor(message.cursor);
  if (message.cursor !== '' && !after) {
    problems.push({ path: 'cursor', message: 'is not a cursor this service issued' });
  }
  if (problems.length > 0) throw new ValidationError('invalid conflict query', problems);
  return { limit, ...(status ? { status } : {}), ...(after ? { after } : {}) };
}

// ---------------------------------------------------------------- ResolveConflict

export interface ResolveRequest {
  readonly conflictId: string;
  readonly strategy: ResolveStrategy;
  /** grant: the task id of the party that wins; empty otherwise. */
  readonly winner: string;
}

/**
 * An operator's resolution, checked on its own: a conflict id, a known strategy, a winner with
 * `grant` and only with it.
 * @throws ValidationError naming every invalid field
 */
export function resolveRequest(message: {
  readonly conflictId: string;
  readonly strategy: string;
  readonly winner: string;
}): ResolveRequest {
  const problems: FieldProblem[] = [];
  if (message.conflictId === '') problems.push({ path: 'conflictId', message: 'is required' });
  const strategy = RESOLVE_STRATEGIES.find((s) => s === message.strategy);
  if (!strategy) {
    problems.push({ path: 'strategy', message: `must be one of ${RESOLVE_STRATEGIES.join(', ')}` });
  }
  if (strategy === 'grant' && message.winner === '') {
    problems.push({
      path: 'winner',
      message: 'is required with strategy grant: the task id of the party that wins',
    });
  }
  if (strategy && strategy !== 'grant' && message.winner !== '') {
    problems.push({ path: 'winner', message: 'is only taken with strategy grant' });
  }
  if (problems.length > 0 || !strategy) throw new ValidationError('invalid conflict resolution', problems);
  return { conflictId: message.conflictId, strategy, winner: message.winner };
}

/** How a resolved conflict ended, in words: "granted to t-2 (operator strategy grant) at ...". */
export function describeResolution(record: Extract<ConflictRecord, { resolution: unknown }>): string {
  const r = record.resolution;
  const winner = r.winner === '' ? '' : ` in favour of ${r.winner}`;
  const by = r.strategy === '' ? '' : ` by an operator (strategy ${r.strategy})`;
  return `${r.resolution}${winner}${by} at ${rfc3339(r.resolvedAt)}`;
}

/**
 * Checks that `request` can be sent to the allocator for `record` (undefined: unknown here):
 * the conflict is known and open, and a grant's winner is one of its parties. Returns the record.
 * @throws NotFoundError when the desk does not know the conflict (or dropped it long resolved)
 * @throws IllegalStateError when it is already resolved, saying how
 * @throws ValidationError when the winner is not a party
 */
export function checkResolvable(record: ConflictRecord | undefined, request: ResolveRequest): OpenConflict {
  const conflictId = request.conflictId;
  if (!record) throw new NotFoundError(`conflict ${conflictId} does not exist`, { conflictId });
  if (record.status !== 'open') {
    const r = record.resolution;
    throw new IllegalStateError(`conflict ${conflictId} is already resolved: ${describeResolution(record)}`, {
      conflictId,
      resolution: r.resolution,
      winner: r.winner,
      strategy: r.strategy,
      resolvedAt: rfc3339(r.resolvedAt),
    });
  }
  if (request.strategy === 'grant') {
    const parties = record.detection.parties.map((p) => p.taskId);
    if (!parties.includes(request.winner)) {
      throw new ValidationError('invalid conflict resolution', [
        {
          path: 'winner',
          message: `must be one of the conflict's parties: ${[...new Set(parties)].join(', ')}`,
        },
      ]);
    }
  }
  return record;
}
