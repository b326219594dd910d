import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type { Registry } from 'prom-client';

/**
 * Buckets (seconds) for request and command latency: dense below 50 ms, where the targets
 * live (DESIGN.md: gateway reads p95 < 20 ms, ready->assigned p99 < 10 ms), sparse above.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The metrics every service exposes, on its own registry. */
export interface ServiceMetrics {
  readonly registry: Registry;
  /** HTTP requests served: method, route template (never the raw URL: ids would explode cardinality), status. */
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** Commands sent or handled: `<service>.<name>` and outcome (ok | a reply error code). */
  readonly commandDuration: Histogram<'command' | 'outcome'>;
  /** Events handled by a consumer, by type and outcome (ok | retry | dead_letter). */
  readonly eventsHandled: Counter<'consumer' | 'type' | 'outcome'>;
}

export interface MetricsConfig {
  /** Added as the `service` label of every series. */
  readonly service: string;
  /** Use this registry instead of a new one. */
  readonly registry?: Registry;
  /** Process metrics (CPU, memory, event loop lag, GC). Default true. */
  readonly defaultMetrics?: boolean;
}

/**
 * A registry per service instance (not prom-client's global one), so several services booted in
 * one process - tests, the stack runner - never collide on metric names.
 */
export function createMetrics(config: MetricsConfig): ServiceMetrics {
  const registry = config.registry ?? new Registry();
  registry.setDefaultLabels({ service: config.service });
  if (config.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const buckets = [...LATENCY_BUCKETS];
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status'] as const,
      buckets,
      registers: [registry],
    }),
    commandDuration: new Histogram({
      name: 'orch_command_duration_seconds',
      help: 'Command and query round trips by command and outcome',
      labelNames: ['command', 'outcome'] as const,
      buckets,
      registers: [registry],
    }),
    eventsHandled: new Counter({
      name: 'orch_events_handled_total',
      help: 'Events handled by consumer, type and outcome',
      labelNames: ['consumer', 'type', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

/** The registry in the Prometheus text exposition format, with its content type. */
export async function metricsText(registry: Registry): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * Hooks that feed what a service's messaging handled into its series; structurally the
 * `MessagingObserver` of @orch/messaging (commands answered, events acked/retried/dead-lettered).
 */
export const messagingObserver = (metrics: ServiceMetrics) => ({
  commandHandled: (command: string, outcome: string, seconds: number): void =>
    metrics.commandDuration.observe({ command, outcome }, seconds),
  eventHandled: (consumer: string, type: string, outcome: string): void => {
    metrics.eventsHandled.inc({ consumer, type, outcome });
  },
});

/**
 * What the relay gauges read: structurally the `RelayStatus` of @orch/messaging's OutboxRelay,
 * so this library does not depend on messaging.
 */
export interface RelayGaugeStatus {
  readonly relay: string;
  readonly leader: boolean;
  readonly lag: bigint;
  readonly position: bigint;
  readonly published: number;
}

/** Gauges of an outbox relay (leadership, lag, position, published), read from its status at scrape time. */
export function registerRelayMetrics(metrics: ServiceMetrics, relay: { status(): RelayGaugeStatus }): void {
  const gauge = (name: string, help: string, value: (s: RelayGaugeStatus) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['relay'],
      registers: [metrics.registry],
      collect() {
        const s = relay.status();
        this.set({ relay: s.relay }, value(s));
      },
    });
  };
  gauge('orch_relay_leader', '1 when this replica holds the relay leadership for its service', (s) =>
    s.leader ? 1 : 0,
  );
  gauge(
    'orch_relay_lag_events',
    'Events appended by this service and not yet published (sampled by the leader)',
    (s) => Number(s.lag),
  );
  gauge('orch_relay_position', 'Global position of the last event published', (s) => Number(s.position));
  gauge(
    'orch_relay_published_events',
    'Events published by this replica since it started (JetStream duplicates included)',
    (s) => s.published,
  );
}
