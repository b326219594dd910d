export { startService, type RunningService, type StartServiceOptions } from './start-service';
export {
  startPostgresService,
  type ServiceStartOptions,
  type StartPostgresServiceOptions,
} from './postgres-service';
export {
  baseServiceConfig,
  identifier,
  logLevel,
  opsPortFields,
  parseConfig,
  type OpsPortFields,
} from './config';
