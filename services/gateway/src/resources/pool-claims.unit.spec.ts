import { create } from '@bufbuild/protobuf';
import { PoolViewSchema } from '@orch/contracts';
import { poolClaimProblems } from './pool-claims';

const pool = (poolId: string, kind: string, capacity: number, burst = 0) =>
  create(PoolViewSchema, { spec: { poolId, kind, capacity, burst, unit: 'units' }, capacity });

describe('poolClaimProblems', () => {
  const pools = [pool('gpu', 'quantity', 4), pool('openai-rpm', 'rate', 60, 5)];

  it('finds nothing wrong with claims on pools that can serve them, nor with locks', () => {
    expect(
      poolClaimProblems(
        [
          {
            claims: [
              { pool: 'gpu', amount: 4 },
              { lock: 'repo:a', mode: 'exclusive' },
            ],
          },
          {},
          { claims: [{ pool: 'openai-rpm', amount: 5 }] },
        ],
        pools,
      ),
    ).toEqual([]);
  });

  it('names each claim on an unknown pool and lists the pools there are', () => {
    expect(
      poolClaimProblems(
        [
          { claims: [{ pool: 'gpu', amount: 1 }] },
          {
            claims: [
              { lock: 'repo:a', mode: 'shared' },
              { pool: 'tpu', amount: 1 },
            ],
          },
        ],
        pools,
      ),
    ).toEqual([
      { path: 'tasks[1].claims[1].pool', message: 'unknown pool "tpu" (defined pools: gpu, openai-rpm)' },
    ]);
    expect(poolClaimProblems([{ claims: [{ pool: 'gpu', amount: 1 }] }], [], 'add')).toEqual([
      { path: 'add[0].claims[0].pool', message: 'unknown pool "gpu" (no pool is defined yet)' },
    ]);
  });

  it('names an amount more than the pool can ever give: its capacity, or its burst for a rate pool', () => {
    expect(
      poolClaimProblems(
        [
          {
            claims: [
              { pool: 'gpu', amount: 5 },
              { pool: 'openai-rpm', amount: 6 },
            ],
          },
        ],
        pools,
      ),
    ).toEqual([
      {
        path: 'tasks[0].claims[0].amount',
        message: '5 units is more than pool "gpu" can ever give (capacity 4)',
      },
      {
        path: 'tasks[0].claims[1].amount',
        message: '6 units is more than pool "openai-rpm" can ever give (burst 5)',
      },
    ]);
  });
});
