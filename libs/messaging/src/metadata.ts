import { toJson, type Message } from '@bufbuild/protobuf';
import { protoRegistry } from '@orch/contracts';
import type { EventMetadataInput } from '@orch/eventstore';
import type { DecodedEvent } from './codec';
import type { CommandContext } from './commands';

/**
 * Metadata of the events a command appends: who asked, in which trace, the command as their cause
 * and the command itself in the proto JSON mapping (what a replay decodes again). Correlated with
 * the command's correlation id unless the caller names one (the session the events belong to).
 */
export function commandMetadata(
  ctx: CommandContext,
  message: Message,
  correlationId: string = ctx.correlationId,
): EventMetadataInput {
  const schema = protoRegistry.getMessage(message.$typeName);
  if (!schema) throw new Error(`proto/ declares no message ${message.$typeName}`);
  return {
    correlationId,
    causationId: ctx.commandId,
    traceparent: ctx.traceparent,
    ...(ctx.principal ? { principal: ctx.principal } : {}),
    command: { name: ctx.command, payload: toJson(schema, message, { registry: protoRegistry }) },
  };
}

/**
 * Metadata of the events appended in reaction to another event: same trace, caused by it, and
 * correlated like it unless the caller names the correlation (the session the events belong to).
 */
export const reactionMetadata = (
  event: DecodedEvent,
  correlationId: string = event.correlationId,
): EventMetadataInput => ({
  correlationId,
  causationId: event.eventId,
  ...(event.traceparent ? { traceparent: event.traceparent } : {}),
});
