import { create, type Message } from '@bufbuild/protobuf';
import { Controller, Get, HttpCode, Inject, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  GetInsightsSchema,
  GetMetricsSchema,
  GetPredictionsSchema,
  GetRecommendationsSchema,
  RebuildProjectionsSchema,
  type AnalyticsDocument,
  type CommandTypeInfo,
  type RebuildResult,
} from '@orch/contracts';
import type { FastifyRequest } from 'fastify';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import { whenAnalyticsDown } from './analytics-unavailable';
import { toDocumentResponse, toRebuildResponse } from './analytics.mapping';
import {
  FORECAST_HORIZONS,
  MAX_WINDOW_MINUTES,
  MetricsQuerySchema,
  PredictionsQuerySchema,
  RebuildResponseSchema,
  documentResponseSchema,
  type DocumentResponse,
  type MetricsQuery,
  type PredictionsQuery,
  type RebuildResponse,
} from './analytics.schemas';

const GET_METRICS = command('analytics.GetMetrics');
const GET_PREDICTIONS = command('analytics.GetPredictions');
const GET_INSIGHTS = command('analytics.GetInsights');
const GET_RECOMMENDATIONS = command('analytics.GetRecommendations');
const REBUILD = command('analytics.RebuildProjections');

/** A rebuild folds the whole log before it answers: it may take far longer than a query. */
const REBUILD_EXTRA_TIMEOUT_MS = 115_000;

const VIEW_DESCRIPTION =
  'Every view answers `{position, at, data}`: `data` is the view (docs/analytics.md), `position` the ' +
  'global position of the last event it reflects (a decimal string), `at` when it was computed.';

/**
 * Analytics views (API.md "Analytics"): thin adapters over the analytics service, which projects
 * the whole event log. Readers may look; only an admin may rebuild the projections.
 */
@ApiTags('analytics')
@ApiBearerAuth()
@Controller('api/analytics')
export class AnalyticsController {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  @Get('metrics')
  @Allow(...READERS)
  @ApiOperation({
    summary:
      'Counts, success rates, latency percentiles, tokens and cost per agent, provider, task type and session, and per-minute series',
    description: VIEW_DESCRIPTION,
  })
  @ApiQuery({
    name: 'windowMinutes',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: MAX_WINDOW_MINUTES, default: 60 },
  })
  @ApiQuery({ name: 'sessionId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiResponse({
    status: 200,
    schema: openApiSchema(documentResponseSchema('The metrics view'), 'output'),
  })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async metrics(
    @Query(new ZodPipe(MetricsQuerySchema, 'query')) query: MetricsQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<DocumentResponse> {
    return this.view(
      'the metrics cannot be read',
      GET_METRICS,
      create(GetMetricsSchema, { windowMinutes: query.windowMinutes ?? 0, sessionId: query.sessionId ?? '' }),
      req,
      principal,
    );
  }

  @Get('predictions')
  @Allow(...READERS)
  @ApiOperation({
    summary: 'Demand forecasts per pool and provider with prediction intervals and backtested accuracy',
    description: VIEW_DESCRIPTION,
  })
  @ApiQuery({
    name: 'horizonHours',
    required: false,
    description: 'One horizon; absent = every horizon',
    schema: { type: 'integer', enum: FORECAST_HORIZONS.map(Number) },
  })
  @ApiResponse({
    status: 200,
    schema: openApiSchema(documentResponseSchema('The predictions view'), 'output'),
  })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async predictions(
    @Query(new ZodPipe(PredictionsQuerySchema, 'query')) query: PredictionsQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<DocumentResponse> {
    return this.view(
      'the predictions cannot be read',
      GET_PREDICTIONS,
      create(GetPredictionsSchema, { horizonHours: query.horizonHours ?? 0 }),
      req,
      principal,
    );
  }

  @Get('insights')
  @Allow(...READERS)
  @ApiOperation({
    summary: 'Bottlenecks and anomalies, each critical, warning or info, with its evidence',
    description: VIEW_DESCRIPTION,
  })
  @ApiResponse({
    status: 200,
    schema: openApiSchema(documentResponseSchema('The insights view'), 'output'),
  })
  @ApiProblems(401, 403, 429, 502, 503, 504)
  async insights(
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<DocumentResponse> {
    return this.view(
      'the insights cannot be read',
      GET_INSIGHTS,
      create(GetInsightsSchema, {}),
      req,
      principal,
    );
  }

  @Get('recommendations')
  @Allow(...READERS)
  @ApiOperation({
    summary:
      'Recommended changes (pools, agents, providers, circuits) with their expected effect and evidence',
    description: VIEW_DESCRIPTION,
  })
  @ApiResponse({
    status: 200,
    schema: openApiSchema(documentResponseSchema('The recommendations view'), 'output'),
  })
  @ApiProblems(401, 403, 429, 502, 503, 504)
  async recommendations(
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<DocumentResponse> {
    return this.view(
      'the recommendations cannot be read',
      GET_RECOMMENDATIONS,
      create(GetRecommendationsSchema, {}),
      req,
      principal,
    );
  }

  @Post('rebuild')
  @HttpCode(200)
  @Allow('admin')
  @ApiOperation({
    summary: 'Fold the whole event log again from position 0 into fresh projections, then switch to them',
    description:
      'Answers when the new projections are in use. A 504 means the gateway stopped waiting; the rebuild may still complete.',
  })
  @ApiResponse({ status: 200, schema: openApiSchema(RebuildResponseSchema, 'output') })
  @ApiProblems(401, 403, 409, 429, 502, 503, 504)
  async rebuild(
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<RebuildResponse> {
    const result = await whenAnalyticsDown('the projections cannot be rebuilt', () =>
      this.commands.send<RebuildResult>(REBUILD, create(RebuildProjectionsSchema, {}), req, principal, {
        extraTimeoutMs: REBUILD_EXTRA_TIMEOUT_MS,
      }),
    );
    return toRebuildResponse(result);
  }

  private async view(
    consequence: string,
    info: CommandTypeInfo,
    payload: Message,
    req: FastifyRequest,
    principal: Principal,
  ): Promise<DocumentResponse> {
    const doc = await whenAnalyticsDown(consequence, () =>
      this.commands.send<AnalyticsDocument>(info, payload, req, principal),
    );
    return toDocumentResponse(doc);
  }
}
