import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  TaskViewSchema,
  commandInfo,
  type Allocate,
  type DefinePool,
  type GetAllocation,
  type GetMonitoring,
  type GetTask,
  type ListConflicts,
  type ListReservations,
  type ResolveConflictRequest,
  type Reserve,
  type SetPolicy,
  type TaskView,
  type UpdatePool,
} from '@orch/contracts';
import { NotFoundError } from '@orch/domain-kit';
import { CommandServer } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';
import { testNatsUrl } from '@orch/testing';
import { FakeConflicts, FakeResources } from '../testing/fake-resources';
import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';

const PROBLEM = /^application\/problem\+json/;
type Problem = { status: number; type: string; detail: string; errors?: { path: string; message: string }[] };

/**
 * The resources and conflicts routes against fake resources, conflicts and distribution services
 * (real CommandServers on the real NATS): what each route sends, what it answers, who may call it,
 * and how validation and remote errors become problem+json.
 */
describe('resources and conflicts routes against CommandServers on NATS', () => {
  let gw: TestGateway;
  let nc: NatsConnection;
  let resources: FakeResources;
  let conflicts: FakeConflicts;
  let distribution: CommandServer;
  const tasks = new Map<string, TaskView>();
  const getTaskCalls: GetTask[] = [];
  let operatorKey: string;
  let viewerKey: string;
  let agentKey: string;
  const agentId = randomUUID();

  beforeAll(async () => {
    gw = await startTestGateway({ commandTimeoutMs: 500 });
    nc = await connect({ servers: testNatsUrl() });
    resources = new FakeResources(nc, gw.naming);
    conflicts = new FakeConflicts(nc, gw.naming);
    distribution = new CommandServer(nc, gw.naming, 'distribution', testLogger());
    distribution.handle<GetTask, never>(commandInfo('distribution.GetTask'), async (p) => {
      getTaskCalls.push(p);
      const task = tasks.get(p.taskId);
      if (!task) throw new NotFoundError(`task ${p.taskId} not found`);
      return task as never;
    });
    await nc.flush();
    const key = async (payload: Record<string, unknown>) =>
      (
        await gw.app.inject({ method: 'POST', url: '/api/keys', headers: gw.auth(gw.adminKey), payload })
      ).json<{ key: string }>().key;
    operatorKey = await key({ role: 'operator', name: 'op' });
    viewerKey = await key({ role: 'viewer', name: 'viewer' });
    agentKey = await key({ role: 'agent', name: 'agent', agentId });
  });

  afterAll(async () => {
    await resources.close();
    await conflicts.close();
    await distribution.close();
    await nc.close();
    await gw.close();
  });

  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH',
    url: string,
    key: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    gw.app.inject({
      method,
      url,
      headers: { ...gw.auth(key), ...headers },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });

  /** The problem document of a response, after checking it is one with `status`. */
  const problemOf = (res: Awaited<ReturnType<typeof call>>, status: number): Problem => {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    const body = res.json<Problem>();
    expect(body.status).toBe(status);
    return body;
  };
  const errorPaths = (res: Awaited<ReturnType<typeof call>>): string[] =>
    (problemOf(res, 400).errors ?? []).map((e) => e.path);

  describe('pools', () => {
    it('defines a pool: window and scope in their short forms, defaults left to the service', async () => {
      const res = await call('POST', '/api/resources/pools', operatorKey, {
        id: 'openai-rpm',
        kind: 'rate',
        capacity: 60,
        window: '1m',
        scope: 'provider:openai',
        policy: 'preempt',
      });
      expect(res.statusCode).toBe(201);
      const sent = resources.last<DefinePool>('DefinePool')!;
      expect(sent).toMatchObject({
        poolId: 'openai-rpm',
        kind: 'rate',
        capacity: 60,
        windowMs: 60_000n,
        scope: { kind: 'provider', value: 'openai' },
        policy: 'preempt',
        unit: '',
      });
      expect(sent.burst).toBeUndefined();
      expect(sent.defaultAmount).toBeUndefined();
      expect(res.json()).toEqual({
        id: 'openai-rpm',
        kind: 'rate',
        capacity: 60,
        unit: 'units',
        window: 60_000,
        burst: 60,
        scope: { kind: 'provider', value: 'openai' },
        softLimit: 0,
        policy: 'preempt',
        defaultAmount: 0,
        used: 0,
        available: 60,
        utilization: 0,
        reserved: 0,
        waiting: 0,
        waitingDemand: 0,
        holders: 0,
        spent: 0,
        held: 0,
        periodStart: null,
        tokens: 0,
      });
    });

    it('takes the window in ms and the scope as an object too', async () => {
      const res = await call('POST', '/api/resources/pools', operatorKey, {
        id: 'money',
        kind: 'budget',
        capacity: 250,
        unit: 'usd',
        window: 86_400_000,
        softLimit: 0.9,
        scope: { kind: 'label', value: 'team=core' },
      });
      expect(res.statusCode).toBe(201);
      expect(resources.last<DefinePool>('DefinePool')).toMatchObject({
        windowMs: 86_400_000n,
        softLimit: 0.9,
        scope: { kind: 'label', value: 'team=core' },
      });
      await call('POST', '/api/resources/pools', operatorKey, { id: 'gpu', kind: 'quantity', capacity: 4 });
    });

    it('answers 400 naming every invalid field, without sending anything', async () => {
      const before = resources.count('DefinePool');
      const res = await call('POST', '/api/resources/pools', operatorKey, {
        id: 'Bad Id',
        kind: 'tokens',
        capacity: -1,
        window: 'sometimes',
        scope: 'team:core',
        softLimit: 2,
        policy: 'coin-flip',
        extra: true,
      });
      expect(errorPaths(res)).toEqual(
        expect.arrayContaining(['id', 'kind', 'capacity', 'window', 'scope', 'softLimit', 'policy', 'extra']),
      );
      expect(
        errorPaths(
          await call('POST', '/api/resources/pools', operatorKey, { id: 'r', kind: 'rate', capacity: 0 }),
        ),
      ).toEqual(expect.arrayContaining(['capacity', 'window']));
      expect(
        errorPaths(
          await call('POST', '/api/resources/pools', operatorKey, {
            id: 's',
            kind: 'concurrency',
            capacity: 2,
            scope: { kind: 'provider', value: '' },
          }),
        ),
      ).toEqual(['scope.value']);
      expect(resources.count('DefinePool')).toBe(before);
    });

    it("maps the service's refusals: a redefinition is a 409, an invalid field is named as the API calls it", async () => {
      const conflict = problemOf(
        await call('POST', '/api/resources/pools', operatorKey, {
          id: 'gpu',
          kind: 'concurrency',
          capacity: 4,
        }),
        409,
      );
      expect(conflict.detail).toBe('pool gpu is defined otherwise');
      const invalid = problemOf(
        await call('POST', '/api/resources/pools', operatorKey, {
          id: 'remote-invalid',
          kind: 'budget',
          capacity: 1,
          window: '1d',
        }),
        400,
      );
      expect(invalid.errors).toEqual([{ path: 'window', message: 'is too long for this kind' }]);
    });

    it('is defined by operators and admins only', async () => {
      const body = { id: 'slots', kind: 'concurrency', capacity: 3 };
      problemOf(await call('POST', '/api/resources/pools', viewerKey, body), 403);
      problemOf(await call('POST', '/api/resources/pools', agentKey, body), 403);
      expect((await call('POST', '/api/resources/pools', gw.adminKey, body)).statusCode).toBe(201);
    });

    it('lists pools and reads one from the list; an unknown one is a 404', async () => {
      const list = await call('GET', '/api/resources/pools', viewerKey);
      expect(list.statusCode).toBe(200);
      const body = list.json<{ items: { id: string }[]; nextCursor: null }>();
      expect(body.nextCursor).toBeNull();
      expect(body.items.map((p) => p.id)).toEqual(expect.arrayContaining(['openai-rpm', 'money', 'gpu']));

      const one = await call('GET', '/api/resources/pools/money', viewerKey);
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({ id: 'money', kind: 'budget', capacity: 250, window: 86_400_000 });

      expect(problemOf(await call('GET', '/api/resources/pools/nowhere', viewerKey), 404).detail).toBe(
        'pool "nowhere" is not defined',
      );
      expect(errorPaths(await call('GET', '/api/resources/pools/NOT%20A%20POOL', viewerKey))).toEqual(['id']);
    });

    it('changes a pool with only the fields given', async () => {
      const res = await call('PATCH', '/api/resources/pools/gpu', operatorKey, { capacity: 8 });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: 'gpu', capacity: 8 });
      const sent = resources.last<UpdatePool>('UpdatePool')!;
      expect(sent.poolId).toBe('gpu');
      expect(sent.capacity).toBe(8);
      expect(sent.softLimit).toBeUndefined();
      expect(sent.policy).toBeUndefined();

      problemOf(await call('PATCH', '/api/resources/pools/nowhere', operatorKey, { capacity: 2 }), 404);
      expect(errorPaths(await call('PATCH', '/api/resources/pools/gpu', operatorKey, {}))).toEqual(['body']);
      expect(
        errorPaths(await call('PATCH', '/api/resources/pools/gpu', operatorKey, { capacity: 0, burst: -2 })),
      ).toEqual(['capacity', 'burst']);
      problemOf(await call('PATCH', '/api/resources/pools/gpu', viewerKey, { capacity: 2 }), 403);
    });
  });

  describe('lock policies', () => {
    it('sets the policy of a namespace', async () => {
      const res = await call('PUT', '/api/resources/policies/repo', operatorKey, { policy: 'wound-wait' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ namespace: 'repo', policy: 'wound-wait' });
      expect(resources.last<SetPolicy>('SetPolicy')).toMatchObject({
        namespace: 'repo',
        policy: 'wound-wait',
      });
    });

    it('refuses an unknown policy, a malformed namespace and a viewer', async () => {
      expect(
        errorPaths(await call('PUT', '/api/resources/policies/repo', operatorKey, { policy: 'fifo' })),
      ).toEqual(['policy']);
      expect(
        errorPaths(await call('PUT', '/api/resources/policies/re%20po', operatorKey, { policy: 'queue' })),
      ).toEqual(['namespace']);
      problemOf(await call('PUT', '/api/resources/policies/repo', viewerKey, { policy: 'queue' }), 403);
    });
  });

  /** A quantity pool `gpu` of 8, whatever the tests before did. */
  const seedGpu = () =>
    resources.pools.set('gpu', FakeResources.view({ poolId: 'gpu', kind: 'quantity', capacity: 8 }));

  describe('reservations', () => {
    const window = { from: '2026-03-01T14:00:00Z', to: '2026-03-01T16:00:00Z' };
    beforeAll(seedGpu);

    it('reserves with a generated id, the same one when a failed request is retried with its Idempotency-Key', async () => {
      const headers = { 'idempotency-key': `reserve-${randomUUID()}` };
      const taskId = randomUUID();
      const body = { pool: 'gpu', amount: 4, ...window, taskId };
      resources.failNext.add('Reserve');
      problemOf(await call('POST', '/api/resources/reservations', operatorKey, body, headers), 502);
      const failed = resources.last<Reserve>('Reserve')!;

      const res = await call('POST', '/api/resources/reservations', operatorKey, body, headers);
      expect(res.statusCode).toBe(201);
      const sent = resources.last<Reserve>('Reserve')!;
      expect(sent).not.toBe(failed);
      expect(sent.reservationId).toBe(failed.reservationId);
      expect(sent).toMatchObject({ poolId: 'gpu', amount: 4, taskId });
      expect(sent.from?.seconds).toBe(BigInt(Date.parse(window.from) / 1000));
      expect(res.json()).toEqual({
        id: sent.reservationId,
        pool: 'gpu',
        amount: 4,
        from: window.from,
        to: window.to,
        taskId,
        status: 'pending',
        used: 0,
      });
      expect(sent.reservationId).toMatch(/^[0-9a-f-]{36}$/);

      // Without a key, each request is a new reservation.
      await call('POST', '/api/resources/reservations', operatorKey, body);
      expect(resources.last<Reserve>('Reserve')?.reservationId).not.toBe(sent.reservationId);
    });

    it('keeps an id the client chose', async () => {
      const res = await call('POST', '/api/resources/reservations', operatorKey, {
        pool: 'gpu',
        amount: 1,
        ...window,
        id: 'gpu-demo',
      });
      expect(res.statusCode).toBe(201);
      expect(resources.last<Reserve>('Reserve')?.reservationId).toBe('gpu-demo');
    });

    it('answers 400 at `to` for a reservation that ends before it begins', async () => {
      const before = resources.count('Reserve');
      const res = await call('POST', '/api/resources/reservations', operatorKey, {
        pool: 'gpu',
        amount: 1,
        from: window.to,
        to: window.from,
      });
      expect(problemOf(res, 400).errors).toEqual([
        { path: 'to', message: `must be after from (${window.to})` },
      ]);
      expect(
        errorPaths(
          await call('POST', '/api/resources/reservations', operatorKey, {
            pool: 'gpu',
            amount: 0,
            from: 'at two',
            to: window.to,
          }),
        ),
      ).toEqual(expect.arrayContaining(['amount', 'from']));
      expect(resources.count('Reserve')).toBe(before);
    });

    it('maps a reservation the pool cannot hold to 409 and an unknown pool to 404', async () => {
      problemOf(
        await call('POST', '/api/resources/reservations', operatorKey, {
          pool: 'gpu',
          amount: 50,
          ...window,
        }),
        409,
      );
      problemOf(
        await call('POST', '/api/resources/reservations', operatorKey, { pool: 'tpu', amount: 1, ...window }),
        404,
      );
      problemOf(
        await call('POST', '/api/resources/reservations', viewerKey, { pool: 'gpu', amount: 1, ...window }),
        403,
      );
    });

    it('lists reservations of a pool', async () => {
      const res = await call('GET', '/api/resources/reservations?pool=gpu', viewerKey);
      expect(res.statusCode).toBe(200);
      expect(resources.last<ListReservations>('ListReservations')?.poolId).toBe('gpu');
      expect(res.json()).toEqual({
        items: [
          {
            id: 'r-listed',
            pool: 'gpu',
            amount: 2,
            from: '2026-03-01T14:00:00Z',
            to: '2026-03-01T16:00:00Z',
            taskId: '',
            status: 'active',
            used: 1,
          },
        ],
        nextCursor: null,
      });
    });
  });

  describe('allocation', () => {
    const heldTask = randomUUID();
    const otherTask = randomUUID();
    const freshTask = randomUUID();
    const sessionId = randomUUID();

    beforeAll(() => {
      tasks.set(
        heldTask,
        create(TaskViewSchema, {
          taskId: heldTask,
          sessionId,
          status: 'running',
          agentId,
          attempts: 2,
          priority: 7,
        }),
      );
      tasks.set(
        otherTask,
        create(TaskViewSchema, {
          taskId: otherTask,
          sessionId,
          status: 'running',
          agentId: randomUUID(),
          attempts: 1,
        }),
      );
      tasks.set(
        freshTask,
        create(TaskViewSchema, { taskId: freshTask, sessionId, status: 'ready', attempts: 0 }),
      );
    });

    it('sends what an operator gives, without reading the task, and answers 200 when granted', async () => {
      const before = getTaskCalls.length;
      const res = await call('POST', '/api/resources/allocate', operatorKey, {
        taskId: otherTask,
        attempt: 1,
        sessionId,
        priority: 3,
        claims: [
          { pool: 'gpu', amount: 2 },
          { lock: 'repo:acme/api:src/**', mode: 'shared' },
        ],
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        status: 'granted',
        allocationId: `${otherTask}#1`,
        grants: [{ pool: 'gpu', amount: 2 }],
        locks: [{ lock: 'repo:acme/api:src/**', mode: 'shared' }],
        blockers: [],
        conflictIds: [],
      });
      expect(getTaskCalls.length).toBe(before);
      const sent = resources.last<Allocate>('Allocate')!;
      expect(sent).toMatchObject({
        taskId: otherTask,
        attempt: 1,
        sessionId,
        priority: 3,
        incremental: true,
      });
      expect(sent.claims.map(({ pool, amount, lock, mode }) => ({ pool, amount, lock, mode }))).toEqual([
        { pool: 'gpu', amount: 2, lock: '', mode: '' },
        { pool: '', amount: 0, lock: 'repo:acme/api:src/**', mode: 'shared' },
      ]);
    });

    it('answers 202 with why it waits, and takes what is not given from the task', async () => {
      const res = await call('POST', '/api/resources/allocate', operatorKey, {
        taskId: heldTask,
        claims: [{ lock: 'repo:busy' }],
        incremental: false,
      });
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual({
        status: 'waiting',
        allocationId: `${heldTask}#2`,
        grants: [],
        locks: [],
        waitingFor: 'lock',
        reason: 'lock "repo:busy" is held exclusively by task t-holder',
        blockers: ['t-holder'],
        retryAt: '2026-03-01T14:05:00Z',
        conflictIds: ['c-1'],
      });
      expect(getTaskCalls.at(-1)?.taskId).toBe(heldTask);
      expect(resources.last<Allocate>('Allocate')).toMatchObject({
        attempt: 2,
        sessionId,
        priority: 7,
        incremental: false,
      });
    });

    it('answers 200 for a refusal (retried later, not a failure)', async () => {
      const res = await call('POST', '/api/resources/allocate', operatorKey, {
        taskId: heldTask,
        claims: [{ lock: 'repo:refuse' }],
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'refused', reason: 'wait-die: younger than the holder' });
    });

    it('lets an agent ask for a task it holds, at its current attempt and priority', async () => {
      const res = await call('POST', '/api/resources/allocate', agentKey, {
        taskId: heldTask,
        claims: [{ pool: 'gpu', amount: 1 }],
      });
      expect(res.statusCode).toBe(200);
      expect(resources.last<Allocate>('Allocate')).toMatchObject({
        taskId: heldTask,
        attempt: 2,
        priority: 7,
        sessionId,
      });
    });

    it("refuses an agent another agent's task, another attempt, a priority of its own; and a viewer", async () => {
      const claims = [{ pool: 'gpu', amount: 1 }];
      const before = resources.count('Allocate');
      problemOf(await call('POST', '/api/resources/allocate', agentKey, { taskId: otherTask, claims }), 403);
      problemOf(
        await call('POST', '/api/resources/allocate', agentKey, { taskId: heldTask, attempt: 1, claims }),
        409,
      );
      expect(
        errorPaths(
          await call('POST', '/api/resources/allocate', agentKey, {
            taskId: heldTask,
            priority: 1000,
            claims,
          }),
        ),
      ).toEqual(['priority']);
      problemOf(await call('POST', '/api/resources/allocate', viewerKey, { taskId: heldTask, claims }), 403);
      expect(resources.count('Allocate')).toBe(before);
    });

    it('maps an unknown task to 404, a task without an attempt to 409, another session to 400', async () => {
      const claims = [{ pool: 'gpu', amount: 1 }];
      problemOf(
        await call('POST', '/api/resources/allocate', operatorKey, { taskId: randomUUID(), claims }),
        404,
      );
      problemOf(
        await call('POST', '/api/resources/allocate', operatorKey, { taskId: freshTask, claims }),
        409,
      );
      expect(
        errorPaths(
          await call('POST', '/api/resources/allocate', operatorKey, {
            taskId: heldTask,
            sessionId: randomUUID(),
            claims,
          }),
        ),
      ).toEqual(['sessionId']);
    });

    it('answers 400 naming each bad claim', async () => {
      const res = await call('POST', '/api/resources/allocate', operatorKey, {
        taskId: 'not-a-task',
        claims: [
          { pool: 'gpu', amount: -1 },
          { lock: 'repo:a//b' },
          { lock: 'repo:x', mode: 'sometimes' },
          { pool: 'gpu', amount: 1, lock: 'repo:y' },
          { pool: 'gpu' },
        ],
      });
      const problem = problemOf(res, 400);
      expect(problem.errors?.map((e) => e.path)).toEqual([
        'taskId',
        'claims[0].amount',
        'claims[1].lock',
        'claims[2].mode',
        'claims[3]',
        'claims[4].amount',
      ]);
      expect(problem.errors?.[2]?.message).toContain('empty segment');
      expect(
        errorPaths(
          await call('POST', '/api/resources/allocate', operatorKey, { taskId: heldTask, claims: [] }),
        ),
      ).toEqual(['claims']);
    });

    it('shows allocations and waiters; an agent key must name the task', async () => {
      const res = await call('GET', `/api/resources/allocation?sessionId=${sessionId}`, viewerKey);
      expect(res.statusCode).toBe(200);
      expect(resources.last<GetAllocation>('GetAllocation')).toMatchObject({ sessionId, taskId: '' });
      expect(res.json()).toEqual({
        allocations: [
          {
            allocationId: 't1#1',
            taskId: 't1',
            attempt: 1,
            sessionId,
            priority: 0,
            grants: [{ pool: 'gpu', amount: 1 }],
            locks: [{ lock: 'repo:acme/api', mode: 'exclusive' }],
            since: '2026-03-01T14:00:00Z',
            grantedAt: '2026-03-01T14:00:00Z',
            preemptedBy: '',
          },
        ],
        waiters: [],
      });

      expect(errorPaths(await call('GET', '/api/resources/allocation', agentKey))).toEqual(['taskId']);
      const own = await call('GET', `/api/resources/allocation?taskId=${heldTask}`, agentKey);
      expect(own.statusCode).toBe(200);
      expect(resources.last<GetAllocation>('GetAllocation')?.taskId).toBe(heldTask);
      expect(errorPaths(await call('GET', '/api/resources/allocation?taskId=t1', viewerKey))).toEqual([
        'taskId',
      ]);
    });
  });

  describe('monitoring', () => {
    beforeAll(seedGpu);

    it('asks for the horizon in ms and shows utilization, demand and actions', async () => {
      const res = await call('GET', '/api/resources/monitoring?horizonHours=6', viewerKey);
      expect(res.statusCode).toBe(200);
      expect(resources.last<GetMonitoring>('GetMonitoring')?.horizonMs).toBe(21_600_000n);
      const body = res.json<{ at: string; pools: { id: string }[]; demand: unknown[]; actions: unknown[] }>();
      expect(body.at).toBe('2026-03-01T14:00:00Z');
      expect(body.pools.map((p) => p.id)).toContain('gpu');
      expect(body.demand).toEqual([
        {
          pool: 'gpu',
          demand: 3.5,
          capacity: 4,
          horizonMs: 21_600_000,
          method: 'moving-average',
          samples: 0,
        },
      ]);
      expect(body.actions).toEqual([
        {
          kind: 'raise_pool',
          pool: 'gpu',
          provider: '',
          toProvider: '',
          toPool: '',
          capacity: 4,
          demand: 3.8,
          utilization: 0.95,
          suggestedCapacity: 5,
          headroom: 0,
          reason: 'demand is above 90% of capacity',
        },
      ]);
      await call('GET', '/api/resources/monitoring', viewerKey);
      expect(resources.last<GetMonitoring>('GetMonitoring')?.horizonMs).toBe(0n);
    });

    it('refuses a horizon that is not a positive number of hours', async () => {
      expect(errorPaths(await call('GET', '/api/resources/monitoring?horizonHours=-1', viewerKey))).toEqual([
        'horizonHours',
      ]);
      expect(errorPaths(await call('GET', '/api/resources/monitoring?horizonHours=soon', viewerKey))).toEqual(
        ['horizonHours'],
      );
    });
  });

  describe('conflicts', () => {
    it('pages through conflicts with the filter and cursor given', async () => {
      const res = await call('GET', '/api/resources/conflicts?status=open&limit=10', viewerKey);
      expect(res.statusCode).toBe(200);
      expect(conflicts.last<ListConflicts>('ListConflicts')).toMatchObject({
        status: 'open',
        limit: 10,
        cursor: '',
      });
      const body = res.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
      expect(body.nextCursor).toBe('page-2');
      expect(body.items).toEqual([
        {
          id: 'c-2',
          kind: 'lock',
          resource: 'repo:acme/api:src/**',
          allocationId: 't-waiter#1',
          parties: [
            { taskId: 't-waiter', attempt: 1, priority: 5, role: 'waiter' },
            { taskId: 't-holder', attempt: 2, priority: 1, role: 'holder' },
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
        },
      ]);
      const last = await call('GET', '/api/resources/conflicts?cursor=page-2', viewerKey);
      expect(last.json<{ nextCursor: string | null }>().nextCursor).toBeNull();
      expect(conflicts.last<ListConflicts>('ListConflicts')).toMatchObject({
        status: '',
        limit: 50,
        cursor: 'page-2',
      });
      expect(
        errorPaths(await call('GET', '/api/resources/conflicts?status=closed&limit=0', viewerKey)),
      ).toEqual(['status', 'limit']);
    });

    it('resolves a conflict as an operator', async () => {
      const winner = randomUUID();
      const res = await call('POST', '/api/resources/conflicts/c-7/resolve', operatorKey, {
        strategy: 'grant',
        winner,
      });
      expect(res.statusCode).toBe(200);
      expect(conflicts.last<ResolveConflictRequest>('ResolveConflict')).toMatchObject({
        conflictId: 'c-7',
        strategy: 'grant',
        winner,
      });
      expect(res.json()).toMatchObject({
        id: 'c-7',
        status: 'resolved',
        strategy: 'grant',
        winner,
        resolution: 'preempted',
        resolvedAt: '2026-03-01T14:10:00Z',
      });
      const queued = await call('POST', '/api/resources/conflicts/c-8/resolve', operatorKey, {
        strategy: 'queue',
      });
      expect(queued.json()).toMatchObject({ id: 'c-8', strategy: 'queue', winner: '' });
    });

    it('refuses agents and viewers, a grant without a winner, an unknown or resolved conflict', async () => {
      const before = conflicts.count('ResolveConflict');
      problemOf(
        await call('POST', '/api/resources/conflicts/c-7/resolve', agentKey, { strategy: 'abort' }),
        403,
      );
      problemOf(
        await call('POST', '/api/resources/conflicts/c-7/resolve', viewerKey, { strategy: 'abort' }),
        403,
      );
      expect(
        errorPaths(
          await call('POST', '/api/resources/conflicts/c-7/resolve', operatorKey, { strategy: 'grant' }),
        ),
      ).toEqual(['winner']);
      expect(
        errorPaths(
          await call('POST', '/api/resources/conflicts/c-7/resolve', operatorKey, { strategy: 'ignore' }),
        ),
      ).toEqual(['strategy']);
      expect(conflicts.count('ResolveConflict')).toBe(before);
      expect(
        problemOf(
          await call('POST', '/api/resources/conflicts/c-unknown/resolve', operatorKey, {
            strategy: 'abort',
          }),
          404,
        ).detail,
      ).toBe('conflict c-unknown not found');
      problemOf(
        await call('POST', '/api/resources/conflicts/c-resolved/resolve', operatorKey, { strategy: 'abort' }),
        409,
      );
    });
  });

  describe('OpenAPI', () => {
    it('documents every route, the two kinds of claims and the 202 of a waiting allocation', async () => {
      const doc = (await gw.app.inject({ method: 'GET', url: '/api/docs-json' })).json<{
        paths: Record<
          string,
          Record<
            string,
            {
              requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
              responses: Record<string, unknown>;
            }
          >
        >;
      }>();
      expect(Object.keys(doc.paths['/api/resources/pools'] ?? {})).toEqual(
        expect.arrayContaining(['get', 'post']),
      );
      expect(Object.keys(doc.paths['/api/resources/pools/{id}'] ?? {})).toEqual(
        expect.arrayContaining(['get', 'patch']),
      );
      expect(doc.paths['/api/resources/policies/{namespace}']?.put).toBeDefined();
      expect(doc.paths['/api/resources/reservations']?.post).toBeDefined();
      expect(doc.paths['/api/resources/allocation']?.get).toBeDefined();
      expect(doc.paths['/api/resources/monitoring']?.get).toBeDefined();
      expect(doc.paths['/api/resources/conflicts']?.get).toBeDefined();
      expect(doc.paths['/api/resources/conflicts/{id}/resolve']?.post).toBeDefined();

      const allocate = doc.paths['/api/resources/allocate']!.post!;
      expect(allocate.responses['202']).toBeDefined();
      const claims = (
        allocate.requestBody!.content['application/json']!.schema['properties'] as Record<
          string,
          { items: { anyOf: { required: string[] }[] } }
        >
      )['claims']!;
      expect(claims.items.anyOf.map((o) => o.required)).toEqual([['pool', 'amount'], ['lock']]);

      const session =
        doc.paths['/api/orchestration/sessions']!.post!.requestBody!.content['application/json']!.schema;
      const task = (
        session['properties'] as Record<
          string,
          { items: { properties: Record<string, { items: { anyOf: unknown[] } }> } }
        >
      )['tasks']!;
      expect(task.items.properties['claims']?.items.anyOf).toHaveLength(2);
    });
  });
});
