import { create } from '@bufbuild/protobuf';
import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  AllocateSchema,
  GetAllocationSchema,
  GetTaskSchema,
  type AllocationResult,
  type AllocationView,
  type TaskView,
} from '@orch/contracts';
import { ConflictError, ForbiddenError, IllegalStateError, ValidationError } from '@orch/domain-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import { toAllocationResponse, toAllocationResultResponse, toClaim } from './resources.mapping';
import {
  AllocateBodySchema,
  AllocationQuerySchema,
  AllocationResponseSchema,
  AllocationResultResponseSchema,
  type AllocateBody,
  type AllocationQuery,
  type AllocationResponse,
  type AllocationResultResponse,
} from './resources.schemas';

const ALLOCATE = command('resources.Allocate');
const GET_ALLOCATION = command('resources.GetAllocation');
const GET_TASK = command('distribution.GetTask');

/** Task statuses in which an agent holds the task (and may ask for more for it). */
const HELD = new Set(['assigned', 'running']);

/** The attempt an allocate request is for, with the session and priority it carries. */
interface AllocationTarget {
  readonly attempt: number;
  readonly sessionId: string;
  readonly priority: number;
}

/**
 * Allocations: what is held and who waits (`GET /api/resources/allocation`), and a running task
 * asking for more (`POST /api/resources/allocate`; hold-and-wait when incremental, so the
 * allocator checks the request for deadlocks).
 */
@ApiTags('resources')
@ApiBearerAuth()
@Controller('api/resources')
export class AllocationController {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  @Get('allocation')
  @Allow(...READERS, 'agent')
  @ApiOperation({
    summary: 'Allocations held and the queue of waiters, optionally of one session or task',
    description: 'An agent key must name the task (taskId).',
  })
  @ApiQuery({ name: 'sessionId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'taskId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiResponse({ status: 200, schema: openApiSchema(AllocationResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async allocation(
    @Query(new ZodPipe(AllocationQuerySchema, 'query')) query: AllocationQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<AllocationResponse> {
    if (principal.role === 'agent' && query.taskId === undefined) {
      throw new ValidationError('an agent key reads the allocation of one task', [
        { path: 'taskId', message: 'is required with an agent key' },
      ]);
    }
    const view = await this.commands.send<AllocationView>(
      GET_ALLOCATION,
      create(GetAllocationSchema, { sessionId: query.sessionId ?? '', taskId: query.taskId ?? '' }),
      req,
      principal,
    );
    return toAllocationResponse(view);
  }

  @Post('allocate')
  @HttpCode(200)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({
    summary: 'Ask for more pools or locks for a task attempt: 200 granted or refused, 202 waiting',
    description:
      'Fields not given (attempt, sessionId, priority) are taken from the task. An agent key may ask ' +
      "only for a task it holds (assigned or running), for its current attempt, at the task's priority.",
  })
  @ApiBody({ schema: openApiSchema(AllocateBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(AllocationResultResponseSchema, 'output') })
  @ApiResponse({
    status: 202,
    description: 'Waiting: queued until the claims fit (reason, waitingFor, blockers say why)',
    schema: openApiSchema(AllocationResultResponseSchema, 'output'),
  })
  @ApiProblems(400, 401, 403, 404, 409, 422, 429, 502, 503, 504)
  async allocate(
    @Body(new ZodPipe(AllocateBodySchema)) body: AllocateBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AllocationResultResponse> {
    const target = await this.target(body, principal, req);
    const result = await this.commands.send<AllocationResult>(
      ALLOCATE,
      create(AllocateSchema, {
        taskId: body.taskId,
        attempt: target.attempt,
        sessionId: target.sessionId,
        priority: target.priority,
        claims: body.claims.map(toClaim),
        incremental: body.incremental,
      }),
      req,
      principal,
      target.sessionId ? { correlationId: target.sessionId } : {},
    );
    if (result.status === 'waiting') void reply.status(202);
    return toAllocationResultResponse(result);
  }

  /**
   * The attempt, session and priority of the request: as given by an operator, else the task's
   * (distribution GetTask). An agent key is held to the task it holds and to its current attempt.
   */
  private async target(
    body: AllocateBody,
    principal: Principal,
    req: FastifyRequest,
  ): Promise<AllocationTarget> {
    const agent = principal.role === 'agent';
    if (!agent && body.attempt !== undefined && body.sessionId !== undefined && body.priority !== undefined) {
      return { attempt: body.attempt, sessionId: body.sessionId, priority: body.priority };
    }
    const task = await this.commands.send<TaskView>(
      GET_TASK,
      create(GetTaskSchema, { taskId: body.taskId }),
      req,
      principal,
    );
    if (agent) checkAgentRequest(body, task, principal);
    if (body.sessionId !== undefined && body.sessionId !== task.sessionId) {
      throw new ValidationError('the task belongs to another session', [
        { path: 'sessionId', message: `task ${task.taskId} is of session ${task.sessionId}` },
      ]);
    }
    const attempt = body.attempt ?? task.attempts;
    if (attempt === 0) {
      throw new IllegalStateError(
        `task ${task.taskId} has not been assigned yet: it has no attempt to allocate for`,
        {
          taskId: task.taskId,
          status: task.status,
        },
      );
    }
    return {
      attempt,
      sessionId: body.sessionId ?? task.sessionId,
      priority: body.priority ?? task.priority,
    };
  }
}

/** An agent key asks only for a task it holds, for its current attempt, at the task's priority. */
function checkAgentRequest(body: AllocateBody, task: TaskView, principal: Principal): void {
  if (task.agentId === '' || task.agentId !== principal.agentId || !HELD.has(task.status)) {
    throw new ForbiddenError(
      `an agent key allocates only for a task its agent holds; task ${task.taskId} is not`,
      {
        taskId: task.taskId,
      },
    );
  }
  if (body.priority !== undefined) {
    throw new ValidationError("an agent key cannot choose the priority; the task's is used", [
      { path: 'priority', message: 'must be omitted with an agent key' },
    ]);
  }
  if (body.attempt !== undefined && body.attempt !== task.attempts) {
    throw new ConflictError(
      `attempt ${body.attempt} of task ${task.taskId} is not its current attempt (${task.attempts})`,
      {
        taskId: task.taskId,
        attempt: task.attempts,
      },
    );
  }
}
