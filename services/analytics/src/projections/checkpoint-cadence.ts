/**
 * When the projection is checkpointed: after `everyEvents` events applied, or once `intervalMs`
 * passed since the last checkpoint with events applied since, whichever comes first. A checkpoint
 * that failed to write is tried again no sooner than `intervalMs` later, however many events
 * arrive meanwhile (a database outage must not turn every event into a write attempt).
 *
 * Pure: the caller passes the time (ms) and does the writing.
 */
export class CheckpointCadence {
  private pending = 0;
  private lastAt: number;
  private notBefore = Number.NEGATIVE_INFINITY;

  constructor(
    readonly everyEvents: number,
    readonly intervalMs: number,
    nowMs: number,
  ) {
    this.lastAt = nowMs;
  }

  /** Events applied and not yet in a checkpoint. */
  get unsaved(): number {
    return this.pending;
  }

  /** Counts `n` events applied. */
  applied(n = 1): void {
    this.pending += n;
  }

  /** Whether a checkpoint is due at `nowMs`. */
  due(nowMs: number): boolean {
    if (this.pending === 0 || nowMs < this.notBefore) return false;
    return this.pending >= this.everyEvents || nowMs - this.lastAt >= this.intervalMs;
  }

  /**
   * Milliseconds from `nowMs` until time alone makes a checkpoint due, or undefined when nothing
   * waits for one (no event applied since the last).
   */
  msUntilDue(nowMs: number): number | undefined {
    if (this.pending === 0) return undefined;
    const dueAt =
      this.pending >= this.everyEvents
        ? this.notBefore
        : Math.max(this.notBefore, this.lastAt + this.intervalMs);
    return Math.max(0, dueAt - nowMs);
  }

  /** A checkpoint of everything applied so far is written from `nowMs`; answers how many events it holds. */
  taken(nowMs: number): number {
    const n = this.pending;
    this.pending = 0;
    this.lastAt = nowMs;
    return n;
  }

  /** Writing the checkpoint of `n` events failed at `nowMs`: they wait for the next one. */
  failed(n: number, nowMs: number): void {
    this.pending += n;
    this.notBefore = nowMs + this.intervalMs;
  }
}
