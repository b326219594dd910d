import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { Writable } from 'node:stream';
import { runWithCorrelation } from './correlation';
import { createLogger } from './logger';
import { initTelemetry, telemetryRunning } from './telemetry';

const memory = () => {
  const exporter = new InMemorySpanExporter();
  return { exporter, processor: new SimpleSpanProcessor({ exporter }) };
};

describe('initTelemetry', () => {
  afterEach(() => {
    expect(telemetryRunning()).toBe(false);
  });

  it('records spans to the injected processor and registers the W3C propagator', async () => {
    const { exporter, processor } = memory();
    const telemetry = initTelemetry({ serviceName: 'svc-a', spanProcessors: [processor], otlpEndpoint: '' });
    const carrier: Record<string, string> = {};
    trace.getTracer('test').startActiveSpan('work', (span) => {
      propagation.inject(context.active(), carrier);
      span.end();
    });
    await processor.forceFlush();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['work']);
    expect(carrier['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await telemetry.shutdown();
  });

  it('reuses the running SDK on a second call and keeps it until the last handle shuts down', async () => {
    const first = memory();
    const second = memory();
    const a = initTelemetry({ serviceName: 'svc-a', spanProcessors: [first.processor], otlpEndpoint: '' });
    const b = initTelemetry({ serviceName: 'svc-b', spanProcessors: [second.processor], otlpEndpoint: '' });
    expect(b.serviceName).toBe('svc-a');

    trace.getTracer('test').startSpan('both').end();
    await Promise.all([first.processor.forceFlush(), second.processor.forceFlush()]);
    expect(first.exporter.getFinishedSpans()).toHaveLength(1);
    expect(second.exporter.getFinishedSpans()).toHaveLength(1);

    await a.shutdown();
    expect(telemetryRunning()).toBe(true);
    trace.getTracer('test').startSpan('after-a').end();
    await second.processor.forceFlush();
    expect(second.exporter.getFinishedSpans().map((s) => s.name)).toEqual(['both', 'after-a']);

    await b.shutdown();
    await b.shutdown(); // idempotent
  });

  it('starts afresh after the last shutdown', async () => {
    const one = initTelemetry({ serviceName: 'first', otlpEndpoint: '' });
    await one.shutdown();
    const { exporter, processor } = memory();
    const two = initTelemetry({ serviceName: 'second', spanProcessors: [processor], otlpEndpoint: '' });
    expect(two.serviceName).toBe('second');
    trace.getTracer('test').startSpan('again').end();
    await processor.forceFlush();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    await two.shutdown();
  });

  it('gives spans real ids even with no exporter configured', async () => {
    const telemetry = initTelemetry({ serviceName: 'quiet', otlpEndpoint: '' });
    const span = trace.getTracer('test').startSpan('x');
    expect(trace.isSpanContextValid(span.spanContext())).toBe(true);
    span.end();
    await telemetry.shutdown();
  });
});

describe('createLogger', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    return { lines, destination };
  };

  it('puts service, correlation id and the active span ids on every line', async () => {
    const telemetry = initTelemetry({ serviceName: 'logs', otlpEndpoint: '' });
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'gateway', level: 'info', destination });
    let ids: { traceId: string; spanId: string } | undefined;
    await runWithCorrelation('corr-1', async () => {
      await trace.getTracer('test').startActiveSpan('req', async (span) => {
        ids = { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
        await Promise.resolve();
        logger.info({ agentId: 'a1' }, 'registered');
        span.end();
      });
    });
    logger.info('outside');
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'gateway',
      correlationId: 'corr-1',
      traceId: ids?.traceId,
      spanId: ids?.spanId,
      agentId: 'a1',
      msg: 'registered',
    });
    expect(lines[1]).toMatchObject({ service: 'gateway', msg: 'outside' });
    expect(lines[1]).not.toHaveProperty('correlationId');
    expect(lines[1]).not.toHaveProperty('traceId');
    await telemetry.shutdown();
  });

  it('takes its level from LOG_LEVEL when none is given', () => {
    const previous = process.env['LOG_LEVEL'];
    process.env['LOG_LEVEL'] = 'warn';
    try {
      const { lines, destination } = capture();
      const logger = createLogger({ service: 's', destination });
      logger.info('dropped');
      logger.warn('kept');
      expect(lines.map((l) => l['msg'])).toEqual(['kept']);
    } finally {
      if (previous === undefined) delete process.env['LOG_LEVEL'];
      else process.env['LOG_LEVEL'] = previous;
    }
  });
});
