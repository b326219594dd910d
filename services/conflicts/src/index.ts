export { startConflicts, type ConflictsService, type StartOptions } from './app';
export { loadConfig, type ConflictsConfig } from './config';
