import { Writable } from 'node:stream';
import { HealthRegistry } from './health';
import { createLogger } from './logger';
import { createMetrics } from './metrics';
import { startOpsServer, type OpsServer } from './ops-server';

describe('startOpsServer over real HTTP', () => {
  let server: OpsServer;
  let natsUp = true;

  beforeAll(async () => {
    const health = new HealthRegistry({ cacheTtlMs: 0 })
      .register('postgres', () => undefined)
      .register('nats', () => {
        if (!natsUp) throw new Error('connection refused');
      });
    const metrics = createMetrics({ service: 'distribution' });
    metrics.eventsHandled.inc({ consumer: 'dispatcher', type: 'TaskReady', outcome: 'ok' });
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      health,
      registry: metrics.registry,
      logger: createLogger({ service: 'distribution', destination: quiet }),
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers liveness', async () => {
    const res = await fetch(`${server.url}/health/live`);
    expect(res.status).toBe(200);
    await expect(res.json()).resolves.toEqual({ status: 'ok' });
  });

  it('answers 200 when ready and 503 naming the missing dependency when not', async () => {
    natsUp = true;
    const ok = await fetch(`${server.url}/health/ready`);
    expect(ok.status).toBe(200);
    await expect(ok.json()).resolves.toEqual({
      status: 'ok',
      checks: { postgres: { status: 'up' }, nats: { status: 'up' } },
    });

    natsUp = false;
    const down = await fetch(`${server.url}/health/ready`);
    expect(down.status).toBe(503);
    await expect(down.json()).resolves.toEqual({
      status: 'unavailable',
      checks: { postgres: { status: 'up' }, nats: { status: 'down', error: 'connection refused' } },
    });
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    const line = body.split('\n').find((l) => l.startsWith('orch_events_handled_total{'));
    expect(line).toContain('service="distribution"');
    expect(line).toContain('type="TaskReady"');
    expect(line).toMatch(/ 1$/);
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('answers 404 for anything else', async () => {
    const res = await fetch(`${server.url}/admin`);
    expect(res.status).toBe(404);
  });
});
