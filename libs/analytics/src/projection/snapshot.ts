import { ValidationError } from '@orch/domain-kit';
import type { Breaker } from '../breaker';
import { decodeHistogram, encodeHistogram, type Histogram } from '../histogram';
import type { Gauge, GaugeMinute } from '../series';
import { retentionCutoffs } from './evolve';
import {
  AgentInfo,
  COUNT_FIELDS,
  EntityStats,
  initialAnalyticsState,
  LockInfo,
  MinuteBucket,
  PoolInfo,
  type PoolMinute,
  ProviderInfo,
  SessionInfo,
  StageBucket,
  TaskTrack,
  TypeProviderStats,
  WindowBucket,
  type AnalyticsOptions,
  type AnalyticsState,
  type Health,
  type SessionStatus,
} from './state';
import type { PoolAmount, WaitKind } from './resource-facts';

/**
 * The projection's state as JSON, for a service to checkpoint beside the position it reached (one
 * row in PostgreSQL) and to restore at start instead of folding the log from zero.
 *
 * Histograms are HdrHistogram's compressed base64 strings; the global position is a decimal string.
 * Time-bucketed series hold only what the retention keeps at the state's clock, in time order.
 * Everything else keeps the order the fold built it in, so folding on from a restored state gives
 * exactly what folding on from the original gives.
 */
export interface AnalyticsSnapshot {
  readonly version: 1;
  readonly options: AnalyticsOptions;
  /** Global position of the last event applied; null before any. */
  readonly position: string | null;
  readonly clock: number;
  readonly applied: number;
  readonly malformed: number;
  readonly unhandled: readonly (readonly [string, number])[];
  readonly totals: StatsJson;
  readonly agents: readonly AgentJson[];
  readonly providers: readonly ProviderJson[];
  readonly taskTypes: readonly (readonly [string, StatsJson])[];
  readonly sessions: readonly SessionJson[];
  readonly pools: readonly PoolJson[];
  readonly locks: readonly LockJson[];
  readonly tasks: readonly TaskJson[];
  readonly holdings: readonly (readonly [string, readonly string[]])[];
  readonly closedSessions: readonly string[];
  readonly minutes: readonly (readonly [number, Record<string, number>])[];
  readonly stages: readonly StageJson[];
  readonly submittedHourly: readonly (readonly [number, number])[];
  readonly typeProviders: readonly (readonly [string, string, Record<string, number>])[];
  readonly prunedMinute: number;
  readonly prunedHour: number;
}

type Fields = Record<string, number>;
/** Counters and the queue-wait, run-time and end-to-end histograms. */
interface StatsJson {
  readonly n: Fields;
  readonly h: readonly (string | null)[];
}
interface BreakerJson {
  readonly at: readonly number[];
  readonly ok: readonly boolean[];
  readonly openedAt: number;
  readonly trips: number;
  readonly lastTrip: { readonly at: number; readonly outcomes: number; readonly failures: number } | null;
  readonly successesSinceTrip: number;
}
type WindowJson = readonly [number, Fields, string | null, string | null];
interface GaugeJson {
  readonly value: number;
  readonly since: number;
  readonly minutes: readonly (readonly [number, number, number])[];
}
interface AgentJson {
  readonly agentId: string;
  readonly stats: StatsJson;
  readonly profile: { name: string; provider: string; model: string; health: Health };
  readonly fields: Fields;
  readonly flags: readonly boolean[];
  readonly breaker: BreakerJson;
  readonly recent: readonly WindowJson[];
}
interface ProviderJson {
  readonly provider: string;
  readonly stats: StatsJson;
  readonly breaker: BreakerJson;
  readonly recent: readonly WindowJson[];
  readonly busy: GaugeJson;
  readonly capacity: GaugeJson;
  readonly demand: readonly (readonly [number, number])[];
}
interface SessionJson {
  readonly sessionId: string;
  readonly stats: StatsJson;
  readonly goal: string;
  readonly pattern: string;
  readonly status: SessionStatus;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly tasks: readonly string[];
}
interface PoolJson {
  readonly pool: string;
  readonly kind: string;
  readonly unit: string;
  readonly defined: boolean;
  readonly fields: Fields;
  readonly holders: readonly (readonly [string, number])[];
  readonly waiting: readonly (readonly [string, number])[];
  readonly wait: string | null;
  readonly gauge: GaugeJson;
  readonly minutes: readonly (readonly [number, Fields])[];
  readonly demand: readonly (readonly [number, number])[];
}
interface LockJson {
  readonly lock: string;
  readonly blocked: number;
  readonly waiting: readonly string[];
  readonly wait: string | null;
}
interface TaskJson {
  readonly taskId: string;
  readonly type: string;
  readonly sessionId: string;
  readonly submittedAt: number;
  readonly mayReopen: boolean;
  readonly claims: readonly PoolAmount[];
  readonly agentId: string;
  readonly lastAgentId: string;
  readonly blockedKind: WaitKind;
  readonly blockedOn: string;
  readonly fields: Fields;
  readonly demanded: readonly string[] | null;
  readonly waitingPools: readonly string[];
  readonly waitingLock: string;
}
interface StageJson {
  readonly hour: number;
  readonly fields: Fields;
  readonly byPool: readonly (readonly [string, number, number])[];
  readonly byLock: readonly (readonly [string, number, number])[];
  readonly byAgent: readonly (readonly [string, number, number])[];
}

// ---------------------------------------------------------------- helpers

const STATS_NUMBERS = [...COUNT_FIELDS, 'inputTokens', 'outputTokens', 'costUsd', 'costed'] as const;
const AGENT_NUMBERS = ['maxConcurrency', 'active', 'unhealthySince', 'recoveredAt'] as const;
const POOL_NUMBERS = [
  'capacity',
  'windowMs',
  'allocated',
  'allocations',
  'blocked',
  'released',
  'reconciledDelta',
] as const;
const POOL_MINUTE_NUMBERS = ['demand', 'demandAmount', 'allocations', 'allocatedAmount', 'blocked'] as const;
const TASK_NUMBERS = ['readyAt', 'assignedAt', 'startedAt', 'blockedAt', 'blockedMs'] as const;
const STAGE_NUMBERS = [
  'agentMs',
  'agentWaits',
  'resourcesMs',
  'resourcesWaits',
  'lockMs',
  'lockWaits',
  'budgetMs',
  'budgetWaits',
  'runningMs',
  'runs',
] as const;
const MINUTE_NUMBERS = ['submitted', 'assigned', 'succeeded', 'failed', 'deadLettered', 'costUsd'] as const;
const TYPE_PROVIDER_NUMBERS = ['outcomes', 'succeeded', 'costUsd', 'costed', 'firstAt', 'lastAt'] as const;

function pick<T extends object>(obj: T, keys: readonly (keyof T & string)[]): Fields {
  const out: Fields = {};
  for (const k of keys) out[k] = obj[k] as number;
  return out;
}

function put<T extends object>(obj: T, keys: readonly (keyof T & string)[], fields: Fields): void {
  for (const k of keys) {
    const v = fields[k];
    if (typeof v === 'number') (obj as Record<string, unknown>)[k] = v;
  }
}

/**
 * Encoded histograms by object, valid while their count is unchanged (recording only ever adds):
 * an ended session's histograms are encoded once, not at every checkpoint.
 */
const encoded = new WeakMap<Histogram, { readonly count: number; readonly text: string }>();

function hist(h: Histogram | undefined): string | null {
  if (!h || h.totalCount === 0) return null;
  const cached = encoded.get(h);
  if (cached && cached.count === h.totalCount) return cached.text;
  const text = encodeHistogram(h);
  encoded.set(h, { count: h.totalCount, text });
  return text;
}

const unhist = (s: string | null | undefined, packed = false): Histogram | undefined =>
  s ? decodeHistogram(s, packed) : undefined;

/** Entries of a time-keyed map from `min` on, in time order. */
function timed<V>(map: ReadonlyMap<number, V>, min: number): [number, V][] {
  return [...map].filter(([k]) => k >= min).sort((a, b) => a[0] - b[0]);
}

function statsOut(st: EntityStats): StatsJson {
  return { n: pick(st, STATS_NUMBERS), h: [hist(st.queueWait), hist(st.runTime), hist(st.endToEnd)] };
}

function statsIn(st: EntityStats, j: StatsJson): EntityStats {
  put(st, STATS_NUMBERS, j.n);
  st.queueWait = unhist(j.h[0], st.packed);
  st.runTime = unhist(j.h[1], st.packed);
  st.endToEnd = unhist(j.h[2], st.packed);
  return st;
}

function breakerOut(b: Breaker): BreakerJson {
  return {
    at: b.at.slice(b.head),
    ok: b.ok.slice(b.head),
    openedAt: b.openedAt,
    trips: b.trips,
    lastTrip: b.lastTrip ? { ...b.lastTrip } : null,
    successesSinceTrip: b.successesSinceTrip,
  };
}

function breakerIn(b: Breaker, j: BreakerJson): void {
  b.at = [...j.at];
  b.ok = [...j.ok];
  b.head = 0;
  b.failures = j.ok.filter((ok) => !ok).length;
  b.openedAt = j.openedAt;
  b.trips = j.trips;
  b.lastTrip = j.lastTrip ? { ...j.lastTrip } : undefined;
  b.successesSinceTrip = j.successesSinceTrip;
}

const WINDOW_NUMBERS = ['outcomes', 'failures', 'costUsd', 'costed'] as const;

function recentOut(recent: ReadonlyMap<number, WindowBucket>, min: number): WindowJson[] {
  return timed(recent, min).map(([h, b]) => [h, pick(b, WINDOW_NUMBERS), hist(b.runTime), hist(b.queueWait)]);
}

function recentIn(recent: Map<number, WindowBucket>, j: readonly WindowJson[]): void {
  for (const [h, fields, runTime, queueWait] of j) {
    const b = new WindowBucket();
    put(b, WINDOW_NUMBERS, fields);
    b.runTime = unhist(runTime);
    b.queueWait = unhist(queueWait);
    recent.set(h, b);
  }
}

function gaugeOut(g: Gauge, min: number): GaugeJson {
  return {
    value: g.value,
    since: g.since,
    minutes: timed(g.minutes, min).map(([m, b]) => [m, b.peak, b.integral]),
  };
}

function gaugeIn(g: Gauge, j: GaugeJson): void {
  g.value = j.value;
  g.since = j.since;
  for (const [m, peak, integral] of j.minutes) g.minutes.set(m, { peak, integral } satisfies GaugeMinute);
}

const triples = (map: ReadonlyMap<string, [number, number]>): [string, number, number][] =>
  [...map].map(([k, [ms, n]]) => [k, ms, n]);

function triplesIn(
  map: Map<string, [number, number]>,
  j: readonly (readonly [string, number, number])[],
): void {
  for (const [k, ms, n] of j) map.set(k, [ms, n]);
}

// ---------------------------------------------------------------- snapshot and restore

/** The state as JSON-safe data (see AnalyticsSnapshot). The state is not changed. */
export function snapshot(state: AnalyticsState): AnalyticsSnapshot {
  const cut = retentionCutoffs(state);
  return {
    version: 1,
    options: state.options,
    position: state.position < 0n ? null : state.position.toString(),
    clock: state.clock,
    applied: state.applied,
    malformed: state.malformed,
    unhandled: [...state.unhandled],
    totals: statsOut(state.totals),
    agents: [...state.agents.values()].map((a) => ({
      agentId: a.agentId,
      stats: statsOut(a.stats),
      profile: { name: a.name, provider: a.provider, model: a.model, health: a.health },
      fields: pick(a, AGENT_NUMBERS),
      flags: [a.registered, a.deregistered, a.draining],
      breaker: breakerOut(a.breaker),
      recent: recentOut(a.recent, cut.recentHour),
    })),
    providers: [...state.providers.values()].map((p) => ({
      provider: p.provider,
      stats: statsOut(p.stats),
      breaker: breakerOut(p.breaker),
      recent: recentOut(p.recent, cut.recentHour),
      busy: gaugeOut(p.busy, cut.minute),
      capacity: gaugeOut(p.capacity, cut.minute),
      demand: timed(p.demand, cut.demandHour),
    })),
    taskTypes: [...state.taskTypes].map(([type, st]) => [type, statsOut(st)]),
    sessions: [...state.sessions.values()].map((s) => ({
      sessionId: s.sessionId,
      stats: statsOut(s.stats),
      goal: s.goal,
      pattern: s.pattern,
      status: s.status,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      tasks: [...s.tasks],
    })),
    pools: [...state.pools.values()].map((p) => ({
      pool: p.pool,
      kind: p.kind,
      unit: p.unit,
      defined: p.defined,
      fields: pick(p, POOL_NUMBERS),
      holders: [...p.holders],
      waiting: [...p.waiting],
      wait: hist(p.wait),
      gauge: gaugeOut(p.gauge, cut.minute),
      minutes: timed(p.minutes, cut.minute).map(([m, b]) => [m, pick(b, POOL_MINUTE_NUMBERS)]),
      demand: timed(p.demand, cut.demandHour),
    })),
    locks: [...state.locks.values()].map((l) => ({
      lock: l.lock,
      blocked: l.blocked,
      waiting: [...l.waiting],
      wait: hist(l.wait),
    })),
    tasks: [...state.tasks].map(([taskId, t]) => ({
      taskId,
      type: t.type,
      sessionId: t.sessionId,
      submittedAt: t.submittedAt,
      mayReopen: t.mayReopen,
      claims: t.claims.map((c) => ({ ...c })),
      agentId: t.agentId,
      lastAgentId: t.lastAgentId,
      blockedKind: t.blockedKind,
      blockedOn: t.blockedOn,
      fields: pick(t, TASK_NUMBERS),
      demanded: t.demanded ? [...t.demanded] : null,
      waitingPools: [...t.waitingPools],
      waitingLock: t.waitingLock,
    })),
    holdings: [...state.holdings].map(([taskId, pools]) => [taskId, [...pools]]),
    closedSessions: [...state.closedSessions],
    minutes: timed(state.minutes, cut.minute).map(([m, b]) => [m, pick(b, MINUTE_NUMBERS)]),
    stages: timed(state.stages, cut.recentHour).map(([hour, b]) => ({
      hour,
      fields: pick(b, STAGE_NUMBERS),
      byPool: triples(b.byPool),
      byLock: triples(b.byLock),
      byAgent: triples(b.byAgent),
    })),
    submittedHourly: timed(state.submittedHourly, cut.demandHour),
    typeProviders: [...state.typeProviders].flatMap(([type, byProvider]) =>
      [...byProvider].map(([provider, st]) => [type, provider, pick(st, TYPE_PROVIDER_NUMBERS)] as const),
    ),
    prunedMinute: state.prunedMinute,
    prunedHour: state.prunedHour,
  };
}

/**
 * A state from a snapshot, ready to fold on from the snapshot's position.
 * Throws ValidationError for a snapshot of another version.
 */
export function restore(snap: AnalyticsSnapshot): AnalyticsState {
  if (snap.version !== 1)
    throw new ValidationError(`unsupported analytics snapshot version ${String(snap.version)}`, [
      { path: 'version', message: 'must be 1' },
    ]);
  const state = initialAnalyticsState(snap.options);
  state.position = snap.position === null ? -1n : BigInt(snap.position);
  state.clock = snap.clock;
  state.applied = snap.applied;
  state.malformed = snap.malformed;
  state.prunedMinute = snap.prunedMinute;
  state.prunedHour = snap.prunedHour;
  for (const [type, n] of snap.unhandled) state.unhandled.set(type, n);
  statsIn(state.totals, snap.totals);
  for (const j of snap.agents) {
    const a = new AgentInfo(j.agentId);
    statsIn(a.stats, j.stats);
    Object.assign(a, j.profile);
    put(a, AGENT_NUMBERS, j.fields);
    [a.registered, a.deregistered, a.draining] = [!!j.flags[0], !!j.flags[1], !!j.flags[2]];
    breakerIn(a.breaker, j.breaker);
    recentIn(a.recent, j.recent);
    state.agents.set(a.agentId, a);
  }
  for (const j of snap.providers) {
    const p = new ProviderInfo(j.provider);
    statsIn(p.stats, j.stats);
    breakerIn(p.breaker, j.breaker);
    recentIn(p.recent, j.recent);
    gaugeIn(p.busy, j.busy);
    gaugeIn(p.capacity, j.capacity);
    for (const [h, n] of j.demand) p.demand.set(h, n);
    state.providers.set(p.provider, p);
  }
  for (const [type, j] of snap.taskTypes) state.taskTypes.set(type, statsIn(new EntityStats(), j));
  for (const j of snap.sessions) {
    const s = new SessionInfo(j.sessionId);
    statsIn(s.stats, j.stats);
    s.goal = j.goal;
    s.pattern = j.pattern;
    s.status = j.status;
    s.startedAt = j.startedAt;
    s.endedAt = j.endedAt;
    for (const t of j.tasks) s.tasks.add(t);
    state.sessions.set(s.sessionId, s);
  }
  for (const j of snap.pools) {
    const p = new PoolInfo(j.pool);
    p.kind = j.kind;
    p.unit = j.unit;
    p.defined = j.defined;
    put(p, POOL_NUMBERS, j.fields);
    for (const [t, n] of j.holders) p.holders.set(t, n);
    for (const [t, n] of j.waiting) p.waiting.set(t, n);
    p.wait = unhist(j.wait);
    gaugeIn(p.gauge, j.gauge);
    for (const [m, fields] of j.minutes)
      put(p.minute(m), POOL_MINUTE_NUMBERS as readonly (keyof PoolMinute & string)[], fields);
    for (const [h, n] of j.demand) p.demand.set(h, n);
    state.pools.set(p.pool, p);
  }
  for (const j of snap.locks) {
    const l = new LockInfo(j.lock);
    l.blocked = j.blocked;
    for (const t of j.waiting) l.waiting.add(t);
    l.wait = unhist(j.wait);
    state.locks.set(l.lock, l);
  }
  for (const j of snap.tasks) {
    const t = new TaskTrack(
      j.type,
      j.sessionId,
      j.submittedAt,
      j.mayReopen,
      j.claims.map((c) => ({ ...c })),
    );
    t.agentId = j.agentId;
    t.lastAgentId = j.lastAgentId;
    t.blockedKind = j.blockedKind;
    t.blockedOn = j.blockedOn;
    put(t, TASK_NUMBERS, j.fields);
    t.demanded = j.demanded ? [...j.demanded] : null;
    t.waitingPools = [...j.waitingPools];
    t.waitingLock = j.waitingLock;
    state.tasks.set(j.taskId, t);
  }
  for (const [taskId, pools] of snap.holdings) state.holdings.set(taskId, [...pools]);
  state.closedSessions = [...snap.closedSessions];
  for (const [m, fields] of snap.minutes) {
    const b = new MinuteBucket();
    put(b, MINUTE_NUMBERS, fields);
    state.minutes.set(m, b);
  }
  for (const j of snap.stages) {
    const b = new StageBucket();
    put(b, STAGE_NUMBERS, j.fields);
    triplesIn(b.byPool, j.byPool);
    triplesIn(b.byLock, j.byLock);
    triplesIn(b.byAgent, j.byAgent);
    state.stages.set(j.hour, b);
  }
  for (const [h, n] of snap.submittedHourly) state.submittedHourly.set(h, n);
  for (const [type, provider, fields] of snap.typeProviders) {
    let byProvider = state.typeProviders.get(type);
    if (!byProvider) state.typeProviders.set(type, (byProvider = new Map()));
    const st = new TypeProviderStats();
    put(st, TYPE_PROVIDER_NUMBERS, fields);
    byProvider.set(provider, st);
  }
  return state;
}
