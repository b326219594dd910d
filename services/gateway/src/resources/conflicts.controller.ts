import { create } from '@bufbuild/protobuf';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  ListConflictsSchema,
  ResolveConflictRequestSchema,
  type ConflictPage,
  type ConflictView,
} from '@orch/contracts';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import { toConflictResponse } from './resources.mapping';
import {
  CONFLICT_STATUSES,
  ConflictIdSchema,
  ConflictPageResponseSchema,
  ConflictResponseSchema,
  ConflictsQuerySchema,
  ResolveConflictBodySchema,
  type ConflictResponse,
  type ConflictsQuery,
  type ResolveConflictBody,
} from './resources.schemas';

const LIST_CONFLICTS = command('conflicts.ListConflicts');
const RESOLVE_CONFLICT = command('conflicts.ResolveConflict');

/**
 * The conflict desk (ADR 0009): contention on pools and locks as first-class conflicts, listed by
 * the conflicts service; an operator's resolution goes through it to the allocator.
 */
@ApiTags('resources')
@ApiBearerAuth()
@Controller('api/resources/conflicts')
export class ConflictsController {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  @Get()
  @Allow(...READERS)
  @ApiOperation({ summary: 'Page through conflicts, newest first, optionally only open or resolved ones' })
  @ApiQuery({ name: 'status', required: false, schema: { type: 'string', enum: [...CONFLICT_STATUSES] } })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiResponse({ status: 200, schema: openApiSchema(ConflictPageResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async list(
    @Query(new ZodPipe(ConflictsQuerySchema, 'query')) query: ConflictsQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<z.output<typeof ConflictPageResponseSchema>> {
    const page = await this.commands.send<ConflictPage>(
      LIST_CONFLICTS,
      create(ListConflictsSchema, {
        status: query.status ?? '',
        limit: query.limit,
        cursor: query.cursor ?? '',
      }),
      req,
      principal,
    );
    return {
      items: page.items.map(toConflictResponse),
      nextCursor: page.nextCursor === '' ? null : page.nextCursor,
    };
  }

  @Post(':id/resolve')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @ApiOperation({
    summary: 'Resolve an open conflict: queue, preempt the holders, abort the waiter, or grant a party',
    description:
      "`winner` (a party's task id) is required with the grant strategy and refused with the others.",
  })
  @ApiBody({ schema: openApiSchema(ResolveConflictBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(ConflictResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
  async resolve(
    @Param('id', new ZodPipe(ConflictIdSchema, { param: 'id' })) id: string,
    @Body(new ZodPipe(ResolveConflictBodySchema)) body: ResolveConflictBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<ConflictResponse> {
    const view = await this.commands.send<ConflictView>(
      RESOLVE_CONFLICT,
      create(ResolveConflictRequestSchema, {
        conflictId: id,
        strategy: body.strategy,
        winner: body.winner ?? '',
      }),
      req,
      principal,
    );
    return toConflictResponse(view);
  }
}
