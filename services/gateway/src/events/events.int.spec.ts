import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Headers } from '@orch/messaging';
import { publishRecordedEvent, recordedEvent } from '@orch/messaging/testing';
import { eventually } from '@orch/testing';
import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';
import { closeSseStreams, openSseStream as openStream } from '../testing/sse-client';

describe('GET /api/events/stream (SSE over real HTTP)', () => {
  let gw: TestGateway;
  let base: string;
  let viewerKey: string;

  beforeAll(async () => {
    gw = await startTestGateway({ sseHeartbeatMs: 200 });
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    base = await gw.app.getUrl();
    base = base.replace('[::1]', '127.0.0.1');
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: gw.auth(gw.adminKey),
      payload: { role: 'viewer', name: 'dashboard' },
    });
    viewerKey = res.json<{ key: string }>().key;
  });

  afterEach(async () => {
    // Also when an assertion failed mid-test: an open stream would keep its consumer alive.
    await closeSseStreams();
  });

  afterAll(async () => {
    await gw.close();
  });

  /** Publishes like the outbox relay, with the Orch-Correlation-Id header (`bare`: without it). */
  const publish = async (overrides: Parameters<typeof recordedEvent>[0], bare = false) => {
    const event = recordedEvent(overrides);
    const correlation = event.metadata.correlationId;
    const headers: Record<string, string> =
      !bare && correlation ? { [Headers.correlationId]: correlation } : {};
    const ack = await publishRecordedEvent(jetstream(gw.nc), gw.naming, event, headers);
    return ack.seq;
  };
  const consumerCount = async () =>
    (await (await jetstreamManager(gw.nc)).streams.info(gw.naming.eventsStream)).state.consumer_count;

  it('delivers new events of the session only, with sequence ids and the event JSON', async () => {
    await publish({ metadata: { correlationId: 'session-a' } }); // before connecting: not delivered
    const stream = await openStream(`${base}/api/events/stream?sessionId=session-a`, gw.auth(viewerKey));
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await stream.connected();

    await publish({ metadata: { correlationId: 'session-b' } });
    await publish({ metadata: { correlationId: 'session-c' } }, true);
    const seq = await publish(
      {
        type: 'AgentRegistered',
        streamId: 'agent-7',
        streamVersion: 3n,
        globalPosition: 90071992547409931n,
        metadata: { correlationId: 'session-a', causationId: 'cmd-7' },
        data: { agentId: 'agent-7', name: 'coder', maxConcurrency: 2 },
      },
      true,
    );
    const [event] = await stream.waitForEvents(1);
    expect(stream.events()).toHaveLength(1);
    expect(event).toEqual({
      id: String(seq),
      event: 'AgentRegistered',
      data: {
        eventId: expect.any(String),
        type: 'AgentRegistered',
        streamId: 'agent-7',
        streamVersion: '3',
        globalPosition: '90071992547409931',
        occurredAt: '2026-01-01T00:00:00.000Z',
        correlationId: 'session-a',
        causationId: 'cmd-7',
        source: 'coordination',
        // The payload in the protobuf JSON mapping, as the store keeps it.
        data: expect.objectContaining({ agentId: 'agent-7', name: 'coder', maxConcurrency: 2 }),
      },
    });
    await stream.close();
  });

  it('resumes after Last-Event-ID (header or query), from the next sequence', async () => {
    const first = await publish({ metadata: { correlationId: 'session-r' } });
    const second = await publish({ metadata: { correlationId: 'session-r' } });
    const third = await publish({ metadata: { correlationId: 'session-r' } });

    const byHeader = await openStream(`${base}/api/events/stream?sessionId=session-r`, {
      ...gw.auth(viewerKey),
      'last-event-id': String(first),
    });
    expect((await byHeader.waitForEvents(2)).map((e) => e.id)).toEqual([String(second), String(third)]);
    await byHeader.close();

    const byQuery = await openStream(
      `${base}/api/events/stream?sessionId=session-r&lastEventId=${second}`,
      gw.auth(viewerKey),
    );
    expect((await byQuery.waitForEvents(1)).map((e) => e.id)).toEqual([String(third)]);
    await byQuery.close();
  });

  it('filters by event type, one type or several', async () => {
    const one = await openStream(
      `${base}/api/events/stream?sessionId=session-t&types=AgentDeregistered`,
      gw.auth(viewerKey),
    );
    const two = await openStream(
      `${base}/api/events/stream?sessionId=session-t&types=AgentDeregistered,TaskAssigned`,
      gw.auth(viewerKey),
    );
    await Promise.all([one.connected(), two.connected()]);
    await publish({ type: 'AgentRegistered', metadata: { correlationId: 'session-t' } });
    await publish({ type: 'TaskAssigned', data: { taskId: 't1' }, metadata: { correlationId: 'session-t' } });
    await publish({
      type: 'AgentDeregistered',
      data: { agentId: 'agent-1', reason: 'retired' },
      metadata: { correlationId: 'session-t' },
    });
    expect((await two.waitForEvents(2)).map((e) => e.event)).toEqual(['TaskAssigned', 'AgentDeregistered']);
    expect((await one.waitForEvents(1)).map((e) => e.event)).toEqual(['AgentDeregistered']);
    expect(one.events()).toHaveLength(1);
    await Promise.all([one.close(), two.close()]);
  });

  it('sends heartbeat comments while idle', async () => {
    const stream = await openStream(`${base}/api/events/stream?sessionId=quiet`, gw.auth(viewerKey));
    await eventually(() => (stream.frames.some((f) => f.comment === 'heartbeat') ? true : undefined), {
      what: 'a heartbeat',
    });
    await stream.close();
  });

  it('deletes its consumer when the client goes away', async () => {
    await eventually(async () => ((await consumerCount()) === 0 ? true : undefined), {
      what: 'no consumers left',
    });
    const stream = await openStream(`${base}/api/events/stream`, gw.auth(viewerKey));
    await stream.connected();
    await publish({ metadata: { correlationId: 'any' } });
    await stream.waitForEvents(1);
    expect(await consumerCount()).toBe(1);
    await stream.close();
    await eventually(async () => ((await consumerCount()) === 0 ? true : undefined), {
      what: 'the consumer to be deleted',
    });
  });

  it('answers 400 problem+json for an invalid Last-Event-ID, 401 without a key', async () => {
    const bad = await fetch(`${base}/api/events/stream`, {
      headers: { ...gw.auth(viewerKey), 'last-event-id': 'abc' },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await bad.json()) as { errors: unknown[] }).errors).toEqual([
      { path: 'Last-Event-ID', message: expect.any(String) },
    ]);
    const anonymous = await fetch(`${base}/api/events/stream`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
  });
});
