export * from './decider';
export * from './errors';
export * from './events';
export * from './spec';
export * from './time';
export * from './validation';
