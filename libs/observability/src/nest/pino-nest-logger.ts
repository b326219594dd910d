import type { LoggerService, LogLevel } from '@nestjs/common';
import type { Logger } from 'pino';

/**
 * NestJS's LoggerService over pino, so the framework's own lines (module init, route mapping,
 * exceptions it logs) come out as the same JSON as the service's. Pass it to
 * `NestFactory.create(Module, adapter, { logger: new PinoNestLogger(logger) })`.
 *
 * Nest calls `log(message, ...optionalParams)` where the last string param is the context
 * (the class name) and, for `error`, the one before it may be a stack trace.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }
  setLogLevels(levels: LogLevel[]): void {
    // Nest lists the levels to keep; pino wants the lowest one.
    const order: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];
    const lowest = order.find((l) => levels.includes(l));
    const map: Record<LogLevel, string> = {
      verbose: 'trace',
      debug: 'debug',
      log: 'info',
      warn: 'warn',
      error: 'error',
      fatal: 'fatal',
    };
    this.logger.level = lowest ? map[lowest] : 'silent';
  }

  private write(
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal',
    message: unknown,
    params: unknown[],
  ): void {
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields['context'] = rest.pop();
    if (level === 'error' && typeof rest[0] === 'string' && rest[0].includes('\n    at '))
      fields['stack'] = rest.shift();
    if (rest.length > 0) fields['params'] = rest;
    if (message instanceof Error) {
      this.logger[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
