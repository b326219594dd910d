import { toJson, type Message } from '@bufbuild/protobuf';
import { protoRegistry } from '@orch/contracts';
import type { EventMetadataInput } from '@orch/eventstore';
import type { CommandContext, DecodedEvent } from '@orch/messaging';

/** A proto message in the JSON mapping: what the store can keep and a replay can decode again. */
const payloadJson = (message: Message): unknown => {
  const schema = protoRegistry.getMessage(message.$typeName);
  return schema ? toJson(schema, message, { registry: protoRegistry }) : {};
};

/** Metadata of events appended for a command: who asked, in which session and trace, and the command itself. */
export const commandMetadata = (ctx: CommandContext, message: Message): EventMetadataInput => ({
  correlationId: ctx.correlationId,
  causationId: ctx.commandId,
  traceparent: ctx.traceparent,
  ...(ctx.principal ? { principal: ctx.principal } : {}),
  command: { name: ctx.command, payload: payloadJson(message) },
});

/** Metadata of events appended in reaction to another event: same session and trace, caused by it. */
export const reactionMetadata = (event: DecodedEvent): EventMetadataInput => ({
  correlationId: event.correlationId,
  causationId: event.eventId,
  ...(event.traceparent ? { traceparent: event.traceparent } : {}),
});
