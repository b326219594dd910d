export { startDistribution, type DistributionService, type StartOptions } from './app';
export { loadConfig, type DistributionConfig } from './config';
