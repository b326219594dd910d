export * from './correlation';
export * from './health';
export * from './logger';
export * from './metrics';
export * from './ops-server';
export * from './telemetry';
export * from './lifecycle';
