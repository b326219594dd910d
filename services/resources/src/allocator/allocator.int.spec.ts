import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import {
  AnalyticsDocumentSchema,
  DefinePoolSchema,
  GetAllocationSchema,
  GetMonitoringSchema,
  ListPoolsSchema,
  ReleaseSchema,
  TaskFailedSchema,
  TaskSucceededSchema,
  UpdatePoolSchema,
  findEventType,
  commandInfo,
  protoRegistry,
  type AllocationView,
  type GetPredictions,
  type MonitoringView,
  type PoolList,
  type PoolView,
  type ReleaseResult,
} from '@orch/contracts';
import { CommandServer } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';
import { eventually } from '@orch/testing';
import { TestResources } from '../testing/harness';

let r: TestResources;

beforeAll(async () => {
  r = await TestResources.start();
});
afterAll(() => r.close());

const pool = (poolId: string, more: Parameters<typeof create<typeof DefinePoolSchema>>[1] = {}) =>
  r.request<PoolView>(
    'DefinePool',
    create(DefinePoolSchema, { poolId, kind: 'concurrency', capacity: 2, ...more }),
  );

const task = () => ({ taskId: randomUUID(), sessionId: randomUUID(), attempt: 1 });

describe('the resources service', () => {
  it('defines a pool and answers its view; a different definition under the same id is a conflict', async () => {
    const view = await pool('gpu-slots', {
      capacity: 3,
      unit: 'gpus',
      scope: { kind: 'session', value: 's-none' },
    });
    expect(view.spec).toMatchObject({ poolId: 'gpu-slots', kind: 'concurrency', unit: 'gpus' });
    expect(view).toMatchObject({ capacity: 3, used: 0, available: 3 });
    await expect(pool('gpu-slots', { capacity: 4 })).rejects.toMatchObject({ code: 'conflict' });
    await expect(pool('Bad Id')).rejects.toMatchObject({ code: 'validation' });
  });

  it('grants claims all-or-nothing and queues a task that does not fit, with the reason', async () => {
    await pool('cpu', { kind: 'quantity', capacity: 4, scope: { kind: 'session', value: 'nobody' } });
    const a = task();
    const b = task();
    const granted = await r.allocate({
      ...a,
      claims: [{ pool: 'cpu', amount: 3 }, { lock: 'repo:acme/api:src/**' }],
    });
    expect(granted).toMatchObject({ status: 'granted' });
    expect(granted.locks).toEqual([
      expect.objectContaining({ lock: 'repo:acme/api:src/**', mode: 'exclusive' }),
    ]);
    // b fits the pool but not the lock: it gets neither
    const waiting = await r.allocate({
      ...b,
      claims: [{ pool: 'cpu', amount: 1 }, { lock: 'repo:acme/api:src/auth/x.ts' }],
    });
    expect(waiting).toMatchObject({ status: 'waiting', waitingFor: 'lock' });
    expect(waiting.reason).toContain('repo:acme/api');
    expect(waiting.conflictIds.length).toBe(1);
    const view = await r.request<AllocationView>(
      'GetAllocation',
      create(GetAllocationSchema, { taskId: b.taskId }),
    );
    expect(view.allocations).toEqual([]);
    expect(view.waiters[0]).toMatchObject({ taskId: b.taskId, waitingFor: 'lock' });

    // a's attempt fails: distribution's event releases it and b is granted
    await r.publish(
      'TaskFailed',
      create(TaskFailedSchema, {
        sessionId: a.sessionId,
        taskId: a.taskId,
        agentId: 'x',
        attempt: 1,
        error: 'boom',
      }),
      `workflow-${a.sessionId}`,
    );
    await eventually(async () => {
      const now = await r.request<AllocationView>(
        'GetAllocation',
        create(GetAllocationSchema, { taskId: b.taskId }),
      );
      return now.allocations.length === 1 ? true : undefined;
    });
    const events = (await r.events()).map((e) => e.type);
    expect(events).toEqual(
      expect.arrayContaining(['ConflictDetected', 'ResourcesReleased', 'ConflictResolved']),
    );
  });

  it('answers claims on an unknown pool or with a bad amount as a validation error naming the claim', async () => {
    await expect(
      r.allocate({ ...task(), claims: [{ pool: 'no-such-pool', amount: 1 }] }),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/validation|not_found/),
    });
    await expect(r.allocate({ ...task(), claims: [{ lock: 'repo:a//b' }] })).rejects.toMatchObject({
      code: 'validation',
    });
  });

  it('holds tasks on an exhausted budget until it is raised, and reconciles reported cost', async () => {
    await pool('money', { kind: 'budget', capacity: 1, scope: { kind: 'session', value: 'budget-session' } });
    const sessionId = 'budget-session';
    const first = { ...task(), sessionId };
    expect(await r.allocate(first)).toMatchObject({ status: 'granted' });
    await r.publish(
      'TaskSucceeded',
      create(TaskSucceededSchema, {
        sessionId,
        taskId: first.taskId,
        agentId: 'x',
        attempt: 1,
        usage: { inputTokens: 10n, outputTokens: 5n, costUsd: 1.5 },
      }),
      `workflow-${sessionId}`,
    );
    await eventually(async () => {
      const pools = await r.request<PoolList>('ListPools', create(ListPoolsSchema, {}));
      return pools.items.find((p) => p.spec?.poolId === 'money')?.spent === 1.5 ? true : undefined;
    });
    const second = { ...task(), sessionId };
    expect(await r.allocate(second)).toMatchObject({ status: 'waiting', waitingFor: 'budget' });
    await r.request('UpdatePool', create(UpdatePoolSchema, { poolId: 'money', capacity: 10 }));
    const view = await r.request<AllocationView>(
      'GetAllocation',
      create(GetAllocationSchema, { taskId: second.taskId }),
    );
    expect(view.allocations).toHaveLength(1);
  });

  it('keeps allocations, locks and waiters across a restart', async () => {
    await pool('slots-restart', { capacity: 1, scope: { kind: 'session', value: 'nobody' } });
    const holder = task();
    const waiter = task();
    await r.allocate({ ...holder, claims: [{ pool: 'slots-restart', amount: 1 }] });
    await r.allocate({ ...waiter, claims: [{ pool: 'slots-restart', amount: 1 }] });
    await r.restart();
    const view = await r.request<AllocationView>('GetAllocation', create(GetAllocationSchema, {}));
    expect(view.allocations.map((a) => a.taskId)).toContain(holder.taskId);
    expect(view.waiters.map((w) => w.taskId)).toContain(waiter.taskId);
    const released = await r.request<ReleaseResult>(
      'Release',
      create(ReleaseSchema, { taskId: holder.taskId, attempt: 1, reason: 'done' }),
    );
    expect(released).toMatchObject({ status: 'released', granted: [`${waiter.taskId}#1`] });
  });

  it('reports utilization and the scaling actions it implies', async () => {
    await pool('busy', { capacity: 1, scope: { kind: 'session', value: 'nobody' } });
    await r.allocate({ ...task(), claims: [{ pool: 'busy', amount: 1 }] });
    await r.allocate({ ...task(), claims: [{ pool: 'busy', amount: 1 }] });
    const view = await r.request<MonitoringView>('GetMonitoring', create(GetMonitoringSchema, {}));
    const busy = view.pools.find((p) => p.spec?.poolId === 'busy');
    expect(busy).toMatchObject({ utilization: 1, waiting: 1 });
    expect(view.actions).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'raise_pool', poolId: 'busy' })]),
    );
    // no analytics service answers: demand is the moving average of recent usage
    expect(view.demand.find((d) => d.poolId === 'busy')).toMatchObject({
      method: 'moving-average',
      demand: 2,
    });
  });

  it("takes a pool's demand from analytics' forecast when analytics answers", async () => {
    await pool('llm-rate', {
      kind: 'rate',
      capacity: 10,
      windowMs: 60_000n,
      scope: { kind: 'session', value: 'nobody' },
    });
    const asked: number[] = [];
    const analytics = new CommandServer(r.nc, r.names, 'analytics', testLogger());
    analytics.handle(commandInfo('analytics.GetPredictions'), async (m: GetPredictions) => {
      asked.push(m.horizonHours);
      return create(AnalyticsDocumentSchema, {
        body: {
          horizons: [
            {
              horizonHours: m.horizonHours,
              origin: new Date().toISOString(),
              series: [
                {
                  scope: 'pool',
                  key: 'llm-rate',
                  unit: 'tasks/hour',
                  history: { hours: 72, meanPerHour: 500, last24Hours: 12_000 },
                  model: { method: 'holt-winters', period: 24, params: {} },
                  points: [{ mean: 600 }, { mean: 660 }],
                  accuracy: { model: { mape: 11.5 } },
                },
              ],
            },
          ],
        },
        position: 1n,
      });
    });
    try {
      const view = await r.request<MonitoringView>(
        'GetMonitoring',
        create(GetMonitoringSchema, { horizonMs: 5_400_000n }),
      );
      expect(asked).toEqual([2]);
      // 600 + 660 / 2 tasks over 1.5 h, one request each, per 1-minute window: 10.33 of 10 per minute
      expect(view.demand.find((d) => d.poolId === 'llm-rate')).toMatchObject({
        method: 'analytics:holt-winters',
        samples: 72,
        horizonMs: 5_400_000n,
      });
      expect(view.demand.find((d) => d.poolId === 'llm-rate')?.demand).toBeCloseTo(
        (930 * 60_000) / 5_400_000,
      );
      const raise = view.actions.find((a) => a.kind === 'raise_pool' && a.poolId === 'llm-rate');
      expect(raise?.reason).toContain('backtest MAPE 11.5%');
      // pools analytics does not forecast keep the moving average
      expect(view.demand.find((d) => d.poolId === 'busy')?.method).toBe('moving-average');
    } finally {
      await analytics.close();
    }
  });

  it('records every event exactly as the proto JSON mapping of its message', async () => {
    // after the tests above the stream holds pools, grants, blocks, conflicts, releases and usage
    const events = await r.events();
    expect(new Set(events.map((e) => e.type)).size).toBeGreaterThanOrEqual(8);
    for (const e of events) {
      const info = findEventType(e.type);
      expect(info).toBeDefined();
      const wire = toJson(
        info!.schema,
        fromJson(info!.schema, e.data as JsonValue, { registry: protoRegistry }),
        {
          registry: protoRegistry,
          alwaysEmitImplicit: true,
        },
      );
      expect({ type: e.type, data: wire }).toEqual({ type: e.type, data: e.data });
    }
  });
});
