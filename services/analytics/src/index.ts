export { startAnalytics, type AnalyticsService, type StartOptions } from './app';
export { loadConfig, type AnalyticsConfig } from './config';
