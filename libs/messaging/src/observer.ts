/**
 * Hooks for metrics: messaging reports what it handled, a service turns it into Prometheus
 * series (or anything else). Every hook is optional and must not throw.
 */
export interface MessagingObserver {
  /** A command or query was answered: `outcome` is `ok` or the reply's error code. */
  commandHandled?(command: string, outcome: string, seconds: number): void;
  /** An event left a consumer: acked (`ok`), nak'd for a retry, or dead-lettered. */
  eventHandled?(
    consumer: string,
    type: string,
    outcome: 'ok' | 'retry' | 'dead_letter',
    seconds: number,
  ): void;
}

/** Calls a hook, swallowing its errors: metrics never break message handling. */
export function notify<A extends unknown[]>(hook: ((...args: A) => void) | undefined, ...args: A): void {
  if (!hook) return;
  try {
    hook(...args);
  } catch {
    // A broken observer must not affect delivery.
  }
}
