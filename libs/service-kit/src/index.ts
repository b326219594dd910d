export { startService, type RunningService, type StartServiceOptions } from './start-service';
