import type { SessionView } from '@orch/contracts';

export interface DirectoryEntry {
  readonly sessionId: string;
  /** Global position of its WorkflowSubmitted: the order sessions are listed in. */
  readonly position: bigint;
  /** The session's view (without tasks) once it ended; its workflow then leaves the cache. */
  readonly ended?: SessionView;
}

/**
 * Every session this replica knows, newest first for listing. Running sessions are read from the
 * workflow cache; an ended one keeps only its summary here.
 */
export class SessionDirectory {
  private readonly byId = new Map<string, DirectoryEntry>();
  /** Ascending by position. */
  private readonly ordered: DirectoryEntry[] = [];

  add(sessionId: string, position: bigint): void {
    if (this.byId.has(sessionId)) return;
    const entry: DirectoryEntry = { sessionId, position };
    this.byId.set(sessionId, entry);
    // Own appends and other replicas' may arrive out of order: insert in place.
    let i = this.ordered.length;
    while (i > 0 && this.ordered[i - 1]!.position > position) i--;
    this.ordered.splice(i, 0, entry);
  }

  end(sessionId: string, view: SessionView): void {
    const entry = this.byId.get(sessionId);
    if (!entry) return;
    const ended = { ...entry, ended: view };
    this.byId.set(sessionId, ended);
    this.ordered[this.indexOf(entry)] = ended;
  }

  get(sessionId: string): DirectoryEntry | undefined {
    return this.byId.get(sessionId);
  }

  isEnded(sessionId: string): boolean {
    return this.byId.get(sessionId)?.ended !== undefined;
  }

  get size(): number {
    return this.byId.size;
  }

  /**
   * Up to `limit` entries that `accept` takes, newest first, from below the position `before`;
   * `next` is the cursor of the following page, undefined on the last.
   */
  page(
    before: bigint | undefined,
    limit: number,
    accept: (e: DirectoryEntry) => boolean,
  ): { items: DirectoryEntry[]; next: bigint | undefined } {
    const items: DirectoryEntry[] = [];
    let i = before === undefined ? this.ordered.length - 1 : this.lastBelow(before);
    for (; i >= 0 && items.length < limit; i--) {
      const e = this.ordered[i]!;
      if (accept(e)) items.push(e);
    }
    const more = i >= 0 && items.length === limit;
    return { items, next: more ? items[items.length - 1]!.position : undefined };
  }

  /** Index of the last entry with a position below `position` (-1 when none). */
  private lastBelow(position: bigint): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ordered[mid]!.position < position) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private indexOf(entry: DirectoryEntry): number {
    const i = this.lastBelow(entry.position) + 1;
    return this.ordered[i] === entry ? i : this.ordered.indexOf(entry);
  }
}
