import type { AgentRef, ClaimInput } from '../claims';
import type { PoolSpecInput } from '../pools/pool-spec';
import type { ResolveStrategy } from './allocator.events';

/**
 * Allocator commands. Each carries `at`, when it was accepted: the decider has no clock of its own.
 */

/** Define a pool. The same definition again is a no-op; a different one for an existing id is a conflict. */
export interface DefinePool extends PoolSpecInput {
  readonly type: 'DefinePool';
  readonly at: Date;
}

/** Change a pool; absent fields keep their value. Waiters that now fit are granted. */
export interface UpdatePool {
  readonly type: 'UpdatePool';
  readonly poolId: string;
  readonly capacity?: number;
  readonly softLimit?: number;
  readonly policy?: string;
  readonly burst?: number;
  readonly at: Date;
}

/** Contend for locks of `namespace` under `policy` from now on. */
export interface SetPolicy {
  readonly type: 'SetPolicy';
  readonly namespace: string;
  readonly policy: string;
  readonly at: Date;
}

/**
 * Set `amount` of a concurrency or quantity pool aside during [from, to). With `taskId`, only that
 * task (any attempt) uses it, automatically; without, claims that name `reservationId` do.
 */
export interface Reserve {
  readonly type: 'Reserve';
  readonly reservationId: string;
  readonly poolId: string;
  readonly amount: number;
  readonly from: Date;
  readonly to: Date;
  readonly taskId: string;
  readonly at: Date;
}

/**
 * Grant a task attempt's claims all-or-nothing, or queue it. The allocation is `${taskId}#${attempt}`.
 * Pools in scope add their implied claims to the first request of an attempt. `incremental` adds
 * claims to what the attempt holds (a pool claim asks for at least `amount` held in all; a lock held
 * shared may be asked for exclusive).
 */
export interface Allocate {
  readonly type: 'Allocate';
  readonly taskId: string;
  readonly attempt: number;
  readonly sessionId: string;
  readonly priority: number;
  readonly claims: readonly ClaimInput[];
  /** The agent the task is offered to; undefined before one is chosen. */
  readonly agent?: AgentRef;
  /** The session's policy override for every contention of this request; '' or undefined for none. */
  readonly policy?: string;
  readonly incremental: boolean;
  /** When the task first asked, kept across retries so it keeps its age (wait-die); undefined = `at`. */
  readonly requestedAt?: Date;
  readonly at: Date;
}

/** Give back what the attempt holds and withdraw its wait. Unknown attempts: no events. */
export interface Release {
  readonly type: 'Release';
  readonly taskId: string;
  readonly attempt: number;
  readonly reason: string;
  readonly at: Date;
}

/** What the attempt actually used; replaces its budget estimates (also after its release). */
export interface ReconcileUsage {
  readonly type: 'ReconcileUsage';
  readonly taskId: string;
  readonly attempt: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  readonly at: Date;
}

/** Grant the waiters that fit now: rate refills, reservation edges, new budget periods, aging. */
export interface Tick {
  readonly type: 'Tick';
  readonly at: Date;
}

/**
 * An operator's resolution of an open conflict: `queue` closes it and the waiter keeps waiting;
 * `preempt` asks the holders to give way; `abort` refuses the waiter; `grant` lets `winner` (a party's
 * task id) win - the holders are preempted when it is the waiter, the waiter refused when a holder.
 */
export interface ResolveConflict {
  readonly type: 'ResolveConflict';
  readonly conflictId: string;
  readonly strategy: ResolveStrategy | string;
  readonly winner?: string;
  readonly at: Date;
}

export type AllocatorCommand =
  | DefinePool
  | UpdatePool
  | SetPolicy
  | Reserve
  | Allocate
  | Release
  | ReconcileUsage
  | Tick
  | ResolveConflict;
