export * from './agents/agent.commands';
export * from './agents/agent.decider';
export * from './agents/agent.events';
export * from './agents/agent.projection';
