import { eventReader } from '@orch/domain-kit';
import type { ClaimData } from '../claims';
import type { PoolSpecData } from '../pools/pool-spec';

/**
 * Allocator events, on the stream {@link ALLOCATOR_STREAM}. `data` is exactly the protobuf JSON
 * mapping of the proto message of the same name (proto/orchestrator/resources/v1/resources.proto):
 * camelCase fields, every field present, Timestamps as RFC 3339 strings (an unset optional Timestamp
 * is left out), uint64 as strings, doubles as numbers.
 */

/** The one stream that holds the allocator: pools, reservations, allocations, waiters, conflicts. */
export const ALLOCATOR_STREAM = 'resources-allocator';

export type WaitingFor = 'resources' | 'lock' | 'budget';
export type ConflictKind = 'lock' | 'pool';
export type ConflictRole = 'waiter' | 'holder';
export type Resolution = 'granted' | 'preempted' | 'aborted' | 'withdrawn' | 'manual';
export type ResolveStrategy = 'queue' | 'preempt' | 'abort' | 'grant';

export type PoolGrantData = {
  readonly poolId: string;
  readonly amount: number;
  readonly reservationId: string;
};
export type LockGrantData = { readonly lock: string; readonly mode: string };
export type ConflictPartyData = {
  readonly taskId: string;
  readonly attempt: number;
  readonly priority: number;
  readonly role: ConflictRole;
};
export type BudgetDrawData = {
  readonly poolId: string;
  readonly estimate: number;
  readonly actual: number;
  readonly spent: number;
  readonly periodStart: string;
};

type Event<T extends string, D> = { readonly type: T; readonly data: D };

export type PoolDefined = Event<'PoolDefined', { readonly spec: PoolSpecData; readonly at: string }>;

export type PoolUpdated = Event<
  'PoolUpdated',
  { readonly poolId: string; readonly spec: PoolSpecData; readonly at: string }
>;

export type PolicySet = Event<
  'PolicySet',
  { readonly namespace: string; readonly policy: string; readonly at: string }
>;

export type ReservationCreated = Event<
  'ReservationCreated',
  {
    readonly reservationId: string;
    readonly poolId: string;
    readonly amount: number;
    readonly from: string;
    readonly to: string;
    readonly taskId: string;
    readonly at: string;
  }
>;

export type ResourcesAllocated = Event<
  'ResourcesAllocated',
  {
    readonly allocationId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly sessionId: string;
    readonly priority: number;
    readonly grants: readonly PoolGrantData[];
    readonly locks: readonly LockGrantData[];
    readonly incremental: boolean;
    readonly since: string;
    readonly at: string;
  }
>;

export type AllocationBlocked = Event<
  'AllocationBlocked',
  {
    readonly allocationId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly sessionId: string;
    readonly priority: number;
    readonly claims: readonly ClaimData[];
    readonly incremental: boolean;
    readonly policy: string;
    readonly waitingFor: WaitingFor;
    readonly reason: string;
    readonly blockers: readonly string[];
    readonly waitingOnPools: readonly string[];
    readonly waitingOnLocks: readonly string[];
    /** Left out when no tick can grant it by itself. */
    readonly retryAt?: string;
    readonly conflictId: string;
    readonly since: string;
    readonly at: string;
    /** `pool:<id>` or `lock:<name>`: what it is re-examined for when freed. */
    readonly parkedOn: string;
  }
>;

export type ParkingData = { readonly allocationId: string; readonly on: string };

/**
 * Waiters re-examined in a decision that still wait, now short on another pool or lock. The allocator's
 * own index: a release re-examines only the waiters parked on what it freed (a tick re-examines all).
 */
export type WaitsReviewed = Event<
  'WaitsReviewed',
  { readonly parked: readonly ParkingData[]; readonly at: string }
>;

export type AllocationRefused = Event<
  'AllocationRefused',
  {
    readonly allocationId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly sessionId: string;
    readonly reason: string;
    /** wait-die: when to ask again; left out when it should not be retried as is. */
    readonly retryAt?: string;
    readonly at: string;
  }
>;

export type ResourcesReleased = Event<
  'ResourcesReleased',
  {
    readonly allocationId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly sessionId: string;
    readonly returned: readonly PoolGrantData[];
    readonly locks: readonly LockGrantData[];
    readonly reason: string;
    readonly at: string;
  }
>;

export type WaitWithdrawn = Event<
  'WaitWithdrawn',
  {
    readonly allocationId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly sessionId: string;
    readonly reason: string;
    readonly at: string;
  }
>;

export type ConflictDetected = Event<
  'ConflictDetected',
  {
    readonly conflictId: string;
    readonly kind: ConflictKind;
    readonly resource: string;
    readonly allocationId: string;
    readonly parties: readonly ConflictPartyData[];
    readonly policy: string;
    readonly since: string;
    readonly at: string;
  }
>;

export type ConflictResolved = Event<
  'ConflictResolved',
  {
    readonly conflictId: string;
    readonly resolution: Resolution;
    readonly winner: string;
    readonly strategy: string;
    readonly reason: string;
    readonly at: string;
  }
>;

export type PreemptionRequested = Event<
  'PreemptionRequested',
  {
    readonly allocationId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly sessionId: string;
    readonly byTaskId: string;
    readonly byAttempt: number;
    readonly conflictId: string;
    readonly reason: string;
    readonly at: string;
  }
>;

export type DeadlockDetected = Event<
  'DeadlockDetected',
  {
    readonly cycle: readonly string[];
    readonly allocationIds: readonly string[];
    readonly victim: string;
    readonly victimAttempt: number;
    readonly reason: string;
    readonly at: string;
  }
>;

export type UsageReconciled = Event<
  'UsageReconciled',
  {
    readonly allocationId: string;
    readonly taskId: string;
    readonly attempt: number;
    readonly sessionId: string;
    /** uint64 as a decimal string. */
    readonly inputTokens: string;
    readonly outputTokens: string;
    readonly costUsd: number;
    readonly draws: readonly BudgetDrawData[];
    readonly at: string;
  }
>;

export type BudgetSoftLimitReached = Event<
  'BudgetSoftLimitReached',
  {
    readonly poolId: string;
    readonly spent: number;
    readonly held: number;
    readonly capacity: number;
    readonly softLimit: number;
    readonly periodStart: string;
    readonly at: string;
  }
>;

export type AllocatorEvent =
  | PoolDefined
  | PoolUpdated
  | PolicySet
  | ReservationCreated
  | ResourcesAllocated
  | AllocationBlocked
  | AllocationRefused
  | ResourcesReleased
  | WaitWithdrawn
  | ConflictDetected
  | ConflictResolved
  | PreemptionRequested
  | DeadlockDetected
  | UsageReconciled
  | BudgetSoftLimitReached
  | WaitsReviewed;

export const allocatorEventTypes: readonly AllocatorEvent['type'][] = [
  'PoolDefined',
  'PoolUpdated',
  'PolicySet',
  'ReservationCreated',
  'ResourcesAllocated',
  'AllocationBlocked',
  'AllocationRefused',
  'ResourcesReleased',
  'WaitWithdrawn',
  'ConflictDetected',
  'ConflictResolved',
  'PreemptionRequested',
  'DeadlockDetected',
  'UsageReconciled',
  'BudgetSoftLimitReached',
  'WaitsReviewed',
];

/** Reads a stored or published event as an AllocatorEvent, or undefined for other types. */
export const readAllocatorEvent = eventReader<AllocatorEvent>(allocatorEventTypes);

/** `${taskId}#${attempt}`: one allocation per task attempt. */
export const allocationIdOf = (taskId: string, attempt: number): string => `${taskId}#${attempt}`;
