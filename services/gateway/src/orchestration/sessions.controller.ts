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
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CancelSessionSchema,
  ContextEntrySchema,
  GetContextSchema,
  GetSessionSchema,
  ListMessagesSchema,
  ListSessionsSchema,
  MessagePageSchema,
  PutContextSchema,
  SessionPageSchema,
  SessionViewSchema,
  StartSessionSchema,
  type ContextEntry,
  type MessagePage,
  type SessionAck,
  type SessionPage,
  type SessionStart,
  type SessionView,
} from '@orch/contracts';
import { isRemoteDomainError } from '@orch/messaging';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { derivedUuid } from '../agents/agent-id';
import { CommandSender, command } from '../commands/command-sender';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.interceptor';
import { isValidIdempotencyKey } from '../idempotency/request-hash';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { PreconditionFailedError } from '../problem/errors';
import { PoolClaimsCheck } from '../resources/pool-claims';
import { ZodPipe } from '../validation/zod.pipe';
import { fromValue, toApiJson, toTaskSpec, toValue } from './orchestration.mapping';
import {
  CancelBodySchema,
  ContextKeyParam,
  ContextResponseSchema,
  ListSessionsQuerySchema,
  MessageResponseSchema,
  MessagesQuerySchema,
  PutContextBodySchema,
  SessionResponseSchema,
  SessionStartedResponseSchema,
  StartSessionBodySchema,
  type ListSessionsQuery,
  type StartSessionBody,
} from './orchestration.schemas';

const START_SESSION = command('coordination.StartSession');
const CANCEL_SESSION = command('coordination.CancelSession');
const LIST_MESSAGES = command('coordination.ListMessages');
const GET_CONTEXT = command('coordination.GetContext');
const PUT_CONTEXT = command('coordination.PutContext');
const GET_SESSION = command('distribution.GetSession');
const LIST_SESSIONS = command('distribution.ListSessions');

const SessionIdParam = z.uuid();
/** Every role may read a session's conversation and context; agents take part in sessions. */
const PARTICIPANTS = [...READERS, 'agent'] as const;

/** `"3"`, `W/"3"` or `3` -> 3; anything else is a client error. */
export function parseIfMatch(header: string | undefined): bigint | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,19})"?\s*$/.exec(header);
  if (!match?.[1]) {
    throw new PreconditionFailedError(
      `If-Match must be a version this API issued (an ETag such as "3")`,
      undefined,
    );
  }
  return BigInt(match[1]);
}

const contextJson = (entry: ContextEntry): z.output<typeof ContextResponseSchema> => ({
  key: entry.key,
  value: fromValue(entry.value),
  version: Number(entry.version),
  ...(entry.updatedAt ? { updatedAt: toApiJson(ContextEntrySchema, entry)['updatedAt'] as string } : {}),
});

/** Sessions (API.md "Sessions and tasks"): coordination starts and cancels, distribution reports. */
@ApiTags('sessions')
@ApiBearerAuth()
@Controller('api/orchestration/sessions')
export class SessionsController {
  constructor(
    @Inject(CommandSender) private readonly commands: CommandSender,
    @Inject(PoolClaimsCheck) private readonly poolClaims: PoolClaimsCheck,
  ) {}

  /**
   * Task claims are checked at the edge: their shape by the body schema, the pools they name
   * against the resources service (400 naming the claim; 503 when it cannot be asked).
   */
  @Post()
  @HttpCode(201)
  @Allow('admin', 'operator')
  @ApiOperation({ summary: 'Start a session for a goal in a pattern (auto chooses one and says why)' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key, same session' })
  @ApiBody({ schema: openApiSchema(StartSessionBodySchema) })
  @ApiResponse({ status: 201, schema: openApiSchema(SessionStartedResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 409, 413, 422, 429, 502, 503, 504)
  async start(
    @Body(new ZodPipe(StartSessionBodySchema)) body: StartSessionBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey?: string,
  ): Promise<z.output<typeof SessionStartedResponseSchema>> {
    await this.poolClaims.check(body.tasks ?? [], req, principal);
    const retryable = idempotencyKey !== undefined && isValidIdempotencyKey(idempotencyKey);
    const sessionId = retryable ? derivedUuid(principal.id, idempotencyKey, 'session') : randomUUID();
    const started = await this.commands.send<SessionStart>(
      START_SESSION,
      create(StartSessionSchema, {
        sessionId,
        goal: body.goal,
        pattern: body.pattern,
        tasks: (body.tasks ?? []).map(toTaskSpec),
        agentIds: body.agents ?? [],
        budgetUsd: body.budget ?? 0,
        strategy: body.strategy ?? '',
        maxRounds: body.maxRounds ?? 0,
        conflictPolicy: body.conflictPolicy ?? '',
      }),
      req,
      principal,
      {
        correlationId: sessionId,
        ...(retryable ? { commandId: derivedUuid(principal.id, idempotencyKey, 'command') } : {}),
      },
    );
    const roles = Object.fromEntries(
      Object.entries(started.roles ?? {}).filter(
        ([name, value]) => name !== '$typeName' && typeof value === 'string' && value !== '',
      ),
    ) as Record<string, string>;
    return {
      sessionId: started.sessionId,
      pattern: started.pattern as StartSessionBody['pattern'],
      ...(started.patternReason ? { patternReason: started.patternReason } : {}),
      roles,
    };
  }

  @Get()
  @Allow(...READERS)
  @ApiOperation({ summary: 'Page through sessions, newest first' })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async list(
    @Query(new ZodPipe(ListSessionsQuerySchema, 'query')) query: ListSessionsQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<{ items: unknown[]; nextCursor: string | null }> {
    const page = await this.commands.send<SessionPage>(
      LIST_SESSIONS,
      create(ListSessionsSchema, {
        limit: query.limit,
        cursor: query.cursor ?? '',
        status: query.status ?? '',
      }),
      req,
      principal,
    );
    const json = toApiJson(SessionPageSchema, page);
    return { items: json['items'] as unknown[], nextCursor: page.nextCursor === '' ? null : page.nextCursor };
  }

  @Get(':id')
  @Allow(...PARTICIPANTS)
  @ApiOperation({ summary: "A session's status, and each task's status, agent and attempts" })
  @ApiResponse({ status: 200, schema: openApiSchema(SessionResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async get(
    @Param('id', new ZodPipe(SessionIdParam, { param: 'id' })) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Record<string, unknown>> {
    const view = await this.commands.send<SessionView>(
      GET_SESSION,
      create(GetSessionSchema, { sessionId: id }),
      req,
      principal,
    );
    return toApiJson(SessionViewSchema, view);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @ApiOperation({ summary: 'Cancel a session and every task it has not finished' })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  async cancel(
    @Param('id', new ZodPipe(SessionIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(CancelBodySchema)) body: z.output<typeof CancelBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<{ sessionId: string; status: string }> {
    const ack = await this.commands.send<SessionAck>(
      CANCEL_SESSION,
      create(CancelSessionSchema, { sessionId: id, reason: body.reason ?? `cancelled by ${principal.role}` }),
      req,
      principal,
      { correlationId: id },
    );
    return { sessionId: ack.sessionId, status: ack.status };
  }

  @Get(':id/messages')
  @Allow(...PARTICIPANTS)
  @ApiOperation({ summary: "A session's messages in order after a sequence (long-poll with waitMs)" })
  @ApiResponse({
    status: 200,
    schema: openApiSchema(
      z.object({ items: z.array(MessageResponseSchema), lastSequence: z.number().int() }),
      'output',
    ),
  })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async messages(
    @Param('id', new ZodPipe(SessionIdParam, { param: 'id' })) id: string,
    @Query(new ZodPipe(MessagesQuerySchema, 'query')) query: z.output<typeof MessagesQuerySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<{ items: unknown[]; lastSequence: number }> {
    const page = await this.commands.send<MessagePage>(
      LIST_MESSAGES,
      create(ListMessagesSchema, {
        sessionId: id,
        afterSequence: BigInt(query.after),
        limit: query.limit,
        agentId: query.agentId ?? (principal.role === 'agent' ? (principal.agentId ?? '') : ''),
        waitMs: query.waitMs,
      }),
      req,
      principal,
      { extraTimeoutMs: query.waitMs },
    );
    const json = toApiJson(MessagePageSchema, page);
    const items = (json['items'] as Record<string, unknown>[]).map((m) => ({
      ...m,
      sequence: Number(m['sequence']),
    }));
    return { items, lastSequence: Number(page.lastSequence) };
  }

  @Get(':id/context/:key')
  @Allow(...PARTICIPANTS)
  @ApiOperation({ summary: "One key of a session's shared context; its version is the ETag" })
  @ApiResponse({ status: 200, schema: openApiSchema(ContextResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async getContext(
    @Param('id', new ZodPipe(SessionIdParam, { param: 'id' })) id: string,
    @Param('key', new ZodPipe(ContextKeyParam, { param: 'key' })) key: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<z.output<typeof ContextResponseSchema>> {
    const entry = await this.commands.send<ContextEntry>(
      GET_CONTEXT,
      create(GetContextSchema, { sessionId: id, key }),
      req,
      principal,
    );
    void reply.header('ETag', `"${entry.version}"`);
    return contextJson(entry);
  }

  @Put(':id/context/:key')
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({
    summary: 'Write one key of the shared context; with If-Match only at that version (else 412)',
  })
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag (version) the write expects' })
  @ApiBody({ schema: openApiSchema(PutContextBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(ContextResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 412, 429, 502, 503, 504)
  async putContext(
    @Param('id', new ZodPipe(SessionIdParam, { param: 'id' })) id: string,
    @Param('key', new ZodPipe(ContextKeyParam, { param: 'key' })) key: string,
    @Body(new ZodPipe(PutContextBodySchema)) body: z.output<typeof PutContextBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('if-match') ifMatch?: string,
  ): Promise<z.output<typeof ContextResponseSchema>> {
    const expected = parseIfMatch(ifMatch);
    let entry: ContextEntry;
    try {
      entry = await this.commands.send<ContextEntry>(
        PUT_CONTEXT,
        create(PutContextSchema, {
          sessionId: id,
          key,
          value: toValue(body.value),
          checkVersion: expected !== undefined,
          expectedVersion: expected ?? 0n,
        }),
        req,
        principal,
        { correlationId: id },
      );
    } catch (err) {
      if (expected !== undefined && isRemoteDomainError(err) && err.code === 'conflict') {
        const current = err.details['currentVersion'];
        throw new PreconditionFailedError(
          `context key "${key}" is not at version ${expected}`,
          current === undefined ? undefined : Number(current),
        );
      }
      throw err;
    }
    void reply.header('ETag', `"${entry.version}"`);
    return contextJson(entry);
  }
}
