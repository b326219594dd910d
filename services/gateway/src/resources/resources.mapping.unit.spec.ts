import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  AllocationResultSchema,
  AllocationViewSchema,
  ConflictViewSchema,
  MonitoringViewSchema,
  PoolViewSchema,
  ReservationViewSchema,
} from '@orch/contracts';
import { RemoteDomainError } from '@orch/messaging';
import { ClaimsSchema } from './claims.schemas';
import {
  renamePath,
  toAllocationResponse,
  toAllocationResultResponse,
  toClaim,
  toClaimResponse,
  toConflictResponse,
  toDefinePool,
  toMonitoringResponse,
  toPoolResponse,
  toReservationResponse,
  toReserve,
  toUpdatePool,
  withApiFieldNames,
} from './resources.mapping';
import { DefinePoolBodySchema, ReserveBodySchema } from './resources.schemas';

const at = (iso: string) => timestampFromDate(new Date(iso));

describe('requests as commands', () => {
  it('leaves unset what the client did not give, so the service applies its defaults', () => {
    const concurrency = toDefinePool(
      DefinePoolBodySchema.parse({ id: 'slots', kind: 'concurrency', capacity: 3 }),
    );
    expect(concurrency).toMatchObject({
      poolId: 'slots',
      kind: 'concurrency',
      capacity: 3,
      unit: '',
      windowMs: 0n,
      scope: { kind: 'global', value: '' },
      policy: '',
    });
    expect(concurrency.burst).toBeUndefined();
    expect(concurrency.softLimit).toBeUndefined();
    expect(concurrency.defaultAmount).toBeUndefined();
  });

  it('sends the window in ms and the scope parsed from its string form', () => {
    const rate = toDefinePool(
      DefinePoolBodySchema.parse({
        id: 'openai-tpm',
        kind: 'rate',
        capacity: 90_000,
        unit: 'tokens',
        window: '1m',
        burst: 10_000,
        scope: 'provider:openai',
        policy: 'wait-die',
        defaultAmount: 0,
      }),
    );
    expect(rate).toMatchObject({
      windowMs: 60_000n,
      burst: 10_000,
      scope: { kind: 'provider', value: 'openai' },
      policy: 'wait-die',
      defaultAmount: 0,
      unit: 'tokens',
    });
  });

  it('changes only the fields an update gives', () => {
    const update = toUpdatePool('money', { capacity: 200 });
    expect(update.capacity).toBe(200);
    expect(update.softLimit).toBeUndefined();
    expect(update.policy).toBeUndefined();
    expect(update.burst).toBeUndefined();
  });

  it('sends a reservation window as timestamps', () => {
    const reserve = toReserve(
      'r1',
      ReserveBodySchema.parse({
        pool: 'gpu',
        amount: 4,
        from: '2026-03-01T14:00:00+01:00',
        to: '2026-03-01T16:00:00Z',
      }),
    );
    expect(reserve).toMatchObject({ reservationId: 'r1', poolId: 'gpu', amount: 4, taskId: '' });
    expect(reserve.from?.seconds).toBe(BigInt(Date.parse('2026-03-01T13:00:00Z') / 1000));
    expect(reserve.to?.seconds).toBe(BigInt(Date.parse('2026-03-01T16:00:00Z') / 1000));
  });

  it('sends claims with the fields of the other kind empty, and reads them back the same', () => {
    const claims = ClaimsSchema.parse([
      { pool: 'gpu', amount: 2, reservation: 'r1' },
      { lock: 'repo:acme/api:src/**', mode: 'shared' },
    ]);
    const sent = claims.map(toClaim);
    expect(
      sent.map(({ pool, amount, lock, mode, reservation }) => ({ pool, amount, lock, mode, reservation })),
    ).toEqual([
      { pool: 'gpu', amount: 2, lock: '', mode: '', reservation: 'r1' },
      { pool: '', amount: 0, lock: 'repo:acme/api:src/**', mode: 'shared', reservation: '' },
    ]);
    expect(sent.map(toClaimResponse)).toEqual(claims);
  });
});

describe('replies as API JSON', () => {
  it('flattens a pool: definition and usage, window in ms, unset timestamps null', () => {
    const view = create(PoolViewSchema, {
      spec: {
        poolId: 'money',
        kind: 'budget',
        capacity: 100,
        unit: 'usd',
        windowMs: 86_400_000n,
        scope: { kind: 'session', value: 's1' },
        softLimit: 0.8,
        policy: 'queue',
      },
      used: 12.5,
      capacity: 100,
      available: 80,
      utilization: 0.2,
      spent: 7.5,
      held: 12.5,
      periodStart: at('2026-03-01T00:00:00Z'),
      waiting: 2,
      waitingDemand: 30,
      holders: 3,
    });
    expect(toPoolResponse(view)).toEqual({
      id: 'money',
      kind: 'budget',
      capacity: 100,
      unit: 'usd',
      window: 86_400_000,
      burst: 0,
      scope: { kind: 'session', value: 's1' },
      softLimit: 0.8,
      policy: 'queue',
      defaultAmount: 0,
      used: 12.5,
      available: 80,
      utilization: 0.2,
      reserved: 0,
      waiting: 2,
      waitingDemand: 30,
      holders: 3,
      spent: 7.5,
      held: 12.5,
      periodStart: '2026-03-01T00:00:00Z',
      tokens: 0,
    });
    expect(
      toPoolResponse(create(PoolViewSchema, { spec: { poolId: 'x', kind: 'quantity' } })).periodStart,
    ).toBeNull();
  });

  it('shows a reservation under the names it was made with', () => {
    expect(
      toReservationResponse(
        create(ReservationViewSchema, {
          reservationId: 'r1',
          poolId: 'gpu',
          amount: 4,
          from: at('2026-03-01T14:00:00Z'),
          to: at('2026-03-01T16:00:00.250Z'),
          status: 'pending',
        }),
      ),
    ).toEqual({
      id: 'r1',
      pool: 'gpu',
      amount: 4,
      from: '2026-03-01T14:00:00Z',
      to: '2026-03-01T16:00:00.250Z',
      taskId: '',
      status: 'pending',
      used: 0,
    });
  });

  it('shows an allocate decision with only the members that say something', () => {
    const granted = toAllocationResultResponse(
      create(AllocationResultSchema, {
        allocationId: 't1#1',
        status: 'granted',
        grants: [
          { poolId: 'gpu', amount: 2, reservationId: 'r1' },
          { poolId: 'slots', amount: 1 },
        ],
        locks: [{ lock: 'repo:a', mode: 'exclusive' }],
      }),
    );
    expect(granted).toEqual({
      status: 'granted',
      allocationId: 't1#1',
      grants: [
        { pool: 'gpu', amount: 2, reservation: 'r1' },
        { pool: 'slots', amount: 1 },
      ],
      locks: [{ lock: 'repo:a', mode: 'exclusive' }],
      blockers: [],
      conflictIds: [],
    });
    const waiting = toAllocationResultResponse(
      create(AllocationResultSchema, {
        allocationId: 't1#1',
        status: 'waiting',
        waitingFor: 'lock',
        reason: 'lock "repo:a" is held exclusively by task t2',
        blockers: ['t2'],
        retryAt: at('2026-03-01T14:00:30Z'),
        conflictIds: ['c-1'],
      }),
    );
    expect(waiting).toEqual({
      status: 'waiting',
      allocationId: 't1#1',
      grants: [],
      locks: [],
      waitingFor: 'lock',
      reason: 'lock "repo:a" is held exclusively by task t2',
      blockers: ['t2'],
      retryAt: '2026-03-01T14:00:30Z',
      conflictIds: ['c-1'],
    });
  });

  it('shows allocations and waiters with their claims as the API writes them', () => {
    const json = toAllocationResponse(
      create(AllocationViewSchema, {
        allocations: [
          {
            allocationId: 't1#1',
            taskId: 't1',
            attempt: 1,
            sessionId: 's1',
            priority: 5,
            grants: [{ poolId: 'slots', amount: 1 }],
            locks: [{ lock: 'repo:a', mode: 'shared' }],
            since: at('2026-03-01T14:00:00Z'),
            grantedAt: at('2026-03-01T14:00:01Z'),
          },
        ],
        waiters: [
          {
            allocationId: 't2#3',
            taskId: 't2',
            attempt: 3,
            sessionId: 's1',
            claims: [
              { pool: 'slots', amount: 1 },
              { lock: 'repo:a', mode: 'exclusive' },
            ],
            waitingFor: 'lock',
            reason: 'held',
            blockers: ['t1'],
            since: at('2026-03-01T14:00:02Z'),
            position: 1,
            conflictIds: ['c-1'],
            holding: true,
          },
        ],
      }),
    );
    expect(json.allocations[0]).toEqual({
      allocationId: 't1#1',
      taskId: 't1',
      attempt: 1,
      sessionId: 's1',
      priority: 5,
      grants: [{ pool: 'slots', amount: 1 }],
      locks: [{ lock: 'repo:a', mode: 'shared' }],
      since: '2026-03-01T14:00:00Z',
      grantedAt: '2026-03-01T14:00:01Z',
      preemptedBy: '',
    });
    expect(json.waiters[0]).toMatchObject({
      claims: [
        { pool: 'slots', amount: 1 },
        { lock: 'repo:a', mode: 'exclusive' },
      ],
      retryAt: null,
      position: 1,
      holding: true,
      blockers: ['t1'],
    });
  });

  it('names pools `pool` in monitoring and horizons as numbers', () => {
    const json = toMonitoringResponse(
      create(MonitoringViewSchema, {
        at: at('2026-03-01T14:00:00Z'),
        pools: [{ spec: { poolId: 'openai-rpm', kind: 'rate', windowMs: 60_000n } }],
        demand: [
          {
            poolId: 'openai-rpm',
            demand: 70,
            capacity: 60,
            horizonMs: 3_600_000n,
            method: 'moving-average',
            samples: 12,
          },
        ],
        actions: [
          {
            kind: 'shift_work',
            poolId: 'openai-rpm',
            provider: 'openai',
            toProvider: 'anthropic',
            toPoolId: 'anthropic-rpm',
            headroom: 40,
            reason: 'anthropic has headroom',
          },
        ],
      }),
    );
    expect(json.at).toBe('2026-03-01T14:00:00Z');
    expect(json.pools.map((p) => [p.id, p.window])).toEqual([['openai-rpm', 60_000]]);
    expect(json.demand).toEqual([
      {
        pool: 'openai-rpm',
        demand: 70,
        capacity: 60,
        horizonMs: 3_600_000,
        method: 'moving-average',
        samples: 12,
      },
    ]);
    expect(json.actions[0]).toMatchObject({
      kind: 'shift_work',
      pool: 'openai-rpm',
      toPool: 'anthropic-rpm',
      headroom: 40,
    });
  });

  it('shows a conflict with its id and every party', () => {
    expect(
      toConflictResponse(
        create(ConflictViewSchema, {
          conflictId: 'c-7',
          kind: 'lock',
          resource: 'repo:a',
          allocationId: 't2#1',
          parties: [
            { taskId: 't2', attempt: 1, priority: 1, role: 'waiter' },
            { taskId: 't1', attempt: 2, priority: 0, role: 'holder' },
          ],
          policy: 'manual',
          status: 'open',
          since: at('2026-03-01T14:00:00Z'),
          detectedAt: at('2026-03-01T14:00:01Z'),
        }),
      ),
    ).toEqual({
      id: 'c-7',
      kind: 'lock',
      resource: 'repo:a',
      allocationId: 't2#1',
      parties: [
        { taskId: 't2', attempt: 1, priority: 1, role: 'waiter' },
        { taskId: 't1', attempt: 2, priority: 0, role: 'holder' },
      ],
      policy: 'manual',
      status: 'open',
      resolution: '',
      winner: '',
      strategy: '',
      reason: '',
      since: '2026-03-01T14:00:00Z',
      detectedAt: '2026-03-01T14:00:01Z',
      resolvedAt: null,
    });
  });
});

describe('remote field names', () => {
  const renames = { poolId: 'id', windowMs: 'window' };

  it('renames the first segment of a path only', () => {
    expect(renamePath('windowMs', renames)).toBe('window');
    expect(renamePath('poolId', renames)).toBe('id');
    expect(renamePath('scope.value', renames)).toBe('scope.value');
    expect(renamePath('claims[2].poolId', renames)).toBe('claims[2].poolId');
    expect(renamePath('poolId[0]', renames)).toBe('id[0]');
  });

  it('rethrows a refusal with the API field names and leaves other failures alone', async () => {
    const refusal = new RemoteDomainError(
      'validation',
      'invalid pool',
      [{ path: 'windowMs', message: 'too short' }],
      { poolId: 'x' },
      'resources.DefinePool',
    );
    await expect(withApiFieldNames(renames, () => Promise.reject(refusal))).rejects.toMatchObject({
      code: 'validation',
      message: 'invalid pool',
      errors: [{ path: 'window', message: 'too short' }],
      details: { poolId: 'x' },
      command: 'resources.DefinePool',
    });
    const other = new Error('boom');
    await expect(withApiFieldNames(renames, () => Promise.reject(other))).rejects.toBe(other);
    await expect(withApiFieldNames(renames, () => Promise.resolve(42))).resolves.toBe(42);
  });
});
