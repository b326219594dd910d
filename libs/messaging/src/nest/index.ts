export * from './decorators';
export * from './messaging.module';
export * from './messaging.service';
export * from './options';
export * from './service-relay';
export * from './tokens';
