import { randomUUID } from 'node:crypto';
import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
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
import { create } from '@bufbuild/protobuf';
import {
  AssignmentSchema,
  DeregisterAgentSchema,
  DrainAgentSchema,
  GetAgentSchema,
  HeartbeatSchema,
  ListAgentsSchema,
  NextAssignmentSchema,
  type AgentAck,
  type AssignmentPoll,
  type AgentPage,
  type AgentRegistration,
  type AgentView,
} from '@orch/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Allow, AllowOwnAgent, CurrentPrincipal, READERS } from '../auth/access';
import { CommandSender, command } from '../commands/command-sender';
import type { Principal } from '../auth/principal';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency.interceptor';
import { isValidIdempotencyKey } from '../idempotency/request-hash';
import { KeysService } from '../keys/keys.service';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { AgentKeyNotIssuedError } from '../problem/errors';
import { toApiJson } from '../orchestration/orchestration.mapping';
import { AssignmentQuerySchema, AssignmentResponseSchema } from '../orchestration/orchestration.schemas';
import { ZodPipe } from '../validation/zod.pipe';
import { derivedUuid } from './agent-id';
import { toAgentPageResponse, toAgentResponse, toRegisterAgent } from './agents.mapping';
import {
  AgentPageResponseSchema,
  AgentRegisteredResponseSchema,
  AgentResponseSchema,
  ListAgentsQuerySchema,
  RegisterAgentBodySchema,
  type AgentPageResponse,
  type AgentResponse,
  type ListAgentsQuery,
  type RegisterAgentBody,
} from './agents.schemas';

const REGISTER_AGENT = command('coordination.RegisterAgent');
const GET_AGENT = command('coordination.GetAgent');
const LIST_AGENTS = command('coordination.ListAgents');
const HEARTBEAT = command('coordination.Heartbeat');
const DRAIN_AGENT = command('coordination.DrainAgent');
const DEREGISTER_AGENT = command('coordination.DeregisterAgent');
const NEXT_ASSIGNMENT = command('distribution.NextAssignment');

const ackJson = (ack: AgentAck): { agentId: string; status: string } => ({
  agentId: ack.agentId,
  status: ack.status,
});

const AgentIdParam = z.string().min(1).max(200);

/**
 * The agents slice of the API: thin HTTP adapters over coordination's RegisterAgent, GetAgent
 * and ListAgents. Every command carries the request's correlation id and the principal explicitly.
 */
@ApiTags('agents')
@ApiBearerAuth()
@Controller('api/agents')
export class AgentsController {
  constructor(
    @Inject(CommandSender) private readonly commands: CommandSender,
    @Inject(KeysService) private readonly keys: KeysService,
  ) {}

  /**
   * Registration first, key second: a failed registration leaves no key behind; a failed key
   * issue leaves a registered agent and a 503 the client retries with the same Idempotency-Key,
   * which re-sends the same agent id (idempotent in coordination) and issues the key.
   */
  @Post()
  @HttpCode(201)
  @Allow('admin', 'operator')
  @ApiOperation({ summary: 'Register an agent; returns its id and an agent-scoped API key (shown once)' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Makes a retry safe: same key, same agent',
  })
  @ApiBody({ schema: openApiSchema(RegisterAgentBodySchema) })
  @ApiResponse({ status: 201, schema: openApiSchema(AgentRegisteredResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 409, 422, 429, 502, 503, 504)
  async register(
    @Body(new ZodPipe(RegisterAgentBodySchema)) body: RegisterAgentBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Headers(IDEMPOTENCY_HEADER) idempotencyKey?: string,
  ): Promise<z.output<typeof AgentRegisteredResponseSchema>> {
    const retryable = idempotencyKey !== undefined && isValidIdempotencyKey(idempotencyKey);
    const agentId = retryable ? derivedUuid(principal.id, idempotencyKey, 'agent') : randomUUID();
    await this.commands.send<AgentRegistration>(
      REGISTER_AGENT,
      toRegisterAgent(agentId, body),
      req,
      principal,
      retryable ? { commandId: derivedUuid(principal.id, idempotencyKey, 'command') } : {},
    );
    let issued;
    try {
      issued = await this.keys.issueRegistrationKey(agentId, `agent ${body.name}`, principal);
    } catch (cause) {
      throw new AgentKeyNotIssuedError(agentId, { cause });
    }
    return { id: agentId, apiKey: issued.key, apiKeyId: issued.id };
  }

  @Get()
  @Allow(...READERS)
  @ApiOperation({ summary: 'Page through agents in registration order' })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiResponse({ status: 200, schema: openApiSchema(AgentPageResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async list(
    @Query(new ZodPipe(ListAgentsQuerySchema, 'query')) query: ListAgentsQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<AgentPageResponse> {
    const page = await this.commands.send<AgentPage>(
      LIST_AGENTS,
      create(ListAgentsSchema, { limit: query.limit, cursor: query.cursor ?? '' }),
      req,
      principal,
    );
    return toAgentPageResponse(page);
  }

  @Get(':id')
  @Allow(...READERS)
  @AllowOwnAgent('id')
  @ApiOperation({ summary: 'One agent (an agent key may read only its own)' })
  @ApiResponse({ status: 200, schema: openApiSchema(AgentResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async get(
    @Param('id', new ZodPipe(AgentIdParam, { param: 'id' })) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<AgentResponse> {
    const view = await this.commands.send<AgentView>(
      GET_AGENT,
      create(GetAgentSchema, { agentId: id }),
      req,
      principal,
    );
    return toAgentResponse(view);
  }

  @Post(':id/heartbeat')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @AllowOwnAgent('id')
  @ApiOperation({ summary: 'The agent is alive (an unhealthy agent recovers)' })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  async heartbeat(
    @Param('id', new ZodPipe(AgentIdParam, { param: 'id' })) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<{ agentId: string; status: string }> {
    return ackJson(
      await this.commands.send<AgentAck>(HEARTBEAT, create(HeartbeatSchema, { agentId: id }), req, principal),
    );
  }

  @Post(':id/drain')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @AllowOwnAgent('id')
  @ApiOperation({ summary: 'Give the agent no new work; the tasks it holds run to their end' })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  async drain(
    @Param('id', new ZodPipe(AgentIdParam, { param: 'id' })) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<{ agentId: string; status: string }> {
    return ackJson(
      await this.commands.send<AgentAck>(
        DRAIN_AGENT,
        create(DrainAgentSchema, { agentId: id }),
        req,
        principal,
      ),
    );
  }

  @Delete(':id')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @AllowOwnAgent('id')
  @ApiOperation({ summary: 'Remove the agent from the fleet; tasks it holds are retried elsewhere' })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async deregister(
    @Param('id', new ZodPipe(AgentIdParam, { param: 'id' })) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<{ agentId: string; status: string }> {
    return ackJson(
      await this.commands.send<AgentAck>(
        DEREGISTER_AGENT,
        create(DeregisterAgentSchema, { agentId: id, reason: `deregistered by ${principal.role}` }),
        req,
        principal,
      ),
    );
  }

  @Get(':id/assignments/next')
  @Allow('admin', 'operator')
  @AllowOwnAgent('id')
  @ApiOperation({
    summary: 'Long-poll the next task assigned to the agent: 200 with it, or 204 after waitMs',
  })
  @ApiResponse({ status: 200, schema: openApiSchema(AssignmentResponseSchema, 'output') })
  @ApiResponse({ status: 204, description: 'No assignment arrived within waitMs' })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async nextAssignment(
    @Param('id', new ZodPipe(AgentIdParam, { param: 'id' })) id: string,
    @Query(new ZodPipe(AssignmentQuerySchema, 'query')) query: z.output<typeof AssignmentQuerySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Record<string, unknown> | undefined> {
    const poll = await this.commands.send<AssignmentPoll>(
      NEXT_ASSIGNMENT,
      create(NextAssignmentSchema, { agentId: id, waitMs: query.waitMs }),
      req,
      principal,
      { extraTimeoutMs: query.waitMs },
    );
    if (!poll.found || !poll.assignment) {
      void reply.status(204);
      return undefined;
    }
    return toApiJson(AssignmentSchema, poll.assignment);
  }
}
