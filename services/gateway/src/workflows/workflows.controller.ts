import { create } from '@bufbuild/protobuf';
import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AnalyzeWorkflowSchema, type WorkflowAnalysis } from '@orch/contracts';
import type { FastifyRequest } from 'fastify';
import { Allow, CurrentPrincipal, READERS } from '../auth/access';
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
}
