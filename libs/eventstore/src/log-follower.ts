import type { EventStore, ReadAllOptions, RecordedEvent, Subscription } from './contract';

export interface LogFollowerOptions {
  /** The events followed (sources and types); the rest of the log is skipped by the store. */
  readonly filter: ReadAllOptions;
  /** Applies one event; a throw is reported to `onError` and the follower goes on. */
  readonly apply: (event: RecordedEvent) => void;
  readonly onError?: (err: unknown, event: RecordedEvent) => void;
  /** Events per read while catching up; 1,000 by default. */
  readonly pageSize?: number;
}

export interface CatchUp {
  readonly events: number;
  readonly ms: number;
  readonly position: bigint;
}

/**
 * Keeps in-memory state current from the store's global log: `catchUp()` reads everything the
 * filter selects up to the head (at start, before a service answers), then `start()` follows new
 * appends - other replicas' writes included - from where reading stopped. The log is gap-free
 * and never reordered, so nothing is missed between the two and nothing is applied twice.
 */
export class LogFollower {
  private position = 0n;
  private subscription: Subscription | undefined;
  private following: Promise<void> | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly options: LogFollowerOptions,
  ) {}

  /** The position of the last event applied (or skipped by the filter). */
  get at(): bigint {
    return this.subscription?.position ?? this.position;
  }

  /** Reads and applies every selected event up to the head of the log. */
  async catchUp(): Promise<CatchUp> {
    const started = performance.now();
    const head = await this.store.headPosition();
    const page = this.options.pageSize ?? 1_000;
    let events = 0;
    for (;;) {
      const batch = await this.store.readAll(this.position, page, this.options.filter);
      for (const event of batch) this.apply(event);
      events += batch.length;
      if (batch.length > 0) this.position = batch[batch.length - 1]!.globalPosition;
      if (batch.length < page) break;
    }
    if (head > this.position) this.position = head;
    return { events, ms: Math.round(performance.now() - started), position: this.position };
  }

  /** Follows the log from where `catchUp` stopped until `stop()`. */
  start(onStopped?: (err: unknown) => void): void {
    if (this.subscription) return;
    const subscription = this.store.subscribeAll(this.position, this.options.filter);
    this.subscription = subscription;
    this.following = (async () => {
      try {
        for await (const event of subscription) this.apply(event);
      } catch (err) {
        onStopped?.(err);
      }
    })();
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    if (!subscription) return;
    this.position = subscription.position;
    this.subscription = undefined;
    await subscription.close();
    await this.following;
  }

  private apply(event: RecordedEvent): void {
    try {
      this.options.apply(event);
    } catch (err) {
      this.options.onError?.(err, event);
    }
  }
}
