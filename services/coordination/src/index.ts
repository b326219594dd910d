export { startCoordination, type CoordinationService, type StartOptions } from './app';
export { loadConfig, type CoordinationConfig } from './config';
