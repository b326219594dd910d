import { agentEventTypes, sessionEventTypes } from '@orch/coordination';
import { workflowEventTypes } from '@orch/distribution';
import { asData, eventTime, text, amount, type AnalyticsEvent, type Data } from '../events';
import { addTo, hourOf, minuteOf, pruneBefore } from '../series';
import {
  isResourceEventType,
  poolClaimsOf,
  resourceFactOf,
  type PoolAmount,
  type ResourceFact,
  type WaitKind,
} from './resource-facts';
import {
  AgentInfo,
  EntityStats,
  LockInfo,
  MinuteBucket,
  PoolInfo,
  ProviderInfo,
  SessionInfo,
  StageBucket,
  NO_POOL_IDS,
  TaskTrack,
  TypeProviderStats,
  UNKNOWN_PROVIDER,
  WindowBucket,
  type AnalyticsState,
  type CountField,
  type SessionStatus,
} from './state';
import { newHistogram, recordValue, PRECISE } from '../histogram';

/**
 * The analytics projection: one fold over the store's global log.
 *
 * `evolve(state, event)` applies one event and returns the state. For speed it changes the state
 * it is given (an accumulator that one projection owns) rather than copying it; it reads no clock
 * and does no I/O, so the same events always give the same state. Events at or below the state's
 * position are duplicates and change nothing but a counter; event types it does not read are
 * counted by type; events of known types that lack an id or a time are counted as malformed. It
 * never throws on event content.
 *
 * Attribution: a task's events count for the whole system, its task type, its session, and (when
 * an agent is involved) that agent and the agent's provider (from AgentRegistered; 'unknown'
 * otherwise). A dead letter counts for the agent of the task's last attempt.
 *
 * Timings, in ms, from the events' own timestamps (their `...At` fields):
 * - queue wait: the first TaskReady since the task's last attempt -> TaskAssigned;
 * - run time: TaskStarted (or TaskAssigned when the start was not reported) -> the attempt's
 *   outcome (TaskSucceeded, TaskFailed, TaskTimedOut);
 * - end to end: TaskSubmitted -> TaskSucceeded;
 * - claim waits: TaskWaiting or AllocationBlocked -> TaskResumed, ResourcesAllocated or the
 *   assignment; the rest of a queue wait is time spent waiting for an agent.
 */
export function evolve(state: AnalyticsState, event: AnalyticsEvent): AnalyticsState {
  if (event.globalPosition <= state.position) {
    state.duplicates++;
    return state;
  }
  state.position = event.globalPosition;
  state.applied++;
  const handler = HANDLERS.get(event.type);
  if (handler === undefined) {
    state.unhandled.set(event.type, (state.unhandled.get(event.type) ?? 0) + 1);
    return state;
  }
  if (!handler(state, asData(event.data), event)) state.malformed++;
  return state;
}

/** Folds `events` into `state` in order. */
export function evolveAll(state: AnalyticsState, events: Iterable<AnalyticsEvent>): AnalyticsState {
  for (const e of events) evolve(state, e);
  return state;
}

/** Applies an event's data; false when it lacks what it needs. */
type Handler = (s: AnalyticsState, d: Data, e: AnalyticsEvent) => boolean;

// ---------------------------------------------------------------- time and retention

/** Moves the projection's clock to `at` and forgets what fell out of retention (once an hour). */
function tick(s: AnalyticsState, at: number): void {
  if (at <= s.clock) return;
  s.clock = at;
  const hour = hourOf(at);
  if (hour > s.prunedHour) {
    s.prunedHour = hour;
    s.prunedMinute = minuteOf(at);
    applyRetention(s);
  }
}

/** The first minute, window hour and demand hour retained at the state's clock. */
export function retentionCutoffs(s: AnalyticsState): {
  minute: number;
  recentHour: number;
  demandHour: number;
} {
  const o = s.options;
  return {
    minute: minuteOf(s.clock) - o.minuteRetention + 1,
    recentHour: hourOf(s.clock) - o.recentHours + 1,
    demandHour: hourOf(s.clock) - o.hourRetention + 1,
  };
}

function applyRetention(s: AnalyticsState): void {
  const cut = retentionCutoffs(s);
  pruneBefore(s.minutes, cut.minute);
  pruneBefore(s.stages, cut.recentHour);
  pruneBefore(s.submittedHourly, cut.demandHour);
  for (const a of s.agents.values()) pruneBefore(a.recent, cut.recentHour);
  for (const p of s.providers.values()) {
    pruneBefore(p.recent, cut.recentHour);
    pruneBefore(p.demand, cut.demandHour);
    p.busy.prune(cut.minute);
    p.capacity.prune(cut.minute);
  }
  for (const p of s.pools.values()) {
    pruneBefore(p.minutes, cut.minute);
    pruneBefore(p.demand, cut.demandHour);
    p.gauge.prune(cut.minute);
  }
}

function minuteBucket(s: AnalyticsState, at: number): MinuteBucket | undefined {
  const m = minuteOf(at);
  if (m <= minuteOf(s.clock) - s.options.minuteRetention) return undefined;
  let b = s.minutes.get(m);
  if (!b) s.minutes.set(m, (b = new MinuteBucket()));
  return b;
}

function stageBucket(s: AnalyticsState, at: number): StageBucket | undefined {
  const h = hourOf(at);
  if (h <= hourOf(s.clock) - s.options.recentHours) return undefined;
  let b = s.stages.get(h);
  if (!b) s.stages.set(h, (b = new StageBucket()));
  return b;
}

function windowBucket(
  s: AnalyticsState,
  recent: Map<number, WindowBucket>,
  at: number,
): WindowBucket | undefined {
  const h = hourOf(at);
  if (h <= hourOf(s.clock) - s.options.recentHours) return undefined;
  let b = recent.get(h);
  if (!b) recent.set(h, (b = new WindowBucket()));
  return b;
}

function countHour(s: AnalyticsState, series: Map<number, number>, at: number): void {
  const h = hourOf(at);
  if (h > hourOf(s.clock) - s.options.hourRetention) addTo(series, h, 1);
}

const addPair = (map: Map<string, [number, number]>, key: string, ms: number): void => {
  const pair = map.get(key);
  if (pair) {
    pair[0] += ms;
    pair[1]++;
  } else map.set(key, [ms, 1]);
};

// ---------------------------------------------------------------- entities

function providerOf(s: AnalyticsState, name: string): ProviderInfo {
  let p = s.providers.get(name);
  if (!p) s.providers.set(name, (p = new ProviderInfo(name)));
  return p;
}

function agentOf(s: AnalyticsState, agentId: string): AgentInfo {
  let a = s.agents.get(agentId);
  if (!a) {
    s.agents.set(agentId, (a = new AgentInfo(agentId)));
    providerOf(s, a.provider);
  }
  return a;
}

function typeOf(s: AnalyticsState, type: string): EntityStats {
  let t = s.taskTypes.get(type);
  if (!t) s.taskTypes.set(type, (t = new EntityStats()));
  return t;
}

function poolOf(s: AnalyticsState, pool: string): PoolInfo {
  let p = s.pools.get(pool);
  if (!p) s.pools.set(pool, (p = new PoolInfo(pool)));
  return p;
}

function lockOf(s: AnalyticsState, lock: string): LockInfo {
  let l = s.locks.get(lock);
  if (!l) s.locks.set(lock, (l = new LockInfo(lock)));
  return l;
}

/** Sessions are created by their start events only, so late events of a forgotten one are dropped. */
function sessionOf(s: AnalyticsState, sessionId: string, create: boolean): SessionInfo | undefined {
  if (sessionId === '') return undefined;
  let session = s.sessions.get(sessionId);
  if (!session && create) s.sessions.set(sessionId, (session = new SessionInfo(sessionId)));
  return session;
}

/** Reused by `scopeOf` (the fold is synchronous and a handler uses one scope at a time). */
const SCOPE: EntityStats[] = [];

/**
 * Every EntityStats a task's event counts for. The array is reused by the next call: use it before
 * asking for another.
 */
function scopeOf(
  s: AnalyticsState,
  track: TaskTrack | undefined,
  sessionId: string,
  agent: AgentInfo | undefined,
): readonly EntityStats[] {
  SCOPE.length = 0;
  SCOPE.push(s.totals);
  if (track) SCOPE.push(typeOf(s, track.type));
  const session = s.sessions.get(sessionId);
  if (session) SCOPE.push(session.stats);
  if (agent) SCOPE.push(agent.stats, providerOf(s, agent.provider).stats);
  return SCOPE;
}

function count(scope: readonly EntityStats[], field: CountField): void {
  for (const st of scope) st[field]++;
}

/** Changes the attempts an agent holds, and its provider's busy gauge. */
function changeActive(s: AnalyticsState, agent: AgentInfo, delta: number, at: number): void {
  agent.active = Math.max(0, agent.active + delta);
  const busy = providerOf(s, agent.provider).busy;
  busy.set(Math.max(0, busy.value + delta), at, s.options.minuteRetention);
}

/** Applies a change to an agent's profile or health, keeping its provider's capacity in step. */
function changeAgent(s: AnalyticsState, agent: AgentInfo, at: number, change: (a: AgentInfo) => void): void {
  const before = agent.capacity;
  const provider = agent.provider;
  change(agent);
  const retention = s.options.minuteRetention;
  if (agent.provider !== provider) {
    const old = providerOf(s, provider);
    old.capacity.set(Math.max(0, old.capacity.value - before), at, retention);
    old.busy.set(Math.max(0, old.busy.value - agent.active), at, retention);
    const now = providerOf(s, agent.provider);
    now.capacity.set(now.capacity.value + agent.capacity, at, retention);
    now.busy.set(now.busy.value + agent.active, at, retention);
  } else if (agent.capacity !== before) {
    const p = providerOf(s, provider);
    p.capacity.set(Math.max(0, p.capacity.value - before + agent.capacity), at, retention);
  }
}

// ---------------------------------------------------------------- task lifecycle helpers

/** Counts a task's demand for a pool once per readiness cycle. */
function demand(s: AnalyticsState, track: TaskTrack | undefined, claim: PoolAmount, at: number): void {
  if (track?.demanded) {
    if (track.demanded.includes(claim.pool)) return;
    track.demanded = [...track.demanded, claim.pool];
  }
  const pool = poolOf(s, claim.pool);
  const m = minuteOf(at);
  if (m > minuteOf(s.clock) - s.options.minuteRetention) {
    const b = pool.minute(m);
    b.demand++;
    b.demandAmount += claim.amount;
  }
  countHour(s, pool.demand, at);
}

function startBlock(track: TaskTrack, kind: WaitKind, on: string, at: number): void {
  if (track.blockedAt >= 0) {
    // The same wait reported twice (distribution's TaskWaiting and resources' AllocationBlocked):
    // keep its start, take the more specific kind and the name of what it waits on.
    if (track.blockedKind === 'resources' && kind !== 'resources') track.blockedKind = kind;
    if (track.blockedOn === '') track.blockedOn = on;
    return;
  }
  track.blockedAt = at;
  track.blockedKind = kind;
  track.blockedOn = on;
}

/** Ends the task's wait for claims at `at`, booking its time to the stage and to what it waited on. */
function closeBlock(s: AnalyticsState, taskId: string, track: TaskTrack, at: number): void {
  clearWaiting(s, taskId, track);
  if (track.blockedAt < 0) return;
  const ms = Math.max(0, at - track.blockedAt);
  track.blockedMs += ms;
  const bucket = stageBucket(s, at);
  const on = track.blockedOn;
  switch (track.blockedKind) {
    case 'lock':
      if (bucket) {
        bucket.lockMs += ms;
        bucket.lockWaits++;
        if (on !== '') addPair(bucket.byLock, on, ms);
      }
      if (on !== '') recordValue((lockOf(s, on).wait ??= newHistogram(PRECISE)), ms);
      break;
    case 'budget':
    case 'resources':
      if (bucket) {
        if (track.blockedKind === 'budget') {
          bucket.budgetMs += ms;
          bucket.budgetWaits++;
        } else {
          bucket.resourcesMs += ms;
          bucket.resourcesWaits++;
        }
        if (on !== '') addPair(bucket.byPool, on, ms);
      }
      if (on !== '') recordValue((poolOf(s, on).wait ??= newHistogram(PRECISE)), ms);
      break;
  }
  track.blockedAt = -1;
  track.blockedOn = '';
}

/** Removes the task from the waiters of the pools and lock it waited on. */
function clearWaiting(s: AnalyticsState, taskId: string, track: TaskTrack): void {
  for (const pool of track.waitingPools) s.pools.get(pool)?.waiting.delete(taskId);
  if (track.waitingPools.length > 0) track.waitingPools = NO_POOL_IDS;
  if (track.waitingLock !== '') {
    s.locks.get(track.waitingLock)?.waiting.delete(taskId);
    track.waitingLock = '';
  }
}

/** Ends the open attempt (if any): its running time, and the holder's slot. */
function endAttempt(s: AnalyticsState, taskId: string, track: TaskTrack, at: number): void {
  closeBlock(s, taskId, track, at);
  if (track.agentId === '') return;
  const from = track.startedAt >= 0 ? track.startedAt : track.assignedAt;
  const bucket = stageBucket(s, at);
  if (bucket && from >= 0) {
    bucket.runningMs += Math.max(0, at - from);
    bucket.runs++;
  }
  changeActive(s, agentOf(s, track.agentId), -1, at);
  track.agentId = '';
  track.assignedAt = -1;
  track.startedAt = -1;
}

/** Forgets a task that ended. */
function dropTask(s: AnalyticsState, taskId: string, track: TaskTrack, at: number): void {
  endAttempt(s, taskId, track, at);
  s.tasks.delete(taskId);
  s.sessions.get(track.sessionId)?.tasks.delete(taskId);
}

/** Ends a session (idempotent): its tasks are forgotten; the oldest ended sessions beyond the limit too. */
function closeSession(s: AnalyticsState, sessionId: string, status: SessionStatus, at: number): void {
  const session = s.sessions.get(sessionId);
  if (!session) return;
  for (const taskId of [...session.tasks]) {
    const track = s.tasks.get(taskId);
    if (track) dropTask(s, taskId, track, at);
  }
  session.tasks.clear();
  if (session.status !== 'running') return;
  session.status = status;
  session.endedAt = at;
  s.closedSessions.push(sessionId);
  while (s.closedSessions.length > s.options.maxClosedSessions) {
    const oldest = s.closedSessions.shift()!;
    s.sessions.delete(oldest);
  }
}

// ---------------------------------------------------------------- workflow events

function timed(
  fields: readonly string[],
  apply: (s: AnalyticsState, d: Data, at: number) => boolean,
): Handler {
  return (s, d, e) => {
    const at = eventTime(d, fields, e);
    if (Number.isNaN(at)) return false;
    tick(s, at);
    return apply(s, d, at);
  };
}

const taskSubmitted = timed(['submittedAt'], (s, d, at) => {
  const taskId = text(d, 'taskId');
  if (taskId === '') return false;
  if (s.tasks.has(taskId)) return true;
  const sessionId = text(d, 'sessionId');
  const session = sessionOf(s, sessionId, true);
  const spec = asData(d['spec']);
  const type = text(spec, 'type') || 'untyped';
  const mayReopen = session?.pattern === 'pair' && text(d, 'role') === 'work';
  const track = new TaskTrack(type, sessionId, at, mayReopen, poolClaimsOf(spec['claims']));
  s.tasks.set(taskId, track);
  session?.tasks.add(taskId);
  count(scopeOf(s, track, sessionId, undefined), 'submitted');
  const m = minuteBucket(s, at);
  if (m) m.submitted++;
  countHour(s, s.submittedHourly, at);
  return true;
});

const taskReady = timed(['readyAt'], (s, d, at) => {
  const taskId = text(d, 'taskId');
  if (taskId === '') return false;
  const track = s.tasks.get(taskId);
  if (!track || track.readyAt >= 0) return true;
  track.readyAt = at;
  track.blockedMs = 0;
  track.demanded = NO_POOL_IDS;
  for (const claim of track.claims) demand(s, track, claim, at);
  return true;
});

const taskAssigned = timed(['assignedAt'], (s, d, at) => {
  const taskId = text(d, 'taskId');
  const agentId = text(d, 'agentId');
  if (taskId === '' || agentId === '') return false;
  const track = s.tasks.get(taskId);
  const agent = agentOf(s, agentId);
  const provider = providerOf(s, agent.provider);
  const sessionId = text(d, 'sessionId');
  const scope = scopeOf(s, track, sessionId, agent);
  count(scope, 'assigned');
  if (track) {
    if (track.agentId !== '') endAttempt(s, taskId, track, at); // an end this projection missed
    closeBlock(s, taskId, track, at);
    if (track.readyAt >= 0) {
      const wait = Math.max(0, at - track.readyAt);
      for (const st of scope) st.recordQueueWait(wait);
      windowBucket(s, provider.recent, at)?.recordQueueWait(wait);
      const bucket = stageBucket(s, at);
      if (bucket) {
        const forAgent = Math.max(0, wait - track.blockedMs);
        bucket.agentMs += forAgent;
        bucket.agentWaits++;
        addPair(bucket.byAgent, agentId, forAgent);
      }
    }
    track.readyAt = -1;
    track.blockedMs = 0;
    track.demanded = null;
    track.agentId = agentId;
    track.lastAgentId = agentId;
    track.assignedAt = at;
    track.startedAt = -1;
    changeActive(s, agent, +1, at);
  }
  const m = minuteBucket(s, at);
  if (m) m.assigned++;
  countHour(s, provider.demand, at);
  return true;
});

const taskStarted = timed(['startedAt'], (s, d, at) => {
  const taskId = text(d, 'taskId');
  if (taskId === '') return false;
  const track = s.tasks.get(taskId);
  const agentId = text(d, 'agentId') || track?.agentId || '';
  if (track && track.agentId !== '' && track.startedAt < 0) track.startedAt = at;
  count(scopeOf(s, track, text(d, 'sessionId'), agentId ? agentOf(s, agentId) : undefined), 'started');
  return true;
});

type Outcome = 'succeeded' | 'failed' | 'timedOut';

function outcome(kind: Outcome, timeField: string): Handler {
  return timed([timeField], (s, d, at) => {
    const taskId = text(d, 'taskId');
    if (taskId === '') return false;
    const track = s.tasks.get(taskId);
    const agentId = text(d, 'agentId') || track?.agentId || '';
    const agent = agentId ? agentOf(s, agentId) : undefined;
    const provider = agent ? providerOf(s, agent.provider) : undefined;
    const scope = scopeOf(s, track, text(d, 'sessionId'), agent);
    const ok = kind === 'succeeded';
    count(scope, kind);

    const from =
      track && track.agentId !== '' ? (track.startedAt >= 0 ? track.startedAt : track.assignedAt) : -1;
    const runMs = from >= 0 ? Math.max(0, at - from) : -1;
    if (runMs >= 0) for (const st of scope) st.recordRunTime(runMs);

    let cost = 0;
    let costed = false;
    const m = minuteBucket(s, at);
    if (ok) {
      const usage = asData(d['usage']);
      costed = 'costUsd' in usage || 'inputTokens' in usage || 'outputTokens' in usage;
      cost = amount(usage, 'costUsd');
      const input = amount(usage, 'inputTokens');
      const output = amount(usage, 'outputTokens');
      for (const st of scope) {
        st.inputTokens += input;
        st.outputTokens += output;
        st.costUsd += cost;
        if (costed) st.costed++;
      }
      if (track) for (const st of scope) st.recordEndToEnd(at - track.submittedAt);
      if (m) {
        m.succeeded++;
        m.costUsd += cost;
      }
    } else if (m) m.failed++;

    if (agent && provider) {
      windowOutcome(windowBucket(s, agent.recent, at), ok, runMs, costed ? cost : -1);
      windowOutcome(windowBucket(s, provider.recent, at), ok, runMs, costed ? cost : -1);
      agent.breaker.record(ok, at, s.options.breaker);
      provider.breaker.record(ok, at, s.options.breaker);
      if (track) typeProvider(s, track.type, provider.provider, ok, costed ? cost : undefined, at);
    }
    if (track) {
      endAttempt(s, taskId, track, at);
      if (ok && !track.mayReopen) dropTask(s, taskId, track, at);
    }
    return true;
  });
}

/** Books an outcome in an hourly window bucket; `runMs` or `cost` -1 when unknown. */
function windowOutcome(b: WindowBucket | undefined, ok: boolean, runMs: number, cost: number): void {
  if (!b) return;
  b.outcomes++;
  if (!ok) b.failures++;
  if (runMs >= 0) b.recordRunTime(runMs);
  if (cost >= 0) {
    b.costUsd += cost;
    b.costed++;
  }
}

function typeProvider(
  s: AnalyticsState,
  type: string,
  provider: string,
  ok: boolean,
  cost: number | undefined,
  at: number,
): void {
  let byProvider = s.typeProviders.get(type);
  if (!byProvider) s.typeProviders.set(type, (byProvider = new Map()));
  let st = byProvider.get(provider);
  if (!st) byProvider.set(provider, (st = new TypeProviderStats()));
  st.outcomes++;
  if (ok) st.succeeded++;
  if (cost !== undefined) {
    st.costUsd += cost;
    st.costed++;
  }
  if (st.firstAt < 0 || at < st.firstAt) st.firstAt = at;
  if (at > st.lastAt) st.lastAt = at;
}

/** An attempt that ended without an outcome: lost, handed off, preempted. */
function attemptEnd(field: CountField, agentField: string): Handler {
  return timed(['at'], (s, d, at) => {
    const taskId = text(d, 'taskId');
    if (taskId === '') return false;
    const track = s.tasks.get(taskId);
    const agentId = text(d, agentField) || track?.agentId || '';
    count(scopeOf(s, track, text(d, 'sessionId'), agentId ? agentOf(s, agentId) : undefined), field);
    if (track) endAttempt(s, taskId, track, at);
    return true;
  });
}

/** A task that will not run again: dead-lettered or cancelled. */
function taskEnd(field: 'deadLettered' | 'cancelled'): Handler {
  return timed(['at'], (s, d, at) => {
    const taskId = text(d, 'taskId');
    if (taskId === '') return false;
    const track = s.tasks.get(taskId);
    const agentId =
      field === 'cancelled' ? text(d, 'agentId') || track?.agentId || '' : (track?.lastAgentId ?? '');
    count(scopeOf(s, track, text(d, 'sessionId'), agentId ? agentOf(s, agentId) : undefined), field);
    if (field === 'deadLettered') {
      const m = minuteBucket(s, at);
      if (m) m.deadLettered++;
    }
    if (track) dropTask(s, taskId, track, at);
    return true;
  });
}

/** A count for the task's type and session only. */
function taskCount(field: CountField, timeField: string): Handler {
  return timed(timeField === '' ? [] : [timeField], (s, d) => {
    const taskId = text(d, 'taskId');
    if (taskId === '') return false;
    count(scopeOf(s, s.tasks.get(taskId), text(d, 'sessionId'), undefined), field);
    return true;
  });
}

const taskSpecReplaced = timed(['at'], (s, d) => {
  const track = s.tasks.get(text(d, 'taskId'));
  if (!track) return true;
  const spec = asData(d['spec']);
  track.type = text(spec, 'type') || track.type;
  track.claims = poolClaimsOf(spec['claims']);
  return true;
});

const taskWaiting = timed(['at'], (s, d, at) => {
  const track = s.tasks.get(text(d, 'taskId'));
  const stated = text(d, 'waitingFor');
  const kind: WaitKind = stated === 'lock' || stated === 'budget' ? stated : 'resources';
  if (track) startBlock(track, kind, '', at);
  return true;
});

const taskResumed = timed(['at'], (s, d, at) => {
  const taskId = text(d, 'taskId');
  const track = s.tasks.get(taskId);
  if (track) closeBlock(s, taskId, track, at);
  return true;
});

function workflowEnd(status: SessionStatus, timeField: string): Handler {
  return timed([timeField], (s, d, at) => {
    const sessionId = text(d, 'sessionId');
    if (sessionId === '') return false;
    closeSession(s, sessionId, status, at);
    return true;
  });
}

const workflowSubmitted = timed(['submittedAt'], (s, d, at) => {
  const session = sessionOf(s, text(d, 'sessionId'), true);
  if (!session) return false;
  session.pattern = text(d, 'pattern') || session.pattern;
  session.goal ||= text(d, 'goal');
  if (session.startedAt < 0) session.startedAt = at;
  return true;
});

// ---------------------------------------------------------------- coordination events

function agentChange(timeField: string, change: (a: AgentInfo, d: Data, at: number) => void): Handler {
  return timed([timeField], (s, d, at) => {
    const agentId = text(d, 'agentId');
    if (agentId === '') return false;
    changeAgent(s, agentOf(s, agentId), at, (a) => change(a, d, at));
    return true;
  });
}

const agentRegistered = agentChange('registeredAt', (a, d) => {
  a.name = text(d, 'name');
  a.provider = text(d, 'provider') || UNKNOWN_PROVIDER;
  a.model = text(d, 'model');
  a.maxConcurrency = amount(d, 'maxConcurrency');
  a.registered = true;
  a.deregistered = false;
});

const sessionStarted = timed(['startedAt'], (s, d, at) => {
  const session = sessionOf(s, text(d, 'sessionId'), true);
  if (!session) return false;
  session.goal = text(d, 'goal') || session.goal;
  session.pattern ||= text(d, 'pattern');
  if (session.startedAt < 0) session.startedAt = at;
  return true;
});

const sessionClosed = timed(['closedAt'], (s, d, at) => {
  const sessionId = text(d, 'sessionId');
  if (sessionId === '') return false;
  const status = text(d, 'status');
  closeSession(s, sessionId, status === 'failed' || status === 'cancelled' ? status : 'completed', at);
  return true;
});

/** Events the projection knows and needs nothing from but their time. */
const timeOnly = (fields: readonly string[]): Handler => timed(fields, () => true);

// ---------------------------------------------------------------- resources events

const resourceEvent: Handler = (s, _d, e) => {
  const fact = resourceFactOf(e);
  if (!fact || Number.isNaN(fact.at)) return false;
  tick(s, fact.at);
  applyResourceFact(s, fact);
  return true;
};

function applyResourceFact(s: AnalyticsState, f: ResourceFact): void {
  const retention = s.options.minuteRetention;
  switch (f.kind) {
    case 'pool': {
      const pool = poolOf(s, f.pool);
      pool.defined = true;
      if (f.poolKind !== undefined) pool.kind = f.poolKind;
      if (f.capacity !== undefined) pool.capacity = f.capacity;
      if (f.unit !== undefined) pool.unit = f.unit;
      if (f.windowMs !== undefined) pool.windowMs = f.windowMs;
      return;
    }
    case 'allocated': {
      const track = s.tasks.get(f.taskId);
      if (track) closeBlock(s, f.taskId, track, f.at);
      const held = s.holdings.get(f.taskId) ?? [];
      for (const item of f.items) {
        demand(s, track, item, f.at);
        const pool = poolOf(s, item.pool);
        pool.waiting.delete(f.taskId);
        const before = pool.holders.get(f.taskId) ?? 0;
        pool.holders.set(f.taskId, item.amount);
        pool.allocated = Math.max(0, pool.allocated + item.amount - before);
        pool.gauge.set(pool.allocated, f.at, retention);
        pool.allocations++;
        if (minuteOf(f.at) > minuteOf(s.clock) - retention) {
          const b = pool.minute(minuteOf(f.at));
          b.allocations++;
          b.allocatedAmount += item.amount;
        }
        if (!held.includes(item.pool)) held.push(item.pool);
      }
      if (held.length > 0) s.holdings.set(f.taskId, held);
      return;
    }
    case 'blocked': {
      const track = s.tasks.get(f.taskId);
      if (track) startBlock(track, f.waitingFor, f.on, f.at);
      const items =
        f.items.length > 0 || f.waitingFor === 'lock' || f.on === '' ? f.items : [{ pool: f.on, amount: 1 }];
      for (const item of items) {
        demand(s, track, item, f.at);
        const pool = poolOf(s, item.pool);
        pool.waiting.set(f.taskId, item.amount);
        pool.blocked++;
        if (minuteOf(f.at) > minuteOf(s.clock) - retention) pool.minute(minuteOf(f.at)).blocked++;
        if (track && !track.waitingPools.includes(item.pool))
          track.waitingPools = [...track.waitingPools, item.pool];
      }
      if (f.waitingFor === 'lock' && f.on !== '') {
        const lock = lockOf(s, f.on);
        lock.blocked++;
        lock.waiting.add(f.taskId);
        if (track) track.waitingLock = f.on;
      }
      return;
    }
    case 'released': {
      const held = s.holdings.get(f.taskId);
      if (!held) return;
      const items = f.items ?? held.map((pool) => ({ pool, amount: Infinity }));
      for (const item of items) {
        const pool = s.pools.get(item.pool);
        const before = pool?.holders.get(f.taskId);
        if (!pool || before === undefined) continue;
        const released = Math.min(before, item.amount);
        if (released >= before) pool.holders.delete(f.taskId);
        else pool.holders.set(f.taskId, before - released);
        pool.allocated = Math.max(0, pool.allocated - released);
        pool.gauge.set(pool.allocated, f.at, retention);
        pool.released++;
      }
      const still = held.filter((p) => s.pools.get(p)?.holders.has(f.taskId));
      if (still.length > 0) s.holdings.set(f.taskId, still);
      else s.holdings.delete(f.taskId);
      return;
    }
    case 'reconciled':
      if (f.pool !== '') poolOf(s, f.pool).reconciledDelta += f.delta;
      return;
  }
}

// ---------------------------------------------------------------- the handler table

const HANDLERS = new Map<string, Handler>([
  ['WorkflowSubmitted', workflowSubmitted],
  ['TaskSubmitted', taskSubmitted],
  ['TaskReady', taskReady],
  ['TaskAssigned', taskAssigned],
  ['TaskStarted', taskStarted],
  ['TaskProgressed', timeOnly(['at'])],
  ['TaskSucceeded', outcome('succeeded', 'completedAt')],
  ['TaskFailed', outcome('failed', 'failedAt')],
  ['TaskTimedOut', outcome('timedOut', 'timedOutAt')],
  ['TaskAssignmentLost', attemptEnd('lost', 'agentId')],
  ['TaskHandedOff', attemptEnd('handedOff', 'fromAgentId')],
  ['TaskPreempted', attemptEnd('preempted', 'agentId')],
  // Its notBefore is in the future: the time it was recorded is when it was appended.
  ['TaskRetryScheduled', taskCount('retries', '')],
  ['TaskReopened', taskCount('reopened', 'at')],
  ['TaskDeadLettered', taskEnd('deadLettered')],
  ['TaskCancelled', taskEnd('cancelled')],
  ['TaskSpecReplaced', taskSpecReplaced],
  ['TaskWaiting', taskWaiting],
  ['TaskResumed', taskResumed],
  ['WorkflowCompleted', workflowEnd('completed', 'completedAt')],
  ['WorkflowFailed', workflowEnd('failed', 'failedAt')],
  ['WorkflowCancelled', workflowEnd('cancelled', 'cancelledAt')],
  ['AgentRegistered', agentRegistered],
  [
    'AgentDeregistered',
    agentChange('deregisteredAt', (a) => {
      a.deregistered = true;
    }),
  ],
  [
    'AgentDraining',
    agentChange('at', (a) => {
      a.draining = true;
    }),
  ],
  [
    'AgentBecameUnhealthy',
    agentChange('at', (a, _d, at) => {
      if (a.health === 'healthy') a.unhealthySince = at;
      a.health = 'unhealthy';
    }),
  ],
  [
    'AgentRecovered',
    agentChange('at', (a, _d, at) => {
      a.health = 'healthy';
      a.recoveredAt = at;
    }),
  ],
  ['AgentTaskAssigned', timeOnly(['assignedAt'])],
  ['AgentTaskReleased', timeOnly(['releasedAt'])],
  ['SessionStarted', sessionStarted],
  ['SessionCancelled', workflowEnd('cancelled', 'cancelledAt')],
  ['SessionClosed', sessionClosed],
  ['SessionMessagePosted', timeOnly(['postedAt'])],
  ['SessionContextUpdated', timeOnly(['updatedAt'])],
  ['PoolDefined', resourceEvent],
  ['PoolUpdated', resourceEvent],
  ['ResourcesAllocated', resourceEvent],
  ['AllocationBlocked', resourceEvent],
  ['ResourcesReleased', resourceEvent],
  ['UsageReconciled', resourceEvent],
]);

/** Every event type the projection reads. */
export const analyticsEventTypes: readonly string[] = [...HANDLERS.keys()];

/**
 * Event types of the workflow, agent and session contracts that the projection has no handler for.
 * Empty while the projection keeps up with those contracts (a unit test checks it).
 */
export const unreadContractTypes = (): string[] =>
  [...workflowEventTypes, ...agentEventTypes, ...sessionEventTypes].filter(
    (t) => !HANDLERS.has(t) && !isResourceEventType(t),
  );
