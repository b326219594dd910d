import type { InjectionToken, OnApplicationBootstrap, Provider } from '@nestjs/common';
import type { OutboxRelay } from '../outbox-relay';
import { Messaging, type ServiceRelayOptions } from './messaging.service';

/** A service's outbox relay, as its module declares it (see `serviceRelay`). */
export interface ServiceRelaySpec {
  /** Tokens whose values `useFactory` receives, in this order. */
  readonly inject?: readonly InjectionToken[];
  readonly useFactory: (...deps: never[]) => ServiceRelayOptions;
  /** Called with the relay once it runs (to register its gauges, say). */
  readonly started?: (relay: OutboxRelay) => void;
}

class ServiceRelay implements OnApplicationBootstrap {
  constructor(
    private readonly messaging: Messaging,
    private readonly options: ServiceRelayOptions,
    private readonly started: ((relay: OutboxRelay) => void) | undefined,
  ) {}

  onApplicationBootstrap(): void {
    const relay = this.messaging.startRelay(this.options);
    this.started?.(relay);
  }
}

/**
 * A provider running the outbox relay of the events the service appends. Every replica runs one;
 * a PostgreSQL advisory lock lets exactly one publish at a time (docs/adr/0004-outbox-relay.md).
 * It starts at application bootstrap, after MessagingModule's (imported modules go first), so the
 * streams it publishes to exist.
 */
export const serviceRelay = (spec: ServiceRelaySpec): Provider => ({
  provide: ServiceRelay,
  useFactory: (messaging: Messaging, ...deps: never[]) =>
    new ServiceRelay(messaging, spec.useFactory(...deps), spec.started),
  inject: [Messaging, ...(spec.inject ?? [])],
});
