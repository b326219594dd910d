export * from './canonical-json';
export * from './decider';
export * from './decision-record';
export * from './errors';
export * from './events';
export * from './spec';
export * from './time';
export * from './validation';
