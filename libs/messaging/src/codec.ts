import {
  create,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type JsonValue,
  type Message,
} from '@bufbuild/protobuf';
import { anyPack, anyUnpack, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { EventEnvelopeSchema, findEventType, protoRegistry, type EventEnvelope } from '@orch/contracts';
import type { RecordedEvent } from '@orch/eventstore';

/** An event as a subscriber sees it: metadata, the payload as a proto message and as JSON. */
export interface DecodedEvent<Payload extends Message = Message> {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly streamId: string;
  readonly streamVersion: bigint;
  readonly globalPosition: bigint;
  readonly occurredAt: Date;
  readonly correlationId: string;
  readonly causationId: string;
  readonly traceparent: string;
  readonly source: string;
  readonly principal?: { readonly id: string; readonly role: string; readonly agentId?: string };
  /** The payload as its proto message; undefined when no proto message is known for the type. */
  readonly payload: Payload | undefined;
  /** The payload in the protobuf JSON mapping (what the store keeps). */
  readonly data: JsonValue;
}

/** Thrown when bytes on the wire are not an EventEnvelope this code can read. */
export class EventDecodeError extends Error {
  override readonly name = 'EventDecodeError';
  readonly code = 'event_decode';
}

/**
 * Encodes a stored event as the EventEnvelope the relay publishes. The payload is packed as
 * `google.protobuf.Any` when proto/ declares the type; otherwise the JSON is carried as bytes
 * and `json` is returned as the encoding, so an unknown type never blocks the relay.
 * `options.json` forces the JSON form (the relay uses it for data the proto message rejects).
 */
export function encodeRecordedEvent(
  event: RecordedEvent,
  options: { json?: boolean } = {},
): { bytes: Uint8Array; encoding: 'proto' | 'json' } {
  const info = findEventType(event.type);
  const meta = event.metadata;
  const envelope = create(EventEnvelopeSchema, {
    metadata: {
      eventId: event.eventId,
      type: event.type,
      schemaVersion: event.schemaVersion,
      streamId: event.streamId,
      streamVersion: event.streamVersion,
      globalPosition: event.globalPosition,
      occurredAt: timestampFromDate(event.occurredAt),
      correlationId: meta.correlationId ?? '',
      causationId: meta.causationId ?? '',
      traceparent: meta.traceparent ?? '',
      source: event.source,
      ...(meta.principal
        ? {
            principal: {
              id: meta.principal.id,
              role: meta.principal.role,
              agentId: meta.principal.agentId ?? '',
            },
          }
        : {}),
    },
  });
  if (info && info.schemaVersion === event.schemaVersion && !options.json) {
    const payload = fromJson(info.schema, event.data as JsonValue, { registry: protoRegistry });
    envelope.payload = anyPack(info.schema, payload);
    return { bytes: toBinary(EventEnvelopeSchema, envelope), encoding: 'proto' };
  }
  envelope.payload = {
    $typeName: 'google.protobuf.Any',
    typeUrl: `json/${event.type}`,
    value: new TextEncoder().encode(JSON.stringify(event.data)),
  };
  return { bytes: toBinary(EventEnvelopeSchema, envelope), encoding: 'json' };
}

/** Decodes an EventEnvelope published by the relay. Throws {@link EventDecodeError} on bad bytes. */
export function decodeEventMessage(bytes: Uint8Array): DecodedEvent {
  let envelope: EventEnvelope;
  try {
    envelope = fromBinary(EventEnvelopeSchema, bytes);
  } catch (cause) {
    throw new EventDecodeError('message is not an orchestrator.v1.EventEnvelope', { cause });
  }
  const m = envelope.metadata;
  if (!m || !m.eventId || !m.type) throw new EventDecodeError('event envelope without metadata');
  let payload: Message | undefined;
  let data: JsonValue = null;
  const any = envelope.payload;
  if (any?.typeUrl.startsWith('json/')) {
    data = JSON.parse(new TextDecoder().decode(any.value)) as JsonValue;
  } else if (any) {
    payload = anyUnpack(any, protoRegistry);
    if (!payload) throw new EventDecodeError(`unknown payload type ${any.typeUrl}`);
    const schema = protoRegistry.getMessage(payload.$typeName);
    data = schema ? toJson(schema, payload, { registry: protoRegistry, alwaysEmitImplicit: true }) : null;
  }
  return {
    eventId: m.eventId,
    type: m.type,
    schemaVersion: m.schemaVersion,
    streamId: m.streamId,
    streamVersion: m.streamVersion,
    globalPosition: m.globalPosition,
    occurredAt: m.occurredAt ? timestampDate(m.occurredAt) : new Date(0),
    correlationId: m.correlationId,
    causationId: m.causationId,
    traceparent: m.traceparent,
    source: m.source,
    ...(m.principal
      ? {
          principal: {
            id: m.principal.id,
            role: m.principal.role,
            ...(m.principal.agentId ? { agentId: m.principal.agentId } : {}),
          },
        }
      : {}),
    payload,
    data,
  };
}
