import { ConflictError, IllegalStateError, NotFoundError, ValidationError } from '@orch/domain-kit';
import { CommandTimeoutError, RemoteDomainError, toErrorReply } from '@orch/messaging';
import { passThrough } from './remote-errors';

const remote = (code: string, errors: { path: string; message: string }[] = []) =>
  new RemoteDomainError(
    code,
    `${code} from the allocator`,
    errors,
    { conflictId: 'c-1' },
    'resources.ResolveConflict',
  );

describe('passThrough', () => {
  it.each([
    ['validation', ValidationError],
    ['not_found', NotFoundError],
    ['illegal_state', IllegalStateError],
    ['conflict', ConflictError],
    ['concurrency', ConflictError],
  ])('answers a remote %s with the same message and details', (code, type) => {
    const err = passThrough(remote(code));
    expect(err).toBeInstanceOf(type);
    expect(err).toMatchObject({ message: `${code} from the allocator`, details: { conflictId: 'c-1' } });
  });

  it('keeps the field problems of a remote validation error, all the way to the reply', () => {
    const problems = [{ path: 'winner', message: 'is not a party' }];
    const { reply, internal } = toErrorReply(passThrough(remote('validation', problems)));
    expect(internal).toBe(false);
    expect(reply).toMatchObject({ code: 'validation', errors: problems, details: { conflictId: 'c-1' } });
  });

  it('leaves internal errors, timeouts and anything else as they are', () => {
    const internal = remote('internal');
    const timeout = new CommandTimeoutError('resources.ResolveConflict', 5_000);
    const other = new Error('boom');
    expect(passThrough(internal)).toBe(internal);
    expect(passThrough(timeout)).toBe(timeout);
    expect(passThrough(other)).toBe(other);
  });
});
