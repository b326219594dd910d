import { effectivePriority, type ConflictPolicy } from '@orch/conflicts';
import { rfc3339 } from '@orch/domain-kit';
import type { Claim } from '../claims';
import type { PMap } from '../persistent-map';
import { budgetAt, entitled, fitsWithin, isActive, tokensAt, type PoolState } from '../pools/accounting';
import type { AllocatorEvent } from './allocator.events';
import {
  evolveAllocator,
  parkedOn,
  type AgeQueue,
  type AllocatorState,
  type ClaimEntry,
  type Claimants,
  type Waiter,
} from './allocator.state';

/** Options of the allocator decider. */
export interface AllocatorOptions {
  /** A waiter gains one priority step per this many ms waited, so nothing starves (default 30 s). */
  readonly agingStepMs: number;
  /** When a wait-die requester that died should ask again (default 5 s after). */
  readonly retryAfterMs: number;
}

export const DEFAULT_ALLOCATOR_OPTIONS: AllocatorOptions = { agingStepMs: 30_000, retryAfterMs: 5_000 };

/**
 * A request being decided: a new Allocate, or a waiter re-examined. `holding` when its attempt
 * already holds an allocation (a hold-and-wait request).
 */
export interface Request {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly sessionId: string;
  readonly priority: number;
  readonly since: number;
  readonly seq: number;
  readonly claims: readonly Claim[];
  readonly incremental: boolean;
  readonly policy: ConflictPolicy | '';
  readonly holding: boolean;
}

/**
 * Place in the queue: higher effective (aged) priority first, then older `since`, then arrival.
 * The order of compareWaiters (libs/conflicts) with the arrival number as the id, computed once per
 * waiter and decision so sorting costs numbers, not calls.
 */
export interface Rank {
  readonly eff: number;
  readonly since: number;
  readonly seq: number;
}

export const compareRanks = (a: Rank, b: Rank): number =>
  a.eff !== b.eff ? b.eff - a.eff : a.since !== b.since ? a.since - b.since : a.seq - b.seq;

/**
 * What the short claims before each claimant of a pool ask for (all of them, and hold-and-wait ones
 * only); claimants past the end of the walk see `beyond`, at least all the pool has free.
 */
export type AheadMap = ReadonlyMap<string, { readonly all: number; readonly holding: number }> & {
  readonly beyond: { readonly all: number; readonly holding: number };
};

const FREE_PROBE: ClaimEntry = {
  id: '',
  taskId: '',
  amount: 0,
  reservation: '',
  priority: 0,
  since: 0,
  seq: 0,
  holding: false,
};

/**
 * A decision in progress: the events decided so far and the state as they leave it, so that a step
 * taken after another (a release, then the grants it allows) sees its effect. Nothing is appended
 * unless `decide` returns: a rejection half-way leaves the stream as it was.
 */
export class Decision {
  readonly events: AllocatorEvent[] = [];
  readonly atMs: number;
  readonly at: string;
  /** Ranks by arrival number (unique per waiter; a new request gets the next one). */
  private readonly ranks = new Map<number, Rank>();
  private readonly aheads = new Map<
    string,
    {
      claimants: Claimants | undefined;
      pool: PoolState | undefined;
      reserved: PMap<number>;
      ahead: AheadMap;
    }
  >();

  constructor(
    public state: AllocatorState,
    now: Date,
    readonly options: AllocatorOptions,
  ) {
    this.atMs = now.getTime();
    this.at = rfc3339(now);
  }

  emit(event: AllocatorEvent): void {
    this.events.push(event);
    this.state = evolveAllocator(this.state, event);
  }

  private readonly parkings = new Map<string, string>();

  /**
   * Parks a waiter on another pool or lock. Applied to the state at once (later steps of this decision
   * rely on it) and recorded in one WaitsReviewed at the end ({@link finish}): parking commutes with
   * every other event of the decision except the waiter leaving, after which it is dropped.
   */
  park(allocationId: string, on: string): void {
    if (this.state.waiters.get(allocationId)?.parkedOn === on) return;
    this.state = parkedOn(this.state, allocationId, on);
    this.parkings.set(allocationId, on);
  }

  /** The events decided, WaitsReviewed last when waiters that still wait were parked anew. */
  finish(): AllocatorEvent[] {
    const parked = [...this.parkings]
      .filter(([id, on]) => this.state.waiters.get(id)?.parkedOn === on)
      .map(([allocationId, on]) => ({ allocationId, on }));
    if (parked.length > 0) this.events.push({ type: 'WaitsReviewed', data: { parked, at: this.at } });
    return this.events;
  }

  rank(w: Waiter | Request | ClaimEntry): Rank {
    let r = this.ranks.get(w.seq);
    if (!r) {
      const eff = effectivePriority(
        { id: '', priority: w.priority, since: w.since },
        this.atMs,
        this.options.agingStepMs,
      );
      r = { eff, since: w.since, seq: w.seq };
      this.ranks.set(w.seq, r);
    }
    return r;
  }

  /** Whether `a` is served before `b` in the queue now (priority with aging, then age, then arrival). */
  before(a: Waiter | Request | ClaimEntry, b: Waiter | Request | ClaimEntry): boolean {
    return compareRanks(this.rank(a), this.rank(b)) < 0;
  }

  /** The request a waiter stands for. */
  requestOf(w: Waiter): Request {
    return {
      allocationId: w.allocationId,
      taskId: w.taskId,
      attempt: w.attempt,
      sessionId: w.sessionId,
      priority: w.priority,
      since: w.since,
      seq: w.seq,
      claims: w.claims,
      incremental: w.incremental,
      policy: w.policy,
      holding: this.state.allocations.has(w.allocationId),
    };
  }

  /** Task id of an allocation or waiter id, for events and reasons. */
  taskOf(allocationId: string): string {
    return (
      this.state.allocations.get(allocationId)?.taskId ??
      this.state.waiters.get(allocationId)?.taskId ??
      allocationId.slice(0, allocationId.lastIndexOf('#'))
    );
  }

  /**
   * What of `poolId` a claim by `taskId` (naming `reservationId`) could take now: free units net of
   * reservations it may not use (concurrency, quantity), tokens (rate), money left (budget).
   */
  free(poolId: string, taskId: string, reservationId: string): number {
    const pool = this.state.pools.get(poolId)!;
    const { spec } = pool;
    if (spec.kind === 'rate') return tokensAt(pool, this.atMs);
    if (spec.kind === 'budget') {
      const b = budgetAt(pool, this.atMs);
      return spec.capacity - b.spent - b.used;
    }
    let setAside = 0;
    let mine = -1;
    for (const r of this.state.reservationsByPool.get(poolId) ?? []) {
      if (!isActive(r, this.atMs)) continue;
      const left = Math.max(0, r.amount - (this.state.reservedUse.get(r.reservationId) ?? 0));
      setAside += left;
      if (entitled(r, taskId, reservationId)) mine = Math.max(mine, left);
    }
    return spec.capacity - pool.used - setAside + Math.max(0, mine);
  }

  /** The claims of a pool's queue in queue order. */
  walk(poolId: string): QueueWalk {
    return new QueueWalk(this, this.state.claimants.get(poolId)?.levels);
  }

  /**
   * For each claimant of the pool, what the claimants short on the pool before it ask for (all of
   * them, and hold-and-wait ones only). One walk of the queue, kept until the pool, its claimants or
   * its reservations' use change.
   */
  aheadOf(poolId: string, free: (e: ClaimEntry) => number): AheadMap {
    const claimants = this.state.claimants.get(poolId);
    const pool = this.state.pools.get(poolId);
    const reserved = this.state.reservedUse;
    const cached = this.aheads.get(poolId);
    if (cached && cached.claimants === claimants && cached.pool === pool && cached.reserved === reserved)
      return cached.ahead;
    const ahead = new Map<string, { all: number; holding: number }>();
    const walk = this.walk(poolId);
    // Without reservations every claim sees the same free amount: once the short ones ahead ask for
    // all of it, every later claim is short too and the walk can stop (see `beyond`).
    const limit =
      (this.state.reservationsByPool.get(poolId)?.length ?? 0) === 0 ? free(FREE_PROBE) : Infinity;
    let all = 0;
    let holding = 0;
    for (let e = walk.take(); e !== undefined; e = walk.take()) {
      ahead.set(e.id, { all, holding });
      if (all >= limit && holding >= limit) break;
      const f = free(e);
      if (!fitsWithin(e.amount + all, f)) all += e.amount;
      if (e.holding && !fitsWithin(e.amount + holding, f)) holding += e.amount;
    }
    const result = Object.assign(ahead, { beyond: { all, holding } });
    this.aheads.set(poolId, { claimants, pool, reserved, ahead: result });
    return result;
  }
}

/**
 * A pool's claims in queue order: a lazy merge of its per-priority lists (each already in queue
 * order, since aging never reorders waiters of one priority), so walking the first few costs little
 * whatever the length of the queue.
 */
export class QueueWalk {
  private readonly lists: (readonly ClaimEntry[])[];
  private readonly next: number[];
  private readonly heads: (Rank | undefined)[];

  constructor(
    private readonly d: Decision,
    queue: AgeQueue | undefined,
  ) {
    this.lists = queue ? [...queue.values()] : [];
    this.next = this.lists.map(() => 0);
    this.heads = this.lists.map((list) => (list[0] ? d.rank(list[0]) : undefined));
  }

  /** The next claim in queue order, or undefined at the end. */
  take(): ClaimEntry | undefined {
    let best = -1;
    for (let i = 0; i < this.lists.length; i++) {
      const r = this.heads[i];
      if (r !== undefined && (best < 0 || compareRanks(r, this.heads[best]!) < 0)) best = i;
    }
    if (best < 0) return undefined;
    const list = this.lists[best]!;
    const e = list[this.next[best]!++]!;
    const following = list[this.next[best]!];
    this.heads[best] = following ? this.d.rank(following) : undefined;
    return e;
  }
}

export const timestamp = (msSinceEpoch: number): string => rfc3339(new Date(msSinceEpoch));
