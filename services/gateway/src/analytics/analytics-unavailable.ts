import { ServiceUnavailableError } from '@orch/messaging';
import { DependencyUnavailableError } from '../problem/errors';

/**
 * Runs `send` (a request to the analytics service) and turns "no replica is listening" into a 503
 * that says what could not be done, e.g. `whenAnalyticsDown('the metrics cannot be read', ...)`.
 * Remote domain errors (validation, not found...) and timeouts pass through unchanged.
 */
export async function whenAnalyticsDown<T>(consequence: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof ServiceUnavailableError) {
      throw new DependencyUnavailableError('the analytics service', {
        cause: err,
        detail: `the analytics service is not running, so ${consequence}; retry later`,
      });
    }
    throw err;
  }
}
