export { startResources, type ResourcesService, type StartOptions } from './app';
export { loadConfig, type ResourcesConfig } from './config';
