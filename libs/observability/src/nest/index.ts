export * from './pino-nest-logger';
