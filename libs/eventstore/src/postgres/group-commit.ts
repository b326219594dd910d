/**
 * Group commit: appends made while a flush is running wait in a queue and the next flush takes
 * them all (up to the limits) into one transaction. An idle store flushes a lone append at once,
 * so there is no added latency; under load, one commit (one WAL flush) carries many appends.
 */

export interface GroupCommitLimits {
  /** Most events in one transaction; an append larger than this still goes, alone. */
  readonly maxBatchEvents: number;
  /** Most appends in one transaction. */
  readonly maxBatchAppends: number;
}

export interface Queued {
  /** Number of events the append carries. */
  readonly size: number;
  /** Fails the append; used when the flush itself throws. */
  reject(error: unknown): void;
}

export class GroupCommitQueue<T extends Queued> {
  private readonly queue: T[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly limits: GroupCommitLimits,
    /** Writes one batch and settles every append in it. One call runs at a time. */
    private readonly flush: (batch: T[]) => Promise<void>,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  enqueue(item: T): void {
    this.queue.push(item);
    this.running ??= this.drain();
  }

  /** Resolves once every append queued so far has been flushed. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Takes the next batch off the queue: at least one append, then as many as fit the limits. */
  takeBatch(): T[] {
    const batch: T[] = [];
    let events = 0;
    while (this.queue.length > 0 && batch.length < this.limits.maxBatchAppends) {
      const next = this.queue[0]!;
      if (batch.length > 0 && events + next.size > this.limits.maxBatchEvents) break;
      batch.push(this.queue.shift()!);
      events += next.size;
    }
    return batch;
  }

  private async drain(): Promise<void> {
    // Appends made in the same tick (Promise.all over many appends) join the first batch.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        try {
          await this.flush(batch);
        } catch (error) {
          // A flush settles its appends itself; this only guards against a bug leaving them hanging.
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      // No await between the empty-queue check and here, so no append can be left behind.
      this.running = undefined;
    }
  }
}
