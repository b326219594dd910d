import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentCorrelationId } from './correlation';

export type { Logger } from 'pino';

export interface LoggerConfig {
  /** Service name carried by every line (`service`). */
  readonly service: string;
  /** Minimum level; defaults to env LOG_LEVEL, else `info`. */
  readonly level?: string;
  /** Human-readable output through pino-pretty (development only: it runs a worker thread). */
  readonly pretty?: boolean;
  /** Where lines go; defaults to stdout. Tests pass a stream to read lines back. */
  readonly destination?: DestinationStream;
}

/**
 * Fields added to every log line: the active span's trace and span ids (so a line links to its
 * trace) and the correlation id of the current async context.
 */
export function logContext(): { correlationId?: string; traceId?: string; spanId?: string } {
  const out: { correlationId?: string; traceId?: string; spanId?: string } = {};
  const correlationId = currentCorrelationId();
  if (correlationId !== undefined) out.correlationId = correlationId;
  const span = trace.getActiveSpan();
  if (span) {
    const ctx = span.spanContext();
    // An invalid context (all zeros) is what a no-op tracer hands out: not worth a field.
    if (trace.isSpanContextValid(ctx)) {
      out.traceId = ctx.traceId;
      out.spanId = ctx.spanId;
    }
  }
  return out;
}

/** A JSON logger whose every line carries service, traceId/spanId and correlationId. */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: { service: config.service },
    mixin: logContext,
    // Standard field names, so log shippers need no per-service mapping.
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (config.destination) return pino(options, config.destination);
  if (config.pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: true } } });
  }
  return pino(options);
}
