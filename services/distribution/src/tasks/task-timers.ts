/** setTimeout's longest delay; a due time further away is re-armed when this one fires. */
const MAX_DELAY_MS = 2 ** 31 - 1;

interface Armed {
  readonly due: number;
  readonly handle: NodeJS.Timeout;
}

/**
 * One timer per task (the current attempt's deadline, or a scheduled retry), replaced when the
 * task's due time changes and cleared when it has none. Timers do not keep the process alive.
 */
export class TaskTimers {
  private readonly armed = new Map<string, Armed>();

  get size(): number {
    return this.armed.size;
  }

  /** Runs `fire` at `due` (ms since the epoch), unless the same due time is already armed. */
  set(taskId: string, due: number, fire: () => void, now: number = Date.now()): void {
    if (this.armed.get(taskId)?.due === due) return;
    this.clear(taskId);
    const delay = Math.max(0, due - now);
    const handle = setTimeout(
      () => {
        this.armed.delete(taskId);
        if (Date.now() < due) this.set(taskId, due, fire);
        else fire();
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    handle.unref();
    this.armed.set(taskId, { due, handle });
  }

  clear(taskId: string): void {
    const armed = this.armed.get(taskId);
    if (armed) clearTimeout(armed.handle);
    this.armed.delete(taskId);
  }

  clearAll(): void {
    for (const armed of this.armed.values()) clearTimeout(armed.handle);
    this.armed.clear();
  }
}
