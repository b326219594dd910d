import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { pino, type Logger } from 'pino';
import type { Naming } from '../naming';

/** A logger for tests: silent unless ORCH_TEST_LOG_LEVEL is set (e.g. `debug`). */
export const testLogger = (): Logger => pino({ level: process.env['ORCH_TEST_LOG_LEVEL'] ?? 'silent' });

/** Deletes the events and dead-letter streams of `naming` (missing ones are fine). */
export async function deleteStreams(nc: NatsConnection, naming: Naming): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const stream of [naming.eventsStream, naming.deadLetterStream]) {
    await jsm.streams.delete(stream).catch(() => undefined);
  }
}

/**
 * Registers a global tracer provider recording spans in memory, and an async-hooks context
 * manager so the active span follows awaits. `uninstall()` restores the no-op globals.
 */
export function installTestTracing(): { exporter: InMemorySpanExporter; uninstall(): Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    async uninstall() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
export * from './events';
