import { Readable } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ListSessionEventsSchema,
  ReplaySessionSchema,
  VerifySessionSchema,
  type ReplayState,
  type SessionEventPage,
  type VerifyReport,
} from '@orch/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { whenAnalyticsDown } from '../analytics/analytics-unavailable';
import { SessionIdSchema } from '../analytics/analytics.schemas';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { LOGGER } from '../tokens';
import { ZodPipe } from '../validation/zod.pipe';
import { exportLineOf, toEventPageResponse, toReplayResponse, toVerifyResponse } from './replay.mapping';
import {
  EventPageResponseSchema,
  EventsQuerySchema,
  MAX_PAGE,
  ReplayEventResponseSchema,
  ReplayQuerySchema,
  ReplayResponseSchema,
  VerifyResponseSchema,
  type EventPageResponse,
  type EventsQuery,
  type ReplayQuery,
  type ReplayResponse,
  type VerifyResponse,
} from './replay.schemas';

const LIST_SESSION_EVENTS = command('analytics.ListSessionEvents');
const REPLAY_SESSION = command('analytics.ReplaySession');
const VERIFY_SESSION = command('analytics.VerifySession');

/** Replay and verify fold a whole history (and the agents' and allocator's streams) before answering. */
const FOLD_EXTRA_TIMEOUT_MS = 25_000;

export const NDJSON = 'application/x-ndjson';

const SessionIdParam = new ZodPipe(SessionIdSchema, { param: 'id' });

/**
 * Session replay (API.md "Replay"): a session's history across services, its state at any
 * position, a verification that today's code decides as the recorded history did, and an NDJSON
 * export. Thin adapters over the analytics service, which reads the event store.
 */
@ApiTags('replay')
@ApiBearerAuth()
@Controller('api/sessions')
export class ReplayController {
  constructor(
    @Inject(CommandSender) private readonly commands: CommandSender,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get(':id/events')
  @Allow(...READERS)
  @ApiOperation({
    summary: "A session's whole history across services, in global order, paged",
    description:
      'Positions and stream versions are decimal strings (64-bit integers). Ask again with ' +
      '`from=<nextFrom>` until `nextFrom` is null.',
  })
  @ApiQuery({ name: 'from', required: false, schema: { type: 'string', pattern: '^\\d+$', default: '0' } })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 500 },
  })
  @ApiResponse({ status: 200, schema: openApiSchema(EventPageResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async events(
    @Param('id', SessionIdParam) id: string,
    @Query(new ZodPipe(EventsQuerySchema, 'query')) query: EventsQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<EventPageResponse> {
    return toEventPageResponse(await this.page(id, query.from ?? 0n, query.limit ?? 0, req, principal));
  }

  @Get(':id/replay')
  @Allow(...READERS)
  @ApiOperation({
    summary:
      "The session, its tasks, agents, resources and conflicts as they were at a position, folded with the services' own evolve functions",
    description: "A position after the session's last event is a 400 naming `at`.",
  })
  @ApiQuery({
    name: 'at',
    required: false,
    description: "A global position; absent or 0 = the session's last",
    schema: { type: 'string', pattern: '^\\d+$' },
  })
  @ApiResponse({ status: 200, schema: openApiSchema(ReplayResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async replay(
    @Param('id', SessionIdParam) id: string,
    @Query(new ZodPipe(ReplayQuerySchema, 'query')) query: ReplayQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<ReplayResponse> {
    const state = await whenAnalyticsDown('the session cannot be replayed', () =>
      this.commands.send<ReplayState>(
        REPLAY_SESSION,
        create(ReplaySessionSchema, { sessionId: id, at: query.at ?? 0n }),
        req,
        principal,
        { extraTimeoutMs: FOLD_EXTRA_TIMEOUT_MS },
      ),
    );
    return toReplayResponse(state);
  }

  @Post(':id/replay/verify')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @ApiOperation({
    summary:
      "Decide every recorded command of the session again with today's code and report where the events differ",
    description:
      "Each divergence gives the recorded events (`expected`) and those today's code decides (`actual`). " +
      'Operators and admins only: it folds every stream the session touched.',
  })
  @ApiResponse({ status: 200, schema: openApiSchema(VerifyResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async verify(
    @Param('id', SessionIdParam) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<VerifyResponse> {
    const report = await whenAnalyticsDown('the session cannot be verified', () =>
      this.commands.send<VerifyReport>(
        VERIFY_SESSION,
        create(VerifySessionSchema, { sessionId: id }),
        req,
        principal,
        {
          extraTimeoutMs: FOLD_EXTRA_TIMEOUT_MS,
        },
      ),
    );
    return toVerifyResponse(report);
  }

  /**
   * Streams the whole history, one event per line, paging the service 5,000 events at a time as
   * the client reads. The first page is asked before anything is written, so an unknown session
   * is a 404 problem; a page failing later aborts the download (the client sees a broken
   * transfer, never a file that looks complete).
   */
  @Get(':id/export')
  @Allow(...READERS)
  @ApiOperation({
    summary: "The session's history as NDJSON, one event per line, for `orchestrator import`",
    description: `Each line is one event with the keys of the events page items: ${Object.keys(ReplayEventResponseSchema.shape).join(', ')}.`,
  })
  @ApiProduces(NDJSON)
  @ApiResponse({
    status: 200,
    description: 'An attachment session-<id>.ndjson',
    content: { [NDJSON]: { schema: { type: 'string' } } },
  })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async export(
    @Param('id', SessionIdParam) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const first = await this.page(id, 0n, MAX_PAGE, req, principal);
    void reply
      .header('content-type', `${NDJSON}; charset=utf-8`)
      .header('content-disposition', `attachment; filename="session-${id}.ndjson"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(this.lines(id, first, req, principal)));
  }

  /** NDJSON chunks, one per page; the next page is asked only when the client has read this one. */
  private async *lines(
    sessionId: string,
    first: SessionEventPage,
    req: FastifyRequest,
    principal: Principal,
  ): AsyncGenerator<string> {
    let page = first;
    let from = 0n;
    try {
      for (;;) {
        if (page.items.length > 0) yield `${page.items.map(exportLineOf).join('\n')}\n`;
        if (page.nextFrom === 0n) return;
        if (page.nextFrom <= from) {
          throw new Error(`ListSessionEvents answered next_from ${page.nextFrom} after from ${from}`);
        }
        from = page.nextFrom;
        page = await this.page(sessionId, from, MAX_PAGE, req, principal);
      }
    } catch (err) {
      this.logger.warn({ err, sessionId, from: from.toString() }, 'session export aborted');
      throw err;
    }
  }

  private page(
    sessionId: string,
    from: bigint,
    limit: number,
    req: FastifyRequest,
    principal: Principal,
  ): Promise<SessionEventPage> {
    return whenAnalyticsDown("the session's events cannot be read", () =>
      this.commands.send<SessionEventPage>(
        LIST_SESSION_EVENTS,
        create(ListSessionEventsSchema, { sessionId, from, limit }),
        req,
        principal,
      ),
    );
  }
}
