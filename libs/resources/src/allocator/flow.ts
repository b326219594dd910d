/**
 * The steps every command builds on: granting a request, blocking it (conflicts and their policies),
 * refusing it, preempting holders, re-examining the queue after something was freed, and breaking
 * deadlocks.
 */
import {
  chooseVictim,
  decideContention,
  findCycle,
  locksOverlap,
  modesCompatible,
  type ConflictPolicy,
  type ContentionOutcome,
  type Contender,
  type LockMode,
  type LockName,
} from '@orch/conflicts';
import { resourceKey, claimData, lockNameOf, type LockClaim } from '../claims';
import { budgetAt, committed, fitsWithin } from '../pools/accounting';
import type { ConflictKind, ConflictPartyData, Resolution } from './allocator.events';
import { acts, conflictIdOf, type Allocation, type ClaimEntry, type Waiter } from './allocator.state';
import { compareRanks, QueueWalk, timestamp, type Decision, type Request } from './decision';
import {
  aheadOnLock,
  blockersOf,
  evaluate,
  parkingOf,
  unparkedBy,
  reasonOf,
  retryAtOf,
  shortLockNames,
  shortPoolIds,
  waitingForOf,
  type Evaluation,
  type Shortage,
} from './evaluate';

// ---------------------------------------------------------------- grant

/** ResourcesAllocated for `req`, the end of its conflicts, and budget soft-limit warnings it causes. */
export function grant(d: Decision, req: Request, ev: Evaluation): void {
  const open = openConflictsOf(d, req.allocationId);
  d.emit({
    type: 'ResourcesAllocated',
    data: {
      allocationId: req.allocationId,
      taskId: req.taskId,
      attempt: req.attempt,
      sessionId: req.sessionId,
      priority: req.priority,
      grants: ev.grants,
      locks: ev.locks,
      incremental: req.incremental,
      since: timestamp(req.since),
      at: d.at,
    },
  });
  for (const id of open)
    resolveConflict(d, id, 'granted', req.taskId, '', `${req.taskId} was granted its claims`);
  for (const g of ev.grants) if (g.amount > 0) warnSoftLimit(d, g.poolId);
}

/** BudgetSoftLimitReached when the budget's commitments crossed its soft limit, once per period. */
export function warnSoftLimit(d: Decision, poolId: string): void {
  const raw = d.state.pools.get(poolId);
  if (!raw || raw.spec.kind !== 'budget' || raw.spec.softLimit <= 0) return;
  const pool = budgetAt(raw, d.atMs);
  if (
    pool.softWarned ||
    committed(pool) <= 0 ||
    !fitsWithin(pool.spec.softLimit * pool.spec.capacity, committed(pool))
  )
    return;
  d.emit({
    type: 'BudgetSoftLimitReached',
    data: {
      poolId,
      spent: pool.spent,
      held: pool.used,
      capacity: pool.spec.capacity,
      softLimit: pool.spec.softLimit,
      periodStart: timestamp(pool.periodStart),
      at: d.at,
    },
  });
}

// ---------------------------------------------------------------- block

interface Contention {
  readonly key: string;
  readonly kind: ConflictKind;
  readonly resource: string;
  readonly policy: ConflictPolicy;
  readonly holders: readonly string[];
  readonly outcome: ContentionOutcome;
}

/**
 * `req` does not fit: queue it (a new request) or leave it queued (a waiter re-examined), open a
 * conflict for each resource it now contends for with holders and apply that resource's policy (the
 * session's override first); a wait-die death refuses it instead. A hold-and-wait request is checked
 * for a deadlock when it is queued or contends anew. Returns whether it now waits.
 */
export function block(
  d: Decision,
  req: Request,
  ev: Evaluation,
  existing: Waiter | undefined,
): 'waiting' | 'refused' {
  const contentions = ev.shortages
    .map((s) => contention(d, req, s, existing))
    .filter((c): c is Contention => c !== undefined);
  const death = contentions.find((c) => c.outcome.kind === 'die');
  if (death) {
    const detected = contentions.map((c) => detect(d, req, c));
    const reason = `${req.taskId} (attempt ${req.attempt}) gives up: ${death.outcome.reason}`;
    const retryAt = timestamp(d.atMs + d.options.retryAfterMs);
    refuse(d, req, reason, retryAt, '', '', detected);
    return 'refused';
  }
  if (!existing) {
    const retryAt = retryAtOf(ev.shortages);
    d.emit({
      type: 'AllocationBlocked',
      data: {
        allocationId: req.allocationId,
        taskId: req.taskId,
        attempt: req.attempt,
        sessionId: req.sessionId,
        priority: req.priority,
        claims: req.claims.map(claimData),
        incremental: req.incremental,
        policy: req.policy,
        waitingFor: waitingForOf(ev.shortages),
        reason: reasonOf(req, ev.shortages),
        blockers: blockersOf(d, ev.shortages),
        waitingOnPools: shortPoolIds(ev.shortages),
        waitingOnLocks: shortLockNames(ev.shortages),
        ...(retryAt === undefined ? {} : { retryAt: timestamp(retryAt) }),
        conflictId: contentions.length > 0 ? conflictIdOf(d.state.conflictSeq + 1) : '',
        since: timestamp(req.since),
        at: d.at,
        parkedOn: parkingOf(d, ev.shortages),
      },
    });
  } else d.park(req.allocationId, parkingOf(d, ev.shortages, existing.parkedOn));
  for (const c of contentions) {
    const id = detect(d, req, c);
    if (c.outcome.kind !== 'preempt') continue;
    for (const victim of c.outcome.victims) requestPreemption(d, victim, req, id, c.outcome.reason);
    resolveConflict(d, id, 'preempted', req.taskId, '', c.outcome.reason);
  }
  if (d.state.holdingWaiters.has(req.allocationId) && (!existing || contentions.length > 0))
    detectDeadlocks(d, [req.allocationId]);
  return 'waiting';
}

function detect(d: Decision, req: Request, c: Contention): string {
  const conflictId = conflictIdOf(d.state.conflictSeq + 1);
  const parties: ConflictPartyData[] = [
    { taskId: req.taskId, attempt: req.attempt, priority: req.priority, role: 'waiter' },
    ...c.holders.map((h): ConflictPartyData => {
      const a = d.state.allocations.get(h)!;
      return { taskId: a.taskId, attempt: a.attempt, priority: a.priority, role: 'holder' };
    }),
  ];
  d.emit({
    type: 'ConflictDetected',
    data: {
      conflictId,
      kind: c.kind,
      resource: c.resource,
      allocationId: req.allocationId,
      parties,
      policy: c.policy,
      since: timestamp(req.since),
      at: d.at,
    },
  });
  return conflictId;
}

const holderContender = (a: Allocation): Contender => ({
  id: a.allocationId,
  priority: a.priority,
  since: a.since,
});

/** The contention a shortage amounts to, when holders could end it and it is not handled yet. */
function contention(
  d: Decision,
  req: Request,
  s: Shortage,
  existing: Waiter | undefined,
): Contention | undefined {
  const key = resourceKey(s.claim);
  if (existing?.conflicts.has(key)) return undefined;
  let policy: ConflictPolicy;
  let holders: readonly string[] | undefined;
  if (s.claim.kind === 'lock') {
    holders = s.holders();
    policy = req.policy || (d.state.lockPolicies.get(s.claim.name.namespace) ?? 'queue');
  } else {
    const pool = d.state.pools.get(s.claim.poolId)!;
    if (pool.spec.kind === 'rate' || pool.spec.kind === 'budget' || s.shortfall <= 0) return undefined;
    policy = req.policy || pool.spec.policy;
    holders = selectHolders(d, s.claim.poolId, s.shortfall, policy, req);
  }
  if (!holders || holders.length === 0) return undefined;
  const requester: Contender = { id: req.allocationId, priority: req.priority, since: req.since };
  const outcome = decideContention(
    policy,
    requester,
    holders.map((h) => holderContender(d.state.allocations.get(h)!)),
  );
  return {
    key,
    kind: s.claim.kind,
    resource: s.claim.kind === 'lock' ? s.claim.name.raw : s.claim.poolId,
    policy,
    holders,
    outcome,
  };
}

/**
 * The holders of a pool whose release would cover `shortfall`, chosen the way `policy` would give
 * way: holders already asked to give way first, then for preempt the lowest priority (then youngest),
 * for wait-die and wound-wait the youngest; for queue and manual the first found. Undefined when all
 * the holders together could not cover it (what is missing is set aside for reservations).
 */
function selectHolders(
  d: Decision,
  poolId: string,
  shortfall: number,
  policy: ConflictPolicy,
  req: Request,
): string[] | undefined {
  const held = d.state.holders.get(poolId);
  if (!held) return undefined;
  const chosen: string[] = [];
  let freed = 0;
  if (policy === 'queue' || policy === 'manual') {
    for (const [id, amount] of held) {
      if (id === req.allocationId) continue;
      chosen.push(id);
      freed += amount;
      if (fitsWithin(shortfall, freed)) return chosen;
    }
    return undefined;
  }
  const candidates = [...held.keys()]
    .filter((id) => id !== req.allocationId)
    .map((id) => d.state.allocations.get(id)!)
    .sort((a, b) => {
      if ((a.preemptedBy !== '') !== (b.preemptedBy !== '')) return a.preemptedBy !== '' ? -1 : 1;
      if (policy === 'preempt' && a.priority !== b.priority) return a.priority - b.priority;
      if (a.since !== b.since) return b.since - a.since;
      return a.allocationId < b.allocationId ? 1 : -1;
    });
  for (const a of candidates) {
    chosen.push(a.allocationId);
    freed += held.get(a.allocationId) ?? 0;
    if (fitsWithin(shortfall, freed)) return chosen;
  }
  return undefined;
}

// ---------------------------------------------------------------- refuse, preempt, resolve

/** Ids of the open conflicts a waiter is the waiter of. */
export function openConflictsOf(d: Decision, allocationId: string): string[] {
  const w = d.state.waiters.get(allocationId);
  if (!w) return [];
  return [...w.conflicts.values()].filter((id) => d.state.conflicts.has(id));
}

export function resolveConflict(
  d: Decision,
  conflictId: string,
  resolution: Resolution,
  winner: string,
  strategy: string,
  reason: string,
): void {
  d.emit({ type: 'ConflictResolved', data: { conflictId, resolution, winner, strategy, reason, at: d.at } });
}

/**
 * AllocationRefused: the request no longer waits; its open conflicts (and `alsoOpen`, detected in this
 * decision for a request that was never queued) end as aborted.
 */
export function refuse(
  d: Decision,
  req: Request | Waiter,
  reason: string,
  retryAt: string | undefined,
  winner: string,
  strategy: string,
  alsoOpen: readonly string[] = [],
): void {
  const open = [...new Set([...openConflictsOf(d, req.allocationId), ...alsoOpen])];
  d.emit({
    type: 'AllocationRefused',
    data: {
      allocationId: req.allocationId,
      taskId: req.taskId,
      attempt: req.attempt,
      sessionId: req.sessionId,
      reason,
      ...(retryAt === undefined ? {} : { retryAt }),
      at: d.at,
    },
  });
  for (const id of open) resolveConflict(d, id, 'aborted', winner, strategy, reason);
}

/** PreemptionRequested for a holder, unless it was already asked to give way. */
export function requestPreemption(
  d: Decision,
  victimId: string,
  by: { readonly taskId: string; readonly attempt: number },
  conflictId: string,
  reason: string,
): void {
  const a = d.state.allocations.get(victimId);
  if (!a || a.preemptedBy !== '') return;
  d.emit({
    type: 'PreemptionRequested',
    data: {
      allocationId: a.allocationId,
      taskId: a.taskId,
      attempt: a.attempt,
      sessionId: a.sessionId,
      byTaskId: by.taskId,
      byAttempt: by.attempt,
      conflictId,
      reason,
      at: d.at,
    },
  });
}

// ---------------------------------------------------------------- the queue

/** What was freed (or stopped being waited for): pools, and lock names. */
export interface Freed {
  readonly pools: Iterable<string>;
  readonly locks: Iterable<LockName>;
}

/** What a waiter claims: when it leaves the queue, those behind it there may go. */
export const heldBack = (w: Waiter): Freed => ({
  pools: w.claims.flatMap((c) => (c.kind === 'pool' ? [c.poolId] : [])),
  locks: w.claims.flatMap((c) => (c.kind === 'lock' ? [c.name] : [])),
});

/**
 * The waiters claiming locks that overlap `name` that no earlier waiting claim holds back: a claim
 * behind a conflicting earlier one cannot be granted before it.
 */
function firstLockClaimants(d: Decision, name: LockName): string[] {
  const heads = new Map<string, Waiter>();
  const names = d.state.claimedNames.blockers(name, 'exclusive', '');
  const parkedHere = new Set(names.map((raw) => `lock:${raw}`));
  const add = (e: ClaimEntry): void => {
    if (!heads.has(e.id)) heads.set(e.id, d.state.waiters.get(e.id)!);
  };
  for (const raw of names) {
    const q = d.state.lockQueues.get(raw)!;
    // For every waiter, and for hold-and-wait ones among themselves (others do not hold them back):
    // the first exclusive claim, and the shared ones before it.
    for (const holdingOnly of [false, true]) {
      const exclusive = new QueueWalk(d, q.exclusive);
      let firstExclusive = exclusive.take();
      while (firstExclusive && holdingOnly && !firstExclusive.holding) firstExclusive = exclusive.take();
      if (firstExclusive) add(firstExclusive);
      const shared = new QueueWalk(d, q.shared);
      for (let e = shared.take(); e !== undefined; e = shared.take()) {
        if (holdingOnly && !e.holding) continue;
        if (firstExclusive && !d.before(e, firstExclusive)) break;
        add(e);
      }
    }
  }
  const ordered = [...heads.values()].sort((a, b) => compareRanks(d.rank(a), d.rank(b)));
  const first: { w: Waiter; holding: boolean; claims: LockClaim[] }[] = [];
  for (const w of ordered) {
    const holding = d.state.holdingWaiters.has(w.allocationId);
    const mine = w.claims.filter((c): c is LockClaim => c.kind === 'lock' && locksOverlap(c.name, name));
    const behind = first.some(
      (f) =>
        (f.holding || !holding) &&
        f.claims.some((a) =>
          mine.some((b) => !modesCompatible(a.mode, b.mode) && locksOverlap(a.name, b.name)),
        ),
    );
    if (!behind) first.push({ w, holding, claims: mine });
  }
  // A first claimant parked elsewhere is still short there.
  return first.filter((f) => parkedHere.has(f.w.parkedOn)).map((f) => f.w.allocationId);
}

/**
 * Re-examines, in queue order, the waiters that what was freed could help (every waiter for `'all'`),
 * granting those that fit now: the claimants of a freed pool that it is not short for, and the first
 * claimants of locks overlapping a freed name. A waiter refused meanwhile frees what it claimed, whose
 * claimants are examined in turn.
 * Returns the allocation ids granted.
 */
export function schedule(d: Decision, freed: Freed | 'all', also: Iterable<string> = []): string[] {
  const granted: string[] = [];
  const done = new Set<string>();
  const queued = new Set<string>();
  // Sorted in queue order from `head` on; entries before `head` were examined.
  const pending: Waiter[] = [];
  let head = 0;
  const order = (a: Waiter, b: Waiter): number => compareRanks(d.rank(a), d.rank(b));
  /** `again`: examine waiters already examined in this pass once more (something changed for them). */
  const enqueue = (ids: Iterable<string>, again = false): void => {
    const fresh: Waiter[] = [];
    for (const id of ids) {
      if ((done.has(id) && !again) || queued.has(id)) continue;
      const w = d.state.waiters.get(id);
      if (!w) continue;
      queued.add(id);
      fresh.push(w);
    }
    if (fresh.length === 0) return;
    const rest = [...pending.slice(head), ...fresh].sort(order);
    pending.length = 0;
    pending.push(...rest);
    head = 0;
  };
  const candidatesOf = (f: Freed): string[] => {
    const ids: string[] = [];
    for (const p of f.pools) ids.push(...unparkedBy(d, p));
    for (const name of f.locks) ids.push(...firstLockClaimants(d, name));
    return ids;
  };
  enqueue(freed === 'all' ? [...d.state.waiters.keys()] : candidatesOf(freed));
  enqueue(also);
  while (head < pending.length) {
    const next = pending[head++]!;
    queued.delete(next.allocationId);
    done.add(next.allocationId);
    const w = d.state.waiters.get(next.allocationId);
    if (!w) continue;
    const req = d.requestOf(w);
    const ev = evaluate(d, req, true, w.parkedOn);
    if (ev.shortages.length === 0) {
      grant(d, req, ev);
      granted.push(w.allocationId);
      enqueue(contendedBy(d, ev), true);
    } else if (block(d, req, ev, w) === 'refused') enqueue(candidatesOf(heldBack(w)));
  }
  return granted;
}

/**
 * The waiters a grant's new holds now contend with whose policy acts on its own (preempt, wait-die,
 * wound-wait): they are examined again at once, so the policy acts when the contention arises rather
 * than at the next tick. Waiters under queue or manual policies just keep waiting.
 */
export function contendedBy(d: Decision, ev: Evaluation): string[] {
  const { state } = d;
  const overrides = state.actingOverrides > 0;
  const ids = new Set<string>();
  const consider = (e: ClaimEntry, resourcePolicy: string): void => {
    const w = state.waiters.get(e.id);
    if (w && acts(w.policy || resourcePolicy)) ids.add(e.id);
  };
  for (const l of ev.locks) {
    const name = lockNameOf(l.lock);
    const policy = state.lockPolicies.get(name.namespace) ?? 'queue';
    if (!overrides && !acts(policy)) continue;
    for (const raw of state.claimedNames.blockers(name, l.mode as LockMode, '')) {
      const q = state.lockQueues.get(raw)!;
      for (const queue of l.mode === 'exclusive' ? [q.exclusive, q.shared] : [q.exclusive])
        for (const list of queue.values()) for (const e of list) consider(e, policy);
    }
  }
  for (const g of ev.grants) {
    const pool = state.pools.get(g.poolId)!;
    if (g.amount === 0 || pool.spec.kind === 'rate' || pool.spec.kind === 'budget') continue;
    if (!overrides && !acts(pool.spec.policy)) continue;
    for (const list of state.claimants.get(g.poolId)?.levels.values() ?? [])
      for (const e of list) consider(e, pool.spec.policy);
  }
  return [...ids];
}

// ---------------------------------------------------------------- deadlocks

/** Whether `id` is a node of the wait-for graph: a hold-and-wait waiter not already asked to give way. */
const isNode = (d: Decision, id: string): boolean =>
  d.state.holdingWaiters.has(id) && d.state.allocations.get(id)?.preemptedBy === '';

/**
 * The hold-and-wait waiters `id` waits for. Only they can close a cycle: a waiter that holds nothing
 * is waited for by nobody but later waiters of its own kind, and a holder that does not wait will
 * release. Edges: holders of locks it claims that conflict; waiters ahead of it short on what it
 * claims; and the holders of a concurrency or quantity pool it claims when even the release of every
 * holder that does not wait would leave too little.
 */
export function waitsFor(d: Decision, id: string): string[] {
  const w = d.state.waiters.get(id);
  if (!w || !isNode(d, id)) return [];
  const req = d.requestOf(w);
  const out = new Set<string>();
  const node = (x: string): boolean => x !== id && isNode(d, x);
  for (const claim of w.claims) {
    if (claim.kind === 'lock') {
      for (const h of d.state.locks.blockers(claim.name, claim.mode, id)) if (node(h)) out.add(h);
      for (const e of aheadOnLock(d, req, claim)) if (node(e)) out.add(e);
      continue;
    }
    const pool = d.state.pools.get(claim.poolId)!;
    if (pool.spec.kind !== 'concurrency' && pool.spec.kind !== 'quantity') continue;
    // Assume every holder that does not wait has released: is what the waiting ones hold, plus what
    // the hold-and-wait waiters ahead ask for, still too much?
    const held = d.state.holders.get(claim.poolId);
    const waitingHolders = [...d.state.holdingWaiters.keys()].filter((x) => node(x) && held?.has(x));
    const stuck = waitingHolders.reduce((sum, x) => sum + (held?.get(x) ?? 0), 0);
    const ahead: string[] = [];
    let demand = 0;
    const walk = d.walk(claim.poolId);
    for (let e = walk.take(); e !== undefined && e.id !== id; e = walk.take()) {
      if (!node(e.id)) continue;
      ahead.push(e.id);
      demand += e.amount;
    }
    const potential = pool.spec.capacity - (held?.get(id) ?? 0) - stuck - demand;
    if (fitsWithin(claim.amount, potential)) continue;
    for (const x of waitingHolders) out.add(x);
    for (const e of ahead) out.add(e);
  }
  return [...out];
}

/**
 * Looks for a cycle through each of `starts`; for each found, DeadlockDetected and a preemption of the
 * victim (lowest priority, then youngest), until none is left.
 */
export function detectDeadlocks(d: Decision, starts: Iterable<string>): void {
  for (const start of starts) {
    for (;;) {
      if (!isNode(d, start)) break;
      const cycle = findCycle((id) => waitsFor(d, id), start);
      if (!cycle) break;
      const members = cycle.map((id) => d.state.allocations.get(id)!);
      const victim = d.state.allocations.get(chooseVictim(members.map(holderContender)).id)!;
      // The victim gives way to the member of the cycle that waits for it.
      const at = cycle.indexOf(victim.allocationId);
      const waiter = members[(at + members.length - 1) % members.length]!;
      const path = members.map((a) => a.taskId).join(' -> ');
      const reason =
        `deadlock: ${path} -> ${members[0]!.taskId} each wait for the next; ` +
        `${victim.taskId} (priority ${victim.priority}) gives way as the lowest-priority, youngest party`;
      d.emit({
        type: 'DeadlockDetected',
        data: {
          cycle: members.map((a) => a.taskId),
          allocationIds: cycle,
          victim: victim.taskId,
          victimAttempt: victim.attempt,
          reason,
          at: d.at,
        },
      });
      requestPreemption(d, victim.allocationId, waiter, '', reason);
    }
  }
}

/** The waiters (ids) of the current hold-and-wait graph that are on a cycle, for checks. */
export function cycleThrough(d: Decision, start: string): string[] | undefined {
  return isNode(d, start) ? findCycle((id) => waitsFor(d, id), start) : undefined;
}
