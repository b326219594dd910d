import { LockIndex, type ConflictPolicy, type LockMode, type LockName } from '@orch/conflicts';
import { assertNever } from '@orch/domain-kit';
import { claimOf, type Claim, type LockClaim } from '../claims';
import { PMap } from '../persistent-map';
import {
  budgetAt,
  newPoolState,
  takeTokens,
  tokensAt,
  type PoolState,
  type Reservation,
} from '../pools/accounting';
import { poolSpecOf } from '../pools/pool-spec';
import type {
  AllocationBlocked,
  AllocatorEvent,
  ConflictPartyData,
  ConflictKind,
  ResourcesAllocated,
  ResourcesReleased,
  UsageReconciled,
  WaitingFor,
} from './allocator.events';

// ---------------------------------------------------------------- state

/** An amount of a pool an allocation took; several per pool after incremental requests. */
export interface PoolHolding {
  readonly poolId: string;
  /** rate: tokens taken; budget: the estimate (0 for a check); concurrency / quantity: units held. */
  readonly amount: number;
  readonly reservationId: string;
}

export interface HeldLock {
  readonly name: LockName;
  readonly mode: LockMode;
}

/** What a task attempt holds. */
export interface Allocation {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly sessionId: string;
  readonly priority: number;
  /** ms: when it first asked. */
  readonly since: number;
  /** ms: when it was last granted something. */
  readonly grantedAt: number;
  readonly grants: readonly PoolHolding[];
  readonly locks: readonly HeldLock[];
  /** Its usage was reported (once per attempt). */
  readonly reconciled: boolean;
  /**
   * Grants before this index were settled by the usage report: their budget estimates are no longer
   * held. Budget estimates granted later (incrementally) are held until the release gives them back.
   */
  readonly settled: number;
  /** The task id it was asked to give way to ('' when none). */
  readonly preemptedBy: string;
}

/** A request in the queue: a fresh one, or an incremental one of an attempt that holds resources. */
export interface Waiter {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly sessionId: string;
  readonly priority: number;
  /** ms: when it first asked (age for FIFO, aging, wait-die and wound-wait). */
  readonly since: number;
  /** Arrival order in the queue, the last tie-break between waiters. */
  readonly seq: number;
  readonly claims: readonly Claim[];
  readonly incremental: boolean;
  /** The session's override, '' when none. */
  readonly policy: ConflictPolicy | '';
  readonly waitingFor: WaitingFor;
  readonly reason: string;
  readonly blockers: readonly string[];
  /** Pools and locks (raw names) it was short on when it was queued (what the reason names). */
  readonly waitingOnPools: readonly string[];
  readonly waitingOnLocks: readonly string[];
  readonly retryAt: number | undefined;
  /** Conflicts opened for it, by resource key (`pool:<id>` / `lock:<name>`), open or settled by policy. */
  readonly conflicts: ReadonlyMap<string, string>;
  readonly blockedAt: number;
  /**
   * The one pool or lock (`pool:<id>` / `lock:<name>`) it was last found short on. Until that is
   * freed it cannot be granted, so a release re-examines only the waiters parked on what it freed.
   */
  readonly parkedOn: string;
}

export interface OpenConflict {
  readonly conflictId: string;
  readonly kind: ConflictKind;
  readonly resource: string;
  /** The waiting allocation. */
  readonly allocationId: string;
  readonly parties: readonly ConflictPartyData[];
  readonly policy: string;
  readonly since: string;
  readonly detectedAt: string;
}

/** A waiter's claim on a pool, as the pool's queue keeps it. */
export interface ClaimEntry {
  readonly id: string;
  readonly taskId: string;
  readonly amount: number;
  readonly reservation: string;
  readonly priority: number;
  readonly since: number;
  readonly seq: number;
  /** The waiter also holds an allocation (hold-and-wait). */
  readonly holding: boolean;
}

/**
 * Claims in queue order, kept per priority, each list sorted by age (since, then arrival): aging
 * never reorders waiters of one priority, so the order at any time is a merge of these lists.
 */
export type AgeQueue = ReadonlyMap<number, readonly ClaimEntry[]>;

const byAge = (a: { since: number; seq: number }, b: { since: number; seq: number }): number =>
  a.since - b.since || a.seq - b.seq;

export function ageQueueAdd(q: AgeQueue, e: ClaimEntry): AgeQueue {
  const list = q.get(e.priority) ?? [];
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byAge(list[mid]!, e) < 0) lo = mid + 1;
    else hi = mid;
  }
  const levels = new Map(q);
  levels.set(e.priority, [...list.slice(0, lo), e, ...list.slice(lo)]);
  return levels;
}

export function ageQueueRemove(q: AgeQueue, priority: number, id: string): AgeQueue {
  const rest = (q.get(priority) ?? []).filter((e) => e.id !== id);
  const levels = new Map(q);
  if (rest.length > 0) levels.set(priority, rest);
  else levels.delete(priority);
  return levels;
}

/** The waiters claiming a pool: amounts in queue order; budget checks (amount 0, holding nobody back) apart. */
export interface Claimants {
  readonly levels: AgeQueue;
  readonly checks: PMap<true>;
  /** Amounts asked for, added up. */
  readonly total: number;
  /** Waiters in `levels` and `checks`. */
  readonly size: number;
}

/** The waiters claiming one lock name, by mode. */
export interface LockQueue {
  readonly name: LockName;
  readonly exclusive: AgeQueue;
  readonly shared: AgeQueue;
}

const EMPTY_CLAIMANTS: Claimants = { levels: new Map(), checks: PMap.empty(), total: 0, size: 0 };

function withClaim(cs: Claimants | undefined, e: ClaimEntry): Claimants {
  const base = cs ?? EMPTY_CLAIMANTS;
  if (e.amount === 0) return { ...base, checks: base.checks.set(e.id, true), size: base.size + 1 };
  return { ...base, levels: ageQueueAdd(base.levels, e), total: base.total + e.amount, size: base.size + 1 };
}

function withoutClaim(cs: Claimants | undefined, w: Waiter, amount: number): Claimants | undefined {
  if (!cs) return undefined;
  const next: Claimants =
    amount === 0
      ? { ...cs, checks: cs.checks.delete(w.allocationId), size: cs.size - 1 }
      : {
          ...cs,
          levels: ageQueueRemove(cs.levels, w.priority, w.allocationId),
          total: Math.max(0, cs.total - amount),
          size: cs.size - 1,
        };
  return next.size > 0 ? next : undefined;
}

/** The lock claims of `w` added to (or removed from) the per-name queues and the index of claimed names. */
function withLockClaims(
  state: Pick<AllocatorState, 'lockQueues' | 'claimedNames'>,
  w: Waiter,
  entry: (c: LockClaim) => ClaimEntry | undefined,
): Pick<AllocatorState, 'lockQueues' | 'claimedNames'> {
  let { lockQueues, claimedNames } = state;
  for (const c of w.claims) {
    if (c.kind !== 'lock') continue;
    const raw = c.name.raw;
    const before = lockQueues.get(raw) ?? { name: c.name, exclusive: new Map(), shared: new Map() };
    const e = entry(c);
    const queue = e
      ? ageQueueAdd(before[c.mode], e)
      : ageQueueRemove(before[c.mode], w.priority, w.allocationId);
    const after: LockQueue = { ...before, [c.mode]: queue };
    lockQueues =
      after.exclusive.size === 0 && after.shared.size === 0
        ? lockQueues.delete(raw)
        : lockQueues.set(raw, after);
    if ((before[c.mode].size === 0) !== (queue.size === 0)) {
      claimedNames = claimedNames.removeHolder(raw);
      for (const mode of ['exclusive', 'shared'] as const)
        if (after[mode].size > 0) claimedNames = claimedNames.add({ holder: raw, name: c.name, mode });
    }
  }
  return { lockQueues, claimedNames };
}

/** Budget estimates of a released allocation whose usage has not been reported yet. */
export interface PendingUsage {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly sessionId: string;
  readonly budgets: readonly { readonly poolId: string; readonly estimate: number }[];
}

/**
 * The allocator: pools, reservations, allocations, waiters and conflicts, with the indexes a
 * decision needs (who holds each pool, every lock held, who is short on each pool and lock). Never
 * mutated: each event gives a new state sharing what it did not touch.
 */
export interface AllocatorState {
  readonly pools: PMap<PoolState>;
  /** Contention policy per lock namespace (lower-case). */
  readonly lockPolicies: PMap<ConflictPolicy>;
  readonly reservations: PMap<Reservation>;
  readonly reservationsByPool: PMap<readonly Reservation[]>;
  /** Units held under each reservation. */
  readonly reservedUse: PMap<number>;
  readonly allocations: PMap<Allocation>;
  /** pool -> allocation -> amount held (concurrency, quantity; budget estimates not yet reconciled). */
  readonly holders: PMap<PMap<number>>;
  /** Every lock held; the holder is the allocation id. */
  readonly locks: LockIndex;
  /** Holds per exact lock name and mode: a quick answer for the common case of claims on the same name. */
  readonly heldNames: PMap<{ readonly exclusive: number; readonly shared: number }>;
  readonly waiters: PMap<Waiter>;
  /** pool -> the waiters claiming it (amount asked for, 0 for a budget check) and their total. */
  readonly claimants: PMap<Claimants>;
  /** lock name -> the waiters claiming exactly that name, by mode. */
  readonly lockQueues: PMap<LockQueue>;
  /** Every lock name waiters claim, once per mode claimed; the holder is the name itself. */
  readonly claimedNames: LockIndex;
  /** Waiters that also hold an allocation (hold-and-wait): the only nodes a deadlock can pass through. */
  readonly holdingWaiters: PMap<true>;
  /** `pool:<id>` / `lock:<name>` -> the waiters parked on it. */
  readonly parked: PMap<PMap<true>>;
  /** Waiters whose session overrides the policy with one that acts (preempt, wait-die, wound-wait). */
  readonly actingOverrides: number;
  readonly conflicts: PMap<OpenConflict>;
  /** The number of the last conflict id handed out (`conflict-<n>`). */
  readonly conflictSeq: number;
  readonly waiterSeq: number;
  readonly pendingUsage: PMap<PendingUsage>;
  /** task id -> attempts that hold an allocation or wait, ascending. */
  readonly taskAttempts: PMap<readonly number[]>;
}

export const initialAllocatorState = (): AllocatorState => ({
  pools: PMap.empty(),
  lockPolicies: PMap.empty(),
  reservations: PMap.empty(),
  reservationsByPool: PMap.empty(),
  reservedUse: PMap.empty(),
  allocations: PMap.empty(),
  holders: PMap.empty(),
  locks: LockIndex.empty(),
  heldNames: PMap.empty(),
  waiters: PMap.empty(),
  claimants: PMap.empty(),
  lockQueues: PMap.empty(),
  claimedNames: LockIndex.empty(),
  holdingWaiters: PMap.empty(),
  parked: PMap.empty(),
  actingOverrides: 0,
  conflicts: PMap.empty(),
  conflictSeq: 0,
  waiterSeq: 0,
  pendingUsage: PMap.empty(),
  taskAttempts: PMap.empty(),
});

export const conflictIdOf = (n: number): string => `conflict-${n}`;
/** The number in a conflict id, or undefined when it is not one this allocator hands out. */
export const conflictNumber = (id: string): number | undefined => {
  const m = /^conflict-([1-9][0-9]{0,15})$/.exec(id);
  return m ? Number(m[1]) : undefined;
};

/** The mode in which the allocation holds exactly this lock name, if it does. */
export const heldMode = (a: Allocation | undefined, raw: string): LockMode | undefined =>
  a?.locks.find((l) => l.name.raw === raw)?.mode;

// ---------------------------------------------------------------- evolve

const ms = (rfc3339: string): number => Date.parse(rfc3339);

const addTo = (map: PMap<PMap<number>>, outer: string, inner: string, amount: number): PMap<PMap<number>> =>
  map.set(
    outer,
    (map.get(outer) ?? PMap.empty<number>()).update(inner, (v) => (v ?? 0) + amount),
  );

/** `delta` holds of `raw` in `mode` more (or fewer). */
const countHold = (
  held: AllocatorState['heldNames'],
  raw: string,
  mode: LockMode,
  delta: number,
): AllocatorState['heldNames'] =>
  held.update(raw, (c) => {
    const next = { exclusive: c?.exclusive ?? 0, shared: c?.shared ?? 0 };
    next[mode] += delta;
    return next.exclusive > 0 || next.shared > 0 ? next : undefined;
  });

const removeFrom = <V>(map: PMap<PMap<V>>, outer: string, inner: string): PMap<PMap<V>> =>
  map.update(outer, (m) => {
    const next = m?.delete(inner);
    return next === undefined || next.size === 0 ? undefined : next;
  });

/** Whether a policy acts on its own when contention arises (queue and manual only wait). */
export const acts = (policy: string): boolean =>
  policy === 'preempt' || policy === 'wait-die' || policy === 'wound-wait';

/** Removes a waiter and its index entries. */
function withoutWaiter(state: AllocatorState, id: string): AllocatorState {
  const w = state.waiters.get(id);
  if (!w) return state;
  let claimants = state.claimants;
  for (const c of w.claims)
    if (c.kind === 'pool') claimants = claimants.update(c.poolId, (cs) => withoutClaim(cs, w, c.amount));
  return {
    ...state,
    waiters: state.waiters.delete(id),
    actingOverrides: state.actingOverrides - (acts(w.policy) ? 1 : 0),
    parked: removeFrom(state.parked, w.parkedOn, id),
    claimants,
    ...withLockClaims(state, w, () => undefined),
    holdingWaiters: state.holdingWaiters.delete(id),
  };
}

function allocated(state: AllocatorState, e: ResourcesAllocated): AllocatorState {
  const d = e.data;
  const at = ms(d.at);
  const before = state.allocations.get(d.allocationId);
  let { pools, holders, reservedUse, locks } = state;
  for (const g of d.grants) {
    let pool = pools.get(g.poolId);
    if (!pool) continue;
    switch (pool.spec.kind) {
      case 'rate':
        pool = takeTokens(pool, g.amount, at);
        break;
      case 'budget':
        pool = { ...budgetAt(pool, at), used: pool.used + g.amount };
        if (g.amount > 0) holders = addTo(holders, g.poolId, d.allocationId, g.amount);
        break;
      case 'concurrency':
      case 'quantity':
        pool = { ...pool, used: pool.used + g.amount };
        holders = addTo(holders, g.poolId, d.allocationId, g.amount);
        if (g.reservationId !== '')
          reservedUse = reservedUse.update(g.reservationId, (v) => (v ?? 0) + g.amount);
        break;
    }
    pools = pools.set(g.poolId, pool);
  }
  const held = [...(before?.locks ?? [])];
  let upgraded = false;
  for (const l of d.locks) {
    const claim = claimOf({ pool: '', amount: 0, lock: l.lock, mode: l.mode, reservation: '' }) as HeldLock;
    const at = held.findIndex((h) => h.name.raw === l.lock);
    if (at < 0) held.push(claim);
    else if (held[at]!.mode !== claim.mode) {
      held[at] = claim;
      upgraded = true;
    }
  }
  let heldNames = state.heldNames;
  for (const h of before?.locks ?? []) heldNames = countHold(heldNames, h.name.raw, h.mode, -1);
  for (const h of held) heldNames = countHold(heldNames, h.name.raw, h.mode, 1);
  if (upgraded) {
    locks = locks.removeHolder(d.allocationId);
    for (const h of held) locks = locks.add({ holder: d.allocationId, name: h.name, mode: h.mode });
  } else {
    for (const h of held.slice(before?.locks.length ?? 0))
      locks = locks.add({ holder: d.allocationId, name: h.name, mode: h.mode });
  }
  const allocation: Allocation = {
    allocationId: d.allocationId,
    taskId: d.taskId,
    attempt: d.attempt,
    sessionId: d.sessionId,
    priority: before?.priority ?? d.priority,
    since: before?.since ?? ms(d.since),
    grantedAt: at,
    grants: [...(before?.grants ?? []), ...d.grants],
    locks: held,
    reconciled: before?.reconciled ?? false,
    settled: before?.settled ?? 0,
    preemptedBy: before?.preemptedBy ?? '',
  };
  const next = {
    ...state,
    pools,
    holders,
    reservedUse,
    locks,
    heldNames,
    allocations: state.allocations.set(d.allocationId, allocation),
  };
  return withoutWaiter(next, d.allocationId);
}

function blocked(state: AllocatorState, e: AllocationBlocked): AllocatorState {
  const d = e.data;
  const before = state.waiters.get(d.allocationId);
  const base = withoutWaiter(state, d.allocationId);
  const claims = before?.claims ?? d.claims.map(claimOf);
  const waiter: Waiter = {
    allocationId: d.allocationId,
    taskId: d.taskId,
    attempt: d.attempt,
    sessionId: d.sessionId,
    priority: d.priority,
    since: ms(d.since),
    seq: before?.seq ?? state.waiterSeq + 1,
    claims,
    incremental: d.incremental,
    policy: d.policy as ConflictPolicy | '',
    waitingFor: d.waitingFor,
    reason: d.reason,
    blockers: d.blockers,
    waitingOnPools: d.waitingOnPools,
    waitingOnLocks: d.waitingOnLocks,
    retryAt: d.retryAt === undefined ? undefined : ms(d.retryAt),
    conflicts: before?.conflicts ?? new Map(),
    blockedAt: ms(d.at),
    parkedOn: d.parkedOn,
  };
  let { claimants } = base;
  const holding = state.allocations.has(d.allocationId);
  const entry = (amount: number, reservation: string): ClaimEntry => ({
    id: d.allocationId,
    taskId: d.taskId,
    amount,
    reservation,
    priority: waiter.priority,
    since: waiter.since,
    seq: waiter.seq,
    holding,
  });
  for (const c of claims)
    if (c.kind === 'pool')
      claimants = claimants.set(c.poolId, withClaim(claimants.get(c.poolId), entry(c.amount, c.reservation)));
  const locks = withLockClaims(base, waiter, () => entry(0, ''));
  return {
    ...base,
    waiters: base.waiters.set(d.allocationId, waiter),
    waiterSeq: before ? base.waiterSeq : base.waiterSeq + 1,
    actingOverrides: base.actingOverrides + (acts(waiter.policy) ? 1 : 0),
    claimants,
    ...locks,
    parked: base.parked.set(
      d.parkedOn,
      (base.parked.get(d.parkedOn) ?? PMap.empty<true>()).set(d.allocationId, true),
    ),
    holdingWaiters: holding ? base.holdingWaiters.set(d.allocationId, true) : base.holdingWaiters,
  };
}

function released(state: AllocatorState, e: ResourcesReleased): AllocatorState {
  const id = e.data.allocationId;
  const a = state.allocations.get(id);
  if (!a) return state;
  let { pools, holders, reservedUse, pendingUsage } = state;
  const budgets: { poolId: string; estimate: number }[] = [];
  a.grants.forEach((g, i) => {
    const pool = pools.get(g.poolId);
    if (!pool) return;
    const kind = pool.spec.kind;
    if (kind === 'rate') return;
    if (kind === 'budget') {
      if (i < a.settled) return;
      if (!a.reconciled) budgets.push({ poolId: g.poolId, estimate: g.amount });
    }
    if (kind !== 'budget' && g.reservationId !== '')
      reservedUse = reservedUse.update(g.reservationId, (v) => {
        const left = (v ?? 0) - g.amount;
        return left > 1e-12 ? left : undefined;
      });
    if (g.amount === 0) return;
    holders = removeFrom(holders, g.poolId, id);
    const left = holders.get(g.poolId) === undefined ? 0 : Math.max(0, pools.get(g.poolId)!.used - g.amount);
    pools = pools.set(g.poolId, { ...pools.get(g.poolId)!, used: left });
  });
  if (budgets.length > 0)
    pendingUsage = pendingUsage.set(id, {
      allocationId: id,
      taskId: a.taskId,
      attempt: a.attempt,
      sessionId: a.sessionId,
      budgets,
    });
  let heldNames = state.heldNames;
  for (const h of a.locks) heldNames = countHold(heldNames, h.name.raw, h.mode, -1);
  return {
    ...state,
    pools,
    holders,
    reservedUse,
    pendingUsage,
    heldNames,
    locks: state.locks.removeHolder(id),
    allocations: state.allocations.delete(id),
    holdingWaiters: state.holdingWaiters.delete(id),
  };
}

function reconciled(state: AllocatorState, e: UsageReconciled): AllocatorState {
  const d = e.data;
  const at = ms(d.at);
  let { pools, holders } = state;
  for (const draw of d.draws) {
    const pool = pools.get(draw.poolId);
    if (pool) pools = pools.set(draw.poolId, { ...budgetAt(pool, at), spent: draw.spent });
  }
  let allocations = state.allocations;
  const a = allocations.get(d.allocationId);
  if (a && !a.reconciled) {
    for (const g of a.grants) {
      const pool = pools.get(g.poolId);
      if (pool?.spec.kind !== 'budget' || g.amount === 0) continue;
      holders = removeFrom(holders, g.poolId, d.allocationId);
      const left = holders.get(g.poolId) === undefined ? 0 : Math.max(0, pool.used - g.amount);
      pools = pools.set(g.poolId, { ...pool, used: left });
    }
    allocations = allocations.set(d.allocationId, { ...a, reconciled: true, settled: a.grants.length });
  }
  return { ...state, pools, holders, allocations, pendingUsage: state.pendingUsage.delete(d.allocationId) };
}

/** The waiter parked on `on` instead of what it was parked on. */
export function parkedOn(state: AllocatorState, id: string, on: string): AllocatorState {
  const w = state.waiters.get(id);
  if (!w || w.parkedOn === on) return state;
  const parked = removeFrom(state.parked, w.parkedOn, id);
  return {
    ...state,
    waiters: state.waiters.set(id, { ...w, parkedOn: on }),
    parked: parked.set(on, (parked.get(on) ?? PMap.empty<true>()).set(id, true)),
  };
}

/** Keeps `taskAttempts` in step for the attempt an event was about. */
function trackAttempt(state: AllocatorState, taskId: string, attempt: number): AllocatorState {
  const id = `${taskId}#${attempt}`;
  const active = state.allocations.has(id) || state.waiters.has(id);
  const known = state.taskAttempts.get(taskId) ?? [];
  if (active === known.includes(attempt)) return state;
  const attempts = active ? [...known, attempt].sort((a, b) => a - b) : known.filter((a) => a !== attempt);
  return {
    ...state,
    taskAttempts:
      attempts.length > 0 ? state.taskAttempts.set(taskId, attempts) : state.taskAttempts.delete(taskId),
  };
}

/** Folds one event into the allocator's state. */
export function evolveAllocator(state: AllocatorState, event: AllocatorEvent): AllocatorState {
  switch (event.type) {
    case 'ResourcesAllocated':
    case 'AllocationBlocked':
    case 'AllocationRefused':
    case 'WaitWithdrawn':
    case 'ResourcesReleased':
      return trackAttempt(evolveAttempt(state, event), event.data.taskId, event.data.attempt);
    default:
      return evolveAttempt(state, event);
  }
}

function evolveAttempt(state: AllocatorState, event: AllocatorEvent): AllocatorState {
  switch (event.type) {
    case 'PoolDefined': {
      const spec = poolSpecOf(event.data.spec);
      return { ...state, pools: state.pools.set(spec.poolId, newPoolState(spec, ms(event.data.at))) };
    }
    case 'PoolUpdated': {
      const pool = state.pools.get(event.data.poolId);
      if (!pool) return state;
      const spec = poolSpecOf(event.data.spec);
      const at = ms(event.data.at);
      const next: PoolState =
        spec.kind === 'rate'
          ? {
              ...pool,
              spec,
              tokens: Math.min(tokensAt(pool, at), spec.burst),
              tokensAt: Math.max(at, pool.tokensAt),
            }
          : { ...pool, spec };
      return { ...state, pools: state.pools.set(spec.poolId, next) };
    }
    case 'PolicySet':
      return {
        ...state,
        lockPolicies: state.lockPolicies.set(
          event.data.namespace.toLowerCase(),
          event.data.policy as ConflictPolicy,
        ),
      };
    case 'ReservationCreated': {
      const d = event.data;
      const r: Reservation = {
        reservationId: d.reservationId,
        poolId: d.poolId,
        amount: d.amount,
        from: ms(d.from),
        to: ms(d.to),
        taskId: d.taskId,
      };
      return {
        ...state,
        reservations: state.reservations.set(r.reservationId, r),
        reservationsByPool: state.reservationsByPool.update(r.poolId, (rs) => [...(rs ?? []), r]),
      };
    }
    case 'ResourcesAllocated':
      return allocated(state, event);
    case 'AllocationBlocked':
      return blocked(state, event);
    case 'AllocationRefused':
    case 'WaitWithdrawn':
      return withoutWaiter(state, event.data.allocationId);
    case 'ResourcesReleased':
      return released(state, event);
    case 'ConflictDetected': {
      const d = event.data;
      const w = state.waiters.get(d.allocationId);
      const conflict: OpenConflict = {
        conflictId: d.conflictId,
        kind: d.kind,
        resource: d.resource,
        allocationId: d.allocationId,
        parties: d.parties,
        policy: d.policy,
        since: d.since,
        detectedAt: d.at,
      };
      const key = `${d.kind}:${d.resource}`;
      return {
        ...state,
        conflicts: state.conflicts.set(d.conflictId, conflict),
        conflictSeq: Math.max(state.conflictSeq, conflictNumber(d.conflictId) ?? 0),
        waiters: w
          ? state.waiters.set(w.allocationId, {
              ...w,
              conflicts: new Map([...w.conflicts, [key, d.conflictId]]),
            })
          : state.waiters,
      };
    }
    case 'ConflictResolved':
      return { ...state, conflicts: state.conflicts.delete(event.data.conflictId) };
    case 'PreemptionRequested': {
      const a = state.allocations.get(event.data.allocationId);
      if (!a) return state;
      const allocations = state.allocations.set(a.allocationId, {
        ...a,
        preemptedBy: event.data.byTaskId || '-',
      });
      return { ...state, allocations };
    }
    case 'DeadlockDetected':
      return state;
    case 'WaitsReviewed':
      return event.data.parked.reduce((st, p) => parkedOn(st, p.allocationId, p.on), state);
    case 'UsageReconciled':
      return reconciled(state, event);
    case 'BudgetSoftLimitReached': {
      const pool = state.pools.get(event.data.poolId);
      if (!pool) return state;
      const next = { ...budgetAt(pool, ms(event.data.at)), softWarned: true };
      return { ...state, pools: state.pools.set(pool.spec.poolId, next) };
    }
    default:
      return assertNever(event, 'allocator event');
  }
}
