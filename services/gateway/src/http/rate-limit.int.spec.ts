import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';

describe('per-key rate limiting', () => {
  let gw: TestGateway;
  const viewerKeys: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      rateLimits: {
        windowMs: 60_000,
        perRole: { admin: 1000, operator: 1000, agent: 1000, viewer: 3 },
        anonymous: 2,
      },
    });
    for (const name of ['one', 'two']) {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/api/keys',
        headers: gw.auth(gw.adminKey),
        payload: { role: 'viewer', name },
      });
      viewerKeys.push(res.json<{ key: string }>().key);
    }
  });

  afterAll(async () => {
    await gw.close();
  });

  const get = (url: string, key?: string) =>
    gw.app.inject({ method: 'GET', url, headers: key ? gw.auth(key) : {}, remoteAddress: '10.0.0.7' });

  it('answers 429 problem+json with Retry-After once a key exceeds its role limit', async () => {
    const [one = ''] = viewerKeys;
    for (let i = 0; i < 3; i++) expect((await get('/api/agents/x', one)).statusCode).not.toBe(429);
    const limited = await get('/api/agents/x', one);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ type: 'urn:orch:problem:rate_limited', status: 429 });
  });

  it('counts per key, not per address: another key from the same address still passes', async () => {
    const res = await get('/api/agents/x', viewerKeys[1]);
    expect(res.statusCode).not.toBe(429);
  });

  it('limits unauthenticated requests per client address', async () => {
    for (let i = 0; i < 2; i++) expect((await get('/api/agents')).statusCode).toBe(401);
    expect((await get('/api/agents')).statusCode).toBe(429);
    const elsewhere = await gw.app.inject({ method: 'GET', url: '/api/agents', remoteAddress: '10.0.0.8' });
    expect(elsewhere.statusCode).toBe(401);
  });

  it('never limits health probes and metrics', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await get('/health/live')).statusCode).toBe(200);
      expect((await get('/metrics')).statusCode).toBe(200);
    }
  });
});
