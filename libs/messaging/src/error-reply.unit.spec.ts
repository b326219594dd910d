import { ConflictError, NotFoundError, ValidationError } from '@orch/domain-kit';
import { WrongExpectedVersionError } from '@orch/eventstore';
import { fromErrorReply, INTERNAL_ERROR_MESSAGE, toErrorReply, toJsonSafe } from './error-reply';
import { RemoteDomainError } from './errors';

describe('toErrorReply', () => {
  it('keeps a validation error code, message, field errors and details', () => {
    const { reply, internal } = toErrorReply(
      new ValidationError('bad', [{ path: 'name', message: 'required' }], {
        max: 3,
        at: new Date('2026-01-01T00:00:00Z'),
      }),
    );
    expect(internal).toBe(false);
    expect(reply.code).toBe('validation');
    expect(reply.message).toBe('bad');
    expect(reply.errors.map((e) => ({ path: e.path, message: e.message }))).toEqual([
      { path: 'name', message: 'required' },
    ]);
    expect(reply.details).toEqual({ max: 3, at: '2026-01-01T00:00:00.000Z' });
  });

  it('keeps the code of every other domain error', () => {
    expect(toErrorReply(new NotFoundError('no agent')).reply.code).toBe('not_found');
    expect(toErrorReply(new ConflictError('exists', { id: 'a' })).reply).toMatchObject({
      code: 'conflict',
      details: { id: 'a' },
    });
  });

  it('maps a version conflict to "concurrency" with expected and actual versions', () => {
    const { reply, internal } = toErrorReply(new WrongExpectedVersionError('agent-1', 2n, 5n));
    expect(internal).toBe(false);
    expect(reply).toMatchObject({
      code: 'concurrency',
      details: { streamId: 'agent-1', expected: '2', actual: '5' },
    });
  });

  it('hides anything else behind a generic internal error', () => {
    const { reply, internal } = toErrorReply(new TypeError('secret detail'));
    expect(internal).toBe(true);
    expect(reply.code).toBe('internal');
    expect(reply.message).toBe(INTERNAL_ERROR_MESSAGE);
  });

  it('round-trips through fromErrorReply', () => {
    const { reply } = toErrorReply(new ValidationError('bad', [{ path: 'a', message: 'b' }], { n: 1n }));
    const err = fromErrorReply(reply, 'coordination.RegisterAgent');
    expect(err).toBeInstanceOf(RemoteDomainError);
    expect(err).toMatchObject({
      code: 'validation',
      errors: [{ path: 'a', message: 'b' }],
      details: { n: '1' },
    });
  });
});

describe('toJsonSafe', () => {
  it('drops undefined and functions, stringifies bigints and non-finite numbers', () => {
    expect(toJsonSafe({ a: undefined, b: () => 1, c: 10n, d: [1, Infinity], e: { f: null } })).toEqual({
      c: '10',
      d: [1, 'Infinity'],
      e: { f: null },
    });
  });
});
