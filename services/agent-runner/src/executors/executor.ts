import type { Assignment, TaskContext, TaskUsage } from '@orch/agent-sdk';
import type { AgentConfig, ExecutorConfig } from '../config';
import { createLlmExecutor } from './llm.executor';
import { createShellExecutor } from './shell.executor';
import { createSimExecutor } from './sim.executor';

/** What an executor gets besides the assignment: the signal that says "stop now". */
export type ExecutorContext = Pick<TaskContext, 'signal'>;

export interface ExecutorResult {
  readonly output: Record<string, unknown>;
  readonly usage?: TaskUsage;
}

/**
 * Does one assignment. Throws a `TaskFailure` (from @orch/agent-sdk) to fail it with a retry
 * decision; anything else thrown fails it as retryable.
 */
export type Executor = (assignment: Assignment, ctx: ExecutorContext) => Promise<ExecutorResult>;

/** The agent an executor works for: its name (for seeds) and its cost model (for usage). */
export type ExecutorAgent = Pick<AgentConfig, 'name' | 'costPer1kInputTokens' | 'costPer1kOutputTokens'>;

/** The executor a config describes. */
export function createExecutor(
  config: ExecutorConfig,
  agent: ExecutorAgent,
  env: NodeJS.ProcessEnv = process.env,
): Executor {
  switch (config.kind) {
    case 'sim':
      return createSimExecutor(config, agent);
    case 'shell':
      return createShellExecutor(config);
    case 'llm':
      return createLlmExecutor(config, agent, env);
    default: {
      const never: never = config;
      throw new Error(`unknown executor ${JSON.stringify(never)}`);
    }
  }
}

/** Usage with its cost from the agent's per-1k-token prices. */
export function usageFor(agent: ExecutorAgent, inputTokens: number, outputTokens: number): TaskUsage {
  const costUsd =
    (inputTokens / 1000) * agent.costPer1kInputTokens + (outputTokens / 1000) * agent.costPer1kOutputTokens;
  return { inputTokens, outputTokens, costUsd: Math.round(costUsd * 1e6) / 1e6 };
}
