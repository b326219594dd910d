import { Breaker, DEFAULT_BREAKER_OPTIONS, type BreakerOptions } from '../breaker';
import { COARSE, newHistogram, recordValue, type Histogram, PRECISE } from '../histogram';
import { Gauge } from '../series';
import type { PoolAmount, WaitKind } from './resource-facts';

/**
 * The analytics projection's state: mutable classes with fixed fields, because the fold must take
 * hundreds of thousands of events a second and HDR histograms are mutable objects anyway. Only
 * `evolve` changes it; views read it; `snapshot`/`restore` copy it to and from JSON.
 */

/** How much history the state keeps, and the breaker rules it follows. Part of every snapshot. */
export interface AnalyticsOptions {
  /** Minutes of per-minute series kept (default 1,440: a day). */
  readonly minuteRetention: number;
  /** Hours of hourly demand series kept for forecasts (default 1,344: eight weeks). */
  readonly hourRetention: number;
  /** Hours of hourly window buckets kept per agent and provider for anomalies (default 30). */
  readonly recentHours: number;
  /** Ended sessions kept, oldest forgotten first (default 1,000). */
  readonly maxClosedSessions: number;
  /** The circuit breaker rules coordination applies. */
  readonly breaker: BreakerOptions;
}

export const DEFAULT_ANALYTICS_OPTIONS: AnalyticsOptions = {
  minuteRetention: 1_440,
  hourRetention: 1_344,
  recentHours: 30,
  maxClosedSessions: 1_000,
  breaker: DEFAULT_BREAKER_OPTIONS,
};

/** The name of the provider of an agent never registered. */
export const UNKNOWN_PROVIDER = 'unknown';

/** The counters every entity keeps. */
export const COUNT_FIELDS = [
  'submitted',
  'assigned',
  'started',
  'succeeded',
  'failed',
  'timedOut',
  'lost',
  'deadLettered',
  'cancelled',
  'preempted',
  'handedOff',
  'retries',
  'reopened',
] as const;
export type CountField = (typeof COUNT_FIELDS)[number];

/**
 * What happened to the tasks of one agent, provider, task type or session (or all of them):
 * counts, usage, and HDR histograms (ms, created on first use).
 */
export class EntityStats {
  submitted = 0;
  assigned = 0;
  started = 0;
  succeeded = 0;
  failed = 0;
  timedOut = 0;
  lost = 0;
  deadLettered = 0;
  cancelled = 0;
  preempted = 0;
  handedOff = 0;
  retries = 0;
  reopened = 0;
  inputTokens = 0;
  outputTokens = 0;
  costUsd = 0;
  /** Successes that reported usage. */
  costed = 0;
  queueWait: Histogram | undefined = undefined;
  runTime: Histogram | undefined = undefined;
  endToEnd: Histogram | undefined = undefined;

  /** `packed`: sparse histograms, for the many short-lived entities (sessions). */
  constructor(readonly packed = false) {}

  recordQueueWait(ms: number): void {
    recordValue((this.queueWait ??= newHistogram(PRECISE, this.packed)), ms);
  }
  recordRunTime(ms: number): void {
    recordValue((this.runTime ??= newHistogram(PRECISE, this.packed)), ms);
  }
  recordEndToEnd(ms: number): void {
    recordValue((this.endToEnd ??= newHistogram(PRECISE, this.packed)), ms);
  }
}

/** One hour of an agent's or provider's outcomes, for anomalies against its own baseline. */
export class WindowBucket {
  outcomes = 0;
  failures = 0;
  costUsd = 0;
  costed = 0;
  runTime: Histogram | undefined = undefined;
  /** Kept for providers only (queue wait is what adding agents would cut). */
  queueWait: Histogram | undefined = undefined;

  recordRunTime(ms: number): void {
    recordValue((this.runTime ??= newHistogram(COARSE)), ms);
  }
  recordQueueWait(ms: number): void {
    recordValue((this.queueWait ??= newHistogram(COARSE)), ms);
  }
}

export type Health = 'healthy' | 'unhealthy';

export class AgentInfo {
  readonly stats = new EntityStats();
  name = '';
  provider = UNKNOWN_PROVIDER;
  model = '';
  maxConcurrency = 0;
  /** Whether AgentRegistered was seen (an agent only named by tasks has no profile). */
  registered = false;
  deregistered = false;
  draining = false;
  health: Health = 'healthy';
  /** Attempts it holds now. */
  active = 0;
  unhealthySince = -1;
  recoveredAt = -1;
  readonly breaker = new Breaker();
  /** Hourly buckets by hour index. */
  readonly recent = new Map<number, WindowBucket>();

  constructor(readonly agentId: string) {}

  /** Slots it offers now: registered, healthy and not draining. */
  get capacity(): number {
    return this.registered && !this.deregistered && !this.draining && this.health === 'healthy'
      ? this.maxConcurrency
      : 0;
  }
}

export class ProviderInfo {
  readonly stats = new EntityStats();
  readonly breaker = new Breaker();
  readonly recent = new Map<number, WindowBucket>();
  /** Attempts its agents hold, over time. */
  readonly busy = new Gauge();
  /** Slots its agents offer, over time. */
  readonly capacity = new Gauge();
  /** Tasks assigned to its agents per hour (its demand series). */
  readonly demand = new Map<number, number>();

  constructor(readonly provider: string) {}
}

export type SessionStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export class SessionInfo {
  /** Sessions are many and short: their histograms are packed. */
  readonly stats = new EntityStats(true);
  goal = '';
  pattern = '';
  status: SessionStatus = 'running';
  startedAt = -1;
  endedAt = -1;
  /** Tasks of the session the projection follows now. */
  readonly tasks = new Set<string>();

  constructor(readonly sessionId: string) {}
}

/** One minute of a pool's demand and contention. */
export class PoolMinute {
  /** Tasks that asked for the pool. */
  demand = 0;
  demandAmount = 0;
  allocations = 0;
  allocatedAmount = 0;
  blocked = 0;
}

export class PoolInfo {
  /** rate | concurrency | quantity | budget, '' until defined. */
  kind = '';
  unit = '';
  /** 0 while unknown. */
  capacity = 0;
  /** Length of a rate pool's window (ms), 0 when unknown. */
  windowMs = 0;
  defined = false;
  /** Amount held now. */
  allocated = 0;
  /** What each task holds now. */
  readonly holders = new Map<string, number>();
  /** What each waiting task asks for. */
  readonly waiting = new Map<string, number>();
  allocations = 0;
  blocked = 0;
  released = 0;
  /** Sum of actual-minus-estimated usage reconciled. */
  reconciledDelta = 0;
  /** How long tasks waited on this pool (ms). */
  wait: Histogram | undefined = undefined;
  /** The amount held, over time. */
  readonly gauge = new Gauge();
  readonly minutes = new Map<number, PoolMinute>();
  /** Tasks asking for the pool per hour (its demand series). */
  readonly demand = new Map<number, number>();

  constructor(readonly pool: string) {}

  minute(m: number): PoolMinute {
    let b = this.minutes.get(m);
    if (!b) this.minutes.set(m, (b = new PoolMinute()));
    return b;
  }
}

export class LockInfo {
  blocked = 0;
  readonly waiting = new Set<string>();
  wait: Histogram | undefined = undefined;

  constructor(readonly lock: string) {}
}

/** An empty list shared by every task that needs none (never changed). */
export const NO_POOL_IDS: readonly string[] = Object.freeze([]);

/**
 * What the projection remembers of a task while it is open: only what later events need to
 * attribute and time them. Dropped when the task ends (success, dead letter, cancel, or its
 * session's end; a pair task awaiting its review is kept until its session ends, since a review
 * may reopen it).
 */
export class TaskTrack {
  /** Start of the current wait for an agent (first TaskReady since the last attempt), -1 if none. */
  readyAt = -1;
  /** The agent holding the open attempt, '' when none. */
  agentId = '';
  /** The agent of the last attempt (for a dead letter). */
  lastAgentId = '';
  assignedAt = -1;
  startedAt = -1;
  /** The open wait for claims, if any. */
  blockedAt = -1;
  blockedKind: WaitKind = 'resources';
  blockedOn = '';
  /** Time spent waiting for claims within the current wait for an agent (ms). */
  blockedMs = 0;
  /**
   * Pools counted as demanded in the current readiness cycle, null outside one. Starts as the
   * shared NO_POOL_IDS and is copied before its first change (most tasks claim nothing).
   */
  demanded: readonly string[] | null = null;
  /** Pools it waits on now (as resources reported); NO_POOL_IDS when none. */
  waitingPools: readonly string[] = NO_POOL_IDS;
  waitingLock = '';

  constructor(
    public type: string,
    readonly sessionId: string,
    readonly submittedAt: number,
    /** A pair work task: its success waits for a review that may reopen it. */
    readonly mayReopen: boolean,
    public claims: readonly PoolAmount[],
  ) {}
}

/** Time tasks spent in each stage during one hour, with who made them wait. */
export class StageBucket {
  agentMs = 0;
  agentWaits = 0;
  resourcesMs = 0;
  resourcesWaits = 0;
  lockMs = 0;
  lockWaits = 0;
  budgetMs = 0;
  budgetWaits = 0;
  runningMs = 0;
  runs = 0;
  /** Claim waits by pool (resources and budget) and by lock: [ms, waits]. */
  readonly byPool = new Map<string, [number, number]>();
  readonly byLock = new Map<string, [number, number]>();
  /** Waits for an agent by the agent that finally took the task: [ms, waits]. */
  readonly byAgent = new Map<string, [number, number]>();
}

/** One minute of the whole system's work. */
export class MinuteBucket {
  submitted = 0;
  assigned = 0;
  succeeded = 0;
  /** Attempts that failed or timed out. */
  failed = 0;
  deadLettered = 0;
  costUsd = 0;
}

/** Outcomes of one task type on one provider, for moving work between providers. */
export class TypeProviderStats {
  outcomes = 0;
  succeeded = 0;
  costUsd = 0;
  costed = 0;
  firstAt = -1;
  lastAt = -1;
}

export interface AnalyticsState {
  readonly options: AnalyticsOptions;
  /** Global position of the last event applied; -1n before any. */
  position: bigint;
  /** Latest event time seen (ms); -1 before any. Retention is measured back from it. */
  clock: number;
  /** Events applied (duplicates excluded). */
  applied: number;
  /** Events at or below `position` ignored since this state was created or restored. */
  duplicates: number;
  /** Events of types the projection does not read, by type. */
  readonly unhandled: Map<string, number>;
  /** Events of known types that lacked what they needed (a task or agent id, a time). */
  malformed: number;
  readonly totals: EntityStats;
  readonly agents: Map<string, AgentInfo>;
  readonly providers: Map<string, ProviderInfo>;
  readonly taskTypes: Map<string, EntityStats>;
  readonly sessions: Map<string, SessionInfo>;
  readonly pools: Map<string, PoolInfo>;
  readonly locks: Map<string, LockInfo>;
  readonly tasks: Map<string, TaskTrack>;
  /** Pools each task holds now (from resources), to release a task's holdings by its id. */
  readonly holdings: Map<string, string[]>;
  /** Ended sessions in the order they ended, for forgetting the oldest. */
  closedSessions: string[];
  readonly minutes: Map<number, MinuteBucket>;
  readonly stages: Map<number, StageBucket>;
  /** Tasks submitted per hour. */
  readonly submittedHourly: Map<number, number>;
  readonly typeProviders: Map<string, Map<string, TypeProviderStats>>;
  /** The minute and hour retention was last applied at. */
  prunedMinute: number;
  prunedHour: number;
}

/** An empty state: nothing applied yet. */
export function initialAnalyticsState(options: Partial<AnalyticsOptions> = {}): AnalyticsState {
  return {
    options: { ...DEFAULT_ANALYTICS_OPTIONS, ...options },
    position: -1n,
    clock: -1,
    applied: 0,
    duplicates: 0,
    unhandled: new Map(),
    malformed: 0,
    totals: new EntityStats(),
    agents: new Map(),
    providers: new Map(),
    taskTypes: new Map(),
    sessions: new Map(),
    pools: new Map(),
    locks: new Map(),
    tasks: new Map(),
    holdings: new Map(),
    closedSessions: [],
    minutes: new Map(),
    stages: new Map(),
    submittedHourly: new Map(),
    typeProviders: new Map(),
    prunedMinute: -1,
    prunedHour: -1,
  };
}
