/**
 * The logging the SDK needs: a pino `Logger` fits as it is, so does anything with these four
 * methods. `child` (optional) adds fields such as the task id to every line of a task.
 */
export interface AgentLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child?(bindings: Record<string, unknown>): AgentLogger;
}

/** Discards everything: the default, so a library never writes to stdout uninvited. */
export const silentLogger: AgentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A logger whose lines all carry `bindings` (through `child` when the logger has one). */
export function withFields(logger: AgentLogger, bindings: Record<string, unknown>): AgentLogger {
  if (logger.child) return logger.child(bindings);
  const merge = (obj: object): object => ({ ...bindings, ...obj });
  return {
    debug: (obj, msg) => logger.debug(merge(obj), msg),
    info: (obj, msg) => logger.info(merge(obj), msg),
    warn: (obj, msg) => logger.warn(merge(obj), msg),
    error: (obj, msg) => logger.error(merge(obj), msg),
  };
}
