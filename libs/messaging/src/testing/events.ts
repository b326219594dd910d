import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { RecordedEvent } from '@orch/eventstore';
import { encodeRecordedEvent } from '../codec';
import { Headers } from '../headers';
import type { Naming } from '../naming';

let position = 0n;

/** A RecordedEvent as the store would return it (for encoding tests and direct publishing). */
export function recordedEvent(overrides: Partial<RecordedEvent> = {}): RecordedEvent {
  position++;
  return {
    eventId: randomUUID(),
    type: 'AgentRegistered',
    schemaVersion: 1,
    streamId: 'agent-1',
    streamVersion: 1n,
    globalPosition: position,
    occurredAt: new Date('2026-01-01T00:00:00Z'),
    source: 'coordination',
    data: { agentId: 'agent-1', name: 'coder', maxConcurrency: 2 },
    metadata: { correlationId: 'session-1', causationId: 'cmd-1' },
    ...overrides,
  };
}

/** Publishes an event the way the relay does (envelope, Orch-* headers, Nats-Msg-Id = eventId). */
export async function publishRecordedEvent(
  js: JetStreamClient,
  naming: Naming,
  event: RecordedEvent,
  extraHeaders: Record<string, string> = {},
): Promise<PubAck> {
  const { bytes, encoding } = encodeRecordedEvent(event);
  const h = natsHeaders();
  h.set(Headers.eventType, event.type);
  h.set(Headers.globalPosition, event.globalPosition.toString());
  h.set(Headers.streamId, event.streamId);
  h.set(Headers.streamVersion, event.streamVersion.toString());
  if (encoding === 'json') h.set(Headers.payloadEncoding, 'json');
  for (const [k, v] of Object.entries(extraHeaders)) h.set(k, v);
  return js.publish(naming.eventSubject(event.source, event.type), bytes, {
    msgID: event.eventId,
    headers: h,
  });
}
