import { IllegalStateError, NotFoundError, ValidationError } from '@orch/domain-kit';
import fc from 'fast-check';
import {
  DEFAULT_PAGE,
  MAX_PAGE,
  checkResolvable,
  decodeCursor,
  encodeCursor,
  listQuery,
  resolveRequest,
  type ResolveRequest,
} from './conflict-queries';
import { evolveConflict, type ConflictRecord } from './conflict-records';

const problemsOf = (fn: () => unknown): { path: string; message: string }[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return [...err.errors];
    throw err;
  }
  throw new Error('expected a ValidationError');
};

describe('cursor', () => {
  it('carries the sort key it was made from (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 45 }), fc.string({ minLength: 1, unit: 'grapheme' }), (at, id) => {
        const cursor = encodeCursor({ at, id });
        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor(cursor)).toEqual({ at, id });
      }),
    );
  });

  it.each([
    ['not base64url', 'a+b/c='],
    ['not JSON', Buffer.from('{oops').toString('base64url')],
    ['not a pair', Buffer.from('[1]').toString('base64url')],
    ['a time that is not an integer', Buffer.from('[1.5,"c"]').toString('base64url')],
    ['an empty id', Buffer.from('[1,""]').toString('base64url')],
    ['an id that is not a string', Buffer.from('[1,2]').toString('base64url')],
  ])('rejects %s', (_what, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});

describe('listQuery', () => {
  it('defaults the limit and lists both statuses from the newest', () => {
    expect(listQuery({ status: '', limit: 0, cursor: '' })).toEqual({ limit: DEFAULT_PAGE });
  });

  it('takes a status, a limit up to the maximum and a cursor it issued', () => {
    const cursor = encodeCursor({ at: 1_700_000_000_000, id: 'c-7' });
    expect(listQuery({ status: 'open', limit: MAX_PAGE, cursor })).toEqual({
      status: 'open',
      limit: MAX_PAGE,
      after: { at: 1_700_000_000_000, id: 'c-7' },
    });
  });

  it('names every invalid field at once', () => {
    expect(problemsOf(() => listQuery({ status: 'closed', limit: MAX_PAGE + 1, cursor: '!!' }))).toEqual([
      { path: 'status', message: expect.stringContaining('open, resolved') },
      { path: 'limit', message: `must be at most ${MAX_PAGE}` },
      { path: 'cursor', message: 'is not a cursor this service issued' },
    ]);
  });
});

describe('resolveRequest', () => {
  it.each(['queue', 'preempt', 'abort'])('takes %s without a winner', (strategy) => {
    expect(resolveRequest({ conflictId: 'c1', strategy, winner: '' })).toEqual({
      conflictId: 'c1',
      strategy,
      winner: '',
    });
  });

  it('takes grant with a winner', () => {
    expect(resolveRequest({ conflictId: 'c1', strategy: 'grant', winner: 't-1' }).winner).toBe('t-1');
  });

  it('rejects an unknown strategy and a missing conflict id', () => {
    expect(problemsOf(() => resolveRequest({ conflictId: '', strategy: 'wait-die', winner: '' }))).toEqual([
      { path: 'conflictId', message: 'is required' },
      { path: 'strategy', message: 'must be one of queue, preempt, abort, grant' },
    ]);
  });

  it('rejects grant without a winner, and a winner with another strategy', () => {
    expect(problemsOf(() => resolveRequest({ conflictId: 'c1', strategy: 'grant', winner: '' }))).toEqual([
      { path: 'winner', message: expect.stringContaining('is required with strategy grant') },
    ]);
    expect(problemsOf(() => resolveRequest({ conflictId: 'c1', strategy: 'abort', winner: 't-1' }))).toEqual([
      { path: 'winner', message: 'is only taken with strategy grant' },
    ]);
  });
});

describe('checkResolvable', () => {
  const open = evolveConflict(undefined, {
    type: 'ConflictDetected',
    conflictId: 'c1',
    kind: 'pool',
    resource: 'gpu',
    allocationId: 'waiter#1',
    parties: [
      { taskId: 'waiter', attempt: 1, priority: 3, role: 'waiter' },
      { taskId: 'holder', attempt: 1, priority: 1, role: 'holder' },
    ],
    policy: 'manual',
    since: undefined,
    detectedAt: new Date('2025-03-01T10:00:00Z'),
  });
  const grant = (winner: string): ResolveRequest => ({ conflictId: 'c1', strategy: 'grant', winner });

  it('returns an open conflict when a grant names one of its parties', () => {
    expect(checkResolvable(open, grant('holder'))).toBe(open);
    expect(checkResolvable(open, { conflictId: 'c1', strategy: 'queue', winner: '' })).toBe(open);
  });

  it('is NotFound for a conflict it does not know', () => {
    expect(() => checkResolvable(undefined, grant('waiter'))).toThrow(NotFoundError);
  });

  it('is IllegalState for a resolved conflict, saying how it was resolved', () => {
    const done: ConflictRecord = evolveConflict(open, {
      type: 'ConflictResolved',
      conflictId: 'c1',
      resolution: 'preempted',
      winner: 'waiter',
      strategy: 'preempt',
      reason: 'an operator preempted holder',
      resolvedAt: new Date('2025-03-01T10:05:00Z'),
    });
    const err = (() => {
      try {
        checkResolvable(done, grant('waiter'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(IllegalStateError);
    expect((err as IllegalStateError).message).toBe(
      'conflict c1 is already resolved: preempted in favour of waiter by an operator (strategy preempt) at 2025-03-01T10:05:00Z',
    );
    expect((err as IllegalStateError).details).toMatchObject({
      resolution: 'preempted',
      strategy: 'preempt',
    });
  });

  it('rejects a winner that is not a party, naming the parties', () => {
    expect(problemsOf(() => checkResolvable(open, grant('stranger')))).toEqual([
      { path: 'winner', message: "must be one of the conflict's parties: waiter, holder" },
    ]);
  });
});
