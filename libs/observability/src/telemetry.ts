import { context, metrics, propagation, trace, type Context } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  envDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import { PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryConfig {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /**
   * OTLP/HTTP collector base URL (e.g. http://otel-collector:4318); traces go to `/v1/traces`,
   * metrics to `/v1/metrics`. Defaults to env OTEL_EXPORTER_OTLP_ENDPOINT; when neither is set
   * nothing is exported (spans are still created, so logs carry trace ids).
   */
  readonly otlpEndpoint?: string;
  /** Extra span processors, e.g. `new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })` in tests. */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly metrics?: {
    /** Extra OpenTelemetry metric readers (Prometheus scraping goes through prom-client instead). */
    readonly readers?: readonly IMetricReader[];
    /** OTLP metric export interval; default 60 s. */
    readonly exportIntervalMs?: number;
  };
}

/** Handle returned by {@link initTelemetry}. */
export interface Telemetry {
  /** The service name the process-wide resource was created with (the first caller's). */
  readonly serviceName: string;
  /** Flushes and detaches this caller's span processors; the SDK stops with the last handle. */
  shutdown(): Promise<void>;
}

/**
 * Lets later callers attach their processors to the SDK the first caller started: the SDK's own
 * processor list is fixed at start, and a TracerProvider can be registered globally only once.
 */
class FanOutSpanProcessor implements SpanProcessor {
  readonly processors = new Set<SpanProcessor>();
  onStart(span: Span, parentContext: Context): void {
    for (const p of this.processors) p.onStart(span, parentContext);
  }
  onEnding(span: Span): void {
    for (const p of this.processors) p.onEnding?.(span);
  }
  onEnd(span: ReadableSpan): void {
    for (const p of this.processors) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all([...this.processors].map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    const all = [...this.processors];
    this.processors.clear();
    await Promise.all(all.map((p) => p.shutdown()));
  }
}

interface Running {
  readonly sdk: NodeSDK;
  readonly fanOut: FanOutSpanProcessor;
  readonly serviceName: string;
  handles: number;
}

let running: Running | undefined;

/**
 * Starts the OpenTelemetry NodeSDK (traces, and metrics when a reader or an OTLP endpoint is
 * configured) and registers the W3C trace-context + baggage propagator globally.
 *
 * Call it before NestJS boots so every span created during start-up has a provider. Safe to
 * call more than once per process (tests and the stack runner boot several services in one
 * process): later calls reuse the running SDK and only add their span processors; the SDK shuts
 * down when the last handle does.
 */
export function initTelemetry(config: TelemetryConfig): Telemetry {
  const own = [...(config.spanProcessors ?? [])];
  if (running) {
    const r = running;
    r.handles += 1;
    for (const p of own) r.fanOut.processors.add(p);
    return handle(r, own);
  }

  const endpoint = (config.otlpEndpoint ?? process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '').replace(
    /\/+$/,
    '',
  );
  const fanOut = new FanOutSpanProcessor();
  for (const p of own) fanOut.processors.add(p);
  const spanProcessors: SpanProcessor[] = [fanOut];
  const readers: IMetricReader[] = [...(config.metrics?.readers ?? [])];
  if (endpoint) {
    spanProcessors.push(
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }) }),
    );
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }),
        exportIntervalMillis: config.metrics?.exportIntervalMs ?? 60_000,
      }),
    );
  }

  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    resource: defaultResource().merge(
      resourceFromAttributes(config.serviceVersion ? { [ATTR_SERVICE_VERSION]: config.serviceVersion } : {}),
    ),
    // Host/OS detectors shell out and read files at start-up; the service identity is enough.
    resourceDetectors: [envDetector, processDetector, serviceInstanceIdDetector],
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    // Always at least the fan-out, so a TracerProvider exists and spans get real ids even
    // when nothing is exported.
    spanProcessors,
    metricReaders: readers,
    // No OTel log pipeline: logs go to stdout as JSON through pino.
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  running = { sdk, fanOut, serviceName: config.serviceName, handles: 1 };
  return handle(running, own);
}

function handle(r: Running, own: readonly SpanProcessor[]): Telemetry {
  let done = false;
  return {
    serviceName: r.serviceName,
    async shutdown() {
      if (done) return;
      done = true;
      for (const p of own) r.fanOut.processors.delete(p);
      await Promise.all(own.map((p) => p.forceFlush().then(() => p.shutdown())));
      r.handles -= 1;
      if (r.handles > 0) return;
      if (running === r) running = undefined;
      await r.sdk.shutdown();
      // Let a later initTelemetry register fresh globals (they can be set only once otherwise).
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** True while an SDK started by {@link initTelemetry} is running in this process. */
export const telemetryRunning = (): boolean => running !== undefined;
