import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The correlation id of the work in progress (the request id at the edge, the session id inside
 * the fleet). It lives in an AsyncLocalStorage so log lines pick it up without every call site
 * passing a logger child around; code that acts on it (commands, events) still receives it
 * explicitly - this store is for diagnostics only.
 */
const store = new AsyncLocalStorage<string>();

/** Runs `fn` with `correlationId` as the current correlation id of everything it awaits. */
export function runWithCorrelation<T>(correlationId: string, fn: () => T): T {
  return store.run(correlationId, fn);
}

/** The correlation id of the current async context, or undefined outside {@link runWithCorrelation}. */
export function currentCorrelationId(): string | undefined {
  return store.getStore();
}
