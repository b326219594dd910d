import { ValidationError } from '@orch/domain-kit';
import { isUuid } from '@orch/eventstore';

/** The session id of a request, checked: sessions are named by UUIDs. */
export function checkSessionId(sessionId: string, path = 'sessionId'): string {
  if (!isUuid(sessionId))
    throw new ValidationError('invalid session id', [{ path, message: 'must be a UUID' }]);
  return sessionId;
}

/** Page size when the request says 0, and the largest one served. */
export const DEFAULT_PAGE_LIMIT = 500;
export const MAX_PAGE_LIMIT = 5_000;

/** The page size a request asks for, checked. */
export function pageLimit(limit: number): number {
  if (limit === 0) return DEFAULT_PAGE_LIMIT;
  if (limit > MAX_PAGE_LIMIT)
    throw new ValidationError(`limit must be at most ${MAX_PAGE_LIMIT}`, [
      { path: 'limit', message: `must be from 1 to ${MAX_PAGE_LIMIT} (0 = ${DEFAULT_PAGE_LIMIT})` },
    ]);
  return limit;
}

/**
 * The position a replay asks for, checked against the session's last: 0 means the last; beyond it
 * is the caller's error, naming the last position.
 */
export function replayPosition(at: bigint, last: bigint): bigint {
  if (at === 0n) return last;
  if (at > last)
    throw new ValidationError(
      `at ${at} is beyond the session's last position ${last}`,
      [{ path: 'at', message: `must be at most ${last}, the session's last position (0 = the last)` }],
      { lastPosition: last.toString() },
    );
  return at;
}
