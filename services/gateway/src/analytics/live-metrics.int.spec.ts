import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { GetMetrics } from '@orch/contracts';
import { Headers } from '@orch/messaging';
import { publishRecordedEvent, recordedEvent } from '@orch/messaging/testing';
import { eventually, testNatsUrl } from '@orch/testing';
import { FakeAnalytics } from '../testing/fake-analytics';
import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';
import { closeSseStreams, openSseStream } from '../testing/sse-client';
import { LiveMetrics } from './live-metrics';

/** Live metrics on the SSE stream over real HTTP, polled from a fake analytics service on NATS. */
describe('live metrics on GET /api/events/stream', () => {
  let gw: TestGateway;
  let base: string;
  let nc: NatsConnection;
  let analytics: FakeAnalytics;
  let live: LiveMetrics;
  let viewerKey: string;

  beforeAll(async () => {
    gw = await startTestGateway({ analyticsSseIntervalMs: 150, sseHeartbeatMs: 100 });
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    base = (await gw.app.getUrl()).replace('[::1]', '127.0.0.1');
    nc = await connect({ servers: testNatsUrl() });
    analytics = new FakeAnalytics(nc, gw.naming);
    await nc.flush();
    live = gw.app.get(LiveMetrics);
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/keys',
      headers: gw.auth(gw.adminKey),
      payload: { role: 'viewer', name: 'dashboard' },
    });
    viewerKey = res.json<{ key: string }>().key;
  });

  afterEach(async () => {
    await closeSseStreams();
    await eventually(() => (live.activePolls === 0 ? true : undefined), { what: 'every poll stopped' });
  });

  afterAll(async () => {
    await analytics.close();
    await nc.close();
    await gw.close();
  });

  const open = (query: string) => openSseStream(`${base}/api/events/stream?${query}`, gw.auth(viewerKey));
  const polls = () => analytics.received<GetMetrics>('GetMetrics');
  const consumerCount = async () =>
    (await (await jetstreamManager(gw.nc)).streams.info(gw.naming.eventsStream)).state.consumer_count;

  it('asks nothing and sends no metrics to a stream that did not opt in', async () => {
    const before = polls().length;
    const plain = await open('sessionId=quiet');
    await plain.connected();
    // Several heartbeats: longer than the metrics interval.
    await eventually(
      () => (plain.frames.filter((f) => f.comment === 'heartbeat').length >= 3 ? true : undefined),
      {
        what: 'three heartbeats',
      },
    );
    expect(live.activePolls).toBe(0);
    expect(polls()).toHaveLength(before);
    expect(plain.events('metrics')).toEqual([]);
  });

  it('sends a metrics summary at every interval with metrics=1, and none to the stream beside it', async () => {
    const plain = await open('');
    const withMetrics = await open('metrics=1&metricsWindowMinutes=15');
    await plain.connected();
    const frames = await withMetrics.waitForEvents(3, 'metrics');
    expect(polls().at(-1)).toMatchObject({ windowMinutes: 15, sessionId: '' });
    for (const frame of frames) {
      // No id: a reconnecting client resumes after its last event, not after a summary.
      expect(frame.id).toBeUndefined();
      expect(frame.data).toEqual({
        position: '77',
        at: '2026-03-01T14:00:30Z',
        sessionId: null,
        windowMinutes: 15,
        // 14:00:00-14:00:30 (3 finished) and half of 13:59 (6 finished) in the last 60 s.
        tasksPerSecond: 0.1,
        successRate: 0.8,
        queueWaitMs: { p50: 12, p99: 95 },
        runTimeMs: { p50: 800, p99: 2400 },
        costUsd: 0.75,
      });
    }
    expect(plain.events('metrics')).toEqual([]);
  });

  it("carries metrics only for types=metrics: no events consumer, the session's figures", async () => {
    const sessionId = FakeAnalytics.SESSION;
    // Earlier streams' consumers are deleted in the background.
    await eventually(async () => ((await consumerCount()) === 0 ? true : undefined), {
      what: 'no consumers',
    });
    const stream = await open(`types=metrics&sessionId=${sessionId}`);
    const [frame] = await stream.waitForEvents(1, 'metrics');
    expect(frame?.data).toMatchObject({ sessionId, tasksPerSecond: null, windowMinutes: null, costUsd: 1.5 });
    expect(polls().at(-1)).toMatchObject({ sessionId, windowMinutes: 0 });
    expect(await consumerCount()).toBe(0);
  });

  it('carries the event types asked for beside the metrics', async () => {
    const stream = await open('types=TaskAssigned,metrics&sessionId=session-m');
    await stream.connected();
    await stream.waitForEvents(1, 'metrics');
    const event = recordedEvent({
      type: 'TaskAssigned',
      data: { taskId: 't1' },
      metadata: { correlationId: 'session-m' },
    });
    await publishRecordedEvent(jetstream(gw.nc), gw.naming, event, { [Headers.correlationId]: 'session-m' });
    const [assigned] = await stream.waitForEvents(1, 'TaskAssigned');
    expect(assigned?.id).toMatch(/^\d+$/);
  });

  it('polls once per selection however many streams follow it, and stops when they leave', async () => {
    const a = await open('metrics=1');
    const b = await open('types=metrics');
    const other = await open('metrics=1&metricsWindowMinutes=5');
    await Promise.all([
      a.waitForEvents(2, 'metrics'),
      b.waitForEvents(2, 'metrics'),
      other.waitForEvents(1, 'metrics'),
    ]);
    expect(live.activePolls).toBe(2);
    await a.close();
    await other.close();
    await eventually(() => (live.activePolls === 1 ? true : undefined), { what: 'one poll left' });
    const seen = b.events('metrics').length;
    await b.waitForEvents(seen + 1, 'metrics');
    await b.close();
    await eventually(() => (live.activePolls === 0 ? true : undefined), { what: 'no poll left' });
  });

  it('refuses an opt-in it cannot read, naming it', async () => {
    const res = await fetch(`${base}/api/events/stream?metrics=maybe&metricsWindowMinutes=0`, {
      headers: gw.auth(viewerKey),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['metrics', 'metricsWindowMinutes']);
  });

  it('says when the analytics service cannot answer, and keeps the stream open', async () => {
    await analytics.close();
    const stream = await open('metrics=1');
    const [first, second] = await stream.waitForEvents(2, 'metrics-error');
    expect(first?.data).toEqual({
      status: 503,
      type: 'urn:orch:problem:unavailable',
      detail: 'the analytics service is not running, so live metrics cannot be read; retry later',
    });
    expect(second?.data).toEqual(first?.data);
    expect(stream.events('metrics')).toEqual([]);
  });
});
