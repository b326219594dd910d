/** Injection token of the NatsConnection opened by MessagingModule. */
export const NATS_CONNECTION = Symbol.for('orch.messaging.NatsConnection');
/** Injection token of the MessagingModuleOptions. */
export const MESSAGING_OPTIONS = Symbol.for('orch.messaging.options');
/** Injection token of the Naming built from the namespace. */
export const MESSAGING_NAMING = Symbol.for('orch.messaging.naming');
/** Injection token of the pino Logger used by messaging. */
export const MESSAGING_LOGGER = Symbol.for('orch.messaging.logger');

export const COMMAND_HANDLER_METADATA = 'orch:messaging:command-handler';
export const EVENT_HANDLER_METADATA = 'orch:messaging:event-handler';
