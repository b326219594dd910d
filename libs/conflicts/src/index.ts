/**
 * @orch/conflicts - pure lock and contention-policy rules (no I/O, no clock: time comes in as numbers).
 *
 * Lock names: `<namespace>:<path>`, e.g. `repo:acme/api:src/auth/**`.
 * - namespace: the text before the first ':', letters, digits, '_', '.', '-'; compared
 *   case-insensitively (parsed names carry it lower-cased). Names in different namespaces never meet.
 * - path: segments separated by '/' or ':' (the two are interchangeable). Within a segment `*` matches
 *   any characters and `?` one character; a whole segment `**` matches zero or more segments. Every
 *   other character is literal; there is no escaping.
 * - hierarchical: a lock covers its name's whole subtree (`repo:acme/api` covers
 *   `repo:acme/api:src/x.ts`). Two names overlap when some concrete name lies in both subtrees,
 *   decided by intersecting the globs (see locksOverlap), not by comparing strings.
 * - malformed (lockNameProblems): no ':', empty or invalid namespace, empty path, empty segment
 *   (`a//b`, leading or trailing separator), `**` sharing a segment with other characters, characters
 *   outside printable ASCII, surrounding spaces, more than 512 characters.
 * - modes: shared + shared overlapping holds coexist; any overlap involving exclusive conflicts.
 *   LockIndex answers "who blocks this request" without scanning unrelated holds.
 *
 * Contention policies (decideContention), when a request is blocked by holders:
 * - queue: wait; waiters are served by compareWaiters (priority, aged by one step per agingStepMs
 *   waited so nothing starves, then FIFO by `since`, then id);
 * - preempt: a requester of strictly higher priority than every holder preempts them all, else waits;
 * - wait-die: a requester older than every holder waits, otherwise it dies (retried later);
 * - wound-wait: the holders younger than the requester are preempted (wounded); it waits for older ones;
 * - manual: an operator decides.
 * Deadlocks: findCycle looks for a cycle through a new waiter in the wait-for graph; chooseVictim
 * picks whom to preempt (lowest priority, then youngest, then largest id).
 */
export * from './locks/lock-name';
export * from './locks/overlap';
export * from './locks/lock-index';
export * from './policies/priority';
export * from './policies/contention';
export * from './deadlock/wait-for';
