import { CONFLICT_POLICIES, type ConflictPolicy } from '@orch/conflicts';
import type { FieldProblem } from '@orch/domain-kit';

// ---------------------------------------------------------------- kinds and scopes

/**
 * - `rate`: a token bucket of `capacity` tokens per `windowMs`, refilled continuously, at most `burst`
 *   tokens at once; tokens taken are not given back on release.
 * - `concurrency` / `quantity`: `capacity` units held while allocated and given back on release
 *   (slots; cpu, memory, gpu...).
 * - `budget`: money (or tokens) per period of `windowMs` (0 = never resets): an allocation holds its
 *   amount as an estimate until the task's usage replaces it by the actual cost.
 */
export type PoolKind = 'rate' | 'concurrency' | 'quantity' | 'budget';
export const POOL_KINDS: readonly PoolKind[] = ['rate', 'concurrency', 'quantity', 'budget'];

/**
 * Which tasks a pool applies to: `global` every task; `provider` tasks run by agents of provider
 * `value`; `session` tasks of session `value`; `label` tasks whose agent has label `value` = `k=v`.
 */
export type ScopeKind = 'global' | 'provider' | 'session' | 'label';
export const SCOPE_KINDS: readonly ScopeKind[] = ['global', 'provider', 'session', 'label'];

export interface PoolScope {
  readonly kind: ScopeKind;
  readonly value: string;
}

export const GLOBAL_SCOPE: PoolScope = { kind: 'global', value: '' };

/** A budget whose unit is `tokens` is drawn by input + output tokens; any other unit by the cost in USD. */
export const TOKEN_BUDGET_UNIT = 'tokens';

export const POOL_ID_PATTERN = /^[a-z0-9][a-z0-9_.:-]{0,127}$/;
export const MIN_RATE_WINDOW_MS = 1000;
/** A year: longer windows are almost certainly a unit mistake. */
export const MAX_WINDOW_MS = 366 * 24 * 3600 * 1000;
export const DEFAULT_SOFT_LIMIT = 0.8;
export const MAX_UNIT_LENGTH = 32;

const DEFAULT_UNIT: Readonly<Record<PoolKind, string>> = {
  rate: 'requests',
  concurrency: 'slots',
  quantity: 'units',
  budget: 'usd',
};

const DEFAULT_AMOUNT: Readonly<Record<PoolKind, number>> = {
  rate: 1,
  concurrency: 1,
  quantity: 0,
  budget: 0,
};

// ---------------------------------------------------------------- specs

/** A pool definition with every default resolved (numbers as numbers; see {@link PoolSpecData} for the wire). */
export interface PoolSpec {
  readonly poolId: string;
  readonly kind: PoolKind;
  readonly capacity: number;
  readonly unit: string;
  /** rate: the window `capacity` refers to; budget: the period (0 = never resets); 0 otherwise. */
  readonly windowMs: number;
  /** rate: the bucket size; 0 for other kinds. */
  readonly burst: number;
  readonly scope: PoolScope;
  /** budget: fraction of capacity at which a soft-limit warning is emitted; 0 for other kinds. */
  readonly softLimit: number;
  readonly policy: ConflictPolicy;
  /** The claim a task in scope gets without declaring one; 0 = none (a budget in scope is still checked). */
  readonly defaultAmount: number;
}

/** orchestrator.resources.v1.PoolSpec in the protobuf JSON mapping (uint64 window as a string). */
export type PoolSpecData = Omit<PoolSpec, 'windowMs'> & { readonly windowMs: string };

/** A pool definition as a client writes it: kind and strings unchecked, defaults not yet applied. */
export interface PoolSpecInput {
  readonly poolId: string;
  readonly kind: string;
  readonly capacity: number;
  /** Empty or absent takes the kind's default (requests, slots, units, usd). */
  readonly unit?: string;
  readonly windowMs?: number;
  /** rate only; absent means `capacity`. */
  readonly burst?: number;
  /** Absent means global. */
  readonly scope?: { readonly kind: string; readonly value: string };
  /** budget only; absent means 0.8. */
  readonly softLimit?: number;
  /** Empty or absent means queue. */
  readonly policy?: string;
  /** Absent means 1 for rate and concurrency, 0 for quantity and budget. */
  readonly defaultAmount?: number;
}

export const isPoolKind = (v: unknown): v is PoolKind => POOL_KINDS.includes(v as PoolKind);
/** Whether `v` names a contention policy. */
export const isPolicy = (v: unknown): v is ConflictPolicy =>
  (CONFLICT_POLICIES as readonly unknown[]).includes(v);

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The most a single claim on the pool can ever be given: the bucket for rate pools, the capacity otherwise. */
export const maxClaim = (spec: PoolSpec): number => (spec.kind === 'rate' ? spec.burst : spec.capacity);

/** Every problem of a pool definition, with paths relative to the definition (`capacity`, `scope.value`...). */
export function poolSpecProblems(input: PoolSpecInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (typeof input.poolId !== 'string' || !POOL_ID_PATTERN.test(input.poolId))
    add(
      'poolId',
      'must be 1-128 characters: lower-case letters, digits and _ . : - (starting with a letter or digit)',
    );
  const kind = isPoolKind(input.kind) ? input.kind : undefined;
  if (!kind) add('kind', `unknown pool kind "${String(input.kind)}"; one of ${POOL_KINDS.join(', ')}`);
  if (!finite(input.capacity) || input.capacity <= 0)
    add('capacity', 'must be a finite number greater than 0');
  if (input.unit !== undefined && (typeof input.unit !== 'string' || input.unit.length > MAX_UNIT_LENGTH))
    add('unit', `must be at most ${MAX_UNIT_LENGTH} characters`);
  if (kind) problems.push(...windowProblems(kind, input.windowMs));
  if (input.burst !== undefined && input.burst !== 0) {
    if (kind && kind !== 'rate') add('burst', 'applies to rate pools only');
    else if (!finite(input.burst) || input.burst <= 0) add('burst', 'must be a finite number greater than 0');
  }
  problems.push(...scopeProblems(input.scope));
  if (input.softLimit !== undefined) {
    if (!finite(input.softLimit) || input.softLimit < 0 || input.softLimit > 1)
      add('softLimit', 'must be a fraction between 0 and 1');
    else if (kind && kind !== 'budget' && input.softLimit !== 0)
      add('softLimit', 'applies to budget pools only');
  }
  if (input.policy !== undefined && input.policy !== '' && !isPolicy(input.policy))
    add('policy', `unknown policy "${String(input.policy)}"; one of ${CONFLICT_POLICIES.join(', ')}`);
  if (input.defaultAmount !== undefined && (!finite(input.defaultAmount) || input.defaultAmount < 0))
    add('defaultAmount', 'must be a finite number, 0 or more');
  if (problems.length === 0) {
    const spec = resolvePoolSpec(input);
    if (spec.defaultAmount > maxClaim(spec))
      add('defaultAmount', `must not exceed what the pool can give at once (${maxClaim(spec)} ${spec.unit})`);
  }
  return problems;
}

function windowProblems(kind: PoolKind, windowMs: number | undefined): FieldProblem[] {
  const problem = (message: string): FieldProblem[] => [{ path: 'windowMs', message }];
  const given = windowMs !== undefined && windowMs !== 0;
  if (kind === 'concurrency' || kind === 'quantity')
    return given ? problem(`applies to rate and budget pools only, not ${kind}`) : [];
  if (kind === 'rate' && !given)
    return problem(`a rate pool needs its window (at least ${MIN_RATE_WINDOW_MS} ms)`);
  if (!given) return [];
  if (!Number.isInteger(windowMs) || windowMs! < MIN_RATE_WINDOW_MS || windowMs! > MAX_WINDOW_MS)
    return problem(`must be a whole number of ms from ${MIN_RATE_WINDOW_MS} to ${MAX_WINDOW_MS}`);
  return [];
}

/** Problems of a scope, at `scope` / `scope.kind` / `scope.value`. */
export function scopeProblems(scope: PoolSpecInput['scope'], path = 'scope'): FieldProblem[] {
  if (scope === undefined) return [];
  const problems: FieldProblem[] = [];
  const kind = SCOPE_KINDS.find((k) => k === scope.kind);
  const value = typeof scope.value === 'string' ? scope.value : '';
  if (!kind) {
    problems.push({
      path: `${path}.kind`,
      message: `unknown scope "${String(scope.kind)}"; one of ${SCOPE_KINDS.join(', ')}`,
    });
  } else if (kind === 'global' && value !== '') {
    problems.push({ path: `${path}.value`, message: 'must be empty for a global scope' });
  } else if ((kind === 'provider' || kind === 'session') && value.trim() === '') {
    problems.push({ path: `${path}.value`, message: `must name the ${kind}` });
  } else if (kind === 'label' && !/^[^=\s]+=.*$/.test(value)) {
    problems.push({ path: `${path}.value`, message: 'must be a label as key=value' });
  }
  if (value.length > 200) problems.push({ path: `${path}.value`, message: 'must be at most 200 characters' });
  return problems;
}

/** The definition with defaults applied; call after {@link poolSpecProblems} found nothing. */
export function resolvePoolSpec(input: PoolSpecInput): PoolSpec {
  const kind = input.kind as PoolKind;
  return {
    poolId: input.poolId,
    kind,
    capacity: input.capacity,
    unit: input.unit || DEFAULT_UNIT[kind],
    windowMs: kind === 'rate' || kind === 'budget' ? (input.windowMs ?? 0) : 0,
    burst: kind === 'rate' ? input.burst || input.capacity : 0,
    scope: input.scope ? { kind: input.scope.kind as ScopeKind, value: input.scope.value } : GLOBAL_SCOPE,
    softLimit: kind === 'budget' ? (input.softLimit ?? DEFAULT_SOFT_LIMIT) : 0,
    policy: (input.policy || 'queue') as ConflictPolicy,
    defaultAmount: input.defaultAmount ?? DEFAULT_AMOUNT[kind],
  };
}

export const poolSpecData = (s: PoolSpec): PoolSpecData => ({
  poolId: s.poolId,
  kind: s.kind,
  capacity: s.capacity,
  unit: s.unit,
  windowMs: String(s.windowMs),
  burst: s.burst,
  scope: { kind: s.scope.kind, value: s.scope.value },
  softLimit: s.softLimit,
  policy: s.policy,
  defaultAmount: s.defaultAmount,
});

export const poolSpecOf = (d: PoolSpecData): PoolSpec => ({ ...d, windowMs: Number(d.windowMs) });

export const sameSpec = (a: PoolSpec, b: PoolSpec): boolean =>
  JSON.stringify(poolSpecData(a)) === JSON.stringify(poolSpecData(b));

/** Whether a pool with this scope applies to a task of `sessionId` offered to `agent`. */
export function scopeApplies(
  scope: PoolScope,
  sessionId: string,
  agent: { readonly provider: string; readonly labels: Readonly<Record<string, string>> } | undefined,
): boolean {
  switch (scope.kind) {
    case 'global':
      return true;
    case 'session':
      return sessionId === scope.value;
    case 'provider':
      return agent !== undefined && agent.provider === scope.value;
    case 'label': {
      if (agent === undefined) return false;
      const eq = scope.value.indexOf('=');
      const key = scope.value.slice(0, eq);
      return (
        Object.prototype.hasOwnProperty.call(agent.labels, key) &&
        agent.labels[key] === scope.value.slice(eq + 1)
      );
    }
  }
}
