import type { PoolUsage } from '../allocator/queries';
import { resolvePoolSpec, type PoolSpecInput } from '../pools/pool-spec';
import { demandForecast, sampleOf, scalingActions, utilizationSeries, type UsageSample } from './monitoring';

const usage = (input: PoolSpecInput, used: number, waiting = 0, waitingDemand = 0): PoolUsage => {
  const spec = resolvePoolSpec(input);
  return {
    poolId: spec.poolId,
    kind: spec.kind,
    unit: spec.unit,
    scope: spec.scope,
    spec,
    capacity: spec.capacity,
    used,
    available: Math.max(0, spec.capacity - used),
    utilization: used / spec.capacity,
    reserved: 0,
    waiting,
    waitingDemand,
    holders: 0,
    spent: 0,
    held: 0,
    periodStart: undefined,
    tokens: 0,
  };
};

const s = (poolId: string, at: number, used: number, waitingDemand = 0): UsageSample => ({
  poolId,
  at,
  used,
  capacity: 10,
  waitingDemand,
});

describe('utilizationSeries', () => {
  it('averages samples per bucket, oldest first', () => {
    expect(
      utilizationSeries(
        [s('p', 61_000, 4), s('p', 1_000, 2), s('p', 2_000, 6, 1), s('q', 1_000, 9)],
        'p',
        60_000,
      ),
    ).toEqual([
      { at: 0, utilization: 0.4, demand: 4.5, samples: 2 },
      { at: 60_000, utilization: 0.4, demand: 4, samples: 1 },
    ]);
  });
});

describe('demandForecast', () => {
  it('is the moving average of held + waiting over the window before the latest sample', () => {
    const history = [s('p', 0, 100), s('p', 50_000, 2, 2), s('p', 90_000, 6, 2), s('q', 0, 1)];
    expect(demandForecast(history, 60_000)).toEqual([
      { poolId: 'p', demand: 6, capacity: 10, horizonMs: 60_000, method: 'moving-average', samples: 2 },
      { poolId: 'q', demand: 1, capacity: 10, horizonMs: 60_000, method: 'moving-average', samples: 1 },
    ]);
  });

  it('takes samples of pool usage', () => {
    const u = usage({ poolId: 'p', kind: 'concurrency', capacity: 4 }, 3, 2, 5);
    expect(sampleOf(u, new Date(1000))).toEqual({
      poolId: 'p',
      at: 1000,
      used: 3,
      capacity: 4,
      waitingDemand: 5,
    });
  });
});

describe('scalingActions', () => {
  it('raises a pool whose predicted demand is above 90% of its capacity, saying by how much', () => {
    const actions = scalingActions(
      [usage({ poolId: 'gpu', kind: 'quantity', capacity: 8 }, 4)],
      [{ poolId: 'gpu', demand: 7.5, capacity: 8, horizonMs: 1, method: 'moving-average', samples: 3 }],
    );
    expect(actions).toEqual([
      expect.objectContaining({
        kind: 'raise_pool',
        poolId: 'gpu',
        capacity: 8,
        demand: 7.5,
        suggestedCapacity: 10,
      }),
    ]);
    expect(actions[0]?.reason).toMatch(/94% of its capacity 8; 10 would keep it near 75%/);
  });

  it('adds agents of a saturated provider and shifts work to one with headroom', () => {
    const openai = {
      poolId: 'openai-slots',
      kind: 'concurrency',
      capacity: 4,
      scope: { kind: 'provider', value: 'openai' },
    };
    const anthropic = {
      ...openai,
      poolId: 'anthropic-slots',
      scope: { kind: 'provider', value: 'anthropic' },
    };
    const actions = scalingActions([usage(openai, 4, 3, 3), usage(anthropic, 1)]);
    expect(actions.map((a) => [a.kind, a.poolId, a.provider, a.toProvider, a.headroom])).toEqual([
      ['raise_pool', 'openai-slots', '', '', 0],
      ['add_agents', 'openai-slots', 'openai', '', 0],
      ['shift_work', 'openai-slots', 'openai', 'anthropic', 3],
    ]);
  });

  it('suggests nothing for pools with room', () =>
    expect(scalingActions([usage({ poolId: 'p', kind: 'concurrency', capacity: 10 }, 5)])).toEqual([]));
});
