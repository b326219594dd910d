import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { CommandTypeInfo } from '@orch/contracts';
import type { Logger } from 'pino';
import { CommandServer } from '../commands';
import { isNatsConnected } from '../connection';
import { EventConsumer, type ConsumerState } from '../consumer';
import type { Naming } from '../naming';
import { OutboxRelay, type OutboxRelayOptions } from '../outbox-relay';
import { provisionStreams } from '../streams';
import type { EventHandlerOptions } from './decorators';
import type { MessagingModuleOptions } from './options';
import {
  COMMAND_HANDLER_METADATA,
  EVENT_HANDLER_METADATA,
  MESSAGING_LOGGER,
  MESSAGING_NAMING,
  MESSAGING_OPTIONS,
  NATS_CONNECTION,
} from './tokens';

/** Relay part of the health report (positions as numbers, for JSON). */
export interface RelayHealth {
  readonly leader: boolean;
  readonly running: boolean;
  readonly position: number;
  readonly checkpoint: number;
  readonly lag: number;
  readonly lastError?: string;
}

/** A service's relay: its store, pool and schema; messaging adds its connection, naming and logger. */
export type ServiceRelayOptions = Omit<OutboxRelayOptions, 'naming' | 'js' | 'logger'>;

export interface MessagingHealth {
  readonly nats: 'up' | 'down';
  /** By durable name. */
  readonly consumers: Record<string, ConsumerState>;
  /** By relay name; empty when the service runs no relay. */
  readonly relay: Record<string, RelayHealth>;
}

/**
 * Wires decorated handlers at bootstrap, reports health, and shuts the messaging side down in
 * order: stop taking commands and events (finishing those in hand), then drain the connection.
 */
@Injectable()
export class Messaging implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly consumers: EventConsumer[] = [];
  private readonly relays: OutboxRelay[] = [];

  constructor(
    @Inject(NATS_CONNECTION) readonly connection: NatsConnection,
    @Inject(MESSAGING_NAMING) readonly naming: Naming,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingModuleOptions,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
    @Inject(CommandServer) private readonly commandServer: CommandServer,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const commands: { info: CommandTypeInfo; call: (...args: unknown[]) => Promise<unknown> }[] = [];
    const events: { options: EventHandlerOptions; call: (...args: unknown[]) => Promise<unknown> }[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = (instance as Record<string, unknown>)[method];
        if (typeof fn !== 'function') continue;
        const call = (...args: unknown[]): Promise<unknown> =>
          (fn as (...a: unknown[]) => Promise<unknown>).apply(instance, args);
        const info = Reflect.getMetadata(COMMAND_HANDLER_METADATA, fn) as CommandTypeInfo | undefined;
        if (info) commands.push({ info, call });
        const eventOptions = Reflect.getMetadata(EVENT_HANDLER_METADATA, fn) as
          EventHandlerOptions | undefined;
        if (eventOptions) events.push({ options: eventOptions, call });
      }
    }
    if (this.options.provisionStreams ?? true) {
      await provisionStreams(await jetstreamManager(this.connection), this.naming, this.options.streams);
    }
    for (const { info, call } of commands) {
      this.commandServer.handle(info, (payload, ctx) => call(payload, ctx) as never);
    }
    for (const { options, call } of events) {
      const consumer = new EventConsumer(
        this.connection,
        this.naming,
        { ...options, service: this.options.service },
        async (event, delivery) => void (await call(event, delivery)),
        this.logger,
        this.options.observer,
      );
      await consumer.start();
      this.consumers.push(consumer);
    }
    this.logger.info(
      { commands: commands.length, consumers: this.consumers.length },
      'messaging handlers registered',
    );
  }

  /**
   * Builds the outbox relay of the events `options.source` appends, starts it and attaches it.
   * Call it once messaging has bootstrapped, so the streams it publishes to exist (`serviceRelay`
   * does).
   */
  startRelay(options: ServiceRelayOptions): OutboxRelay {
    const relay = new OutboxRelay({
      ...options,
      naming: this.naming,
      js: jetstream(this.connection),
      logger: this.logger,
    });
    relay.start();
    this.attachRelay(relay);
    return relay;
  }

  /** Includes a relay in `health()` and stops it at shutdown. */
  attachRelay(relay: OutboxRelay): void {
    this.relays.push(relay);
  }

  health(): MessagingHealth {
    const consumers: Record<string, ConsumerState> = {};
    for (const c of this.consumers) consumers[c.durable] = c.state;
    const relay: Record<string, RelayHealth> = {};
    for (const r of this.relays) {
      const s = r.status();
      relay[s.relay] = {
        leader: s.leader,
        running: s.running,
        position: Number(s.position),
        checkpoint: Number(s.checkpoint),
        lag: Number(s.lag),
        ...(s.lastError ? { lastError: s.lastError } : {}),
      };
    }
    return { nats: isNatsConnected(this.connection) ? 'up' : 'down', consumers, relay };
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([
      ...this.consumers.map((c) => c.stop()),
      ...this.relays.map((r) => r.stop()),
      this.commandServer.close(),
    ]);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.connection.isClosed()) await this.connection.drain().catch(() => this.connection.close());
  }
}
