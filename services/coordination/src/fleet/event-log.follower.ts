import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import type { EventStore, RecordedEvent, Subscription } from '@orch/eventstore';
import { MESSAGING_LOGGER } from '@orch/messaging';
import type { Logger } from 'pino';
import { EVENT_STORE } from '../tokens';

/** Something kept current from the store's global log. */
export interface LogObserver {
  /** Event types it follows. */
  readonly types: readonly string[];
  /** Types read from the start of the log at start-up (the rest only from then on). */
  readonly rebuildTypes: readonly string[];
  observe(recorded: RecordedEvent): void;
}

export const LOG_OBSERVERS = Symbol.for('orch.coordination.LogObservers');

const PAGE = 1_000;

/**
 * Rebuilds this replica's in-memory state from the store's global log before any command is
 * served, then follows the log so writes by other replicas are seen (docs/orchestration.md "Both
 * services keep the aggregates they work on in memory"). The log is gap-free, so following it
 * from the last position read misses nothing.
 */
@Injectable()
export class EventLogFollower implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private position = 0n;
  private subscription: Subscription | undefined;
  private following: Promise<void> | undefined;
  private readonly byType = new Map<string, LogObserver[]>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOG_OBSERVERS) private readonly observers: readonly LogObserver[],
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    for (const o of observers)
      for (const t of o.types) this.byType.set(t, [...(this.byType.get(t) ?? []), o]);
  }

  /** Runs before command handlers and consumers start (they start at application bootstrap). */
  async onModuleInit(): Promise<void> {
    const types = [...new Set(this.observers.flatMap((o) => o.rebuildTypes))];
    const started = performance.now();
    let count = 0;
    const head = await this.store.headPosition();
    for (;;) {
      const page = await this.store.readAll(this.position, PAGE, { types });
      for (const event of page) this.dispatch(event);
      count += page.length;
      if (page.length > 0) this.position = page[page.length - 1]!.globalPosition;
      if (page.length < PAGE) break;
    }
    if (head > this.position) this.position = head;
    this.logger.info(
      { events: count, position: this.position.toString(), ms: Math.round(performance.now() - started) },
      'coordination state rebuilt from the event store',
    );
  }

  onApplicationBootstrap(): void {
    const subscription = this.store.subscribeAll(this.position, { types: [...this.byType.keys()] });
    this.subscription = subscription;
    this.following = (async () => {
      try {
        for await (const event of subscription) this.dispatch(event);
      } catch (err) {
        this.logger.error({ err }, 'following the event store stopped');
      }
    })();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.subscription?.close();
    await this.following;
  }

  private dispatch(event: RecordedEvent): void {
    for (const o of this.byType.get(event.type) ?? []) {
      try {
        o.observe(event);
      } catch (err) {
        this.logger.warn(
          { err, eventId: event.eventId, type: event.type },
          'could not apply an event from the log',
        );
      }
    }
  }
}
