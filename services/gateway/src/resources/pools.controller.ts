import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  GetMonitoringSchema,
  ListPoolsSchema,
  ListReservationsSchema,
  SetPolicySchema,
  type MonitoringView,
  type PolicyView,
  type PoolList,
  type PoolView,
  type ReservationList,
  type ReservationView,
} from '@orch/contracts';
import { NotFoundError } from '@orch/domain-kit';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { derivedUuid } from '../agents/agent-id';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.interceptor';
import { isValidIdempotencyKey } from '../idempotency/request-hash';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import {
  toDefinePool,
  toMonitoringResponse,
  toPoolResponse,
  toReservationResponse,
  toReserve,
  toUpdatePool,
  withApiFieldNames,
} from './resources.mapping';
import {
  DefinePoolBodySchema,
  MonitoringQuerySchema,
  MonitoringResponseSchema,
  NamespaceSchema,
  PolicyResponseSchema,
  PoolIdSchema,
  PoolListResponseSchema,
  PoolResponseSchema,
  ReservationListResponseSchema,
  ReservationResponseSchema,
  ReservationsQuerySchema,
  ReserveBodySchema,
  SetPolicyBodySchema,
  UpdatePoolBodySchema,
  type DefinePoolBody,
  type MonitoringResponse,
  type PoolResponse,
  type ReservationResponse,
  type ReserveBody,
  type UpdatePoolBody,
} from './resources.schemas';

const DEFINE_POOL = command('resources.DefinePool');
const UPDATE_POOL = command('resources.UpdatePool');
const LIST_POOLS = command('resources.ListPools');
const SET_POLICY = command('resources.SetPolicy');
const RESERVE = command('resources.Reserve');
const LIST_RESERVATIONS = command('resources.ListReservations');
const GET_MONITORING = command('resources.GetMonitoring');

/** Service field names as the API's request bodies call them. */
const POOL_FIELDS = { poolId: 'id', windowMs: 'window' } as const;
const RESERVATION_FIELDS = { reservationId: 'id', poolId: 'pool' } as const;

type PoolPage = z.output<typeof PoolListResponseSchema>;
type ReservationPage = z.output<typeof ReservationListResponseSchema>;

/**
 * Pools, reservations, lock policies and monitoring (API.md "Resources and conflicts"): thin
 * adapters over the resources service, which owns the allocator. Operators and admins define and
 * change; every reader may look.
 */
@ApiTags('resources')
@ApiBearerAuth()
@Controller('api/resources')
export class PoolsController {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  @Post('pools')
  @HttpCode(201)
  @Allow('admin', 'operator')
  @ApiOperation({
    summary: 'Define a pool (rate, concurrency, quantity or budget); the same definition again is a no-op',
    description:
      '`window` takes milliseconds or a duration string ("30s", "1m", "1h30m", "1d"). `scope` takes ' +
      '{kind, value} or a string: "global", "provider:openai", "session:<id>", "label:tier=gold". ' +
      'A different definition for an existing id is a 409.',
  })
  @ApiBody({ schema: openApiSchema(DefinePoolBodySchema) })
  @ApiResponse({ status: 201, schema: openApiSchema(PoolResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 409, 422, 429, 502, 503, 504)
  async define(
    @Body(new ZodPipe(DefinePoolBodySchema)) body: DefinePoolBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<PoolResponse> {
    const view = await withApiFieldNames(POOL_FIELDS, () =>
      this.commands.send<PoolView>(DEFINE_POOL, toDefinePool(body), req, principal),
    );
    return toPoolResponse(view);
  }

  @Get('pools')
  @Allow(...READERS)
  @ApiOperation({ summary: 'Every pool with its usage now' })
  @ApiResponse({ status: 200, schema: openApiSchema(PoolListResponseSchema, 'output') })
  @ApiProblems(401, 403, 429, 502, 503, 504)
  async list(@CurrentPrincipal() principal: Principal, @Req() req: FastifyRequest): Promise<PoolPage> {
    return { items: (await this.pools(req, principal)).map(toPoolResponse), nextCursor: null };
  }

  @Get('pools/:id')
  @Allow(...READERS)
  @ApiOperation({ summary: 'One pool with its usage now' })
  @ApiResponse({ status: 200, schema: openApiSchema(PoolResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async get(
    @Param('id', new ZodPipe(PoolIdSchema, { param: 'id' })) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<PoolResponse> {
    const pool = (await this.pools(req, principal)).find((p) => p.spec?.poolId === id);
    if (!pool) throw new NotFoundError(`pool "${id}" is not defined`, { poolId: id });
    return toPoolResponse(pool);
  }

  @Patch('pools/:id')
  @Allow('admin', 'operator')
  @ApiOperation({
    summary: "Change a pool's capacity, soft limit, policy or burst; waiters that now fit are granted",
  })
  @ApiBody({ schema: openApiSchema(UpdatePoolBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(PoolResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  async update(
    @Param('id', new ZodPipe(PoolIdSchema, { param: 'id' })) id: string,
    @Body(new ZodPipe(UpdatePoolBodySchema)) body: UpdatePoolBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<PoolResponse> {
    const view = await withApiFieldNames(POOL_FIELDS, () =>
      this.commands.send<PoolView>(UPDATE_POOL, toUpdatePool(id, body), req, principal),
    );
    return toPoolResponse(view);
  }

  @Put('policies/:namespace')
  @Allow('admin', 'operator')
  @ApiOperation({ summary: 'Set the contention policy for locks of a namespace (e.g. "repo")' })
  @ApiBody({ schema: openApiSchema(SetPolicyBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(PolicyResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async setPolicy(
    @Param('namespace', new ZodPipe(NamespaceSchema, { param: 'namespace' })) namespace: string,
    @Body(new ZodPipe(SetPolicyBodySchema)) body: z.output<typeof SetPolicyBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<z.output<typeof PolicyResponseSchema>> {
    const view = await this.commands.send<PolicyView>(
      SET_POLICY,
      create(SetPolicySchema, { namespace, policy: body.policy }),
      req,
      principal,
    );
    return { namespace: view.namespace, policy: view.policy };
  }

  @Post('reservations')
  @HttpCode(201)
  @Allow('admin', 'operator')
  @ApiOperation({
    summary: 'Set an amount of a concurrency or quantity pool aside from `from` to `to` (RFC 3339)',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key, same reservation' })
  @ApiBody({ schema: openApiSchema(ReserveBodySchema) })
  @ApiResponse({ status: 201, schema: openApiSchema(ReservationResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
  async reserve(
    @Body(new ZodPipe(ReserveBodySchema)) body: ReserveBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey?: string,
  ): Promise<ReservationResponse> {
    const retryable = idempotencyKey !== undefined && isValidIdempotencyKey(idempotencyKey);
    const id =
      body.id ?? (retryable ? derivedUuid(principal.id, idempotencyKey, 'reservation') : randomUUID());
    const view = await withApiFieldNames(RESERVATION_FIELDS, () =>
      this.commands.send<ReservationView>(RESERVE, toReserve(id, body), req, principal),
    );
    return toReservationResponse(view);
  }

  @Get('reservations')
  @Allow(...READERS)
  @ApiOperation({ summary: 'Reservations that have not ended, optionally of one pool' })
  @ApiQuery({ name: 'pool', required: false, schema: { type: 'string' } })
  @ApiResponse({ status: 200, schema: openApiSchema(ReservationListResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async reservations(
    @Query(new ZodPipe(ReservationsQuerySchema, 'query')) query: z.output<typeof ReservationsQuerySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<ReservationPage> {
    const list = await this.commands.send<ReservationList>(
      LIST_RESERVATIONS,
      create(ListReservationsSchema, { poolId: query.pool ?? '' }),
      req,
      principal,
    );
    return { items: list.items.map(toReservationResponse), nextCursor: null };
  }

  @Get('monitoring')
  @Allow(...READERS)
  @ApiOperation({
    summary: 'Utilization per pool, predicted demand over the horizon and the scaling actions it implies',
  })
  @ApiQuery({
    name: 'horizonHours',
    required: false,
    schema: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 720, default: 1 },
  })
  @ApiResponse({ status: 200, schema: openApiSchema(MonitoringResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async monitoring(
    @Query(new ZodPipe(MonitoringQuerySchema, 'query')) query: z.output<typeof MonitoringQuerySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<MonitoringResponse> {
    const horizonMs =
      query.horizonHours === undefined ? 0 : Math.max(1, Math.round(query.horizonHours * 3_600_000));
    const view = await this.commands.send<MonitoringView>(
      GET_MONITORING,
      create(GetMonitoringSchema, { horizonMs: BigInt(horizonMs) }),
      req,
      principal,
    );
    return toMonitoringResponse(view);
  }

  private async pools(req: FastifyRequest, principal: Principal): Promise<readonly PoolView[]> {
    const list = await this.commands.send<PoolList>(LIST_POOLS, create(ListPoolsSchema, {}), req, principal);
    return list.items;
  }
}
