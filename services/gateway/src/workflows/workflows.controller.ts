import { create } from '@bufbuild/protobuf';
import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  AdaptWorkflowSchema,
  AnalyzeWorkflowSchema,
  SessionSuggestionSchema,
  SessionViewSchema,
  SuggestSessionSchema,
  type SessionSuggestion,
  type SessionView,
  type WorkflowAnalysis,
} from '@orch/contracts';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
import { toApiJson, toTaskSpec } from '../orchestration/orchestration.mapping';
import { AdaptBodySchema, SuggestBodySchema } from '../orchestration/orchestration.schemas';
import type { Principal } from '../auth/principal';
import { CommandSender, command } from '../commands/command-sender';
import { ApiProblems, openApiSchema } from '../openapi/openapi';
import { ZodPipe } from '../validation/zod.pipe';
import {
  AnalyzeWorkflowBodySchema,
  WorkflowAnalysisResponseSchema,
  type AnalyzeWorkflowBody,
  type WorkflowAnalysisResponse,
} from './workflows.schemas';

const ANALYZE_WORKFLOW = command('distribution.AnalyzeWorkflow');
const SUGGEST_SESSION = command('coordination.SuggestSession');
const ADAPT_WORKFLOW = command('distribution.AdaptWorkflow');

/** The analysis as API.md names it: a workflow's problems are data (200), not an HTTP error. */
export const toAnalysisResponse = (a: WorkflowAnalysis): WorkflowAnalysisResponse => ({
  valid: a.valid,
  problems: a.problems.map((p) => ({
    kind: p.kind as WorkflowAnalysisResponse['problems'][number]['kind'],
    message: p.message,
    ...(p.taskId ? { taskId: p.taskId } : {}),
    ...(p.dependsOn ? { dependsOn: p.dependsOn } : {}),
    ...(p.path.length > 0 ? { path: [...p.path] } : {}),
    ...(p.indexes.length > 0 ? { indexes: [...p.indexes] } : {}),
  })),
  ...(a.cycle.length > 0 ? { cycle: [...a.cycle] } : {}),
  levels: a.levels.map((l) => [...l.taskIds]),
  criticalPath: [...a.criticalPath],
  parallelism: a.parallelism,
  estimates: {
    durationMs: Number(a.estimates?.durationMs ?? 0n),
    totalWorkMs: Number(a.estimates?.totalWorkMs ?? 0n),
    basis: a.estimates?.basis ?? '',
  },
});

@ApiTags('workflows')
@ApiBearerAuth()
@Controller('api/workflows')
export class WorkflowsController {
  constructor(@Inject(CommandSender) private readonly commands: CommandSender) {}

  @Post('analyze')
  @HttpCode(200)
  @Allow(...READERS)
  @ApiOperation({
    summary:
      'Validate a task DAG (cycles reported with their path) and report levels, critical path and estimates',
  })
  @ApiBody({ schema: openApiSchema(AnalyzeWorkflowBodySchema) })
  @ApiResponse({ status: 200, schema: openApiSchema(WorkflowAnalysisResponseSchema, 'output') })
  @ApiProblems(400, 401, 403, 413, 429, 502, 503, 504)
  async analyze(
    @Body(new ZodPipe(AnalyzeWorkflowBodySchema)) body: AnalyzeWorkflowBody,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<WorkflowAnalysisResponse> {
    const analysis = await this.commands.send<WorkflowAnalysis>(
      ANALYZE_WORKFLOW,
      create(AnalyzeWorkflowSchema, {
        tasks: body.tasks.map((t) => ({
          id: t.id,
          type: t.type,
          dependsOn: t.dependsOn ?? [],
          capabilities: t.capabilities ?? [],
          priority: t.priority ?? 0,
          estimatedDurationMs: BigInt(t.estimatedDurationMs ?? 0),
        })),
      }),
      req,
      principal,
    );
    return toAnalysisResponse(analysis);
  }

  @Post('suggest')
  @HttpCode(200)
  @Allow(...READERS)
  @ApiOperation({ summary: 'Suggest a pattern and the agents a goal needs, with the reasons' })
  @ApiBody({ schema: openApiSchema(SuggestBodySchema) })
  @ApiProblems(400, 401, 403, 429, 502, 503, 504)
  async suggest(
    @Body(new ZodPipe(SuggestBodySchema)) body: z.output<typeof SuggestBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Record<string, unknown>> {
    const suggestion = await this.commands.send<SessionSuggestion>(
      SUGGEST_SESSION,
      create(SuggestSessionSchema, { goal: body.goal, tasks: (body.tasks ?? []).map(toTaskSpec) }),
      req,
      principal,
    );
    return toApiJson(SessionSuggestionSchema, suggestion);
  }

  @Post('adapt')
  @HttpCode(200)
  @Allow('admin', 'operator')
  @ApiOperation({
    summary: "Change a running session's DAG: add tasks, remove or replace tasks not started yet",
  })
  @ApiBody({ schema: openApiSchema(AdaptBodySchema) })
  @ApiProblems(400, 401, 403, 404, 409, 429, 502, 503, 504)
  async adapt(
    @Body(new ZodPipe(AdaptBodySchema)) body: z.output<typeof AdaptBodySchema>,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ): Promise<Record<string, unknown>> {
    const view = await this.commands.send<SessionView>(
      ADAPT_WORKFLOW,
      create(AdaptWorkflowSchema, {
        sessionId: body.sessionId,
        add: (body.add ?? []).map(toTaskSpec),
        remove: body.remove ?? [],
        replace: (body.replace ?? []).map(toTaskSpec),
      }),
      req,
      principal,
    );
    return toApiJson(SessionViewSchema, view);
  }
}
