import type { Logger } from 'pino';
import type { RecordedEvent, Subscription } from '../contract';
import { isEventStoreUnavailable } from '../errors';
import type { LogNotifier } from './log-notifier';

export interface LogSubscriptionDeps {
  /** One readAll page after `from`, filters applied. */
  readPage(from: bigint, limit: number): Promise<RecordedEvent[]>;
  readonly notifier: LogNotifier;
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  /** Called once when the subscription closes. */
  onClose(subscription: LogSubscription): void;
}

/**
 * Follows the global log by reading pages after the last position it yielded. Because the log is
 * gap-free (positions become visible strictly in order), "read after my cursor" is all a
 * subscriber needs: nothing committed later can appear below the cursor. Between pages it waits
 * for a NOTIFY or the poll interval. A read that fails because the database is unreachable is
 * logged and retried after the poll interval; any other error ends the iteration with that error.
 */
export class LogSubscription implements Subscription {
  private cursor: bigint;
  private closed = false;
  private iterating = false;
  /** Ends whatever the iteration is awaiting (a read or a wait) when close() is called. */
  private interrupt: (() => void) | undefined;

  constructor(
    private readonly deps: LogSubscriptionDeps,
    fromPosition: bigint,
    private readonly batchSize: number,
  ) {
    this.cursor = fromPosition;
  }

  get position(): bigint {
    return this.cursor;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    if (this.iterating) throw new TypeError('a subscription can be iterated only once');
    this.iterating = true;
    return this.follow();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.interrupt?.();
      this.deps.onClose(this);
    }
    return Promise.resolve();
  }

  private async *follow(): AsyncGenerator<RecordedEvent, void, undefined> {
    const { notifier, pollIntervalMs, logger } = this.deps;
    try {
      while (!this.closed) {
        const generation = notifier.current;
        const page = await this.readUnlessClosed();
        if (page === undefined) continue;
        for (const event of page) {
          if (this.closed) return;
          this.cursor = event.globalPosition;
          yield event;
        }
        if (page.length < this.batchSize && !this.closed)
          await this.waitForChange(generation, pollIntervalMs);
      }
    } finally {
      // Also reached when the consumer leaves a for-await loop early.
      await this.close();
      logger.debug({ position: this.cursor }, 'event store subscription ended');
    }
  }

  /** A page, or undefined when the subscription closed or the read must be retried. */
  private async readUnlessClosed(): Promise<RecordedEvent[] | undefined> {
    try {
      const page = await this.unlessClosed(this.deps.readPage(this.cursor, this.batchSize));
      return this.closed ? undefined : page;
    } catch (error) {
      if (this.closed) return undefined;
      if (!isEventStoreUnavailable(error)) throw error;
      this.deps.logger.warn(
        { err: error, position: this.cursor, retryInMs: this.deps.pollIntervalMs },
        'event store subscription read failed; retrying',
      );
      await this.waitForChange(this.deps.notifier.current, this.deps.pollIntervalMs);
      return undefined;
    }
  }

  private async waitForChange(generation: number, timeoutMs: number): Promise<void> {
    const wait = this.deps.notifier.waitForChange(generation, timeoutMs);
    this.interrupt = wait.cancel;
    try {
      await wait.promise;
    } finally {
      this.interrupt = undefined;
    }
  }

  /** Settles with `work`, or with undefined as soon as close() is called; `work` then finishes unobserved. */
  private unlessClosed<T>(work: Promise<T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      this.interrupt = () => resolve(undefined);
      work.then(resolve, (error: unknown) => (this.closed ? resolve(undefined) : reject(error)));
    }).finally(() => {
      this.interrupt = undefined;
    });
  }
}
