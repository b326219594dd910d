export {
  agentNames,
  loadRunnerConfig,
  parseRunnerConfig,
  RunnerConfigError,
  type AgentConfig,
  type DurationDistribution,
  type ExecutorConfig,
  type LlmExecutorConfig,
  type RunnerConfig,
  type ShellExecutorConfig,
  type SimExecutorConfig,
} from './config';
export {
  createExecutor,
  type Executor,
  type ExecutorAgent,
  type ExecutorContext,
  type ExecutorResult,
} from './executors/executor';
export { drawDuration, seededRandom, type Random } from './executors/random';
export { runFleet, type FleetAgent, type FleetHandle, type FleetOptions } from './fleet';
