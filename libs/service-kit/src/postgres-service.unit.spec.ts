import { withoutCredentials } from './postgres-service';

describe('withoutCredentials', () => {
  it('leaves out the user and password', () => {
    expect(withoutCredentials('postgres://app:s3cret@db.internal:5432/orchestrator')).toBe(
      'postgres://db.internal:5432/orchestrator',
    );
  });

  it('leaves out a user without a password', () => {
    expect(withoutCredentials('postgres://postgres@127.0.0.1:5432/test')).toBe(
      'postgres://127.0.0.1:5432/test',
    );
  });

  it('keeps a URL without credentials as it is', () => {
    expect(withoutCredentials('postgres://127.0.0.1/test')).toBe('postgres://127.0.0.1/test');
  });
});
