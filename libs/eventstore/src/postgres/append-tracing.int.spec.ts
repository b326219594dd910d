import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { testDatabaseUrl, uniqueName } from '@orch/testing';
import { Client } from 'pg';
import { PostgresEventStore, WrongExpectedVersionError } from '..';

describe('append spans', () => {
  const schema = uniqueName('es_tracing');
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let store: PostgresEventStore;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    store = await PostgresEventStore.create({ connectionString: testDatabaseUrl(), schema, source: 'test' });
  });
  afterAll(async () => {
    await store.close();
    await provider.shutdown();
    trace.disable();
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
  });

  const spansFor = (streamId: string) =>
    exporter
      .getFinishedSpans()
      .filter((s) => s.name === 'eventstore append' && s.attributes['orch.stream_id'] === streamId);

  it('records one span per append with the stream, the event count and the last position', async () => {
    const streamId = `s-${randomUUID()}`;
    const result = await store.append(streamId, 'no_stream', [
      { eventId: randomUUID(), type: 'A', data: {} },
      { eventId: randomUUID(), type: 'B', data: {} },
    ]);
    const [span] = spansFor(streamId);
    expect(span?.attributes).toMatchObject({
      'orch.events': 2,
      'orch.last_global_position': result.lastGlobalPosition.toString(),
    });
    expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('marks a version conflict as an outcome, not as a span error', async () => {
    const streamId = `s-${randomUUID()}`;
    await store.append(streamId, 'no_stream', [{ eventId: randomUUID(), type: 'A', data: {} }]);
    await expect(
      store.append(streamId, 'no_stream', [{ eventId: randomUUID(), type: 'A', data: {} }]),
    ).rejects.toBeInstanceOf(WrongExpectedVersionError);
    const conflict = spansFor(streamId)[1];
    expect(conflict?.attributes['orch.outcome']).toBe('wrong_expected_version');
    expect(conflict?.status.code).not.toBe(SpanStatusCode.ERROR);
  });
});
