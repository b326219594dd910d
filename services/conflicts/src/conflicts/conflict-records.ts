/**
 * The conflict desk's read model, pure: how the allocator's conflict events fold into one
 * conflict's record (`evolveConflict`), and the book's index of records (`ConflictIndex`): by id,
 * in listing order, with resolved ones beyond a bound dropped. No I/O and no clock: times come in
 * the events.
 */

// ---------------------------------------------------------------- records

/** A task attempt party to a conflict (ConflictParty in resources.proto). */
export interface ConflictParty {
  readonly taskId: string;
  readonly attempt: number;
  readonly priority: number;
  /** waiter | holder */
  readonly role: string;
}

/** What ConflictDetected says. */
export interface Detection {
  /** lock | pool */
  readonly kind: string;
  /** The pool id or the lock name contended for. */
  readonly resource: string;
  /** The waiting allocation (`taskId#attempt`). */
  readonly allocationId: string;
  readonly parties: readonly ConflictParty[];
  /** queue | preempt | wait-die | wound-wait | manual */
  readonly policy: string;
  /** When the waiter first asked; undefined when the event does not say. */
  readonly since: Date | undefined;
  readonly detectedAt: Date;
}

/** How a conflict ended. */
export interface Resolution {
  /** granted | preempted | aborted | withdrawn | manual */
  readonly resolution: string;
  /** Task id of the party that won, empty when none did. */
  readonly winner: string;
  /** The operator's strategy (queue | preempt | abort | grant), empty when a policy or an event resolved it. */
  readonly strategy: string;
  readonly reason: string;
  readonly resolvedAt: Date;
  /**
   * True while only the allocator's reply to an operator's resolution is known; the
   * ConflictResolved event that follows through the log replaces it.
   */
  readonly provisional: boolean;
}

/**
 * One conflict as the desk knows it. `undetected`: its resolution was seen before its detection
 * (impossible in the store's gap-free log, kept so the detection merges into it when it comes).
 */
export type ConflictRecord =
  | { readonly status: 'open'; readonly conflictId: string; readonly detection: Detection }
  | {
      readonly status: 'resolved';
      readonly conflictId: string;
      readonly detection: Detection;
      readonly resolution: Resolution;
    }
  | { readonly status: 'undetected'; readonly conflictId: string; readonly resolution: Resolution };

export type OpenConflict = Extract<ConflictRecord, { readonly status: 'open' }>;

/** A record that is listed: one whose detection is known. */
export type DetectedConflict = Extract<ConflictRecord, { readonly detection: Detection }>;

// ---------------------------------------------------------------- events

type ResolutionFields = Omit<Resolution, 'provisional'>;

/**
 * What folds into the book: the allocator's two conflict events, and `ResolutionAccepted`, the
 * allocator's reply to an operator's resolution, applied before its ConflictResolved arrives.
 */
export type ConflictEvent =
  | ({ readonly type: 'ConflictDetected'; readonly conflictId: string } & Detection)
  | ({ readonly type: 'ConflictResolved'; readonly conflictId: string } & ResolutionFields)
  | ({ readonly type: 'ResolutionAccepted'; readonly conflictId: string } & ResolutionFields);

const detectionOf = (e: Detection): Detection => ({
  kind: e.kind,
  resource: e.resource,
  allocationId: e.allocationId,
  parties: e.parties,
  policy: e.policy,
  since: e.since,
  detectedAt: e.detectedAt,
});

const resolutionOf = (e: ResolutionFields, provisional: boolean): Resolution => ({
  resolution: e.resolution,
  winner: e.winner,
  strategy: e.strategy,
  reason: e.reason,
  resolvedAt: e.resolvedAt,
  provisional,
});

function resolve(
  record: ConflictRecord | undefined,
  conflictId: string,
  resolution: Resolution,
): ConflictRecord {
  if (!record) return { status: 'undetected', conflictId, resolution };
  if (record.status === 'open') {
    return { status: 'resolved', conflictId, detection: record.detection, resolution };
  }
  // Already resolved: only the event may replace what the reply said; the first of each stays.
  return record.resolution.provisional && !resolution.provisional ? { ...record, resolution } : record;
}

/**
 * Folds one event into the conflict's record (undefined: not seen yet). Returns `record` itself
 * when the event changes nothing: a detection or a final resolution seen again, a reply after the
 * event. A resolution seen before its detection is kept, and the detection merges into it.
 */
export function evolveConflict(record: ConflictRecord | undefined, event: ConflictEvent): ConflictRecord {
  switch (event.type) {
    case 'ConflictDetected': {
      if (!record) return { status: 'open', conflictId: event.conflictId, detection: detectionOf(event) };
      if (record.status !== 'undetected') return record;
      return {
        status: 'resolved',
        conflictId: record.conflictId,
        detection: detectionOf(event),
        resolution: record.resolution,
      };
    }
    case 'ConflictResolved':
      return resolve(record, event.conflictId, resolutionOf(event, false));
    case 'ResolutionAccepted':
      return resolve(record, event.conflictId, resolutionOf(event, true));
    default: {
      const never: never = event;
      throw new Error(`unhandled conflict event ${(never as { type: string }).type}`);
    }
  }
}

/** The final (not provisional) resolution of a record, if it has one. */
export const finalResolution = (record: ConflictRecord | undefined): Resolution | undefined =>
  record && record.status !== 'open' && !record.resolution.provisional ? record.resolution : undefined;

// ---------------------------------------------------------------- listing order

/** Where a conflict stands in the listing: newest detection first, then conflict id ascending. */
export interface SortKey {
  /** Detection time, ms since the epoch. */
  readonly at: number;
  readonly id: string;
}

export const sortKeyOf = (record: DetectedConflict): SortKey => ({
  at: record.detection.detectedAt.getTime(),
  id: record.conflictId,
});

/** Negative when `a` is listed after `b` (older, or as old with a greater id); 0 when equal. */
function rank(a: SortKey, b: SortKey): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

// ---------------------------------------------------------------- the index

export type ConflictStatus = 'open' | 'resolved';

/** What applying one event did. */
export interface ConflictChange {
  readonly before: ConflictRecord | undefined;
  /** The record after the event (also when it was dropped right away as an old resolved one). */
  readonly after: ConflictRecord;
  readonly changed: boolean;
}

/** Open conflicts of one kind under one policy. */
export interface OpenCount {
  readonly kind: string;
  readonly policy: string;
  readonly count: number;
}

/** Which conflicts a page holds. */
export interface PageQuery {
  /** Conflicts listed after this key; from the newest when undefined. */
  readonly after?: SortKey;
  readonly limit: number;
  /** Only conflicts in this status; both when undefined. */
  readonly status?: ConflictStatus;
}

export interface ConflictPage {
  readonly items: readonly DetectedConflict[];
  /** Key of the last item when more follow, undefined on the last page. */
  readonly next: SortKey | undefined;
}

/**
 * Conflicts by id and in listing order, with the open ones counted by kind and policy. Resolved
 * conflicts beyond `keepResolved` - the least recently resolved first - are dropped (they remain
 * in the event store); open ones are always kept.
 *
 * Events arrive in log order, so detections are mostly newer than everything listed: the listing
 * is an array kept oldest first, where they land at the end, read backwards when paging.
 */
export class ConflictIndex {
  private readonly byId = new Map<string, ConflictRecord>();
  /** Detected conflicts in reverse listing order (the oldest first). */
  private readonly ordered: DetectedConflict[] = [];
  /** Ids of resolved conflicts in the order they were resolved here; the first is dropped first. */
  private readonly resolvedOrder = new Set<string>();
  private readonly open = new Map<string, { kind: string; policy: string; count: number }>();

  constructor(private readonly options: { readonly keepResolved: number }) {}

  get size(): number {
    return this.byId.size;
  }

  get(conflictId: string): ConflictRecord | undefined {
    return this.byId.get(conflictId);
  }

  /** Folds `event` into its conflict's record and keeps the listing, the counts and the bound. */
  apply(event: ConflictEvent): ConflictChange {
    const before = this.byId.get(event.conflictId);
    const after = evolveConflict(before, event);
    if (after === before) return { before, after, changed: false };
    this.byId.set(after.conflictId, after);
    this.relist(before, after);
    this.count(before, -1);
    this.count(after, 1);
    if (after.status !== 'open' && (!before || before.status === 'open')) {
      this.resolvedOrder.add(after.conflictId);
      this.dropOldResolved();
    }
    return { before, after, changed: true };
  }

  /**
   * Up to `limit` conflicts listed after `after` (from the newest when undefined), only those of
   * `status` when given; `next` is set when more follow.
   */
  page(query: PageQuery): ConflictPage {
    const accept = (r: DetectedConflict) => query.status === undefined || r.status === query.status;
    const items: DetectedConflict[] = [];
    let i = query.after === undefined ? this.ordered.length - 1 : this.lowerBound(query.after) - 1;
    for (; i >= 0 && items.length < query.limit; i--) {
      const r = this.ordered[i]!;
      if (accept(r)) items.push(r);
    }
    for (; i >= 0; i--) {
      if (accept(this.ordered[i]!)) {
        return { items, next: sortKeyOf(items[items.length - 1]!) };
      }
    }
    return { items, next: undefined };
  }

  /** Open conflicts by kind and policy (only combinations with at least one). */
  openCounts(): OpenCount[] {
    return [...this.open.values()].map((c) => ({ ...c }));
  }

  private relist(before: ConflictRecord | undefined, after: ConflictRecord): void {
    if (after.status === 'undetected') return;
    const key = sortKeyOf(after);
    const i = this.lowerBound(key);
    if (before && before.status !== 'undetected' && this.ordered[i]?.conflictId === after.conflictId) {
      this.ordered[i] = after; // Same detection, same place.
    } else {
      this.ordered.splice(i, 0, after);
    }
  }

  private count(record: ConflictRecord | undefined, delta: number): void {
    if (record?.status !== 'open') return;
    const { kind, policy } = record.detection;
    const key = `${kind}\u0000${policy}`;
    const c = this.open.get(key) ?? { kind, policy, count: 0 };
    c.count += delta;
    if (c.count > 0) this.open.set(key, c);
    else this.open.delete(key);
  }

  private dropOldResolved(): void {
    for (const id of this.resolvedOrder) {
      if (this.resolvedOrder.size <= this.options.keepResolved) return;
      this.resolvedOrder.delete(id);
      const record = this.byId.get(id);
      this.byId.delete(id);
      if (record && record.status !== 'undetected') {
        const i = this.lowerBound(sortKeyOf(record));
        if (this.ordered[i]?.conflictId === id) this.ordered.splice(i, 1);
      }
    }
  }

  /** Index of the first listed record not listed after `key` (the array length when none). */
  private lowerBound(key: SortKey): number {
    let lo = 0;
    let hi = this.ordered.length;
    // Most lookups are for the newest records: try the end first.
    const last = this.ordered[hi - 1];
    if (last === undefined || rank(sortKeyOf(last), key) < 0) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (rank(sortKeyOf(this.ordered[mid]!), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
