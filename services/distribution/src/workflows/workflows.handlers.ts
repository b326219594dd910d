import { create } from '@bufbuild/protobuf';
import { Inject, Injectable } from '@nestjs/common';
import {
  WorkflowAnalysisSchema,
  commandInfo,
  type AnalyzeWorkflow,
  type WorkflowAnalysis as WorkflowAnalysisMessage,
} from '@orch/contracts';
import { analyzeWorkflow, describeProblem, type DagProblem } from '@orch/distribution';
import { CommandHandler } from '@orch/messaging';
import { DISTRIBUTION_OPTIONS, type DistributionModuleOptions } from '../tokens';

const problemMessage = (p: DagProblem) => ({
  kind: p.kind,
  message: describeProblem(p),
  ...('id' in p ? { taskId: p.id } : {}),
  ...(p.kind === 'unknown_dependency' ? { dependsOn: p.dependsOn } : {}),
  ...(p.kind === 'cycle' ? { path: [...p.path] } : {}),
  ...(p.kind === 'duplicate_id' ? { indexes: [...p.indexes] } : {}),
});

/** NATS adapter of workflow analysis: wire to domain and back. */
@Injectable()
export class WorkflowsHandlers {
  constructor(@Inject(DISTRIBUTION_OPTIONS) private readonly options: DistributionModuleOptions) {}

  @CommandHandler(commandInfo('distribution.AnalyzeWorkflow'))
  async analyze(message: AnalyzeWorkflow): Promise<WorkflowAnalysisMessage> {
    const analysis = analyzeWorkflow(
      message.tasks.map((t) => ({
        id: t.id,
        type: t.type,
        dependsOn: t.dependsOn,
        ...(t.estimatedDurationMs > 0n ? { estimatedDurationMs: Number(t.estimatedDurationMs) } : {}),
      })),
      () => undefined, // No observed history yet: analytics will provide it.
      { maxTasks: this.options.policy.maxTasks },
    );
    return create(WorkflowAnalysisSchema, {
      valid: analysis.valid,
      problems: analysis.problems.map(problemMessage),
      cycle: [...(analysis.cycle ?? [])],
      levels: analysis.levels.map((ids) => ({ taskIds: [...ids] })),
      criticalPath: [...analysis.criticalPath],
      parallelism: analysis.parallelism,
      estimates: {
        durationMs: BigInt(analysis.estimates.durationMs),
        totalWorkMs: BigInt(analysis.estimates.totalWorkMs),
        basis: analysis.estimates.basis,
      },
    });
  }
}
