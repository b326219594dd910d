import { createHash, randomBytes } from 'node:crypto';

/** Readable prefix: tells a leaked string is an orchestrator key (and lets secret scanners match it). */
export const KEY_PREFIX = 'orch_';

/** A new key: `orch_` + 32 random bytes in base64url (256 bits of entropy). */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * SHA-256 of the key. A fast hash is right here (unlike passwords): the key is 256 random bits,
 * so there is no dictionary to try and brute force is out of reach whatever the hash speed,
 * while a slow KDF would cost milliseconds of CPU on every request (docs/adr/0006).
 */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The part shown in listings and logs: enough to tell keys apart, useless to an attacker. */
export function displayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 6);
}

/** `Authorization: Bearer <key>` -> the key; undefined when the header is absent or not Bearer. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
