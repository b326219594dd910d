/** A ready task as the dispatcher orders it. */
export interface ReadyEntry {
  readonly sessionId: string;
  readonly taskId: string;
  readonly priority: number;
  /** When it became ready (ms since the epoch). */
  readonly readyAt: number;
}

/** Higher priority first, then the task ready longest, then the task id (a stable order). */
const before = (a: ReadyEntry, b: ReadyEntry): boolean =>
  a.priority !== b.priority
    ? a.priority > b.priority
    : a.readyAt !== b.readyAt
      ? a.readyAt < b.readyAt
      : a.taskId < b.taskId;

/**
 * Ready tasks by priority, then age: a binary heap with one live entry per task. Replacing or
 * deleting a task leaves its old heap slot behind, skipped when it surfaces, so every operation
 * stays O(log n).
 */
export class ReadyQueue {
  private readonly heap: ReadyEntry[] = [];
  private readonly live = new Map<string, ReadyEntry>();

  get size(): number {
    return this.live.size;
  }

  has(taskId: string): boolean {
    return this.live.has(taskId);
  }

  /** Queues the task, or moves it to its new place when it was queued with other values. */
  offer(entry: ReadyEntry): void {
    const current = this.live.get(entry.taskId);
    if (current && current.priority === entry.priority && current.readyAt === entry.readyAt) return;
    this.live.set(entry.taskId, entry);
    this.heap.push(entry);
    this.up(this.heap.length - 1);
  }

  delete(taskId: string): void {
    this.live.delete(taskId);
  }

  /** The first task, removed from the queue. */
  poll(): ReadyEntry | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.down(0);
      }
      if (this.live.get(top.taskId) === top) {
        this.live.delete(top.taskId);
        return top;
      }
    }
    return undefined;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) return;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < h.length && before(h[l]!, h[best]!)) best = l;
      if (r < h.length && before(h[r]!, h[best]!)) best = r;
      if (best === i) return;
      [h[i], h[best]] = [h[best]!, h[i]!];
      i = best;
    }
  }
}
