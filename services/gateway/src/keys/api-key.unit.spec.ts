import { bearerToken, displayPrefix, generateApiKey, hashApiKey, KEY_PREFIX } from './api-key';

describe('API keys', () => {
  it('are the prefix plus 32 random bytes in base64url', () => {
    const key = generateApiKey();
    expect(key.startsWith(KEY_PREFIX)).toBe(true);
    const secret = key.slice(KEY_PREFIX.length);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(generateApiKey()).not.toBe(key);
  });

  it('hash to the SHA-256 digest of the whole key', () => {
    expect(hashApiKey('abc').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hashApiKey('orch_abc').equals(hashApiKey('orch_abd'))).toBe(false);
  });

  it('show only a short prefix', () => {
    expect(displayPrefix('orch_ABCDEFGHIJKLMNOP')).toBe('orch_ABCDEF');
  });

  it('are read from a Bearer Authorization header only', () => {
    expect(bearerToken('Bearer orch_x')).toBe('orch_x');
    expect(bearerToken('bearer   orch_x ')).toBe('orch_x');
    expect(bearerToken('Basic dXNlcg==')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
