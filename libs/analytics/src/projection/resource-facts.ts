import {
  amount,
  asData,
  eventTime,
  firstAmount,
  firstText,
  list,
  taskIdOf,
  text,
  type AnalyticsEvent,
  type Data,
} from '../events';

/**
 * The adapter between the resources service's events and the projection's per-pool part.
 *
 * Those events (proto/orchestrator/resources/v1/resources.proto) are designed in parallel with
 * analytics, so this reads them by name and by a few likely spellings of each field, and ignores
 * what it does not know. Everything the projection needs from resources goes through the facts
 * below; a renamed field is one entry in the lists here.
 */

/** What a claim waits for (the task's `waitingFor`). */
export type WaitKind = 'resources' | 'lock' | 'budget';

/** An amount of a pool. */
export interface PoolAmount {
  readonly pool: string;
  readonly amount: number;
}

export type ResourceFact =
  | {
      readonly kind: 'pool';
      readonly pool: string;
      /** Only the fields the event carried. */
      readonly poolKind?: string;
      readonly capacity?: number;
      readonly unit?: string;
      /** Length of a rate pool's window (ms), when given. */
      readonly windowMs?: number;
      readonly at: number;
    }
  | {
      readonly kind: 'allocated';
      readonly taskId: string;
      readonly items: readonly PoolAmount[];
      readonly at: number;
    }
  | {
      readonly kind: 'blocked';
      readonly taskId: string;
      readonly waitingFor: WaitKind;
      /** The pool or lock it waits on, '' when the event does not say. */
      readonly on: string;
      readonly items: readonly PoolAmount[];
      readonly reason: string;
      readonly at: number;
    }
  | {
      readonly kind: 'released';
      readonly taskId: string;
      /** Undefined: everything the task holds. */
      readonly items: readonly PoolAmount[] | undefined;
      readonly at: number;
    }
  | {
      readonly kind: 'reconciled';
      readonly taskId: string;
      readonly pool: string;
      /** Actual minus estimated usage (money or tokens), 0 when unknown. */
      readonly delta: number;
      readonly actual: number;
      readonly at: number;
    };

/** The event types the adapter reads, by the fact each becomes. */
export const RESOURCE_EVENT_TYPES = {
  pool: ['PoolDefined', 'PoolUpdated'],
  allocated: ['ResourcesAllocated'],
  blocked: ['AllocationBlocked'],
  released: ['ResourcesReleased'],
  reconciled: ['UsageReconciled'],
} as const;

const POOL_FIELDS = ['poolId', 'pool', 'id', 'name'];
const TASK_FIELDS = ['taskId', 'allocationId', 'requestId', 'holder'];
const ITEM_LIST_FIELDS = ['allocations', 'items', 'claims', 'grants', 'resources', 'pools', 'amounts'];
const AMOUNT_FIELDS = ['amount', 'quantity', 'units', 'requested'];
const LOCK_FIELDS = ['lock', 'lockName', 'lockId', 'path'];
const ON_FIELDS = ['blockedOn', 'waitingOn', 'blockedBy', 'resource'];
const TIME_FIELDS = [
  'at',
  'allocatedAt',
  'blockedAt',
  'releasedAt',
  'reconciledAt',
  'definedAt',
  'updatedAt',
  'createdAt',
];

const WAIT_KINDS: ReadonlySet<string> = new Set(['resources', 'lock', 'budget']);

/** `{pool, amount}` items of an event: a list field, or the event's own pool and amount. */
function itemsOf(d: Data): PoolAmount[] {
  for (const field of ITEM_LIST_FIELDS) {
    const raw = list(d, field);
    if (raw.length === 0) continue;
    const items: PoolAmount[] = [];
    for (const entry of raw) {
      const e = asData(entry);
      const pool = firstText(e, POOL_FIELDS);
      if (pool !== '') items.push({ pool, amount: firstAmount(e, AMOUNT_FIELDS) ?? 1 });
    }
    if (items.length > 0) return items;
  }
  const pool = firstText(d, POOL_FIELDS);
  return pool === '' ? [] : [{ pool, amount: firstAmount(d, AMOUNT_FIELDS) ?? 1 }];
}

/** A duration field as ms: a number of ms, or a string like "60s", "1m", "1h", or a bare number. */
function durationMs(d: Data): number | undefined {
  const ms = firstAmount(d, ['windowMs', 'periodMs']);
  if (ms !== undefined) return ms;
  const raw = firstText(d, ['window', 'period']).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?$/.exec(raw);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's'] ?? 1_000;
  return Number(m[1]) * unit;
}

function poolFact(d: Data, at: number): ResourceFact | undefined {
  const pool = firstText(d, POOL_FIELDS);
  if (pool === '') return undefined;
  const capacity = firstAmount(d, ['capacity', 'limit', 'hardLimit', 'max']);
  const poolKind = text(d, 'kind');
  const unit = text(d, 'unit');
  const windowMs = durationMs(d);
  return {
    kind: 'pool',
    pool,
    ...(poolKind !== '' ? { poolKind } : {}),
    ...(capacity !== undefined ? { capacity } : {}),
    ...(unit !== '' ? { unit } : {}),
    ...(windowMs !== undefined ? { windowMs } : {}),
    at,
  };
}

function blockedFact(d: Data, at: number): ResourceFact | undefined {
  const taskId = taskIdOf(firstText(d, TASK_FIELDS));
  if (taskId === '') return undefined;
  const lock = firstText(d, LOCK_FIELDS);
  const stated = text(d, 'waitingFor');
  const waitingFor: WaitKind = WAIT_KINDS.has(stated)
    ? (stated as WaitKind)
    : lock !== ''
      ? 'lock'
      : 'resources';
  const items = itemsOf(d);
  const on =
    waitingFor === 'lock'
      ? lock || firstText(d, ON_FIELDS)
      : firstText(d, ON_FIELDS) || (items.length === 1 ? items[0]!.pool : '');
  return { kind: 'blocked', taskId, waitingFor, on, items, reason: text(d, 'reason'), at };
}

function releasedFact(d: Data, at: number): ResourceFact | undefined {
  const taskId = taskIdOf(firstText(d, TASK_FIELDS));
  if (taskId === '') return undefined;
  const items = itemsOf(d);
  return { kind: 'released', taskId, items: items.length > 0 ? items : undefined, at };
}

function reconciledFact(d: Data, at: number): ResourceFact | undefined {
  const pool = firstText(d, POOL_FIELDS) || (itemsOf(d)[0]?.pool ?? '');
  const actual = firstAmount(d, ['actual', 'actualAmount', 'actualUsd', 'costUsd', 'amount']) ?? 0;
  const estimated = firstAmount(d, ['estimated', 'estimatedAmount', 'estimateUsd', 'estimate']);
  const delta = firstAmount(d, ['delta', 'difference']) ?? (estimated !== undefined ? actual - estimated : 0);
  return { kind: 'reconciled', taskId: taskIdOf(firstText(d, TASK_FIELDS)), pool, delta, actual, at };
}

/**
 * The fact a resources event states, or undefined when the event is not one the adapter reads or
 * lacks what the fact needs (a pool id, a task id).
 */
export function resourceFactOf(event: AnalyticsEvent): ResourceFact | undefined {
  const d = asData(event.data);
  const at = eventTime(d, TIME_FIELDS, event);
  switch (event.type) {
    case 'PoolDefined':
    case 'PoolUpdated':
      return poolFact(d, at);
    case 'ResourcesAllocated': {
      const taskId = taskIdOf(firstText(d, TASK_FIELDS));
      return taskId === '' ? undefined : { kind: 'allocated', taskId, items: itemsOf(d), at };
    }
    case 'AllocationBlocked':
      return blockedFact(d, at);
    case 'ResourcesReleased':
      return releasedFact(d, at);
    case 'UsageReconciled':
      return reconciledFact(d, at);
    default:
      return undefined;
  }
}

/** Whether `type` is one of the resources events the adapter reads. */
export const isResourceEventType = (type: string): boolean =>
  Object.values(RESOURCE_EVENT_TYPES).some((types) => (types as readonly string[]).includes(type));

/** The pools of a task spec's claims (`{pool, amount}`; lock claims are skipped). */
export function poolClaimsOf(claims: unknown): readonly PoolAmount[] {
  if (!Array.isArray(claims) || claims.length === 0) return NO_CLAIMS;
  const out: PoolAmount[] = [];
  for (const c of claims) {
    const d = asData(c);
    const pool = text(d, 'pool');
    if (pool !== '') out.push({ pool, amount: amount(d, 'amount') || 1 });
  }
  return out.length > 0 ? out : NO_CLAIMS;
}

/** The claims of most tasks: shared, never changed. */
const NO_CLAIMS: readonly PoolAmount[] = Object.freeze([]);
