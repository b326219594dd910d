export * from './gen/orchestrator/v1/envelope_pb';
export * from './gen/orchestrator/v1/options_pb';
export * from './gen/orchestrator/v1/orchestration_pb';
export * from './gen/orchestrator/coordination/v1/agents_pb';
export * from './gen/orchestrator/coordination/v1/sessions_pb';
export * from './gen/orchestrator/distribution/v1/workflows_pb';
export * from './gen/orchestrator/distribution/v1/tasks_pb';
export * from './registry';
