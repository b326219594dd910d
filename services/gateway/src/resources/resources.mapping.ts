import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import {
  ClaimSchema,
  DefinePoolSchema,
  ReserveSchema,
  UpdatePoolSchema,
  type AllocationResult,
  type AllocationView,
  type Claim,
  type ConflictView,
  type DefinePool,
  type LockGrant,
  type MonitoringView,
  type PoolGrant,
  type PoolView,
  type Reserve,
  type ReservationView,
  type UpdatePool,
} from '@orch/contracts';
import { rfc3339 } from '@orch/domain-kit';
import { RemoteDomainError, isRemoteDomainError } from '@orch/messaging';
import { isPoolClaim, type ClaimInput } from './claims.schemas';
import type {
  AllocationResponse,
  AllocationResultResponse,
  ClaimResponse,
  ConflictResponse,
  DefinePoolBody,
  GrantResponse,
  LockResponse,
  MonitoringResponse,
  PoolResponse,
  ReservationResponse,
  ReserveBody,
  UpdatePoolBody,
} from './resources.schemas';

// ------------------------------------------------------------------ requests -> commands

/** The DefinePool command for a validated body: absent optional fields stay unset (service defaults). */
export function toDefinePool(body: DefinePoolBody): DefinePool {
  return create(DefinePoolSchema, {
    poolId: body.id,
    kind: body.kind,
    capacity: body.capacity,
    unit: body.unit ?? '',
    windowMs: BigInt(body.window ?? 0),
    ...(body.burst !== undefined ? { burst: body.burst } : {}),
    scope: body.scope ?? { kind: 'global', value: '' },
    ...(body.softLimit !== undefined ? { softLimit: body.softLimit } : {}),
    policy: body.policy ?? '',
    ...(body.defaultAmount !== undefined ? { defaultAmount: body.defaultAmount } : {}),
  });
}

/** The UpdatePool command: only the fields given change. */
export function toUpdatePool(poolId: string, body: UpdatePoolBody): UpdatePool {
  return create(UpdatePoolSchema, {
    poolId,
    ...(body.capacity !== undefined ? { capacity: body.capacity } : {}),
    ...(body.softLimit !== undefined ? { softLimit: body.softLimit } : {}),
    ...(body.policy !== undefined ? { policy: body.policy } : {}),
    ...(body.burst !== undefined ? { burst: body.burst } : {}),
  });
}

export function toReserve(reservationId: string, body: ReserveBody): Reserve {
  return create(ReserveSchema, {
    reservationId,
    poolId: body.pool,
    amount: body.amount,
    from: timestampFromDate(new Date(body.from)),
    to: timestampFromDate(new Date(body.to)),
    taskId: body.taskId ?? '',
  });
}

/** A claim as the contract's Claim: the other kind's fields stay empty. */
export function toClaim(c: ClaimInput): Claim {
  return create(
    ClaimSchema,
    isPoolClaim(c)
      ? { pool: c.pool, amount: c.amount, reservation: c.reservation ?? '' }
      : { lock: c.lock, mode: c.mode },
  );
}

// ------------------------------------------------------------------ replies -> API JSON

const time = (t: Timestamp | undefined): string | null => (t ? rfc3339(timestampDate(t)) : null);

/** A pool: its definition and its usage now, flat (`window` in ms). */
export function toPoolResponse(view: PoolView): PoolResponse {
  const spec = view.spec;
  return {
    id: spec?.poolId ?? '',
    kind: (spec?.kind ?? '') as PoolResponse['kind'],
    capacity: view.capacity || (spec?.capacity ?? 0),
    unit: spec?.unit ?? '',
    window: Number(spec?.windowMs ?? 0n),
    burst: spec?.burst ?? 0,
    scope: {
      kind: (spec?.scope?.kind || 'global') as PoolResponse['scope']['kind'],
      value: spec?.scope?.value ?? '',
    },
    softLimit: spec?.softLimit ?? 0,
    policy: spec?.policy ?? '',
    defaultAmount: spec?.defaultAmount ?? 0,
    used: view.used,
    available: view.available,
    utilization: view.utilization,
    reserved: view.reserved,
    waiting: view.waiting,
    waitingDemand: view.waitingDemand,
    holders: view.holders,
    spent: view.spent,
    held: view.held,
    periodStart: time(view.periodStart),
    tokens: view.tokens,
  };
}

export function toReservationResponse(view: ReservationView): ReservationResponse {
  return {
    id: view.reservationId,
    pool: view.poolId,
    amount: view.amount,
    from: time(view.from),
    to: time(view.to),
    taskId: view.taskId,
    status: view.status as ReservationResponse['status'],
    used: view.used,
  };
}

/** A grant shaped like the claim it answers: `{pool, amount}`, plus `reservation` when drawn from one. */
export const toGrantResponse = (g: PoolGrant): GrantResponse => ({
  pool: g.poolId,
  amount: g.amount,
  ...(g.reservationId ? { reservation: g.reservationId } : {}),
});

export const toLockResponse = (l: LockGrant): LockResponse => ({
  lock: l.lock,
  mode: l.mode === 'shared' ? 'shared' : 'exclusive',
});

/** A contract Claim back as the API writes claims. */
export const toClaimResponse = (c: Claim): ClaimResponse =>
  c.lock
    ? { lock: c.lock, mode: c.mode === 'shared' ? 'shared' : 'exclusive' }
    : { pool: c.pool, amount: c.amount, ...(c.reservation ? { reservation: c.reservation } : {}) };

/** What an allocate decided: the optional members appear only when they say something. */
export function toAllocationResultResponse(r: AllocationResult): AllocationResultResponse {
  return {
    status: r.status as AllocationResultResponse['status'],
    allocationId: r.allocationId,
    grants: r.grants.map(toGrantResponse),
    locks: r.locks.map(toLockResponse),
    ...(r.waitingFor ? { waitingFor: r.waitingFor as AllocationResultResponse['waitingFor'] } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    blockers: [...r.blockers],
    ...(r.retryAt ? { retryAt: time(r.retryAt)! } : {}),
    conflictIds: [...r.conflictIds],
  };
}

export function toAllocationResponse(view: AllocationView): AllocationResponse {
  return {
    allocations: view.allocations.map((a) => ({
      allocationId: a.allocationId,
      taskId: a.taskId,
      attempt: a.attempt,
      sessionId: a.sessionId,
      priority: a.priority,
      grants: a.grants.map(toGrantResponse),
      locks: a.locks.map(toLockResponse),
      since: time(a.since),
      grantedAt: time(a.grantedAt),
      preemptedBy: a.preemptedBy,
    })),
    waiters: view.waiters.map((w) => ({
      allocationId: w.allocationId,
      taskId: w.taskId,
      attempt: w.attempt,
      sessionId: w.sessionId,
      priority: w.priority,
      claims: w.claims.map(toClaimResponse),
      waitingFor: w.waitingFor,
      reason: w.reason,
      blockers: [...w.blockers],
      retryAt: time(w.retryAt),
      since: time(w.since),
      position: w.position,
      conflictIds: [...w.conflictIds],
      holding: w.holding,
    })),
  };
}

export function toMonitoringResponse(view: MonitoringView): MonitoringResponse {
  return {
    at: time(view.at),
    pools: view.pools.map(toPoolResponse),
    demand: view.demand.map((d) => ({
      pool: d.poolId,
      demand: d.demand,
      capacity: d.capacity,
      horizonMs: Number(d.horizonMs),
      method: d.method,
      samples: d.samples,
    })),
    actions: view.actions.map((a) => ({
      kind: a.kind as MonitoringResponse['actions'][number]['kind'],
      pool: a.poolId,
      provider: a.provider,
      toProvider: a.toProvider,
      toPool: a.toPoolId,
      capacity: a.capacity,
      demand: a.demand,
      utilization: a.utilization,
      suggestedCapacity: a.suggestedCapacity,
      headroom: a.headroom,
      reason: a.reason,
    })),
  };
}

export function toConflictResponse(view: ConflictView): ConflictResponse {
  return {
    id: view.conflictId,
    kind: view.kind as ConflictResponse['kind'],
    resource: view.resource,
    allocationId: view.allocationId,
    parties: view.parties.map((p) => ({
      taskId: p.taskId,
      attempt: p.attempt,
      priority: p.priority,
      role: p.role as ConflictResponse['parties'][number]['role'],
    })),
    policy: view.policy,
    status: view.status as ConflictResponse['status'],
    resolution: view.resolution,
    winner: view.winner,
    strategy: view.strategy,
    reason: view.reason,
    since: time(view.since),
    detectedAt: time(view.detectedAt),
    resolvedAt: time(view.resolvedAt),
  };
}

// ------------------------------------------------------------------ remote errors

/**
 * Runs `send` and, when the service refuses the request as invalid, names the fields as the API
 * calls them (`poolId` -> `id`, `windowMs` -> `window`...), so errors[].path points into the body
 * the client sent. `renames` maps a service field (a whole path segment) to the API's.
 */
export async function withApiFieldNames<T>(
  renames: Readonly<Record<string, string>>,
  send: () => Promise<T>,
): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!isRemoteDomainError(err) || err.errors.length === 0) throw err;
    const errors = err.errors.map((e) => ({ ...e, path: renamePath(e.path, renames) }));
    throw new RemoteDomainError(err.code, err.message, errors, err.details, err.command);
  }
}

/** `windowMs` -> `window`, `spec.poolId` stays (only the first segment is renamed). */
export function renamePath(path: string, renames: Readonly<Record<string, string>>): string {
  const match = /^([^.[]+)(.*)$/.exec(path);
  if (!match) return path;
  const renamed = renames[match[1]!];
  return renamed === undefined ? path : `${renamed}${match[2]}`;
}
