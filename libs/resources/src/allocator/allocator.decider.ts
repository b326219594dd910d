import {
  ConflictError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  assertNever,
  rfc3339,
  textProblems,
  type Decider,
  type FieldProblem,
} from '@orch/domain-kit';
import { claimProblems, impliedPoolClaims, parseClaims, type Claim, type ClaimContext } from '../claims';
import { budgetAt, fitsWithin, peakReserved, EPSILON } from '../pools/accounting';
import {
  POOL_ID_PATTERN,
  TOKEN_BUDGET_UNIT,
  isPolicy,
  maxClaim,
  poolSpecData,
  poolSpecProblems,
  resolvePoolSpec,
  sameSpec,
  type PoolSpec,
} from '../pools/pool-spec';
import type {
  Allocate,
  AllocatorCommand,
  DefinePool,
  ReconcileUsage,
  Release,
  Reserve,
  ResolveConflict,
  SetPolicy,
  UpdatePool,
} from './allocator.commands';
import {
  allocationIdOf,
  type AllocatorEvent,
  type BudgetDrawData,
  type PoolGrantData,
} from './allocator.events';
import {
  acts,
  conflictNumber,
  evolveAllocator,
  heldMode,
  initialAllocatorState,
  type AllocatorState,
} from './allocator.state';
import {
  DEFAULT_ALLOCATOR_OPTIONS,
  Decision,
  timestamp,
  type AllocatorOptions,
  type Request,
} from './decision';
import { evaluate } from './evaluate';
import {
  block,
  contendedBy,
  detectDeadlocks,
  grant,
  heldBack,
  openConflictsOf,
  refuse,
  requestPreemption,
  resolveConflict,
  schedule,
  warnSoftLimit,
} from './flow';

const reject = (message: string, problems: readonly FieldProblem[]): void => {
  if (problems.length > 0) throw new ValidationError(message, problems);
};

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const NAMESPACE = /^[a-z0-9_.-]+$/i;

/** Lookups of pools and reservations for claim checks. */
export const claimContext = (state: AllocatorState): ClaimContext => ({
  pool: (id) => state.pools.get(id)?.spec,
  reservation: (id) => state.reservations.get(id),
});

// ---------------------------------------------------------------- pools and policies

function definePool(d: Decision, c: DefinePool): void {
  reject(`invalid definition of pool "${String(c.poolId)}"`, poolSpecProblems(c));
  const spec = resolvePoolSpec(c);
  const existing = d.state.pools.get(spec.poolId);
  if (existing) {
    if (sameSpec(existing.spec, spec)) return;
    throw new ConflictError(
      `pool "${spec.poolId}" is already defined differently; change it with UpdatePool`,
      {
        poolId: spec.poolId,
      },
    );
  }
  d.emit({ type: 'PoolDefined', data: { spec: poolSpecData(spec), at: d.at } });
}

function updatedSpec(spec: PoolSpec, c: UpdatePool): PoolSpec {
  const problems: FieldProblem[] = [];
  if (c.capacity !== undefined && (!finite(c.capacity) || c.capacity <= 0))
    problems.push({ path: 'capacity', message: 'must be a finite number greater than 0' });
  if (c.softLimit !== undefined) {
    if (spec.kind !== 'budget') problems.push({ path: 'softLimit', message: 'applies to budget pools only' });
    else if (!finite(c.softLimit) || c.softLimit < 0 || c.softLimit > 1)
      problems.push({ path: 'softLimit', message: 'must be a fraction between 0 and 1' });
  }
  if (c.policy !== undefined && !isPolicy(c.policy))
    problems.push({ path: 'policy', message: `unknown policy "${String(c.policy)}"` });
  if (c.burst !== undefined) {
    if (spec.kind !== 'rate') problems.push({ path: 'burst', message: 'applies to rate pools only' });
    else if (!finite(c.burst) || c.burst <= 0)
      problems.push({ path: 'burst', message: 'must be a finite number greater than 0' });
  }
  reject(`invalid update of pool "${spec.poolId}"`, problems);
  const capacity = c.capacity ?? spec.capacity;
  // A burst left to its default follows the capacity.
  const burst =
    spec.kind !== 'rate' ? 0 : (c.burst ?? (spec.burst === spec.capacity ? capacity : spec.burst));
  const next: PoolSpec = {
    ...spec,
    capacity,
    burst,
    softLimit: c.softLimit ?? spec.softLimit,
    policy: c.policy !== undefined && isPolicy(c.policy) ? c.policy : spec.policy,
  };
  if (next.defaultAmount > maxClaim(next))
    reject(`invalid update of pool "${spec.poolId}"`, [
      {
        path: c.burst !== undefined ? 'burst' : 'capacity',
        message: `must be at least the pool's default claim (${next.defaultAmount} ${spec.unit})`,
      },
    ]);
  return next;
}

function updatePool(d: Decision, c: UpdatePool): void {
  const pool = d.state.pools.get(c.poolId);
  if (!pool) throw new NotFoundError(`unknown pool "${c.poolId}"`, { poolId: c.poolId });
  const next = updatedSpec(pool.spec, c);
  if (sameSpec(pool.spec, next)) return;
  const reserved = peakReserved(d.state.reservationsByPool.get(c.poolId) ?? [], d.atMs, Infinity);
  if (!fitsWithin(reserved, next.capacity))
    throw new ConflictError(
      `pool "${c.poolId}" has ${reserved} ${next.unit} reserved at once ahead; its capacity cannot go below that`,
      { poolId: c.poolId },
    );
  d.emit({ type: 'PoolUpdated', data: { poolId: c.poolId, spec: poolSpecData(next), at: d.at } });
  // Waiters asking for more than the pool can now ever give would wait forever.
  for (const w of [...d.state.waiters.values()]) {
    const claim = w.claims.find((x) => x.kind === 'pool' && x.poolId === c.poolId);
    if (claim?.kind !== 'pool' || fitsWithin(claim.amount, maxClaim(next))) continue;
    const reason =
      `pool "${c.poolId}" can now give at most ${maxClaim(next)} ${next.unit} at once, ` +
      `less than the ${claim.amount} ${w.taskId} asks for`;
    refuse(d, w, reason, undefined, '', '');
    schedule(d, heldBack(w));
  }
  const newPolicy = next.policy !== pool.spec.policy && acts(next.policy);
  schedule(
    d,
    { pools: [c.poolId], locks: [] },
    newPolicy ? waitersClaiming(d, (x) => x.kind === 'pool' && x.poolId === c.poolId) : [],
  );
  if (maxClaim(next) < maxClaim(pool.spec)) detectDeadlocks(d, [...d.state.holdingWaiters.keys()]);
}

function setPolicy(d: Decision, c: SetPolicy): void {
  const problems: FieldProblem[] = [];
  if (typeof c.namespace !== 'string' || !NAMESPACE.test(c.namespace))
    problems.push({ path: 'namespace', message: 'must be a lock namespace: letters, digits, _ . -' });
  if (!isPolicy(c.policy)) problems.push({ path: 'policy', message: `unknown policy "${String(c.policy)}"` });
  reject('invalid policy', problems);
  const namespace = c.namespace.toLowerCase();
  if (d.state.lockPolicies.get(namespace) === c.policy) return;
  d.emit({ type: 'PolicySet', data: { namespace, policy: c.policy, at: d.at } });
  // Contention in the namespace is looked at again under the new policy.
  if (acts(c.policy))
    schedule(
      d,
      { pools: [], locks: [] },
      waitersClaiming(d, (x) => x.kind === 'lock' && x.name.namespace === namespace),
    );
}

/** Waiters with a claim that matches. */
const waitersClaiming = (d: Decision, match: (c: Claim) => boolean): string[] =>
  [...d.state.waiters.values()].filter((w) => w.claims.some(match)).map((w) => w.allocationId);

// ---------------------------------------------------------------- reservations

function reserve(d: Decision, c: Reserve): void {
  const problems: FieldProblem[] = [];
  if (typeof c.reservationId !== 'string' || !POOL_ID_PATTERN.test(c.reservationId))
    problems.push({
      path: 'reservationId',
      message: 'must be 1-128 characters: lower-case letters, digits and _ . : -',
    });
  if (!finite(c.amount) || c.amount <= 0)
    problems.push({ path: 'amount', message: 'must be a finite number greater than 0' });
  const from = c.from instanceof Date ? c.from.getTime() : NaN;
  const to = c.to instanceof Date ? c.to.getTime() : NaN;
  if (Number.isNaN(from)) problems.push({ path: 'from', message: 'must be a time' });
  if (Number.isNaN(to)) problems.push({ path: 'to', message: 'must be a time' });
  else if (to <= from)
    problems.push({ path: 'to', message: 'must be after from: the reservation ends before it begins' });
  else if (to <= d.atMs) problems.push({ path: 'to', message: 'is in the past' });
  if (typeof c.taskId !== 'string' || c.taskId.length > 200)
    problems.push({ path: 'taskId', message: 'must be a task id (or empty)' });
  reject('invalid reservation', problems);
  const pool = d.state.pools.get(c.poolId);
  if (!pool) throw new NotFoundError(`unknown pool "${c.poolId}"`, { poolId: c.poolId });
  const { spec } = pool;
  if (spec.kind !== 'concurrency' && spec.kind !== 'quantity')
    reject('invalid reservation', [
      {
        path: 'poolId',
        message: `pool "${spec.poolId}" is a ${spec.kind} pool; only concurrency and quantity pools take reservations`,
      },
    ]);
  if (c.amount > spec.capacity)
    reject('invalid reservation', [
      {
        path: 'amount',
        message: `${c.amount} ${spec.unit} is more than pool "${spec.poolId}" has (${spec.capacity})`,
      },
    ]);
  const existing = d.state.reservations.get(c.reservationId);
  if (existing) {
    const same =
      existing.poolId === c.poolId &&
      existing.amount === c.amount &&
      existing.from === from &&
      existing.to === to &&
      existing.taskId === c.taskId;
    if (same) return;
    throw new ConflictError(`reservation "${c.reservationId}" already exists with other terms`, {
      reservationId: c.reservationId,
    });
  }
  const peak = peakReserved(d.state.reservationsByPool.get(c.poolId) ?? [], from, to);
  if (!fitsWithin(peak + c.amount, spec.capacity))
    throw new ConflictError(
      `pool "${spec.poolId}" has ${spec.capacity} ${spec.unit}, ${peak} of them already reserved during ` +
        `${rfc3339(c.from)} - ${rfc3339(c.to)}: ${c.amount} more do not fit`,
      { poolId: spec.poolId },
    );
  d.emit({
    type: 'ReservationCreated',
    data: {
      reservationId: c.reservationId,
      poolId: c.poolId,
      amount: c.amount,
      from: rfc3339(c.from),
      to: rfc3339(c.to),
      taskId: c.taskId,
      at: d.at,
    },
  });
  // A window open now may let in a waiter it is for.
  if (from <= d.atMs)
    schedule(
      d,
      { pools: [], locks: [] },
      waitersClaiming(
        d,
        (x) =>
          x.kind === 'pool' &&
          x.poolId === c.poolId &&
          (c.taskId === '' ? x.reservation === c.reservationId : true),
      ).filter((id) => c.taskId === '' || d.state.waiters.get(id)!.taskId === c.taskId),
    );
}

// ---------------------------------------------------------------- allocate and release

function allocateProblems(d: Decision, c: Allocate): FieldProblem[] {
  const problems: FieldProblem[] = [...textProblems('taskId', String(c.taskId ?? ''), 200)];
  if (typeof c.taskId === 'string' && c.taskId.includes('#'))
    problems.push({ path: 'taskId', message: 'must not contain "#"' });
  if (!Number.isInteger(c.attempt) || c.attempt < 1 || c.attempt > 0xffffffff)
    problems.push({ path: 'attempt', message: 'must be a whole number from 1' });
  if (typeof c.sessionId !== 'string' || c.sessionId.length > 200)
    problems.push({ path: 'sessionId', message: 'must be a session id (or empty)' });
  if (!Number.isInteger(c.priority) || Math.abs(c.priority) > 0x7fffffff)
    problems.push({ path: 'priority', message: 'must be a whole number (32-bit)' });
  if (c.policy !== undefined && c.policy !== '' && !isPolicy(c.policy))
    problems.push({ path: 'policy', message: `unknown policy "${String(c.policy)}"` });
  if (c.requestedAt !== undefined && Number.isNaN(c.requestedAt.getTime()))
    problems.push({ path: 'requestedAt', message: 'must be a time' });
  if (c.agent !== undefined && (typeof c.agent.provider !== 'string' || typeof c.agent.labels !== 'object'))
    problems.push({ path: 'agent', message: 'must name the provider and labels of the agent' });
  problems.push(
    ...claimProblems(claimContext(d.state), c.claims, typeof c.taskId === 'string' ? c.taskId : ''),
  );
  return problems;
}

/** What an incremental request still lacks: pools beyond what is held, locks not held strongly enough. */
function stillLacking(d: Decision, allocationId: string, claims: readonly Claim[]): Claim[] {
  const a = d.state.allocations.get(allocationId);
  if (!a) return [...claims];
  return claims.flatMap((c): Claim[] => {
    if (c.kind === 'lock') {
      const mode = heldMode(a, c.name.raw);
      return mode === 'exclusive' || mode === c.mode ? [] : [c];
    }
    const had = a.grants.filter((g) => g.poolId === c.poolId).reduce((sum, g) => sum + g.amount, 0);
    const missing = c.amount - had;
    return missing > EPSILON * Math.max(1, c.amount) ? [{ ...c, amount: missing }] : [];
  });
}

function allocate(d: Decision, c: Allocate): void {
  reject(`invalid allocation request for ${String(c.taskId)}#${String(c.attempt)}`, allocateProblems(d, c));
  const allocationId = allocationIdOf(c.taskId, c.attempt);
  if (d.state.waiters.has(allocationId)) return;
  const held = d.state.allocations.get(allocationId);
  if (held && !c.incremental) return;
  const declared = parseClaims(c.claims);
  const implied = held
    ? []
    : impliedPoolClaims(
        [...d.state.pools.values()].map((p) => p.spec),
        c.sessionId,
        c.agent,
        new Set(declared.flatMap((x) => (x.kind === 'pool' ? [x.poolId] : []))),
      );
  const claims = held ? stillLacking(d, allocationId, declared) : [...declared, ...implied];
  if (held && claims.length === 0) return;
  const req: Request = {
    allocationId,
    taskId: c.taskId,
    attempt: c.attempt,
    sessionId: c.sessionId,
    priority: c.priority,
    since: held?.since ?? (c.requestedAt ?? c.at).getTime(),
    seq: d.state.waiterSeq + 1,
    claims,
    incremental: held !== undefined,
    policy: c.policy && isPolicy(c.policy) ? c.policy : '',
    holding: held !== undefined,
  };
  const ev = evaluate(d, req);
  if (ev.shortages.length === 0) {
    grant(d, req, ev);
    const contended = contendedBy(d, ev);
    if (contended.length > 0) schedule(d, { pools: [], locks: [] }, contended);
  } else block(d, req, ev, undefined);
}

function release(d: Decision, c: Release): void {
  const allocationId = allocationIdOf(c.taskId, c.attempt);
  const w = d.state.waiters.get(allocationId);
  const a = d.state.allocations.get(allocationId);
  if (!w && !a) return;
  const reason = c.reason || 'released';
  if (w) {
    const open = openConflictsOf(d, allocationId);
    d.emit({
      type: 'WaitWithdrawn',
      data: { allocationId, taskId: w.taskId, attempt: w.attempt, sessionId: w.sessionId, reason, at: d.at },
    });
    for (const id of open)
      resolveConflict(d, id, 'withdrawn', '', '', `${w.taskId} stopped waiting: ${reason}`);
  }
  // A waiter leaving frees what it held others back on: any pool or lock it claims.
  const pools = new Set<string>(w ? heldBack(w).pools : []);
  const locks = w ? [...heldBack(w).locks] : [];
  if (a) {
    const returned = new Map<string, number>();
    a.grants.forEach((g, i) => {
      const kind = d.state.pools.get(g.poolId)?.spec.kind;
      if (kind === 'rate' || (kind === 'budget' && i < a.settled)) return;
      returned.set(g.poolId, (returned.get(g.poolId) ?? 0) + g.amount);
    });
    d.emit({
      type: 'ResourcesReleased',
      data: {
        allocationId,
        taskId: a.taskId,
        attempt: a.attempt,
        sessionId: a.sessionId,
        returned: [...returned].map(([poolId, amount]): PoolGrantData => ({
          poolId,
          amount,
          reservationId: '',
        })),
        locks: a.locks.map((l) => ({ lock: l.name.raw, mode: l.mode })),
        reason,
        at: d.at,
      },
    });
    for (const p of returned.keys()) pools.add(p);
    locks.push(...a.locks.map((l) => l.name));
  }
  schedule(d, { pools, locks });
}

// ---------------------------------------------------------------- usage

function reconcileUsage(d: Decision, c: ReconcileUsage): void {
  const problems: FieldProblem[] = [];
  for (const field of ['inputTokens', 'outputTokens'] as const)
    if (!Number.isSafeInteger(c[field]) || c[field] < 0)
      problems.push({ path: field, message: 'must be a whole number, 0 or more' });
  if (!finite(c.costUsd) || c.costUsd < 0)
    problems.push({ path: 'costUsd', message: 'must be a finite number, 0 or more' });
  reject('invalid usage report', problems);
  const allocationId = allocationIdOf(c.taskId, c.attempt);
  const a = d.state.allocations.get(allocationId);
  const pending = d.state.pendingUsage.get(allocationId);
  const estimates = new Map<string, number>();
  if (a && !a.reconciled) {
    for (const g of a.grants)
      if (d.state.pools.get(g.poolId)?.spec.kind === 'budget')
        estimates.set(g.poolId, (estimates.get(g.poolId) ?? 0) + g.amount);
  } else if (pending)
    for (const b of pending.budgets) estimates.set(b.poolId, (estimates.get(b.poolId) ?? 0) + b.estimate);
  if (estimates.size === 0) return;
  const owner = a ?? pending!;
  const draws = [...estimates].map(([poolId, estimate]): BudgetDrawData => {
    const pool = budgetAt(d.state.pools.get(poolId)!, d.atMs);
    const actual = pool.spec.unit === TOKEN_BUDGET_UNIT ? c.inputTokens + c.outputTokens : c.costUsd;
    return { poolId, estimate, actual, spent: pool.spent + actual, periodStart: timestamp(pool.periodStart) };
  });
  d.emit({
    type: 'UsageReconciled',
    data: {
      allocationId,
      taskId: owner.taskId,
      attempt: owner.attempt,
      sessionId: owner.sessionId,
      inputTokens: String(c.inputTokens),
      outputTokens: String(c.outputTokens),
      costUsd: c.costUsd,
      draws,
      at: d.at,
    },
  });
  for (const draw of draws) warnSoftLimit(d, draw.poolId);
  schedule(d, { pools: estimates.keys(), locks: [] });
}

// ---------------------------------------------------------------- operators

const STRATEGIES = ['queue', 'preempt', 'abort', 'grant'];

function resolveByOperator(d: Decision, c: ResolveConflict): void {
  const problems: FieldProblem[] = [];
  if (typeof c.conflictId !== 'string' || c.conflictId === '')
    problems.push({ path: 'conflictId', message: 'must be a conflict id' });
  if (!STRATEGIES.includes(c.strategy))
    problems.push({ path: 'strategy', message: `must be one of ${STRATEGIES.join(', ')}` });
  reject('invalid resolution', problems);
  const conflict = d.state.conflicts.get(c.conflictId);
  if (!conflict) {
    const n = conflictNumber(c.conflictId);
    if (n !== undefined && n <= d.state.conflictSeq)
      throw new IllegalStateError(`conflict ${c.conflictId} is already resolved`, {
        conflictId: c.conflictId,
      });
    throw new NotFoundError(`unknown conflict ${c.conflictId}`, { conflictId: c.conflictId });
  }
  const w = d.state.waiters.get(conflict.allocationId)!;
  const holders = conflict.parties
    .filter((p) => p.role === 'holder')
    .map((p) => allocationIdOf(p.taskId, p.attempt))
    .filter((id) => d.state.allocations.has(id));
  const preemptHolders = (strategy: string, reason: string): void => {
    for (const h of holders) requestPreemption(d, h, w, c.conflictId, reason);
    resolveConflict(d, c.conflictId, 'preempted', w.taskId, strategy, reason);
  };
  const abort = (strategy: string, winner: string, reason: string): void => {
    refuse(d, w, reason, undefined, winner, strategy);
    schedule(d, heldBack(w));
  };
  switch (c.strategy) {
    case 'queue':
      return resolveConflict(
        d,
        c.conflictId,
        'manual',
        '',
        'queue',
        `an operator left ${w.taskId} waiting in the queue`,
      );
    case 'preempt':
      return preemptHolders(
        'preempt',
        `an operator preempted the holders of ${conflict.resource} for ${w.taskId}`,
      );
    case 'abort':
      return abort('abort', '', `an operator aborted the request of ${w.taskId} for ${conflict.resource}`);
    case 'grant': {
      const parties = conflict.parties.map((p) => p.taskId);
      if (!c.winner || !parties.includes(c.winner))
        reject('invalid resolution', [
          { path: 'winner', message: `must be the task id of a party: ${[...new Set(parties)].join(', ')}` },
        ]);
      if (c.winner === w.taskId)
        return preemptHolders('grant', `an operator gave ${conflict.resource} to ${w.taskId}`);
      return abort(
        'grant',
        c.winner!,
        `an operator let ${c.winner} keep ${conflict.resource}; ${w.taskId} gives up`,
      );
    }
  }
}

// ---------------------------------------------------------------- the decider

function decideOn(d: Decision, c: AllocatorCommand): void {
  switch (c.type) {
    case 'DefinePool':
      return definePool(d, c);
    case 'UpdatePool':
      return updatePool(d, c);
    case 'SetPolicy':
      return setPolicy(d, c);
    case 'Reserve':
      return reserve(d, c);
    case 'Allocate':
      return allocate(d, c);
    case 'Release':
      return release(d, c);
    case 'ReconcileUsage':
      return reconcileUsage(d, c);
    case 'Tick':
      schedule(d, 'all');
      return detectDeadlocks(d, [...d.state.holdingWaiters.keys()]);
    case 'ResolveConflict':
      return resolveByOperator(d, c);
    default:
      return assertNever(c, 'allocator command');
  }
}

/**
 * The events `command` gives on `state`, and the state the decision ended with (equal to folding the
 * events into `state`; tests check it, callers may use it to skip the fold).
 */
export function decideAllocator(
  command: AllocatorCommand,
  state: AllocatorState,
  options: AllocatorOptions = DEFAULT_ALLOCATOR_OPTIONS,
): { events: AllocatorEvent[]; state: AllocatorState } {
  if (!(command.at instanceof Date) || Number.isNaN(command.at.getTime()))
    throw new ValidationError('invalid command', [{ path: 'at', message: 'must be a time' }]);
  const d = new Decision(state, command.at, options);
  decideOn(d, command);
  return { events: d.finish(), state: d.state };
}

/**
 * The allocator decider (stream {@link ALLOCATOR_STREAM}): pools, reservations, allocations of pools
 * and locks, the queue of waiters and conflicts, decided in one consistency boundary.
 * `options.agingStepMs` (default 30 s): a waiter gains one priority step per that many ms waited.
 */
export function allocatorDecider(
  options: Partial<AllocatorOptions> = {},
): Decider<AllocatorCommand, AllocatorEvent, AllocatorState> {
  const resolved: AllocatorOptions = { ...DEFAULT_ALLOCATOR_OPTIONS, ...options };
  if (!(resolved.agingStepMs > 0))
    throw new RangeError(`agingStepMs must be > 0, got ${resolved.agingStepMs}`);
  if (!(resolved.retryAfterMs >= 0))
    throw new RangeError(`retryAfterMs must be >= 0, got ${resolved.retryAfterMs}`);
  return {
    decide: (command, state) => decideAllocator(command, state, resolved).events,
    evolve: evolveAllocator,
    initialState: initialAllocatorState,
  };
}
