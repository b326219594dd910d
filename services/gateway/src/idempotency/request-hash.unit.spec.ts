import fc from 'fast-check';
import { canonicalJson, isValidIdempotencyKey, requestHash } from './request-hash';

describe('requestHash', () => {
  it('ignores the order of object keys', () => {
    const a = requestHash('POST', '/api/agents', { name: 'x', labels: { b: '1', a: '2' } });
    const b = requestHash('POST', '/api/agents', { labels: { a: '2', b: '1' }, name: 'x' });
    expect(a.equals(b)).toBe(true);
  });

  it('tells apart bodies, paths and methods', () => {
    const base = requestHash('POST', '/api/keys', { role: 'viewer' });
    expect(base.equals(requestHash('POST', '/api/keys', { role: 'admin' }))).toBe(false);
    expect(base.equals(requestHash('POST', '/api/agents', { role: 'viewer' }))).toBe(false);
    expect(base.equals(requestHash('PUT', '/api/keys', { role: 'viewer' }))).toBe(false);
    expect(requestHash('POST', '/x', [1, 2]).equals(requestHash('POST', '/x', [2, 1]))).toBe(false);
  });

  it('gives equal hashes exactly for JSON-equal values, whatever the key order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const reordered = JSON.parse(JSON.stringify(value, (_k, v: unknown) => reverseKeys(v))) as unknown;
        expect(canonicalJson(reordered)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('isValidIdempotencyKey', () => {
  it('accepts 1..255 visible ASCII characters', () => {
    expect(isValidIdempotencyKey('3f0c1f9e-8a55-4c1e-9d0b-1d8f5d6e7a21')).toBe(true);
    expect(isValidIdempotencyKey('')).toBe(false);
    expect(isValidIdempotencyKey('has space')).toBe(false);
    expect(isValidIdempotencyKey('x'.repeat(256))).toBe(false);
  });
});

function reverseKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).reverse());
}
