/**
 * Read-only views of the allocator's state, for the service's GET routes and for checks. Pure
 * functions of the state and the time asked about.
 */
import type { FieldProblem } from '@orch/domain-kit';
import {
  claimProblems,
  impliedPoolClaims,
  resourceKey,
  type AgentRef,
  type Claim,
  type PoolClaim,
} from '../claims';
import {
  budgetAt,
  committed,
  fitsWithin,
  isActive,
  nextPeriodStart,
  tokensAt,
  whenTokens,
  type Reservation,
} from '../pools/accounting';
import type { PoolKind, PoolScope, PoolSpec } from '../pools/pool-spec';
import type { PoolGrantData, WaitingFor } from './allocator.events';
import {
  conflictNumber,
  type AllocatorState,
  type ClaimEntry,
  type OpenConflict,
  type PoolHolding,
} from './allocator.state';
import { claimContext } from './allocator.decider';
import { DEFAULT_ALLOCATOR_OPTIONS, Decision, type AllocatorOptions } from './decision';
import { blockersOf, evaluate, reasonOf, retryAtOf, waitingForOf } from './evaluate';
import { cycleThrough } from './flow';

// ---------------------------------------------------------------- pools

export interface PoolUsage {
  readonly poolId: string;
  readonly kind: PoolKind;
  readonly unit: string;
  readonly scope: PoolScope;
  readonly spec: PoolSpec;
  readonly capacity: number;
  /** concurrency/quantity: units held; rate: tokens used from the bucket; budget: spent + estimates held. */
  readonly used: number;
  /** What a task without a reservation could take now. */
  readonly available: number;
  /** used / capacity (rate: of the bucket); above 1 after a capacity decrease or an overspent budget. */
  readonly utilization: number;
  /** Units set aside for active reservations and not used by them. */
  readonly reserved: number;
  /** Waiters the pool is short for now (in queue order), and the units they ask for. */
  readonly waiting: number;
  readonly waitingDemand: number;
  readonly holders: number;
  /** budget: spent in the period and estimates held; 0 otherwise. */
  readonly spent: number;
  readonly held: number;
  /** budget: ms when the period began; undefined for other kinds. */
  readonly periodStart: number | undefined;
  /** rate: tokens in the bucket now; 0 otherwise. */
  readonly tokens: number;
}

/** Every pool with its usage at `at`, by pool id. */
export function poolUsage(
  state: AllocatorState,
  at: Date,
  options: AllocatorOptions = DEFAULT_ALLOCATOR_OPTIONS,
): PoolUsage[] {
  const atMs = at.getTime();
  const d = new Decision(state, at, options);
  const out: PoolUsage[] = [];
  for (const raw of state.pools.values()) {
    const { spec } = raw;
    let waiting = 0;
    let waitingDemand = 0;
    const walk = d.walk(spec.poolId);
    const free = (e: ClaimEntry): number => d.free(spec.poolId, e.taskId, e.reservation);
    // Each claim is short by its own rule: behind every short claim, or (hold-and-wait) behind the
    // short hold-and-wait ones.
    let demand = 0;
    let holdingDemand = 0;
    for (let e = walk.take(); e !== undefined; e = walk.take()) {
      const f = free(e);
      const short = !fitsWithin(e.amount + demand, f);
      if (short) demand += e.amount;
      const own = e.holding ? !fitsWithin(e.amount + holdingDemand, f) : short;
      if (e.holding && own) holdingDemand += e.amount;
      if (!own) continue;
      waiting += 1;
      waitingDemand += e.amount;
    }
    const base = {
      poolId: spec.poolId,
      kind: spec.kind,
      unit: spec.unit,
      scope: spec.scope,
      spec,
      capacity: spec.capacity,
      waiting,
      waitingDemand,
      holders: state.holders.get(spec.poolId)?.size ?? 0,
    };
    switch (spec.kind) {
      case 'rate': {
        const tokens = tokensAt(raw, atMs);
        out.push({
          ...base,
          used: spec.burst - tokens,
          available: tokens,
          utilization: (spec.burst - tokens) / spec.burst,
          reserved: 0,
          spent: 0,
          held: 0,
          periodStart: undefined,
          tokens,
        });
        break;
      }
      case 'budget': {
        const pool = budgetAt(raw, atMs);
        out.push({
          ...base,
          used: committed(pool),
          available: Math.max(0, spec.capacity - committed(pool)),
          utilization: committed(pool) / spec.capacity,
          reserved: 0,
          spent: pool.spent,
          held: pool.used,
          periodStart: pool.periodStart,
          tokens: 0,
        });
        break;
      }
      case 'concurrency':
      case 'quantity': {
        let reserved = 0;
        for (const r of state.reservationsByPool.get(spec.poolId) ?? [])
          if (isActive(r, atMs))
            reserved += Math.max(0, r.amount - (state.reservedUse.get(r.reservationId) ?? 0));
        out.push({
          ...base,
          used: raw.used,
          available: Math.max(0, spec.capacity - raw.used - reserved),
          utilization: raw.used / spec.capacity,
          reserved,
          spent: 0,
          held: 0,
          periodStart: undefined,
          tokens: 0,
        });
        break;
      }
    }
  }
  return out.sort((a, b) => (a.poolId < b.poolId ? -1 : 1));
}

export type ReservationStatus = 'pending' | 'active' | 'ended';

export interface ReservationSummary extends Reservation {
  readonly status: ReservationStatus;
  /** Units of it held now. */
  readonly used: number;
}

/** Reservations (of one pool when `poolId` is given) that have not ended at `at`, by start. */
export function reservations(state: AllocatorState, at: Date, poolId?: string): ReservationSummary[] {
  const atMs = at.getTime();
  const all =
    poolId === undefined ? [...state.reservations.values()] : (state.reservationsByPool.get(poolId) ?? []);
  return all
    .filter((r) => r.to > atMs)
    .map((r) => ({
      ...r,
      status: (isActive(r, atMs) ? 'active' : 'pending') as ReservationStatus,
      used: state.reservedUse.get(r.reservationId) ?? 0,
    }))
    .sort((a, b) => a.from - b.from || (a.reservationId < b.reservationId ? -1 : 1));
}

// ---------------------------------------------------------------- allocations and waiters

export interface AllocationSummary {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly sessionId: string;
  readonly priority: number;
  /** Per pool, amounts added up (rate tokens taken, budget estimates, units held). */
  readonly grants: readonly PoolGrantData[];
  readonly locks: readonly { readonly lock: string; readonly mode: string }[];
  readonly since: number;
  readonly grantedAt: number;
  /** The task it was asked to give way to, '' when none. */
  readonly preemptedBy: string;
}

export interface AllocationFilter {
  readonly sessionId?: string;
  readonly taskId?: string;
}

const matches = (x: { sessionId: string; taskId: string }, f: AllocationFilter): boolean =>
  (!f.sessionId || x.sessionId === f.sessionId) && (!f.taskId || x.taskId === f.taskId);

const summed = (grants: readonly PoolHolding[]): PoolGrantData[] => {
  const byKey = new Map<string, PoolGrantData>();
  for (const g of grants) {
    const key = `${g.poolId}\u0000${g.reservationId}`;
    const had = byKey.get(key);
    byKey.set(key, {
      poolId: g.poolId,
      amount: (had?.amount ?? 0) + g.amount,
      reservationId: g.reservationId,
    });
  }
  return [...byKey.values()];
};

/** Allocations held, oldest grant first. */
export function allocations(state: AllocatorState, filter: AllocationFilter = {}): AllocationSummary[] {
  const out: AllocationSummary[] = [];
  for (const a of state.allocations.values()) {
    if (!matches(a, filter)) continue;
    out.push({
      allocationId: a.allocationId,
      taskId: a.taskId,
      attempt: a.attempt,
      sessionId: a.sessionId,
      priority: a.priority,
      grants: summed(a.grants),
      locks: a.locks.map((l) => ({ lock: l.name.raw, mode: l.mode })),
      since: a.since,
      grantedAt: a.grantedAt,
      preemptedBy: a.preemptedBy === '-' ? 'deadlock' : a.preemptedBy,
    });
  }
  return out.sort((a, b) => a.grantedAt - b.grantedAt || (a.allocationId < b.allocationId ? -1 : 1));
}

export interface WaiterSummary {
  readonly allocationId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly sessionId: string;
  readonly priority: number;
  readonly claims: readonly Claim[];
  readonly waitingFor: WaitingFor;
  readonly reason: string;
  readonly blockers: readonly string[];
  readonly retryAt: number | undefined;
  readonly since: number;
  /** 1-based place in the queue's order at the time asked about. */
  readonly position: number;
  readonly conflictIds: readonly string[];
  /** It also holds an allocation (a hold-and-wait request). */
  readonly holding: boolean;
  readonly incremental: boolean;
}

/**
 * The queue in the order it is served at `at` (priority with aging, then age, then arrival), each
 * waiter explained as things stand at `at`: what it waits for, why, behind whom, and when time alone
 * could let it in.
 */
export function waiters(
  state: AllocatorState,
  at: Date,
  filter: AllocationFilter = {},
  options: AllocatorOptions = DEFAULT_ALLOCATOR_OPTIONS,
): WaiterSummary[] {
  const d = new Decision(state, at, options);
  const all = [...state.waiters.values()].sort((a, b) => (d.before(a, b) ? -1 : d.before(b, a) ? 1 : 0));
  return all.flatMap((w, i): WaiterSummary[] => {
    if (!matches(w, filter)) return [];
    const req = d.requestOf(w);
    const { shortages } = evaluate(d, req);
    // Nothing short: it fits now and the next tick grants it.
    const live = shortages.length > 0;
    return [
      {
        allocationId: w.allocationId,
        taskId: w.taskId,
        attempt: w.attempt,
        sessionId: w.sessionId,
        priority: w.priority,
        claims: w.claims,
        waitingFor: live ? waitingForOf(shortages) : w.waitingFor,
        reason: live
          ? reasonOf(req, shortages)
          : `${w.taskId} (attempt ${w.attempt}) fits now and is granted on the next tick`,
        blockers: live ? blockersOf(d, shortages) : [],
        retryAt: live ? retryAtOf(shortages) : at.getTime(),
        since: w.since,
        position: i + 1,
        conflictIds: [...w.conflicts.values()].filter((id) => state.conflicts.has(id)),
        holding: state.allocations.has(w.allocationId),
        incremental: w.incremental,
      },
    ];
  });
}

/** Attempts of `taskId` that hold an allocation or wait, ascending (to release a task that ended as a whole). */
export const attemptsOfTask = (state: AllocatorState, taskId: string): number[] => [
  ...(state.taskAttempts.get(taskId) ?? []),
];

/** Open conflicts, oldest first. */
export function openConflicts(state: AllocatorState): OpenConflict[] {
  return [...state.conflicts.values()].sort(
    (a, b) => (conflictNumber(a.conflictId) ?? 0) - (conflictNumber(b.conflictId) ?? 0),
  );
}

// ---------------------------------------------------------------- time

/**
 * The earliest time a Tick could grant something by itself: the first waiter a rate pool is short for
 * has enough tokens, a reservation window opens or closes on a pool short for a waiter, a budget short
 * for a waiter starts a new period. Undefined when nothing is due (the queue moves on releases and
 * updates).
 */
export function nextWakeAt(
  state: AllocatorState,
  at: Date,
  options: AllocatorOptions = DEFAULT_ALLOCATOR_OPTIONS,
): Date | undefined {
  const atMs = at.getTime();
  const d = new Decision(state, at, options);
  let next: number | undefined;
  const consider = (t: number | undefined): void => {
    if (t !== undefined && (next === undefined || t < next)) next = t;
  };
  for (const [poolId] of state.claimants) {
    const pool = state.pools.get(poolId);
    if (!pool) continue;
    const { spec } = pool;
    // The first claim the pool is short for, and what the short ones before it ask for.
    const walk = d.walk(poolId);
    let demand = 0;
    let holdingDemand = 0;
    let first: { amount: number; ahead: number } | undefined;
    for (let e = walk.take(); e !== undefined && !first; e = walk.take()) {
      const f = d.free(poolId, e.taskId, e.reservation);
      const ahead = e.holding ? holdingDemand : demand;
      if (!fitsWithin(e.amount + ahead, f)) first = { amount: e.amount, ahead };
      if (!fitsWithin(e.amount + demand, f)) demand += e.amount;
      if (e.holding && !fitsWithin(e.amount + holdingDemand, f)) holdingDemand += e.amount;
    }
    const exhausted = spec.kind === 'budget' && budgetAt(pool, atMs).spent >= spec.capacity;
    if (!first && !(exhausted && (state.claimants.get(poolId)?.checks.size ?? 0) > 0)) continue;
    if (spec.kind === 'rate') {
      if (first) consider(whenTokens(pool, Math.min(spec.burst, first.ahead + first.amount), atMs));
    } else if (spec.kind === 'budget') consider(nextPeriodStart(spec, atMs));
    else
      for (const r of state.reservationsByPool.get(poolId) ?? [])
        if (r.to > atMs) consider(r.from > atMs ? r.from : r.to);
  }
  return next === undefined ? undefined : new Date(next);
}

// ---------------------------------------------------------------- claims

/** The claims pools in scope imply for a task of `sessionId` offered to `agent` (declared pools left out). */
export function impliedClaims(
  state: AllocatorState,
  task: { readonly sessionId: string; readonly agent?: AgentRef; readonly declaredPools?: readonly string[] },
): PoolClaim[] {
  return impliedPoolClaims(
    [...state.pools.values()].map((p) => p.spec),
    task.sessionId,
    task.agent,
    new Set(task.declaredPools ?? []),
  );
}

/**
 * Problems of a session's claims before it is started (unknown pools, bad amounts, malformed locks,
 * reservations of another pool or task), with paths under `path` (e.g. `tasks[0].claims`).
 */
export function validateClaims(
  state: AllocatorState,
  claims: readonly unknown[],
  path = 'claims',
  taskId = '',
): FieldProblem[] {
  return claimProblems(claimContext(state), claims, taskId, path);
}

// ---------------------------------------------------------------- checks

/** A cycle of hold-and-wait waiters none of which was asked to give way yet, or undefined. */
export function findDeadlock(
  state: AllocatorState,
  at: Date,
  options: AllocatorOptions = DEFAULT_ALLOCATOR_OPTIONS,
): string[] | undefined {
  const d = new Decision(state, at, options);
  for (const id of state.holdingWaiters.keys()) {
    const cycle = cycleThrough(d, id);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Where the allocator's indexes disagree with a recomputation from its allocations and waiters
 * (pool usage, holders, locks, reservations, queue indexes); [] when they agree. For tests and
 * diagnostics.
 */
export function auditAllocator(state: AllocatorState): string[] {
  const problems: string[] = [];
  const close = (a: number, b: number): boolean =>
    Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  const used = new Map<string, number>();
  const holders = new Map<string, Map<string, number>>();
  const reservedUse = new Map<string, number>();
  const lockHolds = new Set<string>();
  for (const a of state.allocations.values()) {
    for (const [i, g] of a.grants.entries()) {
      const kind = state.pools.get(g.poolId)?.spec.kind;
      if (kind === undefined) problems.push(`${a.allocationId} holds unknown pool ${g.poolId}`);
      if (kind === undefined || kind === 'rate' || (kind === 'budget' && i < a.settled) || g.amount === 0)
        continue;
      used.set(g.poolId, (used.get(g.poolId) ?? 0) + g.amount);
      const h = holders.get(g.poolId) ?? new Map<string, number>();
      h.set(a.allocationId, (h.get(a.allocationId) ?? 0) + g.amount);
      holders.set(g.poolId, h);
      if (g.reservationId !== '' && kind !== 'budget')
        reservedUse.set(g.reservationId, (reservedUse.get(g.reservationId) ?? 0) + g.amount);
    }
    for (const l of a.locks) lockHolds.add(`${a.allocationId}|${l.name.raw}|${l.mode}`);
  }
  for (const pool of state.pools.values()) {
    const id = pool.spec.poolId;
    if (pool.spec.kind !== 'rate' && !close(pool.used, used.get(id) ?? 0))
      problems.push(`pool ${id}: used ${pool.used}, allocations add up to ${used.get(id) ?? 0}`);
    const indexed = state.holders.get(id);
    const expected = holders.get(id) ?? new Map<string, number>();
    if ((indexed?.size ?? 0) !== expected.size)
      problems.push(`pool ${id}: ${indexed?.size ?? 0} holders indexed, ${expected.size} expected`);
    for (const [h, amount] of expected)
      if (!close(indexed?.get(h) ?? 0, amount))
        problems.push(`pool ${id}: holder ${h} indexed with ${indexed?.get(h)}, holds ${amount}`);
  }
  for (const [r, amount] of reservedUse)
    if (!close(state.reservedUse.get(r) ?? 0, amount))
      problems.push(`reservation ${r}: use ${state.reservedUse.get(r)}, allocations add up to ${amount}`);
  const indexedLocks = new Set(state.locks.holds().map((h) => `${h.holder}|${h.name.raw}|${h.mode}`));
  for (const h of lockHolds) if (!indexedLocks.has(h)) problems.push(`lock hold ${h} is not indexed`);
  for (const h of indexedLocks)
    if (!lockHolds.has(h)) problems.push(`indexed lock hold ${h} belongs to no allocation`);
  const claimants = new Map<string, Map<string, number>>();
  const claimLocks = new Set<string>();
  for (const w of state.waiters.values()) {
    for (const c of w.claims) {
      if (c.kind === 'lock') claimLocks.add(`${w.allocationId}|${c.name.raw}|${c.mode}`);
      else claimants.set(c.poolId, new Map([...(claimants.get(c.poolId) ?? []), [w.allocationId, c.amount]]));
    }
    if (state.allocations.has(w.allocationId) !== state.holdingWaiters.has(w.allocationId))
      problems.push(`waiter ${w.allocationId}: hold-and-wait index is wrong`);
    if (w.seq > state.waiterSeq)
      problems.push(`waiter ${w.allocationId}: arrival ${w.seq} beyond ${state.waiterSeq}`);
  }
  for (const id of state.holdingWaiters.keys())
    if (!state.waiters.has(id)) problems.push(`hold-and-wait index names ${id}, which does not wait`);
  if (claimants.size !== state.claimants.size) problems.push('the index of pool claimants has stale pools');
  for (const [p, expected] of claimants) {
    const indexed = state.claimants.get(p);
    const entries = [...(indexed?.levels.values() ?? [])].flat();
    const got = new Map<string, number>(entries.map((e) => [e.id, e.amount]));
    indexed?.checks.forEach((_, id) => got.set(id, 0));
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    if (
      !indexed ||
      got.size !== expected.size ||
      indexed.size !== expected.size ||
      !close(indexed.total, total)
    )
      problems.push(
        `pool ${p}: claimants indexed ${got.size} (${indexed?.total}), waiting ${expected.size} (${total})`,
      );
    for (const [id, amount] of expected)
      if (got.get(id) !== amount)
        problems.push(`pool ${p}: claimant ${id} indexed with ${got.get(id)}, asks ${amount}`);
    for (const list of indexed?.levels.values() ?? [])
      for (let i = 1; i < list.length; i++)
        if (
          list[i - 1]!.since > list[i]!.since ||
          (list[i - 1]!.since === list[i]!.since && list[i - 1]!.seq > list[i]!.seq)
        )
          problems.push(`pool ${p}: claims of priority ${list[i]!.priority} are out of age order`);
  }
  const indexedClaimLocks = new Set<string>();
  const names = new Set<string>();
  for (const [raw, q] of state.lockQueues)
    for (const mode of ['exclusive', 'shared'] as const) {
      if (q[mode].size > 0) names.add(`${raw}|${mode}`);
      for (const list of q[mode].values())
        for (const e of list) indexedClaimLocks.add(`${e.id}|${raw}|${mode}`);
    }
  if ([...claimLocks].sort().join() !== [...indexedClaimLocks].sort().join())
    problems.push('the queues of lock claims disagree with the waiters');
  const indexedNames = new Set(state.claimedNames.holds().map((h) => `${h.holder}|${h.mode}`));
  if ([...names].sort().join() !== [...indexedNames].sort().join())
    problems.push('the index of claimed lock names disagrees with the queues');
  for (const c of state.conflicts.values())
    if (!state.waiters.has(c.allocationId)) problems.push(`open conflict ${c.conflictId} has no waiter`);
  const parked = new Set<string>();
  state.parked.forEach((ids, on) => ids.forEach((_, id) => parked.add(`${on}|${id}`)));
  const parkings = new Set([...state.waiters.values()].map((w) => `${w.parkedOn}|${w.allocationId}`));
  if ([...parked].sort().join() !== [...parkings].sort().join())
    problems.push('the index of parked waiters disagrees with the waiters');
  for (const w of state.waiters.values())
    if (!w.claims.some((c) => resourceKey(c) === w.parkedOn))
      problems.push(`waiter ${w.allocationId} is parked on ${w.parkedOn}, which it does not claim`);
  const attempts = new Map<string, number[]>();
  for (const x of [...state.allocations.values(), ...state.waiters.values()]) {
    const known = attempts.get(x.taskId) ?? [];
    if (!known.includes(x.attempt))
      attempts.set(
        x.taskId,
        [...known, x.attempt].sort((a, b) => a - b),
      );
  }
  if (attempts.size !== state.taskAttempts.size)
    problems.push('the index of attempts by task has stale tasks');
  for (const [task, list] of attempts)
    if ((state.taskAttempts.get(task) ?? []).join() !== list.join())
      problems.push(
        `task ${task}: attempts indexed ${state.taskAttempts.get(task)?.join()}, active ${list.join()}`,
      );
  return problems;
}
