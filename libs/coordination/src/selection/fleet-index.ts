import type { AgentState } from '../agents/agent.decider';
import type { SelectionCandidateData, SelectionData } from '../agents/agent.events';
import type { AgentStatus } from '../agents/agent.status';
import { slotKey, type TaskSlot } from '../agents/task-slots';
import { bestCatalogueEntry, routingFor } from '../catalogue/catalogue';
import {
  CircuitBreaker,
  DEFAULT_BREAKER_OPTIONS,
  type BreakerOptions,
  type CircuitState,
} from './circuit-breaker';
import { FleetEntry, type FleetAgent } from './fleet-entry';
import {
  capabilityScore,
  loadScore,
  reasonsOf,
  roundScore,
  scoreOf,
  withOutcome,
  type Outcome,
  type ScoredStrategy,
} from './scoring';
import { MAX_CANDIDATES, strategyOf, type SelectionRequest } from './selection';

export type { FleetAgent } from './fleet-entry';

/** An agent holding an attempt of a task. */
export interface SlotHolder {
  readonly agentId: string;
  /** 0 for a slot taken without an attempt (task-slots.ts). */
  readonly attempt: number;
}

interface Scored {
  readonly entry: FleetEntry;
  readonly score: number;
}

/** Why agents that matched were still left out, for the selection's notes. */
interface Skipped {
  agentCircuit: number;
  agentTrial: number;
  /** Providers whose circuit stopped agents: open, or half-open with its trial out. */
  providers: Map<string, 'open' | 'trial'>;
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * Every agent of the fleet in memory, for selection in microseconds: profile, status, held slots,
 * stream version, observed results and circuit breakers. Pure: it is fed agent states (with their
 * stream versions) and outcomes, and time is passed in.
 *
 * An inverted index (capability -> agents) keeps selection from scanning the whole fleet: it walks
 * the smallest candidate set (a capability's agents, the pool or the pinned agent) and filters.
 */
export class FleetIndex {
  private readonly entries = new Map<string, FleetEntry>();
  /** Registered (not deregistered) agents. */
  private readonly live = new Set<string>();
  private readonly byCapability = new Map<string, Set<string>>();
  /** Who holds which attempt of each task; usually one holder, two while a late release is pending. */
  private readonly holders = new Map<string, SlotHolder[]>();
  private readonly providerBreakers = new Map<string, CircuitBreaker>();
  /** The agent round-robin chose last; the rotation continues after it. */
  private rotation: string | undefined;

  constructor(private readonly breakerOptions: BreakerOptions = DEFAULT_BREAKER_OPTIONS) {}

  // ---------------------------------------------------------------- feeding

  /**
   * Takes the agent's state at `version` of its stream, seen at `at`. Older or equal versions are
   * ignored, so feeding the same state from the global log and from an own write is harmless.
   * Returns whether the index changed.
   */
  upsert(state: AgentState, version: number, at: Date): boolean {
    if (state.status === 'unregistered') return false;
    const current = this.entries.get(state.profile.agentId);
    if (current && version <= current.version) return false;
    const entry = current ?? this.newEntry(state);
    const before = current?.slots ?? [];
    const after = state.status === 'registered' ? state.slots : [];
    const keys = (slots: readonly TaskSlot[]) => new Set(slots.map((s) => slotKey(s.taskId, s.attempt)));
    const [beforeKeys, afterKeys] = [keys(before), keys(after)];
    for (const slot of before)
      if (!afterKeys.has(slotKey(slot.taskId, slot.attempt))) this.slotEnded(entry, slot);
    for (const slot of after)
      if (!beforeKeys.has(slotKey(slot.taskId, slot.attempt))) this.slotTaken(entry, slot, at);
    entry.state = state;
    entry.version = version;
    if (state.status === 'registered') this.index(entry);
    else this.unindex(entry);
    return true;
  }

  /** Feeds one result of an agent's work to its statistics and to its and its provider's breakers. */
  recordOutcome(agentId: string, outcome: Outcome, at: Date): void {
    const entry = this.entries.get(agentId);
    if (!entry) return;
    entry.stats = withOutcome(entry.stats, outcome);
    entry.breaker.record(outcome.ok, at);
    this.providerBreaker(entry.profile.provider).record(outcome.ok, at);
  }

  /** Remembers that the agent was heard from. Unknown agents are ignored. */
  noteHeartbeat(agentId: string, at: Date): void {
    const entry = this.entries.get(agentId);
    if (entry && (!entry.lastHeartbeatAt || entry.lastHeartbeatAt < at)) entry.lastHeartbeatAt = at;
  }

  /**
   * Counts a slot of `agentId` as taken while this process appends the assignment, so concurrent
   * selections see it; call the returned function once the append settled (either way).
   */
  reserveSlot(agentId: string): () => void {
    const entry = this.entries.get(agentId);
    if (!entry) return () => undefined;
    entry.reserving++;
    let released = false;
    return () => {
      if (!released) entry.reserving--;
      released = true;
    };
  }

  // ---------------------------------------------------------------- queries

  get(agentId: string): FleetAgent | undefined {
    return this.entries.get(agentId)?.view();
  }

  /**
   * The agent holding `attempt` of `taskId`, if any. Attempt 0 (a caller that does not say) asks
   * for a holder of any attempt of the task, the latest taken first.
   */
  holderOf(taskId: string, attempt: number): string | undefined {
    const holders = this.holders.get(taskId) ?? [];
    for (let i = holders.length - 1; i >= 0; i--) {
      const h = holders[i]!;
      if (attempt === 0 || h.attempt === attempt) return h.agentId;
    }
    return undefined;
  }

  /** Every slot held for `taskId`: which agent holds which attempt, in the order they were taken. */
  holdersOf(taskId: string): readonly SlotHolder[] {
    return this.holders.get(taskId) ?? [];
  }

  /** When `agentId` took its slot for `attempt` of `taskId` (undefined when it holds none). */
  assignedAt(agentId: string, taskId: string, attempt: number): Date | undefined {
    const ms = this.entries.get(agentId)?.assignedAt.get(slotKey(taskId, attempt));
    return ms === undefined ? undefined : new Date(ms);
  }

  /** Whether some registered agent offers `capability`. */
  offers(capability: string): boolean {
    return (this.byCapability.get(capability)?.size ?? 0) > 0;
  }

  /** Whether `agentId` is registered (and not deregistered). */
  isRegistered(agentId: string): boolean {
    return this.live.has(agentId);
  }

  /** The worse of the agent's own circuit and its provider's. */
  circuit(agentId: string, now: Date): CircuitState {
    const entry = this.entries.get(agentId);
    if (!entry) return 'closed';
    const states = [entry.breaker.state(now), this.providerBreaker(entry.profile.provider).state(now)];
    return states.includes('open') ? 'open' : states.includes('half_open') ? 'half_open' : 'closed';
  }

  countByStatus(): Record<AgentStatus, number> {
    const counts: Record<AgentStatus, number> = { idle: 0, busy: 0, unhealthy: 0, draining: 0, offline: 0 };
    for (const entry of this.entries.values()) counts[entry.status]++;
    return counts;
  }

  /**
   * Healthy agents not heard from for `timeoutMs` at `now`. An agent never heard from counts from
   * its registration or from `since` (when this process started listening), whichever is later.
   */
  overdue(
    now: Date,
    timeoutMs: number,
    since: Date,
  ): { agentId: string; lastHeartbeatAt: Date | undefined }[] {
    const late: { agentId: string; lastHeartbeatAt: Date | undefined }[] = [];
    for (const agentId of this.live) {
      const entry = this.entries.get(agentId)!;
      if (entry.status === 'unhealthy') continue;
      const registeredAt = Date.parse(entry.profile.registeredAt);
      const lastSeen = entry.lastHeartbeatAt?.getTime() ?? Math.max(registeredAt, since.getTime());
      if (now.getTime() - lastSeen >= timeoutMs)
        late.push({ agentId, lastHeartbeatAt: entry.lastHeartbeatAt });
    }
    return late;
  }

  /**
   * Agents that could ever take work with `capabilities`: registered, healthy, not draining, with
   * every capability, in the pool when one is given. Free slots and circuits are not required (a
   * role is given for a whole session). Most proficient first, then least loaded.
   */
  candidatesFor(
    capabilities: readonly string[],
    options: { pool?: readonly string[]; exclude?: readonly string[]; limit?: number } = {},
  ): FleetAgent[] {
    const pool = options.pool?.length ? new Set(options.pool) : undefined;
    const exclude = new Set(options.exclude ?? []);
    const found: { entry: FleetEntry; fit: number; load: number }[] = [];
    for (const agentId of this.sourceOf(capabilities, pool)) {
      const entry = this.matching(agentId, capabilities, pool, exclude);
      if (entry) found.push({ entry, fit: capabilityScore(entry, capabilities), load: loadScore(entry) });
    }
    found.sort((a, b) => b.fit - a.fit || b.load - a.load || compareIds(a.entry.agentId, b.entry.agentId));
    return found.slice(0, options.limit ?? found.length).map((f) => f.entry.view());
  }

  // ---------------------------------------------------------------- selection

  /**
   * Ranks the agents that could take work now and names the best. Eligible: registered, healthy,
   * not draining, a free slot, every capability, in the pool, not excluded, the pinned agent when
   * one is given, and neither its circuit nor its provider's open. Agents of the preferred provider
   * come first; the others remain as failover. Round-robin moves its rotation on with every call.
   */
  select(request: SelectionRequest, now: Date): SelectionData {
    const strategy = strategyOf(request.strategy);
    const skipped: Skipped = { agentCircuit: 0, agentTrial: 0, providers: new Map() };
    const eligible = this.eligible(request, now, skipped);
    const notes = skippedNotes(skipped);
    const failover = request.provider && failoverNote(request.provider, eligible, skipped);
    if (failover) notes.push(failover);
    const preferred = (e: FleetEntry): number =>
      request.provider && e.profile.provider === request.provider ? 0 : 1;
    let candidates: SelectionCandidateData[];
    if (strategy === 'round_robin') candidates = this.rotate(eligible, preferred);
    else {
      const weights = request.weights ?? routingFor(request.capabilities).weights;
      if (strategy === 'weighted' && !request.weights) notes.push(weightsNote(request.capabilities));
      const scored = eligible.map((entry) => ({
        entry,
        score: scoreOf(strategy, entry, request.capabilities, weights),
      }));
      candidates = topK(scored, MAX_CANDIDATES, byPreference(preferred)).map((s) =>
        candidate(s, strategy, request),
      );
    }
    if (eligible.length === 0) notes.push(noneEligibleNote(request));
    return { strategy, agentId: candidates[0]?.agentId ?? '', candidates, eligible: eligible.length, notes };
  }

  private eligible(request: SelectionRequest, now: Date, skipped: Skipped): FleetEntry[] {
    const pool = request.agentIds?.length ? new Set(request.agentIds) : undefined;
    const exclude = new Set(request.excludeAgentIds ?? []);
    const source = request.pinnedAgentId
      ? [request.pinnedAgentId]
      : this.sourceOf(request.capabilities, pool);
    const found: FleetEntry[] = [];
    for (const agentId of source) {
      const entry = this.matching(agentId, request.capabilities, pool, exclude);
      if (entry?.hasFreeSlot && this.admits(entry, now, skipped)) found.push(entry);
    }
    return found;
  }

  /**
   * The agent when it could ever take such work: registered, healthy, not draining, with every
   * capability, in the pool (when one is given) and not excluded.
   */
  private matching(
    agentId: string,
    capabilities: readonly string[],
    pool: ReadonlySet<string> | undefined,
    exclude: ReadonlySet<string>,
  ): FleetEntry | undefined {
    const entry = this.entries.get(agentId);
    if (!entry?.available || (pool && !pool.has(agentId)) || exclude.has(agentId)) return undefined;
    return capabilities.every((c) => entry.capabilities.has(c)) ? entry : undefined;
  }

  /** Whether the agent's and its provider's circuits let work through, counting what they stop. */
  private admits(entry: FleetEntry, now: Date, skipped: Skipped): boolean {
    const provider = entry.profile.provider;
    const providerBreaker = this.providerBreaker(provider);
    if (!providerBreaker.admits(now)) {
      skipped.providers.set(provider, providerBreaker.awaitingTrial(now) ? 'trial' : 'open');
      return false;
    }
    if (entry.breaker.admits(now)) return true;
    if (entry.breaker.awaitingTrial(now)) skipped.agentTrial++;
    else skipped.agentCircuit++;
    return false;
  }

  /**
   * Round-robin: the eligible agents in id order, starting after the one chosen last (preferred
   * provider first). Only the first few are ordered, without sorting the fleet.
   */
  private rotate(
    eligible: readonly FleetEntry[],
    preferred: (e: FleetEntry) => number,
  ): SelectionCandidateData[] {
    const last = this.rotation;
    const lap = (e: FleetEntry): number => (last !== undefined && e.agentId <= last ? 1 : 0);
    const order = (a: FleetEntry, b: FleetEntry): number =>
      preferred(a) - preferred(b) || lap(a) - lap(b) || compareIds(a.agentId, b.agentId);
    const n = eligible.length;
    const ranked = topK(eligible, MAX_CANDIDATES, order).map((e, i) => ({
      agentId: e.agentId,
      score: roundScore(1 - i / n),
      reasons: [`position ${i + 1} of ${n} in the rotation`],
    }));
    if (ranked[0]) this.rotation = ranked[0].agentId;
    return ranked;
  }

  // ---------------------------------------------------------------- internals

  /** The smallest set of agent ids that can hold every match. */
  private sourceOf(capabilities: readonly string[], pool: ReadonlySet<string> | undefined): Iterable<string> {
    let smallest: ReadonlySet<string> = this.live;
    for (const c of capabilities) {
      const agents = this.byCapability.get(c) ?? EMPTY;
      if (agents.size < smallest.size) smallest = agents;
    }
    return pool && pool.size < smallest.size ? pool : smallest;
  }

  private newEntry(state: Exclude<AgentState, { status: 'unregistered' }>): FleetEntry {
    const entry = new FleetEntry(state, this.breakerOptions);
    this.entries.set(entry.agentId, entry);
    return entry;
  }

  private index(entry: FleetEntry): void {
    if (this.live.has(entry.agentId)) return;
    this.live.add(entry.agentId);
    for (const c of entry.capabilities) {
      let agents = this.byCapability.get(c);
      if (!agents) this.byCapability.set(c, (agents = new Set()));
      agents.add(entry.agentId);
    }
  }

  private unindex(entry: FleetEntry): void {
    this.live.delete(entry.agentId);
    for (const c of entry.capabilities) {
      const agents = this.byCapability.get(c);
      agents?.delete(entry.agentId);
      if (agents?.size === 0) this.byCapability.delete(c);
    }
  }

  private slotTaken(entry: FleetEntry, { taskId, attempt }: TaskSlot, at: Date): void {
    const key = slotKey(taskId, attempt);
    const holders = this.holders.get(taskId) ?? [];
    this.holders.set(taskId, [...holders, { agentId: entry.agentId, attempt }]);
    entry.assignedAt.set(key, at.getTime());
    entry.breaker.taskStarted(key, at);
    this.providerBreaker(entry.profile.provider).taskStarted(key, at);
  }

  private slotEnded(entry: FleetEntry, { taskId, attempt }: TaskSlot): void {
    const key = slotKey(taskId, attempt);
    const rest = (this.holders.get(taskId) ?? []).filter(
      (h) => h.agentId !== entry.agentId || h.attempt !== attempt,
    );
    if (rest.length > 0) this.holders.set(taskId, rest);
    else this.holders.delete(taskId);
    entry.assignedAt.delete(key);
    entry.breaker.taskEnded(key);
    this.providerBreaker(entry.profile.provider).taskEnded(key);
  }

  private providerBreaker(provider: string): CircuitBreaker {
    let breaker = this.providerBreakers.get(provider);
    if (!breaker) this.providerBreakers.set(provider, (breaker = new CircuitBreaker(this.breakerOptions)));
    return breaker;
  }
}

// ---------------------------------------------------------------- helpers

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Preferred provider first, then higher score, then fewer held tasks, then id (a stable order). */
const byPreference =
  (preferred: (e: FleetEntry) => number) =>
  (a: Scored, b: Scored): number =>
    preferred(a.entry) - preferred(b.entry) ||
    b.score - a.score ||
    a.entry.activeTasks - b.entry.activeTasks ||
    compareIds(a.entry.agentId, b.entry.agentId);

/** A reported candidate; its reasons (strings) are written only for the few reported. */
const candidate = (
  s: Scored,
  strategy: ScoredStrategy,
  request: SelectionRequest,
): SelectionCandidateData => ({
  agentId: s.entry.agentId,
  score: s.score,
  reasons: reasonsOf(strategy, s.entry, request.capabilities),
});

/** The `k` first items in `compare` order, without sorting them all (k is small, the fleet is not). */
function topK<T>(items: readonly T[], k: number, compare: (a: T, b: T) => number): T[] {
  const top: T[] = [];
  for (const item of items) {
    if (top.length === k && compare(item, top[k - 1]!) >= 0) continue;
    let i = top.length;
    while (i > 0 && compare(item, top[i - 1]!) < 0) i--;
    top.splice(i, 0, item);
    if (top.length > k) top.pop();
  }
  return top;
}

function skippedNotes(s: Skipped): string[] {
  const notes: string[] = [];
  if (s.agentCircuit > 0) notes.push(`${s.agentCircuit} agent(s) skipped: circuit open`);
  if (s.agentTrial > 0) notes.push(`${s.agentTrial} agent(s) skipped: half-open circuit awaiting its trial`);
  for (const [p, why] of s.providers) {
    notes.push(
      `provider ${p} skipped: ${why === 'open' ? 'circuit open' : 'half-open circuit awaiting its trial'}`,
    );
  }
  return notes;
}

/** Why agents of other providers are used, when none of the preferred provider is eligible. */
function failoverNote(
  provider: string,
  eligible: readonly FleetEntry[],
  skipped: Skipped,
): string | undefined {
  if (eligible.length === 0 || eligible.some((e) => e.profile.provider === provider)) return undefined;
  const circuit = skipped.providers.get(provider);
  if (circuit === undefined) return `no eligible agent of provider ${provider}: using other providers`;
  return `provider ${provider} circuit ${circuit === 'open' ? 'open' : 'half-open'}: failing over to other providers`;
}

function weightsNote(capabilities: readonly string[]): string {
  const entry = bestCatalogueEntry(capabilities);
  return entry
    ? `weights: ${entry.type} routing (${entry.routing.emphasis} emphasis)`
    : 'weights: default routing (balanced emphasis)';
}

function noneEligibleNote(request: SelectionRequest): string {
  const what = request.capabilities.length > 0 ? ` with ${request.capabilities.join(', ')}` : '';
  const pinned = request.pinnedAgentId ? ` (pinned to ${request.pinnedAgentId})` : '';
  return `no healthy agent${what} has a free slot${pinned}`;
}
