import { SetMetadata } from '@nestjs/common';
import type { CommandTypeInfo } from '@orch/contracts';
import type { EventConsumerOptions } from '../consumer';
import { COMMAND_HANDLER_METADATA, EVENT_HANDLER_METADATA } from './tokens';

/**
 * Serves the command or query on this method: `(payload, ctx: CommandContext) => Promise<Reply>`.
 * Registered at application bootstrap on whatever provider declares it.
 */
export const CommandHandler = (info: CommandTypeInfo): MethodDecorator =>
  SetMetadata(COMMAND_HANDLER_METADATA, info);

/** What `@EventHandler` takes: the consumer options without the service (the module's). */
export type EventHandlerOptions = Omit<EventConsumerOptions, 'service'>;

/**
 * Consumes events with this method: `(event: DecodedEvent, delivery: EventDelivery) => Promise<void>`,
 * through the durable `<service>-<consumer>`, started at bootstrap and stopped at shutdown.
 */
export const EventHandler = (options: EventHandlerOptions): MethodDecorator =>
  SetMetadata(EVENT_HANDLER_METADATA, options);
