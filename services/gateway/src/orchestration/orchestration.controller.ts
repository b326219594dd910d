import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Body, Controller, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  PostMessageSchema,
  SelectAgentSchema,
  SelectionSchema,
  type MessageAck,
  type Selection,
} from '@orch/contracts';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { derivedUuid } from '../agents/agent-id';
import { CommandSender, command } from '../commands/command-sender';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.interceptor';
import { isValidIdempotencyKey } from '../idempotency/request-hash';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import { toApiJson, toValue } from './orchestration.mapping';
import {
  CommunicateBodySchema,
  SelectAgentBodySchema,
  SelectionResponseSchema,
} from './orchestration.schemas';

const SELECT_AGENT = command('coordination.SelectAgent');
const POST_MESSAGE = command('coordination.PostMessage');

/** Fleet-wide orchestration routes: a dry-run selection and session messaging. */
@ApiTags('orchestration')
@ApiBearerAuth()
@Controller('api/orchestration')
export class OrchestrationController {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  @Post('agents/select')
  @HttpCode(200)
  @Allow(...READERS)
  @ApiOperation({
    summary: 'Which agent would take work with these capabilities, with every score and reason',
  })
  @ApiBody({ schema: openApiSchema(SelectAgentBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(SelectionResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async select(
    @Body(new ZodPipe(SelectAgentBodySchema)) body: z.output<typeof SelectAgentBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Record<string, unknown>> {
    const selection = await this.commands.send<Selection>(
      SELECT_AGENT,
      create(SelectAgentSchema, {
        capabilities: body.capabilities,
        strategy: body.strategy ?? '',
        provider: body.provider ?? '',
        agentIds: body.agents ?? [],
        excludeAgentIds: body.exclude ?? [],
      }),
      req,
      principal,
    );
    return toApiJson(SelectionSchema, selection);
  }

  @Post('communicate')
  @HttpCode(201)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({ summary: 'Post a message in a session, to one agent (to) or to all (no to)' })
  @ApiBody({ schema: openApiSchema(CommunicateBodySchema) })
  @ApiResponse({
    status: 201,
    schema: openApiSchema(z.object({ messageId: z.string(), sequence: z.number().int() }), 'output'),
  })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  async communicate(
    @Body(new ZodPipe(CommunicateBodySchema)) body: z.output<typeof CommunicateBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey?: string,
  ): Promise<{ messageId: string; sequence: number }> {
    const retryable = idempotencyKey !== undefined && isValidIdempotencyKey(idempotencyKey);
    // An agent speaks as itself; people speak as "user" unless they say otherwise.
    const from = principal.role === 'agent' ? (principal.agentId ?? '') : (body.from ?? 'user');
    const ack = await this.commands.send<MessageAck>(
      POST_MESSAGE,
      create(PostMessageSchema, {
        sessionId: body.sessionId,
        messageId: retryable ? derivedUuid(principal.id, idempotencyKey, 'message') : randomUUID(),
        from,
        to: body.to ?? '',
        body: toValue(body.body),
      }),
      req,
      principal,
      { correlationId: body.sessionId },
    );
    return { messageId: ack.messageId, sequence: Number(ack.sequence) };
  }
}
