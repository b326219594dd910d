import { createMetrics, metricsText, registerRelayMetrics, type RelayGaugeStatus } from './metrics';

describe('createMetrics', () => {
  it('exposes the request histogram with its labels and the service label', async () => {
    const m = createMetrics({ service: 'gateway', defaultMetrics: false });
    m.httpRequestDuration.observe({ method: 'GET', route: '/api/agents/:id', status: '200' }, 0.004);
    const { contentType, body } = await metricsText(m.registry);
    expect(contentType).toMatch(/^text\/plain/);
    expect(body).toContain(
      'http_request_duration_seconds_bucket{le="0.005",service="gateway",method="GET",route="/api/agents/:id",status="200"} 1',
    );
  });

  it('counts commands and handled events', async () => {
    const m = createMetrics({ service: 'coordination', defaultMetrics: false });
    m.commandDuration.observe({ command: 'coordination.RegisterAgent', outcome: 'ok' }, 0.01);
    m.eventsHandled.inc({ consumer: 'projector', type: 'AgentRegistered', outcome: 'ok' });
    const { body } = await metricsText(m.registry);
    expect(body).toContain(
      'orch_command_duration_seconds_count{service="coordination",command="coordination.RegisterAgent",outcome="ok"} 1',
    );
    // prom-client orders labels differently for counters and histograms: match the set.
    const line = body.split('\n').find((l) => l.startsWith('orch_events_handled_total{'));
    expect(line).toMatch(/ 1$/);
    for (const label of [
      'service="coordination"',
      'consumer="projector"',
      'type="AgentRegistered"',
      'outcome="ok"',
    ]) {
      expect(line).toContain(label);
    }
  });

  it('gives each service its own registry, so two in one process do not collide', async () => {
    const a = createMetrics({ service: 'a' });
    const b = createMetrics({ service: 'b' });
    a.eventsHandled.inc({ consumer: 'c', type: 't', outcome: 'ok' });
    expect((await metricsText(b.registry)).body).not.toContain('orch_events_handled_total{');
    expect((await metricsText(a.registry)).body).toContain('process_cpu_user_seconds_total{service="a"}');
  });
});

describe('registerRelayMetrics', () => {
  it('reads the relay status at every scrape', async () => {
    const m = createMetrics({ service: 'distribution', defaultMetrics: false });
    let status: RelayGaugeStatus = {
      relay: 'outbox-distribution',
      leader: false,
      lag: 0n,
      position: 0n,
      published: 0,
    };
    registerRelayMetrics(m, { status: () => status });
    const labels = '{relay="outbox-distribution",service="distribution"}';
    expect((await metricsText(m.registry)).body).toContain(`orch_relay_leader${labels} 0`);

    status = { ...status, leader: true, lag: 3n, position: 42n, published: 7 };
    const { body } = await metricsText(m.registry);
    expect(body).toContain(`orch_relay_leader${labels} 1`);
    expect(body).toContain(`orch_relay_lag_events${labels} 3`);
    expect(body).toContain(`orch_relay_position${labels} 42`);
    expect(body).toContain(`orch_relay_published_events${labels} 7`);
  });
});
