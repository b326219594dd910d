import { create, type Message } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  AllocationResultSchema,
  AllocationViewSchema,
  ConflictPageSchema,
  ConflictViewSchema,
  MonitoringViewSchema,
  PolicyViewSchema,
  PoolListSchema,
  PoolViewSchema,
  ReservationListSchema,
  ReservationViewSchema,
  commandInfo,
  type Allocate,
  type AllocationResult,
  type ConflictView,
  type DefinePool,
  type GetAllocation,
  type GetMonitoring,
  type ListConflicts,
  type ListPools,
  type ListReservations,
  type PoolView,
  type ResolveConflictRequest,
  type Reserve,
  type ReservationView,
  type SetPolicy,
  type UpdatePool,
} from '@orch/contracts';
import { ConflictError, IllegalStateError, NotFoundError, ValidationError } from '@orch/domain-kit';
import { CommandServer, type Naming } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';

/** Records the payload of every command a fake served, by command name. */
class Recorder {
  readonly calls = new Map<string, Message[]>();

  protected record<T extends Message>(name: string, payload: T): T {
    this.calls.set(name, [...(this.calls.get(name) ?? []), payload]);
    return payload;
  }

  /** The last payload `name` received. */
  last<T extends Message>(name: string): T | undefined {
    return this.calls.get(name)?.at(-1) as T | undefined;
  }

  /** How many times `name` was received. */
  count(name: string): number {
    return this.calls.get(name)?.length ?? 0;
  }
}

/**
 * The resources service's commands as a real CommandServer on NATS with canned, recorded answers,
 * so gateway tests pin what each route sends and how it shows the reply. Pools live in `pools`;
 * `Allocate` answers by its first claim: lock `repo:busy` waits, lock `repo:refuse` is refused,
 * anything else is granted. Pool id `remote-invalid` is refused as invalid at `windowMs`; a command
 * named in `failNext` fails once.
 */
export class FakeResources extends Recorder {
  readonly pools = new Map<string, PoolView>();
  /** Commands (by name) whose next request fails as a transient fault (a remote internal error). */
  readonly failNext = new Set<string>();
  private readonly server: CommandServer;

  constructor(nc: NatsConnection, naming: Naming) {
    super();
    this.server = new CommandServer(nc, naming, 'resources', testLogger());
    const serve = <T extends Message>(name: string, handler: (p: T) => Message) =>
      this.server.handle<T, never>(commandInfo(`resources.${name}`), async (p) => {
        this.record(name, p);
        if (this.failNext.delete(name)) throw new Error('transient failure');
        return handler(p) as never;
      });
    serve<DefinePool>('DefinePool', (p) => this.define(p));
    serve<UpdatePool>('UpdatePool', (p) => this.update(p));
    serve<ListPools>('ListPools', () => create(PoolListSchema, { items: [...this.pools.values()] }));
    serve<SetPolicy>('SetPolicy', (p) =>
      create(PolicyViewSchema, { namespace: p.namespace.toLowerCase(), policy: p.policy }),
    );
    serve<Reserve>('Reserve', (p) => this.reserve(p));
    serve<ListReservations>('ListReservations', (p) =>
      create(ReservationListSchema, {
        items: [this.reservation('r-listed', p.poolId || 'gpu', 2)],
      }),
    );
    serve<Allocate>('Allocate', (p) => this.allocate(p));
    serve<GetAllocation>('GetAllocation', (p) =>
      create(AllocationViewSchema, {
        allocations: [
          {
            allocationId: `${p.taskId || 't1'}#1`,
            taskId: p.taskId || 't1',
            attempt: 1,
            sessionId: p.sessionId || 's1',
            grants: [{ poolId: 'gpu', amount: 1 }],
            locks: [{ lock: 'repo:acme/api', mode: 'exclusive' }],
            since: timestampFromDate(new Date('2026-03-01T14:00:00Z')),
            grantedAt: timestampFromDate(new Date('2026-03-01T14:00:00Z')),
          },
        ],
      }),
    );
    serve<GetMonitoring>('GetMonitoring', (p) =>
      create(MonitoringViewSchema, {
        at: timestampFromDate(new Date('2026-03-01T14:00:00Z')),
        pools: [...this.pools.values()],
        demand: [
          {
            poolId: 'gpu',
            demand: 3.5,
            capacity: 4,
            horizonMs: p.horizonMs || 3_600_000n,
            method: 'moving-average',
          },
        ],
        actions: [
          {
            kind: 'raise_pool',
            poolId: 'gpu',
            capacity: 4,
            demand: 3.8,
            utilization: 0.95,
            suggestedCapacity: 5,
            reason: 'demand is above 90% of capacity',
          },
        ],
      }),
    );
  }

  /** A pool as the service would show it, defaults resolved the way the allocator does. */
  static view(p: {
    poolId: string;
    kind: string;
    capacity: number;
    unit?: string;
    windowMs?: bigint;
    burst?: number;
    scope?: { kind: string; value: string };
    softLimit?: number;
    policy?: string;
    defaultAmount?: number;
  }): PoolView {
    return create(PoolViewSchema, {
      spec: {
        poolId: p.poolId,
        kind: p.kind,
        capacity: p.capacity,
        unit: p.unit || 'units',
        windowMs: p.windowMs ?? 0n,
        burst: p.kind === 'rate' ? (p.burst ?? p.capacity) : 0,
        scope: p.scope ?? { kind: 'global', value: '' },
        softLimit: p.kind === 'budget' ? (p.softLimit ?? 0.8) : 0,
        policy: p.policy || 'queue',
        defaultAmount: p.defaultAmount ?? 0,
      },
      capacity: p.capacity,
      available: p.capacity,
    });
  }

  private define(p: DefinePool): PoolView {
    if (p.poolId === 'remote-invalid') {
      throw new ValidationError('invalid pool', [{ path: 'windowMs', message: 'is too long for this kind' }]);
    }
    const view = FakeResources.view({
      ...p,
      ...(p.scope ? { scope: { kind: p.scope.kind, value: p.scope.value } } : {}),
    });
    const existing = this.pools.get(p.poolId);
    if (existing && existing.spec?.kind !== p.kind)
      throw new ConflictError(`pool ${p.poolId} is defined otherwise`);
    this.pools.set(p.poolId, view);
    return view;
  }

  private update(p: UpdatePool): PoolView {
    const existing = this.pools.get(p.poolId);
    if (!existing?.spec) throw new NotFoundError(`pool ${p.poolId} is not defined`);
    const spec = existing.spec;
    const view = FakeResources.view({
      poolId: spec.poolId,
      kind: spec.kind,
      capacity: p.capacity ?? spec.capacity,
      unit: spec.unit,
      windowMs: spec.windowMs,
      burst: p.burst ?? spec.burst,
      ...(spec.scope ? { scope: { kind: spec.scope.kind, value: spec.scope.value } } : {}),
      softLimit: p.softLimit ?? spec.softLimit,
      policy: p.policy ?? spec.policy,
      defaultAmount: spec.defaultAmount,
    });
    this.pools.set(p.poolId, view);
    return view;
  }

  private reserve(p: Reserve): ReservationView {
    if (!this.pools.has(p.poolId)) throw new NotFoundError(`pool ${p.poolId} is not defined`);
    if (p.amount > (this.pools.get(p.poolId)?.capacity ?? 0)) {
      throw new ConflictError(`reservations of ${p.poolId} would exceed its capacity`);
    }
    return create(ReservationViewSchema, {
      reservationId: p.reservationId,
      poolId: p.poolId,
      amount: p.amount,
      ...(p.from ? { from: p.from } : {}),
      ...(p.to ? { to: p.to } : {}),
      taskId: p.taskId,
      status: 'pending',
    });
  }

  private reservation(id: string, poolId: string, amount: number): ReservationView {
    return create(ReservationViewSchema, {
      reservationId: id,
      poolId,
      amount,
      from: timestampFromDate(new Date('2026-03-01T14:00:00Z')),
      to: timestampFromDate(new Date('2026-03-01T16:00:00Z')),
      status: 'active',
      used: 1,
    });
  }

  private allocate(p: Allocate): AllocationResult {
    const allocationId = `${p.taskId}#${p.attempt}`;
    const first = p.claims[0];
    if (first?.lock === 'repo:busy') {
      return create(AllocationResultSchema, {
        allocationId,
        status: 'waiting',
        waitingFor: 'lock',
        reason: 'lock "repo:busy" is held exclusively by task t-holder',
        blockers: ['t-holder'],
        retryAt: timestampFromDate(new Date('2026-03-01T14:05:00Z')),
        conflictIds: ['c-1'],
      });
    }
    if (first?.lock === 'repo:refuse') {
      return create(AllocationResultSchema, {
        allocationId,
        status: 'refused',
        reason: 'wait-die: younger than the holder',
      });
    }
    return create(AllocationResultSchema, {
      allocationId,
      status: 'granted',
      grants: p.claims.filter((c) => c.pool).map((c) => ({ poolId: c.pool, amount: c.amount })),
      locks: p.claims.filter((c) => c.lock).map((c) => ({ lock: c.lock, mode: c.mode || 'exclusive' })),
    });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/**
 * The conflicts service's commands with canned answers: conflict `c-unknown` does not exist,
 * `c-resolved` is already resolved; any other resolves with the strategy it is given.
 */
export class FakeConflicts extends Recorder {
  private readonly server: CommandServer;

  constructor(nc: NatsConnection, naming: Naming) {
    super();
    this.server = new CommandServer(nc, naming, 'conflicts', testLogger());
    this.server.handle<ListConflicts, never>(commandInfo('conflicts.ListConflicts'), async (p) => {
      this.record('ListConflicts', p);
      return create(ConflictPageSchema, {
        items: [FakeConflicts.view('c-2', p.status || 'open')],
        nextCursor: p.cursor === '' ? 'page-2' : '',
      }) as never;
    });
    this.server.handle<ResolveConflictRequest, never>(commandInfo('conflicts.ResolveConflict'), async (p) => {
      this.record('ResolveConflict', p);
      if (p.conflictId === 'c-unknown') throw new NotFoundError(`conflict ${p.conflictId} not found`);
      if (p.conflictId === 'c-resolved')
        throw new IllegalStateError(`conflict ${p.conflictId} is already resolved`);
      const view = FakeConflicts.view(p.conflictId, 'resolved');
      view.strategy = p.strategy;
      view.winner = p.winner;
      view.resolution = p.strategy === 'queue' ? 'manual' : 'preempted';
      view.resolvedAt = timestampFromDate(new Date('2026-03-01T14:10:00Z'));
      return view as never;
    });
  }

  static view(conflictId: string, status: string): ConflictView {
    return create(ConflictViewSchema, {
      conflictId,
      kind: 'lock',
      resource: 'repo:acme/api:src/**',
      allocationId: 't-waiter#1',
      parties: [
        { taskId: 't-waiter', attempt: 1, priority: 5, role: 'waiter' },
        { taskId: 't-holder', attempt: 2, priority: 1, role: 'holder' },
      ],
      policy: 'manual',
      status,
      since: timestampFromDate(new Date('2026-03-01T14:00:00Z')),
      detectedAt: timestampFromDate(new Date('2026-03-01T14:00:01Z')),
    });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
