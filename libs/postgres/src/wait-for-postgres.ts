import type { Pool } from 'pg';
import type { Logger } from 'pino';

export interface WaitForPostgresOptions {
  readonly logger: Logger;
  /** What to call the server in log lines (a URL without credentials). */
  readonly what?: string;
  /** Delay between attempts; default 2 s. */
  readonly retryMs?: number;
  /** Give up after this long; default never (a service waits for its database). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Resolves once `pool` can run a query, logging one line per failed attempt, so a service started
 * before its database waits instead of crashing.
 */
export async function waitForPostgres(pool: Pool, options: WaitForPostgresOptions): Promise<void> {
  const { logger, what = 'PostgreSQL', retryMs = 2000, timeoutMs, signal } = options;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      if (attempt > 1) logger.info({ attempt }, `PostgreSQL reachable at ${what}`);
      return;
    } catch (err) {
      if (timeoutMs !== undefined && Date.now() - started + retryMs > timeoutMs) {
        throw new Error(`PostgreSQL not reachable at ${what} after ${attempt} attempts`, { cause: err });
      }
      logger.warn(
        { attempt, err: (err as Error).message },
        `PostgreSQL not reachable at ${what}, retrying in ${retryMs} ms`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, retryMs);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
  }
}
