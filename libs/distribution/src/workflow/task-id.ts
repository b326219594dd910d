import { createHash } from 'node:crypto';

/** Namespace of task ids (a random v4 UUID fixed forever: changing it changes every task id). */
const TASK_ID_NAMESPACE = Buffer.from('6f1d9a52c3e84b7e9d0c2a4b8e7f1036', 'hex');

/**
 * The global id of the task `key` of a session: an RFC 4122 version 5 UUID (SHA-1 of a fixed
 * namespace and the pair), so the same session and key always give the same id and a redelivered
 * SessionStarted, plan or spawn cannot create a task twice.
 */
export function taskIdFor(sessionId: string, key: string): string {
  const hash = createHash('sha1')
    .update(TASK_ID_NAMESPACE)
    .update(JSON.stringify([sessionId, key]), 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
