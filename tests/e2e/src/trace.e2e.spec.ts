import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { EventConsumer, naming, type DecodedEvent } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';
import { eventually } from '@orch/testing';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { testNatsUrl } from '@orch/testing';
import { startStack, type TestStack } from './stack';

describe('one OpenTelemetry trace across every hop', () => {
  const exporter = new InMemorySpanExporter();
  let stack: TestStack;
  let nc: NatsConnection;
  let subscriber: EventConsumer;
  const received: DecodedEvent[] = [];

  beforeAll(async () => {
    stack = await startStack({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    nc = await connect({ servers: testNatsUrl() });
    subscriber = new EventConsumer(
      nc,
      naming(stack.namespace),
      { service: 'trace-probe', consumer: 'agents', types: ['AgentRegistered'], startPosition: 'new' },
      async (event) => {
        received.push(event);
      },
      testLogger(),
    );
    await subscriber.start();
  });

  afterAll(async () => {
    await subscriber?.stop();
    await nc?.close();
    await stack?.close();
  });

  it('links the HTTP request, command send and handling, the append, relay publish and both subscribers in one trace', async () => {
    const res = await stack.call(stack.adminKey, 'POST', '/api/agents', {
      name: 'traced',
      provider: 'openai',
      model: 'gpt-large',
      capabilities: ['code'],
      maxConcurrency: 1,
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const event = await eventually(
      () => received.find((e) => (e.data as { agentId?: string }).agentId === id),
      {
        what: 'the AgentRegistered event at the subscriber',
      },
    );
    // The read model applied it too (its consumer span is part of the trace).
    await eventually(async () =>
      (await stack.call(stack.adminKey, 'GET', `/api/agents/${id}`)).status === 200 ? true : undefined,
    );

    const traceId = event.traceparent.split('-')[1];
    const spans = await eventually(
      () => {
        const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
        const consumers = inTrace.filter((s) => s.kind === 4 /* CONSUMER */);
        return consumers.length >= 2 ? inTrace : undefined;
      },
      { what: 'the consumer spans of the trace' },
    );

    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan): ReadableSpan | undefined =>
      byId.get(s.parentSpanContext?.spanId ?? '');
    const chain = (s: ReadableSpan): string[] => {
      const names: string[] = [];
      for (let cur: ReadableSpan | undefined = s; cur; cur = parentOf(cur)) names.unshift(cur.name);
      return names;
    };

    // Every consumer's ancestry reaches the HTTP request through command and relay spans.
    const consumers = spans.filter((s) => s.kind === 4);
    for (const consumer of consumers) {
      const names = chain(consumer).join(' > ');
      expect(names).toMatch(/POST \/api\/agents/);
      expect(names).toMatch(/RegisterAgent/);
      expect(names).toMatch(/publish AgentRegistered/);
      if (process.env['ORCH_TEST_PRINT_TRACE']) console.warn(names);
    }
    // The append happened inside the command handler, under the same trace.
    const append = spans.find((s) => s.name === 'eventstore append');
    expect(append && chain(append).join(' > ')).toMatch(
      /POST \/api\/agents > .*handle coordination.RegisterAgent > eventstore append$/,
    );
    const root = spans.find((s) => !s.parentSpanContext || !byId.has(s.parentSpanContext.spanId));
    expect(root?.name).toMatch(/POST \/api\/agents/);
    expect(spans.length).toBeGreaterThanOrEqual(5);
  });
});
