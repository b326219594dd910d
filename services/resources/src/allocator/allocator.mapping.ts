import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  AllocationItemSchema,
  PoolViewSchema,
  ReservationViewSchema,
  WaiterItemSchema,
  type AllocationItem,
  type PoolView,
  type ReservationView,
  type WaiterItem,
} from '@orch/contracts';
import {
  claimData,
  poolSpecData,
  type AllocationSummary,
  type PoolUsage,
  type ReservationSummary,
  type WaiterSummary,
} from '@orch/resources';

/** ms since the epoch as a Timestamp; undefined stays unset. */
export const ts = (ms: number | undefined) =>
  ms === undefined ? undefined : timestampFromDate(new Date(ms));

export function toPoolView(u: PoolUsage): PoolView {
  const spec = poolSpecData(u.spec);
  return create(PoolViewSchema, {
    spec: { ...spec, windowMs: BigInt(spec.windowMs) },
    used: u.used,
    capacity: u.capacity,
    available: u.available,
    utilization: u.utilization,
    reserved: u.reserved,
    waiting: u.waiting,
    waitingDemand: u.waitingDemand,
    holders: u.holders,
    spent: u.spent,
    held: u.held,
    periodStart: ts(u.periodStart),
    tokens: u.tokens,
  });
}

export const toReservationView = (r: ReservationSummary): ReservationView =>
  create(ReservationViewSchema, {
    reservationId: r.reservationId,
    poolId: r.poolId,
    amount: r.amount,
    from: ts(r.from),
    to: ts(r.to),
    taskId: r.taskId,
    status: r.status,
    used: r.used,
  });

export const toAllocationItem = (a: AllocationSummary): AllocationItem =>
  create(AllocationItemSchema, {
    allocationId: a.allocationId,
    taskId: a.taskId,
    attempt: a.attempt,
    sessionId: a.sessionId,
    priority: a.priority,
    grants: a.grants.map((g) => ({ ...g })),
    locks: a.locks.map((l) => ({ ...l })),
    since: ts(a.since),
    grantedAt: ts(a.grantedAt),
    preemptedBy: a.preemptedBy,
  });

export const toWaiterItem = (w: WaiterSummary): WaiterItem =>
  create(WaiterItemSchema, {
    allocationId: w.allocationId,
    taskId: w.taskId,
    attempt: w.attempt,
    sessionId: w.sessionId,
    priority: w.priority,
    claims: w.claims.map(claimData),
    waitingFor: w.waitingFor,
    reason: w.reason,
    blockers: [...w.blockers],
    retryAt: ts(w.retryAt),
    since: ts(w.since),
    position: w.position,
    conflictIds: [...w.conflictIds],
    holding: w.holding,
  });
