/**
 * Tells a lost or unreachable database apart from an error in a statement. The first is
 * transient (the caller may retry, the store reports EventStoreUnavailableError); the second is
 * a bug or a data problem and must not be retried blindly.
 */

/** SQLSTATE classes meaning "the server or the connection is not usable right now". */
const TRANSIENT_CLASSES = new Set([
  '08', // connection exception
  '53', // insufficient resources (too many connections, out of memory, disk full)
  '57', // operator intervention (admin shutdown, crash shutdown, cannot connect now, query cancelled)
]);

/** SQLSTATEs outside those classes that are still about availability. */
const TRANSIENT_STATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Messages node-postgres and pg-pool use for a connection that broke or never opened. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error',
  'Client was closed',
  'Client has encountered a connection error',
  'timeout exceeded when trying to connect',
  'Cannot use a pool after calling end',
  'terminating connection',
];

/** Node's network error codes. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLSTATE.test(code) ? code : undefined;
}

/**
 * True when `error` says the database could not be reached or the connection was lost.
 * Duck-typed on purpose: errors raised by Node's socket layer can come from another realm (a test
 * runner's sandbox, a worker), where `instanceof Error` is false.
 */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof message !== 'string') return false;
  if (Array.isArray(errors) && errors.some(isConnectionError)) return true;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const state = sqlState(error);
  if (state !== undefined) return TRANSIENT_CLASSES.has(state.slice(0, 2)) || TRANSIENT_STATES.has(state);
  return CONNECTION_MESSAGES.some((m) => message.includes(m));
}

/** A unique violation on the constraint that keeps event ids unique. */
export function isEventIdConflict(error: unknown): boolean {
  return sqlState(error) === '23505' && /event_id/.test((error as { constraint?: string }).constraint ?? '');
}
