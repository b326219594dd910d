import type { Logger } from 'pino';
import type { MessagingOptions } from '../connection';
import type { MessagingObserver } from '../observer';
import type { ProvisionStreamsOptions } from '../streams';

export interface MessagingModuleOptions extends MessagingOptions {
  /** Default: a pino logger named after the service. */
  readonly logger?: Logger;
  /** Create/update the JetStream streams at bootstrap. Default true. */
  readonly provisionStreams?: boolean;
  readonly streams?: ProvisionStreamsOptions;
  /** Receives what commands and consumers handled, for metrics. */
  readonly observer?: MessagingObserver;
  /** Default timeout of CommandBus requests. Default 5 s. */
  readonly commandTimeoutMs?: number;
}
