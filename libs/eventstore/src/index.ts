export * from './contract';
export * from './errors';
export { upcasterChain, type Upcast } from './upcasting';
export { isUuid } from './validation';
export {
  executeCommand,
  type ExecuteCommandOptions,
  type ExecuteCommandResult,
  type SnapshotPolicy,
} from './command-handler';
export * from './postgres';
export {
  AggregateCache,
  type AggregateCacheOptions,
  type CachedAggregate,
  type CachedExecution,
} from './aggregate-cache';
export { LogFollower, type CatchUp, type LogFollowerOptions } from './log-follower';
