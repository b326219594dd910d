import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';

describe('GET /health/ready when a dependency goes away', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });

  afterAll(async () => {
    await gw.close();
  });

  it('answers 503 naming NATS as down while PostgreSQL stays up; liveness is unaffected', async () => {
    await gw.nc.close();
    const ready = await gw.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      status: 'unavailable',
      checks: { postgres: { status: 'up' }, nats: { status: 'down', error: 'not connected to NATS' } },
    });
    const live = await gw.app.inject({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);
  });

  it('answers 503 problem+json for a command that cannot be sent, not a 500', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/agents', headers: gw.auth(gw.adminKey) });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      type: 'urn:orch:problem:unavailable',
      detail: 'the message broker is unavailable; retry later',
    });
  });
});
