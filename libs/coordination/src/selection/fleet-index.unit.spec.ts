import { ValidationError, fold } from '@orch/domain-kit';
import fc from 'fast-check';
import { agentDecider, type AgentState } from '../agents/agent.decider';
import type { AgentEvent, CapabilityData, SelectionData } from '../agents/agent.events';
import { FleetIndex } from './fleet-index';

const t0 = new Date('2026-11-21T10:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);

interface AgentSpec {
  id: string;
  capabilities?: CapabilityData[];
  provider?: string;
  maxConcurrency?: number;
  cost?: number;
}

const registeredEvent = (a: AgentSpec): AgentEvent => ({
  type: 'AgentRegistered',
  data: {
    agentId: a.id,
    name: a.id,
    provider: a.provider ?? 'openai',
    model: 'm',
    capabilities: a.capabilities ?? [{ name: 'code', level: 0.8 }],
    maxConcurrency: a.maxConcurrency ?? 2,
    cost: { per1kInputTokensUsd: a.cost ?? 0.01, per1kOutputTokensUsd: 0 },
    labels: {},
    agentType: 'generic',
    registeredAt: '2026-11-21T09:00:00Z',
  },
});
const noSelection: SelectionData = {
  strategy: 'weighted',
  agentId: '',
  candidates: [],
  eligible: 0,
  notes: [],
};
const assignedEvent = (agentId: string, taskId: string, attempt = 1): AgentEvent => ({
  type: 'AgentTaskAssigned',
  data: {
    agentId,
    taskId,
    sessionId: 's',
    selection: noSelection,
    assignedAt: '2026-11-21T10:00:00Z',
    attempt,
  },
});

/** An index fed like the service feeds it: each agent's state after each of its events. */
class Fleet {
  readonly index = new FleetIndex();
  private readonly states = new Map<string, { state: AgentState; version: number }>();

  add(...agents: AgentSpec[]): this {
    for (const a of agents) this.apply(a.id, registeredEvent(a));
    return this;
  }

  apply(agentId: string, event: AgentEvent, at = t0): this {
    const current = this.states.get(agentId) ?? { state: agentDecider.initialState(), version: 0 };
    const next = { state: fold(agentDecider, [event], current.state), version: current.version + 1 };
    this.states.set(agentId, next);
    this.index.upsert(next.state, next.version, at);
    return this;
  }

  assign(agentId: string, taskId: string, at = t0, attempt = 1): this {
    return this.apply(agentId, assignedEvent(agentId, taskId, attempt), at);
  }

  release(agentId: string, taskId: string, attempt = 1): this {
    return this.apply(agentId, {
      type: 'AgentTaskReleased',
      data: { agentId, taskId, reason: 'done', releasedAt: '2026-11-21T10:00:00Z', attempt },
    });
  }
}

const fail = (index: FleetIndex, agentId: string, times: number, at = t0) => {
  for (let i = 0; i < times; i++) index.recordOutcome(agentId, { ok: false, latencyMs: 100 }, at);
};

/** Successes of another agent of `agentId`'s provider, so that only the agent's own circuit trips. */
const steadyProvider = (fleet: Fleet, provider: string) => {
  fleet.add({ id: `steady-${provider}`, provider, maxConcurrency: 1 }).assign(`steady-${provider}`, 'busy');
  for (let i = 0; i < 10; i++) fleet.index.recordOutcome(`steady-${provider}`, { ok: true }, t0);
};

describe('the fleet index', () => {
  it('ignores a state older than the one it holds', () => {
    const fleet = new Fleet().add({ id: 'a' }).assign('a', 't1');
    const old = fold(agentDecider, [registeredEvent({ id: 'a' })]);
    expect(fleet.index.upsert(old, 1, t0)).toBe(false);
    expect(fleet.index.get('a')).toMatchObject({
      slots: [{ taskId: 't1', attempt: 1 }],
      version: 2,
      status: 'busy',
    });
  });

  it('knows who holds an attempt of a task and since when, until it is released', () => {
    const fleet = new Fleet().add({ id: 'a' }).assign('a', 't1', later(5));
    expect(fleet.index.holderOf('t1', 1)).toBe('a');
    expect(fleet.index.holderOf('t1', 2)).toBeUndefined();
    expect(fleet.index.assignedAt('a', 't1', 1)).toEqual(later(5));
    fleet.release('a', 't1');
    expect(fleet.index.holderOf('t1', 1)).toBeUndefined();
    expect(fleet.index.holdersOf('t1')).toEqual([]);
  });

  it("keeps a retry's slot and its holder when the late release of the attempt that ended arrives", () => {
    const fleet = new Fleet()
      .add({ id: 'a', maxConcurrency: 2 }, { id: 'b' })
      .assign('a', 't1', later(1), 1)
      .assign('a', 't1', later(7), 2);
    expect(fleet.index.holdersOf('t1')).toEqual([
      { agentId: 'a', attempt: 1 },
      { agentId: 'a', attempt: 2 },
    ]);
    // Both slots count: the agent has none free for selection.
    expect(fleet.index.select({ capabilities: ['code'], agentIds: ['a'] }, t0).candidates).toEqual([]);
    fleet.release('a', 't1', 1);
    expect(fleet.index.holderOf('t1', 2)).toBe('a');
    expect(fleet.index.holderOf('t1', 1)).toBeUndefined();
    expect(fleet.index.assignedAt('a', 't1', 2)).toEqual(later(7));
    expect(fleet.index.get('a')).toMatchObject({ slots: [{ taskId: 't1', attempt: 2 }], status: 'busy' });
    const free = fleet.index.select({ capabilities: ['code'], agentIds: ['a'] }, t0);
    expect(free.candidates.map((c) => c.agentId)).toEqual(['a']);
  });

  it('answers a holder of any attempt for attempt 0, the latest taken first', () => {
    const fleet = new Fleet().add({ id: 'a' }, { id: 'b' }).assign('a', 't1', t0, 1).assign('b', 't1', t0, 2);
    expect(fleet.index.holderOf('t1', 0)).toBe('b');
    fleet.release('b', 't1', 2);
    expect(fleet.index.holderOf('t1', 0)).toBe('a');
  });

  it('knows the capabilities registered agents offer, and forgets those of deregistered agents', () => {
    const fleet = new Fleet().add({ id: 'a', capabilities: [{ name: 'juggling', level: 1 }] });
    expect(fleet.index.offers('juggling')).toBe(true);
    fleet.apply('a', { type: 'AgentDeregistered', data: { agentId: 'a', reason: 'r', deregisteredAt: 'x' } });
    expect(fleet.index.offers('juggling')).toBe(false);
    expect(fleet.index.get('a')?.status).toBe('offline');
  });

  it('counts agents by status', () => {
    const fleet = new Fleet().add({ id: 'a' }, { id: 'b' }, { id: 'c' }).assign('a', 't1');
    fleet.apply('c', { type: 'AgentDraining', data: { agentId: 'c', at: 'x' } });
    expect(fleet.index.countByStatus()).toEqual({ idle: 1, busy: 1, unhealthy: 0, draining: 1, offline: 0 });
  });
});

describe('selection', () => {
  it('chooses only agents with every capability asked for', () => {
    const fleet = new Fleet().add(
      { id: 'coder', capabilities: [{ name: 'code', level: 0.9 }] },
      {
        id: 'both',
        capabilities: [
          { name: 'code', level: 0.5 },
          { name: 'review', level: 0.5 },
        ],
      },
    );
    const s = fleet.index.select({ capabilities: ['code', 'review'] }, t0);
    expect(s).toMatchObject({ strategy: 'weighted', agentId: 'both', eligible: 1 });
  });

  it('reports no agent, with a note, when none is eligible', () => {
    const s = new Fleet().add({ id: 'a' }).index.select({ capabilities: ['review'] }, t0);
    expect(s).toMatchObject({ agentId: '', eligible: 0, candidates: [] });
    expect(s.notes.join()).toMatch(/no healthy agent with review has a free slot/);
  });

  it('skips agents at capacity, draining or unhealthy', () => {
    const fleet = new Fleet()
      .add({ id: 'full', maxConcurrency: 1 }, { id: 'drain' }, { id: 'sick' }, { id: 'ok' })
      .assign('full', 't1');
    fleet.apply('drain', { type: 'AgentDraining', data: { agentId: 'drain', at: 'x' } });
    fleet.apply('sick', {
      type: 'AgentBecameUnhealthy',
      data: { agentId: 'sick', releasedTaskIds: [], at: 'x' },
    });
    const s = fleet.index.select({ capabilities: ['code'] }, t0);
    expect(s.candidates.map((c) => c.agentId)).toEqual(['ok']);
  });

  it('counts a slot being taken as held until the taking settles, so concurrent picks spread', () => {
    const fleet = new Fleet().add({ id: 'a', maxConcurrency: 1 }, { id: 'b', maxConcurrency: 2 });
    const first = fleet.index.select({ capabilities: ['code'], strategy: 'least_loaded' }, t0).agentId;
    const release = fleet.index.reserveSlot(first);
    const second = fleet.index.select({ capabilities: ['code'], strategy: 'least_loaded' }, t0);
    expect(second.agentId).not.toBe(first);
    const releaseB = fleet.index.reserveSlot('b');
    const releaseB2 = fleet.index.reserveSlot('b');
    expect(fleet.index.select({ capabilities: ['code'] }, t0).candidates).toEqual([]);
    release();
    release(); // a second call changes nothing
    releaseB();
    releaseB2();
    expect(fleet.index.select({ capabilities: ['code'] }, t0).candidates).toHaveLength(2);
    expect(fleet.index.get('b')?.slots).toEqual([]);
  });

  it('keeps to the pool, leaves out excluded agents and honours a pinned agent', () => {
    const fleet = new Fleet().add({ id: 'a' }, { id: 'b' }, { id: 'c' });
    const ids = (s: SelectionData) => s.candidates.map((c) => c.agentId).sort();
    expect(ids(fleet.index.select({ capabilities: ['code'], agentIds: ['a', 'b'] }, t0))).toEqual(['a', 'b']);
    expect(ids(fleet.index.select({ capabilities: ['code'], excludeAgentIds: ['a'] }, t0))).toEqual([
      'b',
      'c',
    ]);
    expect(ids(fleet.index.select({ capabilities: ['code'], pinnedAgentId: 'c' }, t0))).toEqual(['c']);
  });

  it('reports at most five candidates, best first', () => {
    const fleet = new Fleet();
    for (let i = 0; i < 9; i++)
      fleet.add({ id: `a${i}`, capabilities: [{ name: 'code', level: (i + 1) / 10 }] });
    const s = fleet.index.select({ capabilities: ['code'], strategy: 'capability_match' }, t0);
    expect(s.eligible).toBe(9);
    expect(s.candidates.map((c) => c.agentId)).toEqual(['a8', 'a7', 'a6', 'a5', 'a4']);
    expect(s.candidates[0]).toMatchObject({ score: 0.9, reasons: ['capability code 0.90'] });
  });

  it('least_loaded prefers the agent with the most free share of its slots', () => {
    const fleet = new Fleet()
      .add({ id: 'a', maxConcurrency: 2 }, { id: 'b', maxConcurrency: 4 })
      .assign('b', 't1');
    const s = fleet.index.select({ capabilities: ['code'], strategy: 'least_loaded' }, t0);
    expect(s.candidates.map((c) => [c.agentId, c.score])).toEqual([
      ['a', 1],
      ['b', 0.75],
    ]);
  });

  it('weighted prefers observed success, and explains every component', () => {
    const fleet = new Fleet().add({ id: 'good' }, { id: 'poor' });
    for (let i = 0; i < 4; i++)
      fleet.index.recordOutcome('good', { ok: true, latencyMs: 1000, costUsd: 0.01 }, t0);
    fleet.index.recordOutcome('poor', { ok: false, latencyMs: 1000 }, t0);
    const s = fleet.index.select({ capabilities: ['code'] }, t0);
    expect(s.agentId).toBe('good');
    expect(s.candidates[0]?.reasons).toEqual([
      'capability code 0.80',
      'success 100% of 4',
      'latency ~1000 ms',
      'cost ~$0.0100/task (observed)',
      'load 0/2',
    ]);
    expect(s.notes).toContain('weights: coder routing (balanced emphasis)');
  });

  it('weighted prefers the cheaper agent when everything else is equal', () => {
    const fleet = new Fleet().add({ id: 'dear', cost: 0.5 }, { id: 'cheap', cost: 0.001 });
    expect(fleet.index.select({ capabilities: ['code'] }, t0).agentId).toBe('cheap');
  });

  it('weighted uses the weights a request gives', () => {
    const fleet = new Fleet().add(
      { id: 'skilled', capabilities: [{ name: 'code', level: 1 }], cost: 1 },
      { id: 'cheap', capabilities: [{ name: 'code', level: 0.2 }], cost: 0 },
    );
    const only = (w: Partial<Record<'capability' | 'cost', number>>) => ({
      capability: 0,
      success: 0,
      latency: 0,
      cost: 0,
      load: 0,
      ...w,
    });
    expect(fleet.index.select({ capabilities: ['code'], weights: only({ capability: 1 }) }, t0).agentId).toBe(
      'skilled',
    );
    expect(fleet.index.select({ capabilities: ['code'], weights: only({ cost: 1 }) }, t0).agentId).toBe(
      'cheap',
    );
  });

  it('rejects an unknown strategy', () => {
    expect(() => new FleetIndex().select({ capabilities: [], strategy: 'random' }, t0)).toThrow(
      ValidationError,
    );
  });

  it('prefers the requested provider and keeps the others as failover candidates', () => {
    const fleet = new Fleet().add(
      { id: 'o', provider: 'openai', capabilities: [{ name: 'code', level: 1 }] },
      { id: 'a', provider: 'anthropic', capabilities: [{ name: 'code', level: 0.5 }] },
    );
    const s = fleet.index.select({ capabilities: ['code'], provider: 'anthropic' }, t0);
    expect(s.candidates.map((c) => c.agentId)).toEqual(['a', 'o']);
  });
});

describe('circuit breakers in selection', () => {
  it('an agent whose results mostly failed is skipped, and tried again after the cool-down', () => {
    const fleet = new Fleet().add({ id: 'flaky', provider: 'p1' }, { id: 'solid', provider: 'p2' });
    steadyProvider(fleet, 'p1');
    fail(fleet.index, 'flaky', 5);
    expect(fleet.index.circuit('flaky', t0)).toBe('open');
    const s = fleet.index.select({ capabilities: ['code'] }, later(1000));
    expect(s.candidates.map((c) => c.agentId)).toEqual(['solid']);
    expect(s.notes).toContain('1 agent(s) skipped: circuit open');
    expect(fleet.index.circuit('flaky', later(30_000))).toBe('half_open');
    const after = fleet.index.select({ capabilities: ['code'], pinnedAgentId: 'flaky' }, later(30_000));
    expect(after.agentId).toBe('flaky');
  });

  it('a half-open circuit lets one trial through; its success closes the circuit', () => {
    const fleet = new Fleet().add(
      { id: 'a', provider: 'p1', maxConcurrency: 5 },
      { id: 'b', provider: 'p2' },
    );
    steadyProvider(fleet, 'p1');
    fail(fleet.index, 'a', 5);
    fleet.assign('a', 'trial', later(31_000));
    const during = fleet.index.select({ capabilities: ['code'], pinnedAgentId: 'a' }, later(31_000));
    expect(during.agentId).toBe('');
    expect(during.notes).toContain('1 agent(s) skipped: half-open circuit awaiting its trial');
    fleet.index.recordOutcome('a', { ok: true }, later(32_000));
    expect(fleet.index.circuit('a', later(32_000))).toBe('closed');
  });

  it('a failed trial opens the circuit again', () => {
    const fleet = new Fleet().add({ id: 'a', provider: 'p1' }, { id: 'b', provider: 'p2' });
    fail(fleet.index, 'a', 5);
    fleet.index.recordOutcome('a', { ok: false }, later(31_000));
    expect(fleet.index.circuit('a', later(31_000))).toBe('open');
    expect(fleet.index.circuit('a', later(61_000))).toBe('half_open');
  });

  it('a trial that ends without an outcome frees the trial for another task', () => {
    const fleet = new Fleet().add(
      { id: 'a', provider: 'p1', maxConcurrency: 5 },
      { id: 'b', provider: 'p2' },
    );
    fail(fleet.index, 'a', 5);
    fleet.assign('a', 'trial', later(31_000)).release('a', 'trial');
    expect(fleet.index.select({ capabilities: ['code'], pinnedAgentId: 'a' }, later(31_000)).agentId).toBe(
      'a',
    );
  });

  it('fails over to another provider when the preferred provider circuit is open, and says so', () => {
    const fleet = new Fleet().add(
      { id: 'o1', provider: 'openai' },
      { id: 'o2', provider: 'openai' },
      { id: 'x1', provider: 'anthropic' },
    );
    fail(fleet.index, 'o1', 3);
    fail(fleet.index, 'o2', 2);
    expect(fleet.index.circuit('o1', t0)).toBe('open');
    expect(fleet.index.circuit('o2', t0)).toBe('open'); // through its provider
    const s = fleet.index.select({ capabilities: ['code'], provider: 'openai' }, later(1000));
    expect(s.agentId).toBe('x1');
    expect(s.notes).toContain('provider openai circuit open: failing over to other providers');
  });

  it('failures outside the window do not open a circuit', () => {
    const fleet = new Fleet().add({ id: 'a' });
    fail(fleet.index, 'a', 4, t0);
    fleet.index.recordOutcome('a', { ok: false }, later(61_000));
    expect(fleet.index.circuit('a', later(61_000))).toBe('closed');
  });

  it('a mostly successful agent stays closed', () => {
    const fleet = new Fleet().add({ id: 'a' });
    for (let i = 0; i < 10; i++) fleet.index.recordOutcome('a', { ok: i % 3 !== 0 }, t0);
    expect(fleet.index.circuit('a', t0)).toBe('closed');
  });
});

describe('liveness', () => {
  it('finds healthy agents not heard from within the timeout', () => {
    const fleet = new Fleet().add({ id: 'quiet' }, { id: 'chatty' });
    fleet.index.noteHeartbeat('chatty', later(10_000));
    const overdue = fleet.index.overdue(later(16_000), 15_000, t0);
    expect(overdue).toEqual([{ agentId: 'quiet', lastHeartbeatAt: undefined }]);
  });

  it('counts an agent never heard from from the later of its registration and the start', () => {
    const fleet = new Fleet().add({ id: 'a' }); // registered at 09:00
    expect(fleet.index.overdue(later(14_000), 15_000, t0)).toEqual([]);
    expect(fleet.index.overdue(later(15_000), 15_000, t0)).toHaveLength(1);
  });

  it('does not report agents already unhealthy or deregistered', () => {
    const fleet = new Fleet().add({ id: 'sick' }, { id: 'gone' });
    fleet.apply('sick', {
      type: 'AgentBecameUnhealthy',
      data: { agentId: 'sick', releasedTaskIds: [], at: 'x' },
    });
    fleet.apply('gone', {
      type: 'AgentDeregistered',
      data: { agentId: 'gone', reason: 'r', deregisteredAt: 'x' },
    });
    expect(fleet.index.overdue(later(60_000), 15_000, t0)).toEqual([]);
  });
});

describe('selection invariants', () => {
  const capabilityNames = ['code', 'review', 'testing'];
  const agentArb = fc.record({
    capabilities: fc.subarray(capabilityNames, { minLength: 1 }),
    maxConcurrency: fc.integer({ min: 1, max: 3 }),
    held: fc.integer({ min: 0, max: 3 }),
    draining: fc.boolean(),
    unhealthy: fc.boolean(),
    failures: fc.integer({ min: 0, max: 6 }),
    provider: fc.constantFrom('p1', 'p2', 'p3'),
  });
  const requestArb = fc.record({
    capabilities: fc.subarray(capabilityNames),
    strategy: fc.constantFrom('round_robin', 'least_loaded', 'capability_match', 'weighted'),
    provider: fc.constantFrom(undefined, 'p1', 'p2'),
    pool: fc.option(fc.subarray(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']), { nil: undefined }),
    exclude: fc.subarray(['a0', 'a1', 'a2']),
  });

  it('never selects an ineligible agent, nor one at capacity', () => {
    fc.assert(
      fc.property(fc.array(agentArb, { minLength: 1, maxLength: 6 }), requestArb, (agents, req) => {
        const fleet = new Fleet();
        agents.forEach((a, i) => {
          const id = `a${i}`;
          fleet.add({
            id,
            provider: a.provider,
            maxConcurrency: a.maxConcurrency,
            capabilities: a.capabilities.map((name) => ({ name, level: 0.5 })),
          });
          for (let t = 0; t < Math.min(a.held, a.maxConcurrency); t++) fleet.assign(id, `${id}-t${t}`);
          if (a.draining) fleet.apply(id, { type: 'AgentDraining', data: { agentId: id, at: 'x' } });
          if (a.unhealthy)
            fleet.apply(id, {
              type: 'AgentBecameUnhealthy',
              data: { agentId: id, releasedTaskIds: [], at: 'x' },
            });
          fail(fleet.index, id, a.failures);
        });
        const s = fleet.index.select(
          {
            capabilities: req.capabilities,
            strategy: req.strategy,
            ...(req.provider ? { provider: req.provider } : {}),
            ...(req.pool ? { agentIds: req.pool } : {}),
            excludeAgentIds: req.exclude,
          },
          later(1000),
        );
        for (const c of s.candidates) {
          const agent = fleet.index.get(c.agentId)!;
          const spec = agents[Number(c.agentId.slice(1))]!;
          expect(agent.status === 'idle' || agent.status === 'busy').toBe(true);
          expect(agent.slots.length).toBeLessThan(agent.profile.maxConcurrency);
          expect(req.capabilities.every((cap) => spec.capabilities.includes(cap))).toBe(true);
          if (req.pool?.length) expect(req.pool).toContain(c.agentId);
          expect(req.exclude).not.toContain(c.agentId);
          expect(fleet.index.circuit(c.agentId, later(1000))).toBe('closed');
        }
        expect(s.agentId).toBe(s.candidates[0]?.agentId ?? '');
        expect(s.candidates.length).toBe(Math.min(5, s.eligible));
      }),
    );
  });

  it('round-robin spreads selections evenly over the eligible agents', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 5 }), (n, rounds) => {
        const fleet = new Fleet();
        for (let i = 0; i < n; i++) fleet.add({ id: `a${String(i).padStart(2, '0')}` });
        const counts = new Map<string, number>();
        for (let i = 0; i < n * rounds; i++) {
          const { agentId } = fleet.index.select({ capabilities: ['code'], strategy: 'round_robin' }, t0);
          counts.set(agentId, (counts.get(agentId) ?? 0) + 1);
        }
        expect(counts.size).toBe(n);
        for (const count of counts.values()) expect(count).toBe(rounds);
      }),
    );
  });

  it('never lets an agent hold more slots than its capacity when assignments and retries follow selections', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.constantFrom('assign', 'retry', 'release'), { maxLength: 40 }),
        (capacities, steps) => {
          const fleet = new Fleet();
          capacities.forEach((maxConcurrency, i) => fleet.add({ id: `a${i}`, maxConcurrency }));
          const agents = () => capacities.map((_, i) => fleet.index.get(`a${i}`)!);
          const select = () =>
            fleet.index.select({ capabilities: ['code'], strategy: 'least_loaded' }, t0).agentId;
          let task = 0;
          for (const step of steps) {
            const busy = agents().find((a) => a.slots.length > 0);
            const held = busy?.slots[0];
            if (step === 'assign') {
              const agentId = select();
              if (agentId) fleet.assign(agentId, `t${task++}`);
            } else if (step === 'retry' && held) {
              // The next attempt of a held task, before the old attempt's slot is released.
              const agentId = select();
              if (agentId) fleet.assign(agentId, held.taskId, t0, held.attempt + 1);
            } else if (busy && held) {
              fleet.release(busy.agentId, held.taskId, held.attempt);
            }
            for (const [i, agent] of agents().entries()) {
              expect(agent.slots.length).toBeLessThanOrEqual(capacities[i]!);
              for (const slot of agent.slots)
                expect(fleet.index.holdersOf(slot.taskId)).toContainEqual({
                  agentId: agent.agentId,
                  attempt: slot.attempt,
                });
            }
          }
        },
      ),
    );
  });
});
