import { createHash } from 'node:crypto';

/**
 * A UUID derived from the principal and its Idempotency-Key, so a retried registration (same
 * key) sends RegisterAgent with the same agent id and command id, and coordination treats it
 * as the same registration instead of creating a second agent. Formatted as an RFC 9562
 * version-8 (custom) UUID.
 */
export function derivedUuid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
