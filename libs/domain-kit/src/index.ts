export * from './decider';
export * from './errors';
export * from './spec';
export * from './time';
