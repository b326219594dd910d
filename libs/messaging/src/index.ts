export * from './codec';
export * from './headers';
export * from './naming';
