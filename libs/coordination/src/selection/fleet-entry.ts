import type { AgentProfile, AgentState } from '../agents/agent.decider';
import { statusOf, type AgentStatus } from '../agents/agent.status';
import type { TaskSlot } from '../agents/task-slots';
import { CircuitBreaker, type BreakerOptions } from './circuit-breaker';
import { NO_STATS, type AgentStats, type Scorable } from './scoring';

/** An agent as the index knows it. */
export interface FleetAgent {
  readonly agentId: string;
  readonly profile: AgentProfile;
  readonly status: AgentStatus;
  /** The attempts of tasks it holds, one slot each (none once deregistered). */
  readonly slots: readonly TaskSlot[];
  /** Version of the agent's stream the index is at. */
  readonly version: number;
  readonly stats: AgentStats;
  /** The last heartbeat this process heard of; undefined before the first. */
  readonly lastHeartbeatAt: Date | undefined;
}

export type KnownAgentState = Exclude<AgentState, { status: 'unregistered' }>;

const NONE: readonly TaskSlot[] = [];

/**
 * One agent in the fleet index: its state at a stream version, what it has done, its breaker.
 * A class with getters so that selection scores it in place, without an object per agent.
 */
export class FleetEntry implements Scorable {
  version = 0;
  stats: AgentStats = NO_STATS;
  lastHeartbeatAt: Date | undefined;
  readonly capabilities: ReadonlySet<string>;
  readonly breaker: CircuitBreaker;
  /** When each slot was taken (ms since epoch, by slotKey), to measure latency. */
  readonly assignedAt = new Map<string, number>();
  /**
   * Slots this process is taking right now (appends in flight). Selection counts them as held, so
   * concurrent assignments spread over agents instead of all queueing on the best one, to be
   * refused one after another once its stream says it is full.
   */
  reserving = 0;

  constructor(
    public state: KnownAgentState,
    breakerOptions: BreakerOptions,
  ) {
    this.capabilities = new Set(state.profile.capabilities.map((c) => c.name));
    this.breaker = new CircuitBreaker(breakerOptions);
  }

  get agentId(): string {
    return this.state.profile.agentId;
  }

  get profile(): AgentProfile {
    return this.state.profile;
  }

  /** Slots held (none once deregistered). */
  get slots(): readonly TaskSlot[] {
    return this.state.status === 'registered' ? this.state.slots : NONE;
  }

  /** Slots held, plus slots being taken by this process (what selection must count). */
  get activeTasks(): number {
    return this.slots.length + this.reserving;
  }

  /** Registered, healthy and not draining: it may be given work. */
  get available(): boolean {
    const s = this.state;
    return s.status === 'registered' && s.health === 'healthy' && !s.draining;
  }

  get hasFreeSlot(): boolean {
    return this.activeTasks < this.profile.maxConcurrency;
  }

  get status(): AgentStatus {
    const s = this.state;
    if (s.status !== 'registered') return 'offline';
    return statusOf({
      offline: false,
      health: s.health,
      draining: s.draining,
      activeTasks: s.slots.length,
    });
  }

  view(): FleetAgent {
    return {
      agentId: this.agentId,
      profile: this.profile,
      status: this.status,
      slots: this.slots,
      version: this.version,
      stats: this.stats,
      lastHeartbeatAt: this.lastHeartbeatAt,
    };
  }
}
