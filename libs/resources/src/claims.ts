import { lockNameProblems, parseLockName, type LockMode, type LockName } from '@orch/conflicts';
import type { FieldProblem } from '@orch/domain-kit';
import type { Reservation } from './pools/accounting';
import { maxClaim, scopeApplies, type PoolSpec } from './pools/pool-spec';

/**
 * A claim as a task's spec or a client writes it (JSON): `{pool, amount, reservation?}` or
 * `{lock, mode?}`. Fields are unchecked until {@link claimProblems} has looked at them. In the proto
 * `Claim` message, the fields of the other kind are empty strings and 0.
 */
export interface ClaimInput {
  readonly pool?: unknown;
  readonly amount?: unknown;
  readonly lock?: unknown;
  readonly mode?: unknown;
  readonly reservation?: unknown;
}

/** An amount of a pool. `amount` 0 only for an implied budget check (the budget must not be exhausted). */
export interface PoolClaim {
  readonly kind: 'pool';
  readonly poolId: string;
  readonly amount: number;
  /** A reservation the claim names, '' when none. */
  readonly reservation: string;
}

export interface LockClaim {
  readonly kind: 'lock';
  readonly name: LockName;
  readonly mode: LockMode;
}

/** A checked claim. */
export type Claim = PoolClaim | LockClaim;

/** orchestrator.resources.v1.Claim in the protobuf JSON mapping: the other kind's fields are empty. */
export type ClaimData = {
  readonly pool: string;
  readonly amount: number;
  readonly lock: string;
  /** exclusive | shared for a lock; '' for a pool claim. */
  readonly mode: string;
  readonly reservation: string;
};

/** The agent a task is offered to: its provider and labels decide which scoped pools apply. */
export interface AgentRef {
  readonly agentId: string;
  readonly provider: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Lookups a claim check needs. */
export interface ClaimContext {
  pool(poolId: string): PoolSpec | undefined;
  reservation(reservationId: string): Reservation | undefined;
}

export const MAX_CLAIMS = 64;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown): boolean => v !== undefined && v !== null && v !== '' && v !== 0;

/**
 * Every problem of `claims`, with paths such as `claims[2].pool`: not an object, both or neither of
 * pool and lock, unknown pool, amount not a finite number > 0 or more than the pool can ever give,
 * malformed lock name, unknown mode, unknown reservation or one of another pool or task, duplicates.
 * `taskId` ('' when not known yet, e.g. for a session's claims before it starts) checks that a
 * reservation for a task is claimed by that task.
 */
export function claimProblems(
  ctx: ClaimContext,
  claims: readonly unknown[],
  taskId = '',
  path = 'claims',
): FieldProblem[] {
  if (!Array.isArray(claims)) return [{ path, message: 'must be a list of claims' }];
  if (claims.length > MAX_CLAIMS) return [{ path, message: `must have at most ${MAX_CLAIMS} claims` }];
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  claims.forEach((claim, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(claim)) {
      problems.push({ path: at, message: 'must be an object {pool, amount} or {lock, mode}' });
      return;
    }
    const isPool = present(claim['pool']);
    const isLock = present(claim['lock']);
    if (isPool && isLock)
      problems.push({ path: at, message: 'names both a pool and a lock; use two claims' });
    else if (!isPool && !isLock) problems.push({ path: at, message: 'needs a pool or a lock' });
    else if (isPool) problems.push(...poolClaimProblems(ctx, claim, at, taskId, seen));
    else problems.push(...lockClaimProblems(claim, at, seen));
  });
  return problems;
}

function poolClaimProblems(
  ctx: ClaimContext,
  claim: Record<string, unknown>,
  at: string,
  taskId: string,
  seen: Set<string>,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const poolId = claim['pool'];
  const spec = typeof poolId === 'string' ? ctx.pool(poolId) : undefined;
  if (typeof poolId !== 'string') problems.push({ path: `${at}.pool`, message: 'must be a pool id' });
  else if (!spec) problems.push({ path: `${at}.pool`, message: `unknown pool "${poolId}"` });
  else if (seen.has(`pool:${poolId}`))
    problems.push({ path: `${at}.pool`, message: `pool "${poolId}" is claimed twice` });
  if (typeof poolId === 'string') seen.add(`pool:${poolId}`);
  const amount = claim['amount'];
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0)
    problems.push({ path: `${at}.amount`, message: 'must be a finite number greater than 0' });
  else if (spec && amount > maxClaim(spec))
    problems.push({
      path: `${at}.amount`,
      message:
        `${amount} ${spec.unit} is more than pool "${spec.poolId}" can ever give ` +
        `(${spec.kind === 'rate' ? 'burst' : 'capacity'} ${maxClaim(spec)})`,
    });
  if (present(claim['mode'])) problems.push({ path: `${at}.mode`, message: 'applies to lock claims only' });
  const reservation = claim['reservation'];
  if (present(reservation)) {
    const r = typeof reservation === 'string' ? ctx.reservation(reservation) : undefined;
    if (!r)
      problems.push({ path: `${at}.reservation`, message: `unknown reservation "${String(reservation)}"` });
    else if (spec && r.poolId !== spec.poolId)
      problems.push({
        path: `${at}.reservation`,
        message: `reservation "${r.reservationId}" is of pool "${r.poolId}", not "${spec.poolId}"`,
      });
    else if (taskId !== '' && r.taskId !== '' && r.taskId !== taskId)
      problems.push({
        path: `${at}.reservation`,
        message: `reservation "${r.reservationId}" is for task ${r.taskId}`,
      });
  }
  return problems;
}

function lockClaimProblems(claim: Record<string, unknown>, at: string, seen: Set<string>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const lock = claim['lock'];
  const nameProblems = lockNameProblems(`${at}.lock`, lock as string);
  problems.push(...nameProblems);
  if (nameProblems.length === 0) {
    const key = `lock:${lock as string}`;
    if (seen.has(key))
      problems.push({ path: `${at}.lock`, message: `lock "${lock as string}" is claimed twice` });
    seen.add(key);
  }
  const mode = claim['mode'];
  if (mode !== undefined && mode !== null && mode !== '' && mode !== 'exclusive' && mode !== 'shared')
    problems.push({ path: `${at}.mode`, message: `unknown mode "${String(mode)}"; exclusive or shared` });
  if (present(claim['amount']))
    problems.push({ path: `${at}.amount`, message: 'applies to pool claims only' });
  if (present(claim['reservation']))
    problems.push({ path: `${at}.reservation`, message: 'applies to pool claims only' });
  return problems;
}

/** The claims as checked values; call after {@link claimProblems} found nothing. */
export function parseClaims(claims: readonly ClaimInput[]): Claim[] {
  return claims.map((c): Claim => {
    if (present(c.pool))
      return {
        kind: 'pool',
        poolId: c.pool as string,
        amount: c.amount as number,
        reservation: typeof c.reservation === 'string' ? c.reservation : '',
      };
    return {
      kind: 'lock',
      name: lockNameOf(c.lock as string),
      mode: c.mode === 'shared' ? 'shared' : 'exclusive',
    };
  });
}

/**
 * The claims that pools in scope imply for a task of `sessionId` offered to `agent`: `defaultAmount`
 * of each pool whose scope applies, and a check (amount 0) of each budget in scope without one.
 * Pools the task declares a claim on are left out: the declared claim replaces the implied one.
 */
export function impliedPoolClaims(
  pools: Iterable<PoolSpec>,
  sessionId: string,
  agent: AgentRef | undefined,
  declared: ReadonlySet<string> = new Set(),
): PoolClaim[] {
  const implied: PoolClaim[] = [];
  for (const spec of pools) {
    if (declared.has(spec.poolId) || !scopeApplies(spec.scope, sessionId, agent)) continue;
    if (spec.defaultAmount > 0 || spec.kind === 'budget')
      implied.push({ kind: 'pool', poolId: spec.poolId, amount: spec.defaultAmount, reservation: '' });
  }
  return implied.sort((a, b) => (a.poolId < b.poolId ? -1 : a.poolId > b.poolId ? 1 : 0));
}

export const claimData = (c: Claim): ClaimData =>
  c.kind === 'pool'
    ? { pool: c.poolId, amount: c.amount, lock: '', mode: '', reservation: c.reservation }
    : { pool: '', amount: 0, lock: c.name.raw, mode: c.mode, reservation: '' };

/** Parsed lock names by raw name: events repeat the same few names, and parsing is pure. */
const parsed = new Map<string, LockName>();
/** The parsed form of a valid lock name (memoised). */
export const lockNameOf = (raw: string): LockName => {
  let name = parsed.get(raw);
  if (!name) {
    if (parsed.size >= 10_000) parsed.clear();
    name = parseLockName(raw);
    parsed.set(raw, name);
  }
  return name;
};

export const claimOf = (d: ClaimData): Claim =>
  d.lock !== ''
    ? { kind: 'lock', name: lockNameOf(d.lock), mode: d.mode === 'shared' ? 'shared' : 'exclusive' }
    : { kind: 'pool', poolId: d.pool, amount: d.amount, reservation: d.reservation };

/** `pool:<id>` or `lock:<name>`: how a claimed resource is keyed in conflicts. */
export const resourceKey = (c: Claim): string =>
  c.kind === 'pool' ? `pool:${c.poolId}` : `lock:${c.name.raw}`;
