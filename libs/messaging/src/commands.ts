import { randomUUID } from 'node:crypto';
import {
  create,
  fromBinary,
  toBinary,
  type Message,
  type MessageShape,
  type DescMessage,
} from '@bufbuild/protobuf';
import { anyPack, anyUnpack, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { context, type Context } from '@opentelemetry/api';
import {
  CommandEnvelopeSchema,
  CommandReplySchema,
  type CommandEnvelope,
  type CommandReply,
  type CommandTypeInfo,
  type ErrorReply,
} from '@orch/contracts';
import type { Logger } from 'pino';
import { fromErrorReply, malformedRequestReply, toErrorReply } from './error-reply';
import { CommandTimeoutError, ReplyDecodeError, ServiceUnavailableError } from './errors';
import { Headers } from './headers';
import type { Naming } from './naming';
import { notify, type MessagingObserver } from './observer';
import { extractTraceContext, injectTraceContext, SpanKind, traceparentOf, withSpan } from './tracing';

/** The acting principal carried by a command. */
export interface CommandPrincipal {
  readonly id: string;
  readonly role: string;
  readonly agentId?: string;
}

/** What the caller passes with a command: ids are explicit, never read from ambient state. */
export interface RequestContext {
  readonly correlationId: string;
  readonly causationId?: string;
  /** Defaults to a random UUID; pass one to make a retried command recognisable. */
  readonly commandId?: string;
  readonly principal?: CommandPrincipal;
  /** Default: the bus's default (5 s). */
  readonly timeoutMs?: number;
  /** Parent of the request span; defaults to the active context. */
  readonly traceContext?: Context;
}

/** What a command handler receives besides the payload; record these as event metadata. */
export interface CommandContext {
  readonly commandId: string;
  /** `<service>.<name>` */
  readonly command: string;
  readonly correlationId: string;
  /** The caller's causation id, or the command id when the caller gave none. */
  readonly causationId: string;
  readonly principal?: CommandPrincipal;
  /** W3C traceparent of the handler span. */
  readonly traceparent: string;
  /** When the caller stops waiting. */
  readonly deadline?: Date;
}

export type CommandHandlerFn<Req extends Message = Message, Res extends Message = Message> = (
  payload: Req,
  ctx: CommandContext,
) => Promise<Res>;

/** Client side of commands and queries: NATS request/reply with protobuf envelopes. */
export class CommandBus {
  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly options: { defaultTimeoutMs?: number } = {},
  ) {}

  /**
   * Sends a command and waits for its reply.
   * @throws RemoteDomainError when the service answered with an error
   * @throws CommandTimeoutError when no reply came in time (the command may have run)
   * @throws ServiceUnavailableError when no replica of the service is listening
   */
  async request<Res extends Message>(
    info: CommandTypeInfo,
    payload: Message,
    ctx: RequestContext,
  ): Promise<Res> {
    const command = `${info.service}.${info.name}`;
    const subject = this.naming.commandSubject(info.service, info.name);
    const timeoutMs = ctx.timeoutMs ?? this.options.defaultTimeoutMs ?? 5_000;
    const commandId = ctx.commandId ?? randomUUID();
    const envelope = create(CommandEnvelopeSchema, {
      commandId,
      name: info.name,
      payload: anyPack(info.schema, payload as MessageShape<DescMessage>),
      correlationId: ctx.correlationId,
      causationId: ctx.causationId ?? '',
      deadline: timestampFromDate(new Date(Date.now() + timeoutMs)),
      ...(ctx.principal
        ? {
            principal: {
              id: ctx.principal.id,
              role: ctx.principal.role,
              agentId: ctx.principal.agentId ?? '',
            },
          }
        : {}),
    });
    const parent = ctx.traceContext ?? context.active();
    return withSpan(
      `send ${command}`,
      SpanKind.CLIENT,
      parent,
      {
        'messaging.system': 'nats',
        'messaging.destination.name': subject,
        'orch.command.id': commandId,
        'orch.correlation_id': ctx.correlationId,
      },
      async (_span, spanCtx) => {
        const h = natsHeaders();
        h.set(Headers.correlationId, ctx.correlationId);
        if (ctx.causationId) h.set(Headers.causationId, ctx.causationId);
        h.set(Headers.commandId, commandId);
        injectTraceContext(spanCtx, h);
        let msg: Msg;
        try {
          msg = await this.nc.request(subject, toBinary(CommandEnvelopeSchema, envelope), {
            timeout: timeoutMs,
            headers: h,
          });
        } catch (err) {
          if (causedBy(err, 'NoResponders')) throw new ServiceUnavailableError(command, { cause: err });
          if (causedBy(err, 'TimeoutError'))
            throw new CommandTimeoutError(command, timeoutMs, { cause: err });
          throw err;
        }
        return decodeReply<Res>(msg.data, info, command);
      },
    );
  }
}

function decodeReply<Res extends Message>(bytes: Uint8Array, info: CommandTypeInfo, command: string): Res {
  let reply: CommandReply;
  try {
    reply = fromBinary(CommandReplySchema, bytes);
  } catch (cause) {
    throw new ReplyDecodeError(`reply to ${command} is not a CommandReply`, { cause });
  }
  if (reply.result.case === 'error') throw fromErrorReply(reply.result.value, command);
  if (reply.result.case !== 'ok') throw new ReplyDecodeError(`reply to ${command} has no result`);
  const res = anyUnpack(reply.result.value, info.reply);
  if (!res) {
    throw new ReplyDecodeError(
      `reply to ${command} carries ${reply.result.value.typeUrl}, expected ${info.reply.typeName}`,
    );
  }
  return res as unknown as Res;
}

function causedBy(err: unknown, name: string): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === name || e.constructor.name === name) return true;
  }
  return false;
}

/**
 * Server side of commands: one queue-group subscription per command, so each request is
 * answered by exactly one replica of the service.
 */
export class CommandServer {
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    private readonly service: string,
    private readonly logger: Logger,
    private readonly observer: MessagingObserver = {},
  ) {}

  /** Serves `info` with `handler` until `close()`. */
  handle<Req extends Message, Res extends Message>(
    info: CommandTypeInfo,
    handler: CommandHandlerFn<Req, Res>,
  ): void {
    const subject = this.naming.commandSubject(info.service, info.name);
    const sub = this.nc.subscribe(subject, {
      queue: this.service,
      callback: (err, msg) => {
        if (err) {
          this.logger.error({ err: err.message, subject }, 'command subscription failed');
          return;
        }
        const p = this.process(info, handler as unknown as CommandHandlerFn, msg).finally(() =>
          this.inFlight.delete(p),
        );
        this.inFlight.add(p);
      },
    });
    this.subscriptions.push(sub);
    this.logger.debug({ subject, queue: this.service }, 'serving command');
  }

  /** Number of subscriptions (commands served). */
  get size(): number {
    return this.subscriptions.length;
  }

  /** Stops receiving and waits for the commands being handled to be answered. */
  async close(): Promise<void> {
    await Promise.allSettled(this.subscriptions.map((s) => (s.isClosed() ? Promise.resolve() : s.drain())));
    this.subscriptions.length = 0;
    await Promise.allSettled([...this.inFlight]);
  }

  private async process(info: CommandTypeInfo, handler: CommandHandlerFn, msg: Msg): Promise<void> {
    const command = `${info.service}.${info.name}`;
    let envelope: CommandEnvelope;
    let payload: Message | undefined;
    try {
      envelope = fromBinary(CommandEnvelopeSchema, msg.data);
      payload = envelope.payload ? anyUnpack(envelope.payload, info.schema) : undefined;
    } catch {
      this.reply(msg, errorReply(malformedRequestReply(`request to ${command} is not a CommandEnvelope`)));
      return;
    }
    if (!payload) {
      this.reply(
        msg,
        errorReply(
          malformedRequestReply(
            `request to ${command} must carry ${info.schema.typeName}, got ${envelope.payload?.typeUrl ?? 'nothing'}`,
          ),
        ),
      );
      return;
    }
    const parent = extractTraceContext(msg.headers);
    const commandId = envelope.commandId || randomUUID();
    const started = performance.now();
    const reply = await withSpan(
      `handle ${command}`,
      SpanKind.SERVER,
      parent,
      {
        'messaging.system': 'nats',
        'messaging.destination.name': msg.subject,
        'orch.command.id': commandId,
        'orch.correlation_id': envelope.correlationId,
      },
      async (_span, spanCtx) => {
        const ctx: CommandContext = {
          commandId,
          command,
          correlationId: envelope.correlationId,
          causationId: envelope.causationId || commandId,
          traceparent: traceparentOf(spanCtx),
          ...(envelope.principal
            ? {
                principal: {
                  id: envelope.principal.id,
                  role: envelope.principal.role,
                  ...(envelope.principal.agentId ? { agentId: envelope.principal.agentId } : {}),
                },
              }
            : {}),
          ...(envelope.deadline ? { deadline: timestampDate(envelope.deadline) } : {}),
        };
        const result = await handler(payload, ctx);
        return create(CommandReplySchema, {
          result: { case: 'ok', value: anyPack(info.reply, result as MessageShape<DescMessage>) },
        });
      },
    ).catch((err: unknown) => {
      const { reply: error, internal } = toErrorReply(err);
      if (internal) {
        this.logger.error(
          { err, command, commandId, correlationId: envelope.correlationId },
          'command handler failed',
        );
      }
      return errorReply(error);
    });
    const outcome = reply.result.case === 'error' ? reply.result.value.code : 'ok';
    notify(this.observer.commandHandled, command, outcome, (performance.now() - started) / 1000);
    this.reply(msg, reply);
  }

  private reply(msg: Msg, reply: CommandReply): void {
    if (!msg.reply) return;
    try {
      msg.respond(toBinary(CommandReplySchema, reply));
    } catch (err) {
      // The connection is closing or gone: the caller gets a timeout, nothing else to do.
      this.logger.warn({ err: (err as Error).message, subject: msg.subject }, 'could not send command reply');
    }
  }
}

const errorReply = (error: ErrorReply): CommandReply =>
  create(CommandReplySchema, { result: { case: 'error', value: error } });
