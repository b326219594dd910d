import type { Logger } from 'pino';

export interface StopOnSignalOptions {
  /** Service name for log lines. */
  readonly service: string;
  readonly logger: Logger;
  /** Stops the service gracefully (finish in-flight work, close connections). */
  close(): Promise<void>;
  /** How long a graceful stop may take before the process exits with 1; default 20 s. */
  readonly timeoutMs?: number;
  /** Default `process.exit`; tests pass their own. */
  readonly exit?: (code: number) => void;
}

/**
 * On SIGTERM or SIGINT, stops the service once and exits: 0 after a clean stop, 1 when closing
 * fails or outlasts the timeout (logged, so a hung shutdown says so instead of being killed
 * silently at the end of the orchestrator's grace period).
 */
export function stopOnSignal(options: StopOnSignalOptions): (signal: string) => Promise<void> {
  const { service, logger, timeoutMs = 20_000, exit = (code: number) => process.exit(code) } = options;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${service} stopping`);
    const deadline = setTimeout(() => {
      logger.error(`${service} did not stop within ${timeoutMs / 1000} s`);
      exit(1);
    }, timeoutMs);
    deadline.unref();
    try {
      await options.close();
      clearTimeout(deadline);
      logger.info(`${service} stopped`);
      exit(0);
    } catch (err) {
      clearTimeout(deadline);
      logger.error({ err }, `${service} did not stop cleanly`);
      exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return stop;
}
