/**
 * @orch/resources - pure resources domain: pools (rate, concurrency, quantity, budget), scopes and
 * implied claims, reservations, budgets, and the allocator decider that grants a task attempt's pool
 * and lock claims all-or-nothing in one consistency boundary (stream `resources-allocator`), with
 * contention handled by libs/conflicts' policies. See docs/adr/0009-resources-and-conflicts.md.
 *
 * How the allocator decides:
 * - An allocation is `${taskId}#${attempt}`. Its first request gets the claims implied by the pools in
 *   scope (a declared claim on a pool replaces the implied one; a budget in scope is checked even
 *   with no amount). An `incremental` request adds to what the attempt holds: a pool claim asks for at
 *   least `amount` held in all, a lock held shared may be asked for exclusive.
 * - Queue order is libs/conflicts' compareWaiters: priority aged by one step per `agingStepMs`
 *   waited, then age (`since`, kept across wait-die retries with `requestedAt`), then arrival.
 *   A waiter short on a pool holds back the later waiters there (they fit only in what is free
 *   beyond the short ones' amounts); a waiting lock claim holds back later conflicting claims. A
 *   waiter with room in a pool but waiting for something else holds nobody back in that pool.
 *   Hold-and-wait requests are held back only by other hold-and-wait waiters (queueing them behind a
 *   waiter that needs what they hold would deadlock).
 * - Contention with holders of a lock, or of a concurrency/quantity pool when holders could free
 *   enough, is a conflict handled by the policy of the lock's namespace (SetPolicy) or of the pool,
 *   or the session's override: queue and manual wait; preempt, wound-wait and wait-die act at once,
 *   including when a grant makes a new holder a waiter now contends with. One conflict per waiter
 *   and resource while it waits. Rate and budget shortages are waits, not conflicts.
 * - Deadlocks need hold-and-wait. The wait-for graph links hold-and-wait waiters only (anything else
 *   will release); it is searched when one is queued, on ticks (aging reorders) and when a capacity
 *   shrinks. The victim (lowest priority, then youngest) is asked to give way; a holder asked to give
 *   way is left out of the graph.
 * - Reservations (concurrency and quantity pools) set their amount aside during [from, to) for their
 *   task, or for claims naming them when they are for no task in particular. They are checked when a
 *   request is decided: a task granted before a window opens keeps what it holds.
 * - Budgets hold estimates until the attempt's usage replaces them (also after its release); spent +
 *   held + the estimate asked for must fit the capacity; once spent reaches the capacity every task
 *   in scope waits, until it is raised or a new period starts.
 * - Each waiter is parked on the one pool or lock it was last found short on; a release re-examines
 *   only the waiters parked on what it freed (a tick re-examines all, for what time changes). This is
 *   exact: what a waiter is parked on keeps it waiting until freed. Parking changes are recorded in
 *   one WaitsReviewed event per decision.
 */
export * from './persistent-map';
export * from './pools/pool-spec';
export * from './pools/accounting';
export * from './claims';
export * from './allocator/allocator.events';
export * from './allocator/allocator.commands';
export * from './allocator/allocator.state';
export { DEFAULT_ALLOCATOR_OPTIONS, type AllocatorOptions } from './allocator/decision';
export { allocatorDecider, claimContext, decideAllocator } from './allocator/allocator.decider';
export * from './allocator/queries';
export * from './monitoring/monitoring';
