import { create } from '@bufbuild/protobuf';
import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable } from '@nestjs/common';
import {
  AllocationResultSchema,
  AllocationViewSchema,
  ConflictResolutionSchema,
  GetPredictionsSchema,
  MonitoringViewSchema,
  PolicyViewSchema,
  PoolListSchema,
  ReleaseResultSchema,
  ReservationListSchema,
  TickResultSchema,
  UsageResultSchema,
  commandInfo,
  type Allocate,
  type AllocationResult,
  type AllocationView,
  type AnalyticsDocument,
  type ConflictResolution,
  type DefinePool,
  type GetAllocation,
  type GetMonitoring,
  type ListReservations,
  type MonitoringView,
  type PolicyView,
  type PoolList,
  type PoolView,
  type Release,
  type ReleaseResult,
  type ReconcileUsage,
  type ReservationList,
  type ReservationView,
  type Reserve,
  type ResolveConflict,
  type SetPolicy,
  type Tick,
  type TickResult,
  type UpdatePool,
  type UsageResult,
} from '@orch/contracts';
import { NotFoundError, ValidationError } from '@orch/domain-kit';
import {
  CommandBus,
  CommandHandler,
  MESSAGING_LOGGER,
  commandMetadata,
  type CommandContext,
} from '@orch/messaging';
import {
  allocationIdOf,
  allocations,
  demandForecast,
  nextWakeAt,
  poolUsage,
  reservations,
  scalingActions,
  waiters,
  type AllocatorEvent,
} from '@orch/resources';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '../tokens';
import { AllocatorHost } from './allocator-host';
import { forecastNote, horizonHoursOf, mergeDemand, poolSeriesOf, type PoolSeriesForecast } from './demand';
import { toAllocationItem, toPoolView, toReservationView, toWaiterItem, ts } from './allocator.mapping';
import { UsageHistory } from './usage-history';

const HOUR_MS = 3_600_000;
const GET_PREDICTIONS = commandInfo('analytics.GetPredictions');
/** How long monitoring waits for analytics' forecasts before answering with the moving average. */
const ANALYTICS_TIMEOUT_MS = 2_000;

const dateOf = (t: Timestamp | undefined, path: string): Date => {
  if (!t) throw new ValidationError('invalid reservation', [{ path, message: 'is required' }]);
  return timestampDate(t);
};

type DataOf<T extends AllocatorEvent['type']> = Extract<AllocatorEvent, { type: T }>['data'];

/** The data of an execution's events of one type. */
function eventsOf<T extends AllocatorEvent['type']>(events: readonly AllocatorEvent[], type: T): DataOf<T>[] {
  const out: DataOf<T>[] = [];
  for (const e of events) if (e.type === type) out.push(e.data as DataOf<T>);
  return out;
}

/**
 * The allocator over NATS (docs/adr/0009): pool definitions, reservations, policies, allocations and
 * their releases, operators' resolutions, and the views the gateway serves. Commands are decided by
 * the allocator decider on the in-memory aggregate; queries read it without I/O.
 */
@Injectable()
export class AllocatorHandlers {
  constructor(
    private readonly host: AllocatorHost,
    private readonly history: UsageHistory,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly bus: CommandBus,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {}

  // ---------------------------------------------------------------- pools and policies

  @CommandHandler(commandInfo('resources.DefinePool'))
  async definePool(m: DefinePool, ctx: CommandContext): Promise<PoolView> {
    await this.host.execute(
      {
        type: 'DefinePool',
        poolId: m.poolId,
        kind: m.kind,
        capacity: m.capacity,
        unit: m.unit,
        windowMs: Number(m.windowMs),
        ...(m.burst !== undefined ? { burst: m.burst } : {}),
        ...(m.scope ? { scope: { kind: m.scope.kind, value: m.scope.value } } : {}),
        ...(m.softLimit !== undefined ? { softLimit: m.softLimit } : {}),
        policy: m.policy,
        ...(m.defaultAmount !== undefined ? { defaultAmount: m.defaultAmount } : {}),
        at: this.clock.now(),
      },
      commandMetadata(ctx, m),
    );
    return this.pool(m.poolId);
  }

  @CommandHandler(commandInfo('resources.UpdatePool'))
  async updatePool(m: UpdatePool, ctx: CommandContext): Promise<PoolView> {
    await this.host.execute(
      {
        type: 'UpdatePool',
        poolId: m.poolId,
        ...(m.capacity !== undefined ? { capacity: m.capacity } : {}),
        ...(m.softLimit !== undefined ? { softLimit: m.softLimit } : {}),
        ...(m.policy !== undefined ? { policy: m.policy } : {}),
        ...(m.burst !== undefined ? { burst: m.burst } : {}),
        at: this.clock.now(),
      },
      commandMetadata(ctx, m),
    );
    return this.pool(m.poolId);
  }

  @CommandHandler(commandInfo('resources.SetPolicy'))
  async setPolicy(m: SetPolicy, ctx: CommandContext): Promise<PolicyView> {
    await this.host.execute(
      { type: 'SetPolicy', namespace: m.namespace, policy: m.policy, at: this.clock.now() },
      commandMetadata(ctx, m),
    );
    const namespace = m.namespace.toLowerCase();
    return create(PolicyViewSchema, {
      namespace,
      policy: this.host.state.lockPolicies.get(namespace) ?? m.policy,
    });
  }

  @CommandHandler(commandInfo('resources.Reserve'))
  async reserve(m: Reserve, ctx: CommandContext): Promise<ReservationView> {
    await this.host.execute(
      {
        type: 'Reserve',
        reservationId: m.reservationId,
        poolId: m.poolId,
        amount: m.amount,
        from: dateOf(m.from, 'from'),
        to: dateOf(m.to, 'to'),
        taskId: m.taskId,
        at: this.clock.now(),
      },
      commandMetadata(ctx, m),
    );
    const reservation = reservations(this.host.state, new Date(0), m.poolId).find(
      (r) => r.reservationId === m.reservationId,
    );
    if (!reservation) throw new NotFoundError(`reservation ${m.reservationId} does not exist`);
    return toReservationView(reservation);
  }

  // ---------------------------------------------------------------- claims

  @CommandHandler(commandInfo('resources.Allocate'))
  async allocate(m: Allocate, ctx: CommandContext): Promise<AllocationResult> {
    const at = this.clock.now();
    const allocationId = allocationIdOf(m.taskId, m.attempt);
    const { events, state } = await this.host.execute(
      {
        type: 'Allocate',
        taskId: m.taskId,
        attempt: m.attempt,
        sessionId: m.sessionId,
        priority: m.priority,
        claims: m.claims.map((c) => ({ ...c })),
        ...(m.agent
          ? { agent: { agentId: m.agent.agentId, provider: m.agent.provider, labels: m.agent.labels } }
          : {}),
        policy: m.policy,
        incremental: m.incremental,
        ...(m.requestedAt ? { requestedAt: timestampDate(m.requestedAt) } : {}),
        at,
      },
      commandMetadata(ctx, m, m.sessionId || undefined),
    );
    const refused = eventsOf(events, 'AllocationRefused').find((r) => r.allocationId === allocationId);
    if (refused)
      return create(AllocationResultSchema, {
        allocationId,
        status: 'refused',
        reason: refused.reason,
        ...(refused.retryAt ? { retryAt: ts(Date.parse(refused.retryAt)) } : {}),
      });
    const waiter = waiters(state, at, { taskId: m.taskId }, this.host.deciderOptions).find(
      (w) => w.allocationId === allocationId,
    );
    if (waiter)
      return create(AllocationResultSchema, {
        allocationId,
        status: 'waiting',
        waitingFor: waiter.waitingFor,
        reason: waiter.reason,
        blockers: [...waiter.blockers],
        retryAt: ts(waiter.retryAt),
        conflictIds: [...waiter.conflictIds],
      });
    const held = allocations(state, { taskId: m.taskId }).find((a) => a.allocationId === allocationId);
    return create(AllocationResultSchema, {
      allocationId,
      status: 'granted',
      grants: held?.grants.map((g) => ({ ...g })) ?? [],
      locks: held?.locks.map((l) => ({ ...l })) ?? [],
    });
  }

  @CommandHandler(commandInfo('resources.Release'))
  async release(m: Release, ctx: CommandContext): Promise<ReleaseResult> {
    const allocationId = allocationIdOf(m.taskId, m.attempt);
    const { events } = await this.host.execute(
      {
        type: 'Release',
        taskId: m.taskId,
        attempt: m.attempt,
        reason: m.reason || 'released',
        at: this.clock.now(),
      },
      commandMetadata(ctx, m),
    );
    const released = eventsOf(events, 'ResourcesReleased').find((r) => r.allocationId === allocationId);
    const withdrawn = eventsOf(events, 'WaitWithdrawn').some((r) => r.allocationId === allocationId);
    return create(ReleaseResultSchema, {
      allocationId,
      status: released ? 'released' : withdrawn ? 'withdrawn' : 'unknown',
      returned: released?.returned.map((g) => ({ ...g })) ?? [],
      granted: eventsOf(events, 'ResourcesAllocated').map((a) => a.allocationId),
    });
  }

  @CommandHandler(commandInfo('resources.ReconcileUsage'))
  async reconcile(m: ReconcileUsage, ctx: CommandContext): Promise<UsageResult> {
    const { events } = await this.host.execute(
      {
        type: 'ReconcileUsage',
        taskId: m.taskId,
        attempt: m.attempt,
        inputTokens: Number(m.inputTokens),
        outputTokens: Number(m.outputTokens),
        costUsd: m.costUsd,
        at: this.clock.now(),
      },
      commandMetadata(ctx, m),
    );
    const [reconciled] = eventsOf(events, 'UsageReconciled');
    return create(UsageResultSchema, {
      allocationId: allocationIdOf(m.taskId, m.attempt),
      draws: reconciled?.draws.map((d) => ({ ...d, periodStart: ts(Date.parse(d.periodStart)) })) ?? [],
    });
  }

  @CommandHandler(commandInfo('resources.ResolveConflict'))
  async resolve(m: ResolveConflict, ctx: CommandContext): Promise<ConflictResolution> {
    const { events } = await this.host.execute(
      {
        type: 'ResolveConflict',
        conflictId: m.conflictId,
        strategy: m.strategy,
        ...(m.winner ? { winner: m.winner } : {}),
        at: this.clock.now(),
      },
      commandMetadata(ctx, m),
    );
    const resolved = eventsOf(events, 'ConflictResolved').find((r) => r.conflictId === m.conflictId);
    return create(ConflictResolutionSchema, {
      conflictId: m.conflictId,
      resolution: resolved?.resolution ?? 'manual',
      winner: resolved?.winner ?? '',
      strategy: m.strategy,
    });
  }

  @CommandHandler(commandInfo('resources.Tick'))
  async tick(m: Tick, ctx: CommandContext): Promise<TickResult> {
    const at = this.clock.now();
    const { events, state } = await this.host.execute({ type: 'Tick', at }, commandMetadata(ctx, m));
    const wake = nextWakeAt(state, at, this.host.deciderOptions);
    return create(TickResultSchema, {
      granted: eventsOf(events, 'ResourcesAllocated').map((a) => a.allocationId),
      ...(wake ? { nextWakeAt: ts(wake.getTime()) } : {}),
    });
  }

  // ---------------------------------------------------------------- views

  @CommandHandler(commandInfo('resources.ListPools'))
  async listPools(): Promise<PoolList> {
    return create(PoolListSchema, { items: poolUsage(this.host.state, this.clock.now()).map(toPoolView) });
  }

  @CommandHandler(commandInfo('resources.ListReservations'))
  async listReservations(m: ListReservations): Promise<ReservationList> {
    const items = reservations(this.host.state, this.clock.now(), m.poolId || undefined);
    return create(ReservationListSchema, { items: items.map(toReservationView) });
  }

  @CommandHandler(commandInfo('resources.GetAllocation'))
  async getAllocation(m: GetAllocation): Promise<AllocationView> {
    const filter = {
      ...(m.sessionId ? { sessionId: m.sessionId } : {}),
      ...(m.taskId ? { taskId: m.taskId } : {}),
    };
    const state = this.host.state;
    return create(AllocationViewSchema, {
      allocations: allocations(state, filter).map(toAllocationItem),
      waiters: waiters(state, this.clock.now(), filter, this.host.deciderOptions).map(toWaiterItem),
    });
  }

  /**
   * Usage, predicted demand and scaling actions. Demand comes from analytics' forecasts for the
   * pools it forecasts and from the moving average of recent usage for the others, and for all of
   * them when analytics does not answer in time (see ./demand).
   */
  @CommandHandler(commandInfo('resources.GetMonitoring'))
  async getMonitoring(m: GetMonitoring, ctx: CommandContext): Promise<MonitoringView> {
    const horizonMs = Number(m.horizonMs) || HOUR_MS;
    const forecasts = await this.analyticsForecasts(horizonMs, ctx);
    const at = this.clock.now();
    const usage = poolUsage(this.host.state, at);
    const samples = this.history.samples(usage, at);
    const demand = mergeDemand(usage, demandForecast(samples, horizonMs), forecasts, horizonMs);
    const byPool = new Map(demand.map((d) => [d.poolId, d]));
    const actions = scalingActions(usage, demand);
    return create(MonitoringViewSchema, {
      pools: usage.map(toPoolView),
      demand: demand.map((f) => ({
        poolId: f.poolId,
        demand: f.demand,
        capacity: f.capacity,
        horizonMs: BigInt(f.horizonMs),
        method: f.method,
        samples: f.samples,
      })),
      actions: actions.map((a) => ({ ...a, reason: a.reason + forecastNote(byPool.get(a.poolId)) })),
      at: ts(at.getTime()),
    });
  }

  /** analytics' pool forecasts for the horizon; none when analytics does not answer. */
  private async analyticsForecasts(horizonMs: number, ctx: CommandContext): Promise<PoolSeriesForecast[]> {
    const horizonHours = horizonHoursOf(horizonMs);
    try {
      const doc = await this.bus.request<AnalyticsDocument>(
        GET_PREDICTIONS,
        create(GetPredictionsSchema, { horizonHours }),
        { correlationId: ctx.correlationId, causationId: ctx.commandId, timeoutMs: ANALYTICS_TIMEOUT_MS },
      );
      return poolSeriesOf(doc.body, horizonHours);
    } catch (err) {
      this.logger.debug(
        { err, horizonHours },
        'no demand forecasts from analytics; using the moving average',
      );
      return [];
    }
  }

  private pool(poolId: string): PoolView {
    const usage = poolUsage(this.host.state, this.clock.now()).find((u) => u.poolId === poolId);
    if (!usage) throw new NotFoundError(`pool ${poolId} does not exist`, { poolId });
    return toPoolView(usage);
  }
}
