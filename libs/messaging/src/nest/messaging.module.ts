import {
  Global,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/nats-core';
import { pino, type Logger } from 'pino';
import { CommandBus, CommandServer } from '../commands';
import { connectNats } from '../connection';
import { naming, type Naming } from '../naming';
import { Messaging } from './messaging.service';
import type { MessagingModuleOptions } from './options';
import { MESSAGING_LOGGER, MESSAGING_NAMING, MESSAGING_OPTIONS, NATS_CONNECTION } from './tokens';

export interface MessagingModuleAsyncOptions {
  readonly imports?: ModuleMetadata['imports'];
  readonly inject?: InjectionToken[];
  readonly useFactory: (...args: never[]) => MessagingModuleOptions | Promise<MessagingModuleOptions>;
}

const providers: Provider[] = [
  {
    provide: MESSAGING_LOGGER,
    useFactory: (o: MessagingModuleOptions): Logger => o.logger ?? pino({ name: o.service }),
    inject: [MESSAGING_OPTIONS],
  },
  {
    provide: MESSAGING_NAMING,
    useFactory: (o: MessagingModuleOptions): Naming => naming(o.namespace ?? ''),
    inject: [MESSAGING_OPTIONS],
  },
  {
    provide: NATS_CONNECTION,
    useFactory: (o: MessagingModuleOptions, logger: Logger): Promise<NatsConnection> =>
      connectNats({ servers: o.natsUrl, name: o.service, logger }),
    inject: [MESSAGING_OPTIONS, MESSAGING_LOGGER],
  },
  {
    provide: CommandBus,
    useFactory: (nc: NatsConnection, n: Naming, o: MessagingModuleOptions) =>
      new CommandBus(nc, n, { defaultTimeoutMs: o.commandTimeoutMs ?? 5_000 }),
    inject: [NATS_CONNECTION, MESSAGING_NAMING, MESSAGING_OPTIONS],
  },
  {
    provide: CommandServer,
    useFactory: (nc: NatsConnection, n: Naming, o: MessagingModuleOptions, logger: Logger) =>
      new CommandServer(nc, n, o.service, logger, o.observer),
    inject: [NATS_CONNECTION, MESSAGING_NAMING, MESSAGING_OPTIONS, MESSAGING_LOGGER],
  },
  Messaging,
];

const exported = [
  NATS_CONNECTION,
  MESSAGING_NAMING,
  MESSAGING_LOGGER,
  MESSAGING_OPTIONS,
  CommandBus,
  CommandServer,
  Messaging,
];

/**
 * Global module giving a service its NATS connection (`NATS_CONNECTION`), `CommandBus`,
 * `CommandServer` and `Messaging` (health, relays), and running every `@CommandHandler` and
 * `@EventHandler` method of any provider.
 */
@Global()
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: MESSAGING_OPTIONS, useValue: options }, ...providers],
      exports: exported,
    };
  }

  static forRootAsync(options: MessagingModuleAsyncOptions): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [
        { provide: MESSAGING_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        ...providers,
      ],
      exports: exported,
    };
  }
}
