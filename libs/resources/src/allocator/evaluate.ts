/**
 * Whether a request fits now, claim by claim, and if not what it is short on and why.
 *
 * Queue order (priority with aging, then age, then arrival) decides who goes first where waiters
 * contend:
 * - pools: a waiter short on a pool holds back the waiters after it there: a later request fits only
 *   in what is free beyond the amounts of the short waiters before it. A waiter that has room in the
 *   pool but waits for something else holds nobody back there, so a task waiting for a lock does not
 *   idle a pool;
 * - locks: a waiting lock claim holds back later claims that conflict with it (overlapping, not both
 *   shared), so a lock goes to its claimants in order and a writer is not starved by later readers.
 * A hold-and-wait request (its attempt already holds resources) is held back only by other
 * hold-and-wait waiters: letting it finish frees what it holds, and queueing it behind a waiter that
 * needs what it holds would deadlock.
 */
import type { LockName } from '@orch/conflicts';
import { resourceKey, type Claim, type LockClaim, type PoolClaim } from '../claims';
import {
  budgetAt,
  entitled,
  fitsWithin,
  isActive,
  nextPeriodStart,
  refillPerMs,
  tokensAt,
  whenTokens,
  type PoolState,
} from '../pools/accounting';
import type { LockGrantData, PoolGrantData, WaitingFor } from './allocator.events';
import type { ClaimEntry } from './allocator.state';
import { timestamp, type Decision, type Request } from './decision';

export interface Shortage {
  readonly claim: Claim;
  readonly waitingFor: WaitingFor;
  /** Allocations holding what it lacks: conflicting lock holders, or the pool's holders (computed on demand). */
  readonly holders: () => readonly string[];
  /** Waiters ahead of it that it waits behind (computed on demand). */
  readonly ahead: () => readonly string[];
  /** Units of the pool missing beyond what is free (what holders would have to give back); 0 for others. */
  readonly shortfall: number;
  /** When time alone (a refill, a reservation edge, a new period) could let it fit. */
  readonly retryAt: number | undefined;
  /** A phrase a person understands: what is short, who holds it, what is free. */
  readonly explain: () => string;
}

export interface Evaluation {
  readonly shortages: readonly Shortage[];
  readonly grants: readonly PoolGrantData[];
  readonly locks: readonly LockGrantData[];
}

/**
 * Evaluates every claim of `req`. With `firstShortage`, stops at the first claim that does not fit
 * (enough to know it still waits), looking first at `parkedOn` (what it was last short on), then at the
 * cheap checks (a lock held or queued for under exactly its name, a pool without room), then the rest.
 */
export function evaluate(d: Decision, req: Request, firstShortage = false, parkedOn = ''): Evaluation {
  const shortages: Shortage[] = [];
  const grants: PoolGrantData[] = [];
  const locks: LockGrantData[] = [];
  if (firstShortage) {
    const parked = req.claims.find((c) => resourceKey(c) === parkedOn);
    if (parked) {
      const s = shortageOf(d, req, parked);
      if (s) return { shortages: [s], grants, locks };
    }
    for (const claim of req.claims)
      if (
        claim.kind === 'lock'
          ? heldExactly(d, req, claim) || queuedExactly(d, req, claim)
          : poolFull(d, req, claim)
      )
        return { shortages: [shortageOf(d, req, claim)!], grants, locks };
  }
  for (const claim of req.claims) {
    if (claim.kind === 'lock') {
      const s = lockShortage(d, req, claim);
      if (s) shortages.push(s);
      else locks.push({ lock: claim.name.raw, mode: claim.mode });
    } else {
      const outcome = poolOutcome(d, req, claim);
      if ('explain' in outcome) shortages.push(outcome);
      else grants.push(outcome);
    }
    if (firstShortage && shortages.length > 0) break;
  }
  return { shortages, grants, locks };
}

function poolOutcome(d: Decision, req: Request, claim: PoolClaim): PoolGrantData | Shortage {
  const pool = d.state.pools.get(claim.poolId)!;
  return pool.spec.kind === 'rate'
    ? rate(d, req, claim, pool)
    : pool.spec.kind === 'budget'
      ? budget(d, req, claim, pool)
      : units(d, req, claim, pool);
}

/** The shortage of one claim, or undefined when it fits. */
function shortageOf(d: Decision, req: Request, claim: Claim): Shortage | undefined {
  if (claim.kind === 'lock') return lockShortage(d, req, claim);
  const outcome = poolOutcome(d, req, claim);
  return 'explain' in outcome ? outcome : undefined;
}

/**
 * What to park a waiter on among its shortages: what it was parked on if still short there, else the
 * one least likely to change soon (a lock, a budget, a pool, a rate pool).
 */
export function parkingOf(d: Decision, shortages: readonly Shortage[], current = ''): string {
  if (shortages.some((s) => resourceKey(s.claim) === current)) return current;
  const weight = (s: Shortage): number => {
    if (s.claim.kind === 'lock') return 0;
    const kind = d.state.pools.get(s.claim.poolId)?.spec.kind;
    return kind === 'budget' ? 1 : kind === 'rate' ? 3 : 2;
  };
  return resourceKey([...shortages].sort((a, b) => weight(a) - weight(b))[0]!.claim);
}

// ---------------------------------------------------------------- pools

/** Whether the pool has less free than the claim asks for, whatever the queue (a quick, partial answer). */
function poolFull(d: Decision, req: Request, claim: PoolClaim): boolean {
  if (claim.amount === 0) return false;
  return !fitsWithin(claim.amount, d.free(claim.poolId, req.taskId, claim.reservation));
}

/**
 * What of the pool each claim could take: the same for every claim unless the pool has reservations
 * (then it depends on who may draw from them).
 */
function freeOf(d: Decision, poolId: string): (e: ClaimEntry) => number {
  if ((d.state.reservationsByPool.get(poolId)?.length ?? 0) === 0) {
    const free = d.free(poolId, '', '');
    return () => free;
  }
  return (e) => d.free(poolId, e.taskId, e.reservation);
}

/**
 * Walks the pool's queue ahead of `req` adding up what the waiters short on the pool ask for (a
 * hold-and-wait request only counts hold-and-wait waiters). Stops early once `enough(demand)`.
 */
export function aheadOnPool(
  d: Decision,
  req: Request,
  poolId: string,
  enough: (demand: number, count: number) => boolean = () => false,
): { demand: number; ids: string[] } {
  const walk = d.walk(poolId);
  const free = freeOf(d, poolId);
  // A request drawing on a reservation is held back only by waiters that may draw on it too.
  const claim = req.claims.find((c): c is PoolClaim => c.kind === 'pool' && c.poolId === poolId);
  const mine = claim ? reservationOf(d, poolId, req.taskId, claim.reservation) : '';
  const sharing = (e: ClaimEntry): boolean => {
    if (mine === '') return true;
    const r = d.state.reservations.get(mine)!;
    return entitled(r, e.taskId, e.reservation);
  };
  const ids: string[] = [];
  let demand = 0;
  for (let e = walk.take(); e !== undefined; e = walk.take()) {
    if (e.id === req.allocationId) continue;
    if (!d.before(e, req)) break;
    if ((req.holding && !e.holding) || !sharing(e)) continue;
    if (fitsWithin(e.amount + demand, free(e))) continue;
    demand += e.amount;
    ids.push(e.id);
    if (enough(demand, ids.length)) break;
  }
  return { demand, ids };
}

/**
 * The waiters parked on a pool that it is not short for now, in no particular order: the only ones a
 * release of the pool can help (a waiter parked elsewhere is still short there).
 */
export function unparkedBy(d: Decision, poolId: string): string[] {
  const parked = d.state.parked.get(`pool:${poolId}`);
  if (!parked) return [];
  const pool = d.state.pools.get(poolId)!;
  const exhausted = pool.spec.kind === 'budget' && budgetAt(pool, d.atMs).spent >= pool.spec.capacity;
  const plain =
    (d.state.reservationsByPool.get(poolId)?.length ?? 0) === 0 ? d.free(poolId, '', '') : undefined;
  const ids: string[] = [];
  parked.forEach((_, id) => {
    const w = d.state.waiters.get(id)!;
    const claim = w.claims.find((c): c is PoolClaim => c.kind === 'pool' && c.poolId === poolId);
    if (!claim) return;
    if (claim.amount === 0) {
      if (!exhausted) ids.push(id);
      return;
    }
    const free = plain ?? d.free(poolId, w.taskId, claim.reservation);
    if (fitsWithin(claim.amount, free) && fitsInOrder(d, d.requestOf(w), poolId, claim.amount, free))
      ids.push(id);
  });
  return ids;
}

/** Units of the pool the other waiters ask for, all of them: when they fit too, order does not matter. */
function othersDemand(d: Decision, req: Request, poolId: string, amount: number): number {
  const cs = d.state.claimants.get(poolId);
  if (!cs) return 0;
  const mine = d.state.waiters.has(req.allocationId) ? amount : 0;
  return cs.total - mine;
}

/** Whether `amount` of the pool fits for `req` now, in queue order. */
function fitsInOrder(d: Decision, req: Request, poolId: string, amount: number, free: number): boolean {
  if (!fitsWithin(amount, free)) return false;
  if (fitsWithin(amount + othersDemand(d, req, poolId, amount), free)) return true;
  const reserved = (d.state.reservationsByPool.get(poolId)?.length ?? 0) > 0;
  if (!reserved && d.state.claimants.get(poolId)?.size && d.state.waiters.has(req.allocationId)) {
    const map = d.aheadOf(poolId, freeOf(d, poolId));
    const known = map.get(req.allocationId) ?? map.beyond;
    return fitsWithin(amount + (req.holding ? known.holding : known.all), free);
  }
  const ahead = aheadOnPool(d, req, poolId, (demand) => !fitsWithin(amount + demand, free));
  return fitsWithin(amount + ahead.demand, free);
}

/** The active reservation a claim draws from: the entitled one with most left. */
function reservationOf(d: Decision, poolId: string, taskId: string, reservationId: string): string {
  let best = '';
  let bestLeft = -1;
  for (const r of d.state.reservationsByPool.get(poolId) ?? []) {
    if (!isActive(r, d.atMs) || !entitled(r, taskId, reservationId)) continue;
    const left = r.amount - (d.state.reservedUse.get(r.reservationId) ?? 0);
    if (left > bestLeft) {
      best = r.reservationId;
      bestLeft = left;
    }
  }
  return bestLeft > 0 ? best : '';
}

/** Up to 20 of the waiters ahead of `req` short on the pool, found once and only when asked for (reasons, blockers). */
function lazyAhead(d: Decision, req: Request, poolId: string): () => { demand: number; ids: string[] } {
  let found: { demand: number; ids: string[] } | undefined;
  return () => (found ??= aheadOnPool(d, req, poolId, (_, count) => count >= 20));
}

function units(d: Decision, req: Request, claim: PoolClaim, pool: PoolState): PoolGrantData | Shortage {
  const { spec } = pool;
  const free = d.free(spec.poolId, req.taskId, claim.reservation);
  if (fitsInOrder(d, req, spec.poolId, claim.amount, free))
    return {
      poolId: spec.poolId,
      amount: claim.amount,
      reservationId: reservationOf(d, spec.poolId, req.taskId, claim.reservation),
    };
  const state = d.state;
  const ahead = lazyAhead(d, req, spec.poolId);
  let held: string[] | undefined;
  const holders = (): string[] =>
    (held ??= [...(state.holders.get(spec.poolId)?.keys() ?? [])].filter((h) => h !== req.allocationId));
  const setAside = spec.capacity - pool.used - free;
  const edges = (state.reservationsByPool.get(spec.poolId) ?? [])
    .filter((r) => r.to > d.atMs)
    .map((r) => (r.from > d.atMs ? r.from : r.to));
  return {
    claim,
    waitingFor: 'resources',
    holders,
    ahead: () => (fitsWithin(claim.amount, free) ? ahead().ids : []),
    shortfall: Math.max(0, claim.amount - free),
    retryAt: edges.length > 0 ? Math.min(...edges) : undefined,
    explain: () => {
      const parts: string[] = [];
      if (holders().length > 0) parts.push(`${num(pool.used)} held by ${tasks(d, holders())}`);
      if (setAside > 0) parts.push(`${num(setAside)} set aside for reservations`);
      // The queue is the reason only when the pool has room for it alone.
      if (fitsWithin(claim.amount, free) && ahead().ids.length > 0)
        parts.push(`${tasks(d, ahead().ids)} asked for it first`);
      const detail = parts.length > 0 ? ` (${parts.join('; ')})` : '';
      return (
        `needs ${num(claim.amount)} ${spec.unit} from pool "${spec.poolId}", which has ` +
        `${num(Math.max(0, free))} of ${num(spec.capacity)} free${detail}`
      );
    },
  };
}

function rate(d: Decision, req: Request, claim: PoolClaim, pool: PoolState): PoolGrantData | Shortage {
  const { spec } = pool;
  const tokens = tokensAt(pool, d.atMs);
  if (fitsInOrder(d, req, spec.poolId, claim.amount, tokens))
    return { poolId: spec.poolId, amount: claim.amount, reservationId: '' };
  const ahead = lazyAhead(d, req, spec.poolId);
  const retryAt = whenTokens(pool, claim.amount, d.atMs);
  return {
    claim,
    waitingFor: 'resources',
    holders: () => [],
    ahead: () => (fitsWithin(claim.amount, tokens) ? ahead().ids : []),
    shortfall: 0,
    retryAt,
    explain: () => {
      const first =
        fitsWithin(claim.amount, tokens) && ahead().ids.length > 0
          ? ` after ${tasks(d, ahead().ids)}, ahead in the queue`
          : '';
      return (
        `needs ${num(claim.amount)} ${spec.unit}${first} from rate pool "${spec.poolId}" ` +
        `(${num(spec.capacity)} per ${duration(spec.windowMs)}, refilled one every ${duration(1 / refillPerMs(spec))}), ` +
        `which has ${num(tokens)} now; enough for it alone at ${timestamp(retryAt)}`
      );
    },
  };
}

function budget(d: Decision, req: Request, claim: PoolClaim, raw: PoolState): PoolGrantData | Shortage {
  const pool = budgetAt(raw, d.atMs);
  const { spec } = pool;
  const retryAt = nextPeriodStart(spec, d.atMs);
  const period = spec.windowMs > 0 ? 'this period' : 'in total';
  const resets =
    retryAt === undefined ? '; raise it to go on' : `; it resets at ${timestamp(retryAt)} or when raised`;
  if (claim.amount === 0) {
    if (pool.spent < spec.capacity) return { poolId: spec.poolId, amount: 0, reservationId: '' };
    return {
      claim,
      waitingFor: 'budget',
      holders: () => [],
      ahead: () => [],
      shortfall: 0,
      retryAt,
      explain: () =>
        `budget "${spec.poolId}" is exhausted: ${num(pool.spent)} of ${num(spec.capacity)} ${spec.unit} spent ${period}${resets}`,
    };
  }
  const left = spec.capacity - pool.spent - pool.used;
  if (fitsInOrder(d, req, spec.poolId, claim.amount, left))
    return { poolId: spec.poolId, amount: claim.amount, reservationId: '' };
  const ahead = lazyAhead(d, req, spec.poolId);
  return {
    claim,
    waitingFor: 'budget',
    holders: () => [],
    ahead: () => (fitsWithin(claim.amount, left) ? ahead().ids : []),
    shortfall: 0,
    retryAt,
    explain: () => {
      const first =
        fitsWithin(claim.amount, left) && ahead().ids.length > 0
          ? `, after ${tasks(d, ahead().ids)} ahead in the queue`
          : '';
      return (
        `needs an estimated ${num(claim.amount)} ${spec.unit}${first} from budget "${spec.poolId}", which has ` +
        `${num(Math.max(0, left))} of ${num(spec.capacity)} left ${period} ` +
        `(${num(pool.spent)} spent, ${num(pool.used)} held by running tasks)${resets}`
      );
    },
  };
}

// ---------------------------------------------------------------- locks

/**
 * Waiters ahead of `req` whose lock claims conflict with `claim` (overlapping names, not both shared);
 * with `firstOnly`, at most one (enough to know it is held back). Looks only at the queues of the
 * claimed names that conflict, from their heads.
 */
export function aheadOnLock(
  d: Decision,
  req: Request,
  claim: LockClaim,
  firstOnly = false,
  limit = Infinity,
): string[] {
  const ids = new Set<string>();
  for (const raw of d.state.claimedNames.blockers(claim.name, claim.mode, '')) {
    const q = d.state.lockQueues.get(raw)!;
    for (const queue of claim.mode === 'exclusive' ? [q.exclusive, q.shared] : [q.exclusive])
      for (const list of queue.values())
        for (const e of list) {
          if (e.id === req.allocationId || (req.holding && !e.holding)) continue;
          if (!d.before(e, req)) break;
          ids.add(e.id);
          if (firstOnly || ids.size >= limit) return [...ids];
        }
  }
  return [...ids];
}

/** Whether some other allocation holds exactly this name in a conflicting mode (a quick, partial answer). */
function heldExactly(d: Decision, req: Request, claim: LockClaim): boolean {
  const held = d.state.heldNames.get(claim.name.raw);
  if (!held) return false;
  const mine = req.holding
    ? d.state.allocations.get(req.allocationId)?.locks.find((l) => l.name.raw === claim.name.raw)
    : undefined;
  const exclusive = held.exclusive - (mine?.mode === 'exclusive' ? 1 : 0);
  const shared = held.shared - (mine?.mode === 'shared' ? 1 : 0);
  return claim.mode === 'exclusive' ? exclusive + shared > 0 : exclusive > 0;
}

/** Whether a waiter before `req` claims exactly this name in a conflicting mode (a quick, partial answer). */
function queuedExactly(d: Decision, req: Request, claim: LockClaim): boolean {
  const q = d.state.lockQueues.get(claim.name.raw);
  if (!q || req.holding) return false;
  for (const queue of claim.mode === 'exclusive' ? [q.exclusive, q.shared] : [q.exclusive])
    for (const list of queue.values()) {
      const head = list[0]?.id === req.allocationId ? list[1] : list[0];
      if (head && d.before(head, req)) return true;
    }
  return false;
}

function lockShortage(d: Decision, req: Request, claim: LockClaim): Shortage | undefined {
  const quick = heldExactly(d, req, claim) || queuedExactly(d, req, claim);
  const holders = d.state.locks.blockers(claim.name, claim.mode, req.allocationId);
  if (!quick && holders.length === 0 && aheadOnLock(d, req, claim, true).length === 0) return undefined;
  const state = d.state;
  let queued: string[] | undefined;
  const aheadIds = (): string[] => (queued ??= aheadOnLock(d, req, claim, false, 20));
  return {
    claim,
    waitingFor: 'lock',
    holders: () => holders,
    ahead: () => (holders.length > 0 ? [] : aheadIds()),
    shortfall: 0,
    retryAt: undefined,
    explain: () =>
      holders.length > 0
        ? `needs lock "${claim.name.raw}" (${claim.mode}), held by ${lockHolders(d, state, holders, claim.name)}`
        : `needs lock "${claim.name.raw}" (${claim.mode}), which ${tasks(d, aheadIds())} asked for first`,
  };
}

function lockHolders(
  d: Decision,
  state: Decision['state'],
  holders: readonly string[],
  name: LockName,
): string {
  const shown = holders.slice(0, 5).map((h) => {
    const held = state.locks.holdsOf(h).find((x) => x.name.namespace === name.namespace);
    return held ? `${d.taskOf(h)} (${held.name.raw}, ${held.mode})` : d.taskOf(h);
  });
  return holders.length > 5 ? `${shown.join(', ')} and ${holders.length - 5} more` : shown.join(', ');
}

// ---------------------------------------------------------------- explaining

/** The waiting-for of a set of shortages: budget first (it needs a person), then locks, then capacity. */
export function waitingForOf(shortages: readonly Shortage[]): WaitingFor {
  if (shortages.some((s) => s.waitingFor === 'budget')) return 'budget';
  if (shortages.some((s) => s.waitingFor === 'lock')) return 'lock';
  return 'resources';
}

export function reasonOf(req: Request, shortages: readonly Shortage[]): string {
  return `${req.taskId} (attempt ${req.attempt}) ${shortages.map((s) => s.explain()).join('; ')}`;
}

/** Task ids a waiter waits for, holders first, at most 20. */
export function blockersOf(d: Decision, shortages: readonly Shortage[]): string[] {
  const ids = new Set<string>();
  for (const s of shortages)
    for (const h of [...s.holders().slice(0, 20), ...s.ahead().slice(0, 20)]) ids.add(d.taskOf(h));
  return [...ids].slice(0, 20);
}

export function retryAtOf(shortages: readonly Shortage[]): number | undefined {
  const times = shortages.map((s) => s.retryAt).filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.min(...times) : undefined;
}

export const shortPoolIds = (shortages: readonly Shortage[]): string[] =>
  shortages.flatMap((s) => (s.claim.kind === 'pool' ? [s.claim.poolId] : []));
export const shortLockNames = (shortages: readonly Shortage[]): string[] =>
  shortages.flatMap((s) => (s.claim.kind === 'lock' ? [s.claim.name.raw] : []));

function tasks(d: Decision, ids: readonly string[]): string {
  const shown = ids.slice(0, 5).map((id) => d.taskOf(id));
  return ids.length > 5 ? `${shown.join(', ')} and ${ids.length - 5} more` : shown.join(', ');
}

/** A number as a person reads it: at most 4 decimals, no trailing zeros. */
export const num = (n: number): string => String(Math.round(n * 10_000) / 10_000);

function duration(msValue: number): string {
  if (msValue >= 3_600_000 && msValue % 3_600_000 === 0) return `${msValue / 3_600_000}h`;
  if (msValue >= 60_000 && msValue % 60_000 === 0) return `${msValue / 60_000}min`;
  if (msValue >= 1000) return `${num(msValue / 1000)}s`;
  return `${num(msValue)}ms`;
}
