export { AgentClient, type AgentClientOptions, type ClientOptions, type MessagesQuery } from './agent-client';
export {
  GatewayUnreachableError,
  ProblemError,
  TaskFailure,
  UnexpectedResponseError,
  isProblem,
  isRetryableFailure,
  type FieldProblem,
} from './errors';
export { silentLogger, type AgentLogger } from './logger';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
export {
  runAgent,
  type RunAgentOptions,
  type RunStats,
  type TaskContext,
  type TaskHandler,
  type TaskResult,
} from './run-agent';
export type * from './types';
