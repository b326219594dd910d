import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** What identifies "the same request" for an Idempotency-Key: method, path and body. */
export function requestHash(method: string, url: string, body: unknown): Buffer {
  return createHash('sha256')
    .update(`${method}\n${url}\n${canonicalJson(body ?? null)}`)
    .digest();
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/** An Idempotency-Key is 1..255 visible ASCII characters (a UUID is the usual choice). */
export const isValidIdempotencyKey = (key: string): boolean => KEY.test(key);
