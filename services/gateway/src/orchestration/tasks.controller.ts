import { create, type Message } from '@bufbuild/protobuf';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CancelTaskSchema,
  CompleteTaskSchema,
  FailTaskSchema,
  GetTaskSchema,
  HandOffTaskSchema,
  ReportTaskProgressSchema,
  SpawnSubtasksSchema,
  StartTaskSchema,
  TaskViewSchema,
  type CommandTypeInfo,
  type TaskAck,
  type TaskView,
} from '@orch/contracts';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import { actingAgentId, toApiJson, toTaskSpec } from './orchestration.mapping';
import {
  ActingAgentBodySchema,
  CancelBodySchema,
  CompleteBodySchema,
  FailBodySchema,
  HandoffBodySchema,
  ProgressBodySchema,
  SubtasksBodySchema,
  TaskAckResponseSchema,
  TaskResponseSchema,
} from './orchestration.schemas';

const GET_TASK = command('distribution.GetTask');
const CANCEL_TASK = command('distribution.CancelTask');
const START_TASK = command('distribution.StartTask');
const REPORT_PROGRESS = command('distribution.ReportTaskProgress');
const COMPLETE_TASK = command('distribution.CompleteTask');
const FAIL_TASK = command('distribution.FailTask');
const HAND_OFF_TASK = command('distribution.HandOffTask');
const SPAWN_SUBTASKS = command('distribution.SpawnSubtasks');

const TaskIdParam = z.uuid();
type Ack = z.output<typeof TaskAckResponseSchema>;

const ackJson = (ack: TaskAck): Ack => ({
  taskId: ack.taskId,
  sessionId: ack.sessionId,
  status: ack.status,
  addedTaskIds: [...ack.addedTaskIds],
});

/**
 * Tasks (API.md "Sessions and tasks"). Reports (start, progress, complete, fail, handoff,
 * subtasks) come from the agent holding the task; distribution refuses any other agent.
 */
@ApiTags('tasks')
@ApiBearerAuth()
@Controller('api/tasks')
export class TasksController {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  @Get(':id')
  @Allow(...READERS, 'agent')
  @ApiOperation({ summary: 'One task: status, agent, attempts, input, output and why its agent was chosen' })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 429, 502, 503, 504)
  async get(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Record<string, unknown>> {
    const view = await this.commands.send<TaskView>(
      GET_TASK,
      create(GetTaskSchema, { taskId: id }),
      req,
      principal,
    );
    return toApiJson(TaskViewSchema, view);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @ApiOperation({ summary: 'Cancel a task and every unfinished task that depends on it' })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskAckResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  cancel(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(CancelBodySchema)) body: z.output<typeof CancelBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Ack> {
    return this.report(
      CANCEL_TASK,
      create(CancelTaskSchema, { taskId: id, reason: body.reason ?? `cancelled by ${principal.role}` }),
      req,
      principal,
    );
  }

  @Post(':id/start')
  @HttpCode(200)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({ summary: 'The agent holding the task began it' })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskAckResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  start(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(ActingAgentBodySchema)) body: z.output<typeof ActingAgentBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Ack> {
    const agentId = actingAgentId(principal, body.agentId);
    return this.report(START_TASK, create(StartTaskSchema, { taskId: id, agentId }), req, principal);
  }

  @Post(':id/progress')
  @HttpCode(200)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({ summary: 'The agent running the task reports progress' })
  @ApiBody({ schema: openApiSchema(ProgressBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskAckResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  progress(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(ProgressBodySchema)) body: z.output<typeof ProgressBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Ack> {
    const agentId = actingAgentId(principal, body.agentId);
    return this.report(
      REPORT_PROGRESS,
      create(ReportTaskProgressSchema, {
        taskId: id,
        agentId,
        percent: body.percent ?? -1,
        message: body.message ?? '',
      }),
      req,
      principal,
    );
  }

  @Post(':id/complete')
  @HttpCode(200)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({
    summary: 'The agent holding the task finished it (review: output.verdict; plan: output.plan)',
  })
  @ApiBody({ schema: openApiSchema(CompleteBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskAckResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  complete(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(CompleteBodySchema)) body: z.output<typeof CompleteBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Ack> {
    const agentId = actingAgentId(principal, body.agentId);
    return this.report(
      COMPLETE_TASK,
      create(CompleteTaskSchema, {
        taskId: id,
        agentId,
        ...(body.output ? { output: body.output as NonNullable<TaskView['output']> } : {}),
        ...(body.usage
          ? {
              usage: {
                inputTokens: BigInt(body.usage.inputTokens),
                outputTokens: BigInt(body.usage.outputTokens),
                costUsd: body.usage.costUsd,
              },
            }
          : {}),
      }),
      req,
      principal,
    );
  }

  @Post(':id/fail')
  @HttpCode(200)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({ summary: 'The agent holding the task could not finish it; retryable failures are retried' })
  @ApiBody({ schema: openApiSchema(FailBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskAckResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  fail(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(FailBodySchema)) body: z.output<typeof FailBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Ack> {
    const agentId = actingAgentId(principal, body.agentId);
    return this.report(
      FAIL_TASK,
      create(FailTaskSchema, { taskId: id, agentId, error: body.error, retryable: body.retryable }),
      req,
      principal,
    );
  }

  @Post(':id/handoff')
  @HttpCode(200)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({ summary: 'The agent holding the task passes it to other capabilities or a named agent' })
  @ApiBody({ schema: openApiSchema(HandoffBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskAckResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  handoff(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(HandoffBodySchema)) body: z.output<typeof HandoffBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Ack> {
    const agentId = actingAgentId(principal, body.agentId);
    return this.report(
      HAND_OFF_TASK,
      create(HandOffTaskSchema, {
        taskId: id,
        agentId,
        toCapabilities: body.toCapabilities ?? [],
        toAgentId: body.toAgentId ?? '',
        reason: body.reason,
      }),
      req,
      principal,
    );
  }

  @Post(':id/subtasks')
  @HttpCode(200)
  @Allow('admin', 'operator', 'agent')
  @ApiOperation({ summary: 'The agent holding the task adds tasks to its session (a plan, follow-ups)' })
  @ApiBody({ schema: openApiSchema(SubtasksBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(TaskAckResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  subtasks(
    @Param('id', new ZodPipe(TaskIdParam, { param: 'id' })) id: string,
    @Body(new ZodPipe(SubtasksBodySchema)) body: z.output<typeof SubtasksBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Ack> {
    const agentId = actingAgentId(principal, body.agentId);
    return this.report(
      SPAWN_SUBTASKS,
      create(SpawnSubtasksSchema, { taskId: id, agentId, tasks: body.tasks.map(toTaskSpec) }),
      req,
      principal,
    );
  }

  private async report(
    info: CommandTypeInfo,
    payload: Message,
    req: FastifyRequest,
    principal: Principal,
  ): Promise<Ack> {
    return ackJson(await this.commands.send<TaskAck>(info, payload, req, principal));
  }
}
