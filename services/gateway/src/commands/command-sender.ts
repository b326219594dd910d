import type { Message } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import { commandTypes, type CommandTypeInfo } from '@orch/contracts';
import { CommandBus, type RequestContext } from '@orch/messaging';
import type { ServiceMetrics } from '@orch/observability';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';
import type { GatewayConfig } from '../config';
import { GATEWAY_CONFIG, METRICS } from '../tokens';

/** The command or query `<service>.<name>` as proto/ declares it; throws at start-up when missing. */
export function command(name: string): CommandTypeInfo {
  const info = commandTypes.get(name);
  if (!info) throw new Error(`command ${name} is not declared in proto/`);
  return info;
}

export interface SendOptions {
  /** Makes a retried request the same command (derived from its Idempotency-Key). */
  readonly commandId?: string;
  /**
   * The session the command belongs to: events of a session carry its id as their correlation id
   * (DESIGN.md), so its history can be read and replayed as one. Defaults to the request's id.
   */
  readonly correlationId?: string;
  /** Added to the usual timeout, for queries that wait on purpose (long-polls). */
  readonly extraTimeoutMs?: number;
}

/** Who the gateway's own queries act as: a reader, never a particular API key. */
export const GATEWAY_PRINCIPAL: Principal = { id: 'gateway', role: 'viewer' };

/**
 * Sends commands and queries for HTTP handlers: the request's correlation id and the principal
 * travel explicitly with each, and each round trip is timed by outcome.
 */
@Injectable()
export class CommandSender {
  constructor(
    @Inject(CommandBus) private readonly bus: CommandBus,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
  ) {}

  async send<Res extends Message>(
    info: CommandTypeInfo,
    payload: Message,
    req: FastifyRequest,
    principal: Principal,
    options: SendOptions = {},
  ): Promise<Res> {
    return this.dispatch<Res>(info, payload, {
      correlationId: options.correlationId ?? req.id,
      ...(options.commandId ? { commandId: options.commandId } : {}),
      principal,
      timeoutMs: this.config.commandTimeoutMs + (options.extraTimeoutMs ?? 0),
    });
  }

  /**
   * Sends a query on the gateway's own behalf, outside any HTTP request (e.g. one poll whose answer
   * many SSE clients share): it travels as the principal {@link GATEWAY_PRINCIPAL}.
   */
  async sendAsGateway<Res extends Message>(
    info: CommandTypeInfo,
    payload: Message,
    correlationId: string,
  ): Promise<Res> {
    return this.dispatch<Res>(info, payload, {
      correlationId,
      principal: GATEWAY_PRINCIPAL,
      timeoutMs: this.config.commandTimeoutMs,
    });
  }

  private async dispatch<Res extends Message>(
    info: CommandTypeInfo,
    payload: Message,
    ctx: RequestContext,
  ): Promise<Res> {
    const end = this.metrics.commandDuration.startTimer({ command: `${info.service}.${info.name}` });
    try {
      const res = await this.bus.request<Res>(info, payload, ctx);
      end({ outcome: 'ok' });
      return res;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      end({ outcome: typeof code === 'string' ? code : 'error' });
      throw err;
    }
  }
}
