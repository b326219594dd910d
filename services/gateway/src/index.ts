export { createGatewayApp, type GatewayAppOptions } from './app';
export { ConfigError, loadConfig, ROLES, type GatewayConfig, type RateLimits, type Role } from './config';
