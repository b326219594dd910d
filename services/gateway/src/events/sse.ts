import type { DecodedEvent } from '@orch/messaging';

/** The JSON carried in an SSE `data:` line: event metadata and payload, bigints as strings. */
export function eventData(e: DecodedEvent): Record<string, unknown> {
  return {
    eventId: e.eventId,
    type: e.type,
    streamId: e.streamId,
    streamVersion: e.streamVersion.toString(),
    globalPosition: e.globalPosition.toString(),
    occurredAt: e.occurredAt.toISOString(),
    correlationId: e.correlationId,
    causationId: e.causationId,
    source: e.source,
    data: e.data,
  };
}

/**
 * One Server-Sent Events frame. `data` is JSON (no raw newlines), the id is the JetStream
 * sequence, so a reconnecting client's Last-Event-ID says where to resume.
 */
export function sseFrame(id: number, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A frame without an id (not resumable, e.g. live metrics): EventSource keeps the last id it saw. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by EventSource, keeps proxies from closing an idle stream. */
export const sseComment = (text: string): string => `: ${text}\n\n`;
