import { locksOverlap, type ConflictPolicy } from '@orch/conflicts';
import { isDomainError } from '@orch/domain-kit';
import fc from 'fast-check';
import type { ClaimInput } from '../claims';
import { fitsWithin, isActive, tokensAt } from '../pools/accounting';
import type { AllocatorCommand } from './allocator.commands';
import { allocatorDecider, decideAllocator } from './allocator.decider';
import type { AllocatorEvent } from './allocator.events';
import type { AllocatorState } from './allocator.state';
import { T0, definePool } from './allocator.fixtures';
import { auditAllocator, findDeadlock } from './queries';

/**
 * Random interleavings of define / allocate / incremental allocate / release / preempt (the release of
 * a task asked to give way) / reserve / tick / update / usage / operator resolutions / lock policies,
 * on a random clock, checked after every step against the invariants the allocator promises.
 */

const OPTIONS = { agingStepMs: 5_000, retryAfterMs: 1_000 };
const decider = allocatorDecider(OPTIONS);
const TASKS = 8;
const POLICIES: ConflictPolicy[] = ['queue', 'preempt', 'wait-die', 'wound-wait', 'manual'];

const CLAIMS: readonly ClaimInput[] = [
  { pool: 'c', amount: 1 },
  { pool: 'c', amount: 2 },
  { pool: 'q', amount: 1 },
  { pool: 'q', amount: 3 },
  { pool: 'r', amount: 1 },
  { pool: 'b', amount: 2 },
  { pool: 'b', amount: 4 },
  { pool: 'q', amount: 2, reservation: 'open' },
  { lock: 'repo:a', mode: 'exclusive' },
  { lock: 'repo:a', mode: 'shared' },
  { lock: 'repo:a:x', mode: 'exclusive' },
  { lock: 'repo:a:*', mode: 'shared' },
  { lock: 'repo:a:x/y', mode: 'exclusive' },
  { lock: 'repo:b', mode: 'exclusive' },
  { lock: 'db:m', mode: 'exclusive' },
  { lock: 'db:m', mode: 'shared' },
];

const keyOf = (c: ClaimInput): string => String(c.pool ?? c.lock);

type Step = {
  kind:
    | 'allocate'
    | 'allocate'
    | 'more'
    | 'release'
    | 'preempt'
    | 'reserve'
    | 'tick'
    | 'update'
    | 'usage'
    | 'resolve'
    | 'policy';
  task: number;
  priority: number;
  claims: number[];
  pick: number;
  amount: number;
  advance: number;
  flag: boolean;
};

const steps = fc.array(
  fc.record({
    kind: fc.constantFrom<Step['kind']>(
      'allocate',
      'allocate',
      'allocate',
      'more',
      'more',
      'more',
      'release',
      'release',
      'preempt',
      'reserve',
      'tick',
      'update',
      'usage',
      'resolve',
      'policy',
    ),
    task: fc.nat({ max: TASKS - 1 }),
    priority: fc.integer({ min: 0, max: 3 }),
    claims: fc.array(fc.nat({ max: CLAIMS.length - 1 }), { maxLength: 3 }),
    pick: fc.nat(),
    amount: fc.integer({ min: 1, max: 5 }),
    advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 20_000 })),
    flag: fc.boolean(),
  }),
  { minLength: 10, maxLength: 80, size: 'max' },
);

const setup = fc.record({
  slotsPolicy: fc.constantFrom(...POLICIES),
  burst: fc.constantFrom(1, 2),
  budgetWindow: fc.constantFrom(0, 5_000),
});

/** The state as plain data, to compare two states (not the order of hash maps). */
function snapshot(s: AllocatorState): string {
  const sorted = <T>(xs: T[]): T[] => xs.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return JSON.stringify({
    pools: sorted(
      s.pools
        .toArray()
        .map(([k, p]) => [k, p.used, p.tokens, p.tokensAt, p.spent, p.periodStart, p.softWarned, p.spec]),
    ),
    allocations: sorted(
      s.allocations
        .toArray()
        .map(([k, a]) => [
          k,
          a.grants,
          a.locks.map((l) => [l.name.raw, l.mode]),
          a.reconciled,
          a.preemptedBy,
        ]),
    ),
    waiters: sorted(s.waiters.toArray().map(([k, w]) => [k, w.parkedOn, w.seq, w.since, [...w.conflicts]])),
    parked: sorted(
      s.parked.toArray().map(([k, m]) => [
        k,
        m
          .toArray()
          .map((e) => e[0])
          .sort(),
      ]),
    ),
    claimants: sorted(s.claimants.toArray().map(([k, c]) => [k, c.size, c.total])),
    holders: sorted(s.holders.toArray().map(([k, m]) => [k, sorted(m.toArray())])),
    heldNames: sorted(s.heldNames.toArray()),
    conflicts: sorted(s.conflicts.toArray().map((e) => e[0])),
    seqs: [s.conflictSeq, s.waiterSeq],
    pending: sorted(s.pendingUsage.toArray().map((e) => e[0])),
    attempts: sorted(s.taskAttempts.toArray()),
    reservedUse: sorted(s.reservedUse.toArray()),
  });
}

class World {
  state = decider.initialState();
  now = T0.getTime();
  readonly attempts = new Array<number>(TASKS).fill(1);
  readonly blocked = new Set<string>();
  readonly ended = new Set<string>();
  /** Pools whose capacity was lowered below what they hold: allowed to stay over until enough is released. */
  readonly lowered = new Set<string>();

  at(): Date {
    return new Date(this.now);
  }

  /** Decides and folds a command, checking the invariants; domain rejections leave everything as it was. */
  run(command: AllocatorCommand): AllocatorEvent[] {
    let decided: ReturnType<typeof decideAllocator>;
    try {
      decided = decideAllocator(command, this.state, OPTIONS);
    } catch (e) {
      if (isDomainError(e)) return [];
      throw e;
    }
    let state = this.state;
    for (const e of decided.events) {
      state = decider.evolve(state, e);
      if (e.type === 'ResourcesAllocated') checkGrant(state, e, this.now);
      if (e.type === 'PoolUpdated') {
        const pool = state.pools.get(e.data.poolId)!;
        if (pool.spec.kind !== 'rate' && pool.used > pool.spec.capacity) this.lowered.add(e.data.poolId);
      }
    }
    expect(snapshot(state)).toBe(snapshot(decided.state));
    this.state = state;
    this.record(decided.events);
    this.checkState();
    this.checkNothingLeftToGrant();
    return decided.events;
  }

  /**
   * The world ticks whenever its clock moves, so what time alone lets in is granted already: at this
   * instant, any waiter that fits should have been granted by the step that made it fit. A tick now,
   * which examines every waiter, must find nobody to grant.
   */
  private checkNothingLeftToGrant(): void {
    const { events } = decideAllocator({ type: 'Tick', at: this.at() }, this.state, OPTIONS);
    expect(events.filter((e) => e.type === 'ResourcesAllocated').map((e) => e.data)).toEqual([]);
  }

  private record(events: readonly AllocatorEvent[]): void {
    events.forEach((e, i) => {
      if (e.type === 'AllocationBlocked') this.blocked.add(e.data.allocationId);
      if (e.type === 'ResourcesAllocated' || e.type === 'WaitWithdrawn') this.ended.add(e.data.allocationId);
      if (e.type === 'AllocationRefused') {
        this.ended.add(e.data.allocationId);
        expect(e.data.reason).not.toBe('');
      }
      if (e.type === 'DeadlockDetected') {
        // Every deadlock found is broken by asking its victim to give way.
        const victim = e.data.allocationIds[e.data.cycle.indexOf(e.data.victim)];
        expect(
          events.slice(i + 1).some((x) => x.type === 'PreemptionRequested' && x.data.allocationId === victim),
        ).toBe(true);
      }
    });
  }

  private checkState(): void {
    const s = this.state;
    expect(auditAllocator(s)).toEqual([]);
    for (const pool of s.pools.values()) {
      const id = pool.spec.poolId;
      if (pool.spec.kind === 'rate' || pool.spec.kind === 'budget') continue;
      if (this.lowered.has(id) && pool.used > pool.spec.capacity) continue;
      this.lowered.delete(id);
      expect(fitsWithin(pool.used, pool.spec.capacity)).toBe(true);
    }
    // No two holders of overlapping locks unless both shared.
    const holds = [...s.allocations.values()].flatMap((a) =>
      a.locks.map((l) => ({ holder: a.allocationId, ...l })),
    );
    for (const a of holds)
      for (const b of holds)
        if (a.holder < b.holder && locksOverlap(a.name, b.name))
          expect(`${a.holder} ${a.name.raw} ${a.mode} / ${b.holder} ${b.name.raw} ${b.mode}`).toMatch(
            /shared .*shared$/,
          );
    // Every cycle of hold-and-wait waiters has a victim asked to give way.
    expect(findDeadlock(s, this.at(), OPTIONS)).toBeUndefined();
  }
}

/** Right after a grant: what it took fits, net of what is reserved for others. */
function checkGrant(
  state: AllocatorState,
  e: Extract<AllocatorEvent, { type: 'ResourcesAllocated' }>,
  now: number,
): void {
  for (const g of e.data.grants) {
    const pool = state.pools.get(g.poolId)!;
    const { spec } = pool;
    if (spec.kind === 'rate') expect(tokensAt(pool, now)).toBeGreaterThanOrEqual(-1e-9);
    else if (spec.kind === 'budget') {
      if (g.amount > 0) expect(fitsWithin(pool.spent + pool.used, spec.capacity)).toBe(true);
    } else {
      let setAside = 0;
      for (const r of state.reservationsByPool.get(g.poolId) ?? [])
        if (isActive(r, now) && r.reservationId !== g.reservationId)
          setAside += Math.max(0, r.amount - (state.reservedUse.get(r.reservationId) ?? 0));
      expect(fitsWithin(pool.used + setAside, spec.capacity)).toBe(true);
    }
  }
}

function commandFor(w: World, step: Step): AllocatorCommand | undefined {
  const at = w.at();
  const taskId = `t${step.task}`;
  const claims = [...new Map(step.claims.map((i) => [keyOf(CLAIMS[i]!), CLAIMS[i]!])).values()];
  switch (step.kind) {
    case 'allocate':
    case 'more':
      return {
        type: 'Allocate',
        taskId,
        attempt: w.attempts[step.task]!,
        sessionId: `s${step.task % 2}`,
        priority: step.priority,
        claims,
        incremental: step.kind === 'more',
        policy: step.flag && step.pick % 3 === 0 ? POLICIES[step.pick % POLICIES.length] : '',
        at,
      };
    case 'release': {
      const attempt = w.attempts[step.task]!;
      w.attempts[step.task] = attempt + 1;
      return { type: 'Release', taskId, attempt, reason: 'TaskSucceeded', at };
    }
    case 'preempt': {
      const victims = [...w.state.allocations.values()].filter((a) => a.preemptedBy !== '');
      const v = victims[step.pick % Math.max(1, victims.length)];
      if (!v) return undefined;
      const task = Number(v.taskId.slice(1));
      w.attempts[task] = Math.max(w.attempts[task]!, v.attempt + 1);
      return { type: 'Release', taskId: v.taskId, attempt: v.attempt, reason: 'TaskPreempted', at };
    }
    case 'reserve': {
      const from = w.now + (step.pick % 4) * 1000;
      return {
        type: 'Reserve',
        reservationId: `r${step.pick % 5}`,
        poolId: step.pick % 2 === 0 ? 'q' : 'c',
        amount: 1 + (step.amount % 2),
        from: new Date(from),
        to: new Date(from + 1000 + (step.pick % 7) * 1000),
        taskId: step.flag ? '' : `t${step.task}`,
        at,
      };
    }
    case 'tick':
      return { type: 'Tick', at };
    case 'update': {
      const pools = ['c', 'q', 'r', 'b'] as const;
      const poolId = pools[step.pick % pools.length]!;
      return poolId === 'r'
        ? { type: 'UpdatePool', poolId, burst: 1 + (step.amount % 2), capacity: step.amount, at }
        : { type: 'UpdatePool', poolId, capacity: poolId === 'b' ? step.amount * 3 : step.amount, at };
    }
    case 'usage':
      return {
        type: 'ReconcileUsage',
        taskId,
        attempt: w.attempts[step.task]! - (step.flag ? 1 : 0),
        inputTokens: step.pick % 1000,
        outputTokens: 10,
        costUsd: step.amount * 1.5,
        at,
      };
    case 'resolve': {
      const open = [...w.state.conflicts.values()];
      const c = open[step.pick % Math.max(1, open.length)];
      if (!c) return undefined;
      const strategy = (['queue', 'preempt', 'abort', 'grant'] as const)[step.amount % 4]!;
      const winner = c.parties[step.pick % c.parties.length]!.taskId;
      return { type: 'ResolveConflict', conflictId: c.conflictId, strategy, winner, at };
    }
    case 'policy':
      return {
        type: 'SetPolicy',
        namespace: step.flag ? 'repo' : 'db',
        policy: POLICIES[step.pick % POLICIES.length]!,
        at,
      };
  }
}

describe('the allocator under any interleaving', () => {
  it('keeps its invariants, and every waiter is granted or refused once the holders are gone', () =>
    fc.assert(
      fc.property(setup, steps, (conf, plan) => {
        const w = new World();
        w.run(definePool('g', 'concurrency', 6));
        w.run(definePool('c', 'concurrency', 3, { defaultAmount: 0, policy: conf.slotsPolicy }));
        w.run(definePool('q', 'quantity', 4));
        w.run(definePool('r', 'rate', 2, { windowMs: 1000, burst: conf.burst, defaultAmount: 0 }));
        w.run(definePool('b', 'budget', 10, { windowMs: conf.budgetWindow, softLimit: 0.5 }));
        w.run({
          type: 'Reserve',
          reservationId: 'open',
          poolId: 'q',
          amount: 1,
          from: T0,
          to: new Date(T0.getTime() + 3_600_000),
          taskId: '',
          at: T0,
        });
        for (const step of plan) {
          if (step.advance > 0) {
            w.now += step.advance;
            w.run({ type: 'Tick', at: w.at() });
          }
          const command = commandFor(w, step);
          if (command) w.run(command);
        }
        // Drain: raise the budget, then release every holder and let time pass until nobody waits.
        w.now += 1;
        w.run({ type: 'UpdatePool', poolId: 'b', capacity: 1_000_000, at: w.at() });
        for (let round = 0; round < 40 && w.state.waiters.size > 0; round++) {
          for (const a of [...w.state.allocations.values()])
            w.run({ type: 'Release', taskId: a.taskId, attempt: a.attempt, reason: 'drain', at: w.at() });
          w.now += 2 * 3_600_000;
          w.run({ type: 'Tick', at: w.at() });
        }
        expect([...w.state.waiters.keys()]).toEqual([]);
        expect([...w.blocked].filter((id) => !w.ended.has(id))).toEqual([]);
      }),
      { numRuns: 150 },
    ));
});
