import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';

/**
 * Wakes subscriptions when appends commit. One dedicated connection per store LISTENs on the
 * schema's channel; every committed batch sends one NOTIFY. Notifications are only a hint to read
 * sooner: subscribers poll as well, so a lost connection or a dropped notification delays
 * delivery by at most the poll interval and never loses an event.
 */
export class LogNotifier {
  /** Bumped on every notification (and on reconnect, when some may have been missed). */
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private client: PoolClient | undefined;
  /** Clients already given up (lost or closed), so each is released exactly once. */
  private readonly dead = new WeakSet<PoolClient>();
  private retryTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly logger: Logger,
    private readonly retryMs: number,
  ) {}

  /** Starts listening (once); failures are logged and retried, never thrown. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connect();
  }

  /** The current generation; pass it to `waitForChange` to not miss a notification that arrives in between. */
  get current(): number {
    return this.generation;
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /**
   * Resolves when a notification arrived after `since` was read or after `timeoutMs`, whichever
   * comes first; `cancel` resolves it at once (a subscription closing).
   */
  waitForChange(since: number, timeoutMs: number): { readonly promise: Promise<void>; cancel(): void } {
    if (this.generation !== since || this.closed)
      return { promise: Promise.resolve(), cancel: () => undefined };
    let cancel!: () => void;
    const promise = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      cancel = done;
    });
    return { promise, cancel };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    // A connect still in flight is not awaited (it may hang on a dead network); it sees `closed`
    // when it completes and releases its client.
    const client = this.client;
    this.client = undefined;
    if (client) {
      // Destroyed rather than returned to the pool: it still carries this store's listeners.
      this.dead.add(client);
      client.removeAllListeners('notification');
      client.release(true);
    }
    this.wake();
  }

  private wake(): void {
    this.generation++;
    for (const waiter of [...this.waiters]) waiter();
  }

  private connect(): void {
    void (async () => {
      let client: PoolClient | undefined;
      try {
        client = await this.pool.connect();
        const listening = client;
        listening.on('notification', (message) => {
          if (message.channel === this.channel) this.wake();
        });
        // Kept for the client's lifetime: an 'error' without a listener would crash the process.
        listening.on('error', (error) => this.lost(listening, error));
        listening.on('end', () => this.lost(listening, new Error('LISTEN connection ended')));
        await client.query(`LISTEN ${quoteIdent(this.channel)}`);
        if (this.closed) {
          this.dead.add(client);
          client.release(true);
          return;
        }
        this.client = client;
        // Appends may have committed while no one was listening.
        this.wake();
      } catch (error) {
        if (client) this.lost(client, error);
        else this.scheduleRetry(error);
      }
    })();
  }

  private lost(client: PoolClient, error: unknown): void {
    // 'error' and 'end' both fire for one broken connection; handle it once.
    if (this.dead.has(client)) return;
    this.dead.add(client);
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('notification');
    try {
      client.release(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // Already released: pg throws when a client is released twice; nothing more to do.
    }
    this.wake();
    this.scheduleRetry(error);
  }

  private scheduleRetry(error: unknown): void {
    if (this.closed) return;
    this.logger.warn(
      { err: error, channel: this.channel, retryInMs: this.retryMs },
      'event store LISTEN connection lost; retrying',
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
  }
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
