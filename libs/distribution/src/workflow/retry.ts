import { ValidationError } from '@orch/domain-kit';

/**
 * Delay before the retry that follows the `failures`-th failed attempt: exponential
 * (`baseMs * 2^(failures - 1)`, capped at `maxMs`) with **equal jitter**: half of it is kept and
 * the other half scaled by `jitter` in [0, 1). Tasks that failed together (an agent died holding
 * several) come back spread out, yet never sooner than half the backoff, so a struggling agent
 * or provider is not hit again at once, which full jitter (anything from 0) allows.
 */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number, jitter: number): number {
  if (!(jitter >= 0 && jitter < 1))
    throw new ValidationError('invalid jitter', [{ path: 'jitter', message: 'must be in [0, 1)' }]);
  const exponential = Math.min(baseMs * 2 ** Math.max(0, failures - 1), maxMs);
  return Math.round(exponential / 2 + (exponential / 2) * jitter);
}
