/** Builders for allocator specs: commands with defaults, and a run that decides and folds as it goes. */
import { spec as deciderSpec, type Decider } from '@orch/domain-kit';
import type { AgentRef, ClaimInput } from '../claims';
import type { PoolSpecInput } from '../pools/pool-spec';
import type { Allocate, AllocatorCommand, DefinePool, Release, Reserve, Tick } from './allocator.commands';
import { allocatorDecider } from './allocator.decider';
import type { AllocatorEvent } from './allocator.events';
import type { AllocatorState } from './allocator.state';
import type { AllocatorOptions } from './decision';

export const T0 = new Date('2026-11-21T10:00:00.000Z');
/** `T0` plus `ms`. */
export const t = (ms: number): Date => new Date(T0.getTime() + ms);
/** RFC 3339 of `t(ms)`, as events carry it. */
export const ts = (ms: number): string => {
  const iso = t(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
};

export const decider = allocatorDecider();
export const given = deciderSpec(decider).given;

export const definePool = (
  poolId: string,
  kind: PoolSpecInput['kind'],
  capacity: number,
  more: Partial<Omit<DefinePool, 'type' | 'poolId' | 'kind' | 'capacity'>> = {},
): DefinePool => ({ type: 'DefinePool', poolId, kind, capacity, at: T0, ...more });

export const pool = (poolId: string, amount: number, reservation?: string): ClaimInput =>
  reservation === undefined ? { pool: poolId, amount } : { pool: poolId, amount, reservation };
export const lock = (name: string, mode: 'exclusive' | 'shared' = 'exclusive'): ClaimInput => ({
  lock: name,
  mode,
});

export const allocate = (
  taskId: string,
  claims: readonly ClaimInput[],
  more: Partial<Omit<Allocate, 'type' | 'taskId' | 'claims'>> = {},
): Allocate => ({
  type: 'Allocate',
  taskId,
  attempt: 1,
  sessionId: 's1',
  priority: 0,
  claims,
  incremental: false,
  at: T0,
  ...more,
});

export const release = (taskId: string, more: Partial<Omit<Release, 'type' | 'taskId'>> = {}): Release => ({
  type: 'Release',
  taskId,
  attempt: 1,
  reason: 'TaskSucceeded',
  at: T0,
  ...more,
});

export const tick = (ms: number): Tick => ({ type: 'Tick', at: t(ms) });

export const reserve = (
  reservationId: string,
  poolId: string,
  amount: number,
  fromMs: number,
  toMs: number,
  taskId = '',
  more: Partial<Reserve> = {},
): Reserve => ({
  type: 'Reserve',
  reservationId,
  poolId,
  amount,
  from: t(fromMs),
  to: t(toMs),
  taskId,
  at: T0,
  ...more,
});

export const agent = (provider: string, labels: Record<string, string> = {}): AgentRef => ({
  agentId: `${provider}-agent`,
  provider,
  labels,
});

/** Decides commands one after the other on the state the previous ones left, keeping every event. */
export class AllocatorRun {
  readonly decider: Decider<AllocatorCommand, AllocatorEvent, AllocatorState>;
  readonly events: AllocatorEvent[] = [];
  state: AllocatorState;

  constructor(options: Partial<AllocatorOptions> = {}) {
    this.decider = allocatorDecider(options);
    this.state = this.decider.initialState();
  }

  /** The events `command` produced (they are also folded into the state). */
  run(command: AllocatorCommand): AllocatorEvent[] {
    const events = [...this.decider.decide(command, this.state)];
    for (const e of events) this.state = this.decider.evolve(this.state, e);
    this.events.push(...events);
    return events;
  }

  all(...commands: AllocatorCommand[]): AllocatorEvent[] {
    return commands.flatMap((c) => this.run(c));
  }
}

/** The events a sequence of commands produces, as history for `given`. */
export function history(...commands: AllocatorCommand[]): AllocatorEvent[] {
  const run = new AllocatorRun();
  run.all(...commands);
  return run.events;
}

export const types = (events: readonly AllocatorEvent[]): string[] => events.map((e) => e.type);

export type DataOf<T extends AllocatorEvent['type']> = Extract<AllocatorEvent, { type: T }>['data'];

/** The event of `type` among `events` (the first), failing the test when there is none. */
export function only<T extends AllocatorEvent['type']>(
  events: readonly AllocatorEvent[],
  type: T,
): DataOf<T> {
  const e = events.find((x) => x.type === type);
  if (!e) throw new Error(`no ${type} among ${types(events).join(', ')}`);
  return e.data as unknown as DataOf<T>;
}

export const all = <T extends AllocatorEvent['type']>(
  events: readonly AllocatorEvent[],
  type: T,
): DataOf<T>[] => events.filter((x) => x.type === type).map((x) => x.data as unknown as DataOf<T>);

/** Task ids granted by `events`, in order. */
export const grantedTasks = (events: readonly AllocatorEvent[]): string[] =>
  all(events, 'ResourcesAllocated').map((d) => d.taskId);
