import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { GetMetrics, GetPredictions } from '@orch/contracts';
import { testNatsUrl } from '@orch/testing';
import { FakeAnalytics } from '../testing/fake-analytics';
import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';

const PROBLEM = /^application\/problem\+json/;
type Problem = { status: number; type: string; detail: string; errors?: { path: string; message: string }[] };

/**
 * The analytics routes against a fake analytics service (a real CommandServer on the real NATS):
 * what each route sends, what it answers, who may call it, and how bad input and an absent
 * service become problem+json.
 */
describe('analytics routes against a CommandServer on NATS', () => {
  let gw: TestGateway;
  let nc: NatsConnection;
  let analytics: FakeAnalytics;
  const keys: Record<'operator' | 'viewer' | 'agent', string> = { operator: '', viewer: '', agent: '' };

  beforeAll(async () => {
    gw = await startTestGateway({ commandTimeoutMs: 1_000 });
    nc = await connect({ servers: testNatsUrl() });
    analytics = new FakeAnalytics(nc, gw.naming);
    await nc.flush();
    const key = async (payload: Record<string, unknown>) =>
      (
        await gw.app.inject({ method: 'POST', url: '/api/keys', headers: gw.auth(gw.adminKey), payload })
      ).json<{ key: string }>().key;
    keys.operator = await key({ role: 'operator', name: 'op' });
    keys.viewer = await key({ role: 'viewer', name: 'viewer' });
    keys.agent = await key({ role: 'agent', name: 'agent', agentId: '3f0c2b8e-0d7a-4c39-9a51-6b2f1d0e4c77' });
  });

  afterAll(async () => {
    await analytics.close();
    await nc.close();
    await gw.close();
  });

  const call = (method: 'GET' | 'POST', url: string, key: string) =>
    gw.app.inject({ method, url, headers: gw.auth(key) });
  const problemOf = (res: Awaited<ReturnType<typeof call>>, status: number): Problem => {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    return res.json<Problem>();
  };

  describe('views', () => {
    it('answers the metrics as {position, at, data}, sending the window and session asked for', async () => {
      const sessionId = FakeAnalytics.SESSION;
      const res = await call(
        'GET',
        `/api/analytics/metrics?windowMinutes=15&sessionId=${sessionId}`,
        keys.viewer,
      );
      expect(res.statusCode).toBe(200);
      expect(analytics.received<GetMetrics>('GetMetrics').at(-1)).toMatchObject({
        windowMinutes: 15,
        sessionId,
      });
      expect(res.json()).toEqual({
        position: '77',
        at: '2026-03-01T14:00:30Z',
        data: FakeAnalytics.metricsBody(analytics.received<GetMetrics>('GetMetrics').at(-1)!),
      });
    });

    it('leaves the window and session to the service when absent', async () => {
      const res = await call('GET', '/api/analytics/metrics', keys.operator);
      expect(res.statusCode).toBe(200);
      expect(analytics.received<GetMetrics>('GetMetrics').at(-1)).toMatchObject({
        windowMinutes: 0,
        sessionId: '',
      });
      expect(res.json<{ data: { series: { windowMinutes: number } } }>().data.series.windowMinutes).toBe(60);
    });

    it('sends the horizon asked for, and 0 (every horizon) without one', async () => {
      const one = await call('GET', '/api/analytics/predictions?horizonHours=48', keys.viewer);
      expect(one.statusCode).toBe(200);
      expect(analytics.received<GetPredictions>('GetPredictions').at(-1)?.horizonHours).toBe(48);
      expect(one.json<{ data: { horizons: { horizonHours: number }[] } }>().data.horizons).toEqual([
        expect.objectContaining({ horizonHours: 48 }),
      ]);

      const all = await call('GET', '/api/analytics/predictions', keys.viewer);
      expect(analytics.received<GetPredictions>('GetPredictions').at(-1)?.horizonHours).toBe(0);
      expect(all.json<{ data: { horizons: unknown[] } }>().data.horizons).toHaveLength(5);
    });

    it('answers insights and recommendations', async () => {
      const insights = await call('GET', '/api/analytics/insights', keys.viewer);
      expect(insights.statusCode).toBe(200);
      expect(insights.json()).toMatchObject({
        position: '77',
        data: { insights: [expect.objectContaining({ severity: 'warning', kind: 'bottleneck' })] },
      });
      const recommendations = await call('GET', '/api/analytics/recommendations', keys.viewer);
      expect(recommendations.json()).toMatchObject({
        data: { recommendations: [expect.objectContaining({ kind: 'raise_pool', pool: 'gpu' })] },
      });
    });
  });

  describe('bad input', () => {
    it('refuses a horizon other than 6, 12, 24, 48 or 168 naming horizonHours, without asking', async () => {
      const before = analytics.received('GetPredictions').length;
      for (const h of ['7', 'week', '-6']) {
        const problem = problemOf(
          await call('GET', `/api/analytics/predictions?horizonHours=${h}`, keys.viewer),
          400,
        );
        expect(problem.errors).toEqual([
          { path: 'horizonHours', message: expect.stringContaining('6, 12, 24, 48') },
        ]);
      }
      expect(analytics.received('GetPredictions')).toHaveLength(before);
    });

    it('names an invalid window, a session id that is not one, and unknown parameters', async () => {
      const problem = problemOf(
        await call('GET', '/api/analytics/metrics?windowMinutes=0&sessionId=nope&extra=1', keys.viewer),
        400,
      );
      expect(problem.errors?.map((e) => e.path).sort()).toEqual(['extra', 'sessionId', 'windowMinutes']);
    });
  });

  describe('rebuild', () => {
    it('lets an admin rebuild and answers the RebuildResult', async () => {
      const res = await gw.app.inject({
        method: 'POST',
        url: '/api/analytics/rebuild',
        headers: gw.auth(gw.adminKey),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ events: 42, position: '9007199254740999', durationMs: 1_234 });
      expect(analytics.received('RebuildProjections')).toHaveLength(1);
    });

    it('refuses every other role, without asking the service', async () => {
      for (const key of [keys.operator, keys.viewer, keys.agent]) {
        expect(problemOf(await call('POST', '/api/analytics/rebuild', key), 403).type).toBe(
          'urn:orch:problem:forbidden',
        );
      }
      expect(analytics.received('RebuildProjections')).toHaveLength(1);
    });
  });

  it('lets readers look but not agents or anonymous callers', async () => {
    for (const path of ['metrics', 'predictions', 'insights', 'recommendations']) {
      expect((await call('GET', `/api/analytics/${path}`, keys.agent)).statusCode).toBe(403);
      expect((await gw.app.inject({ method: 'GET', url: `/api/analytics/${path}` })).statusCode).toBe(401);
    }
  });

  it('documents every route in OpenAPI', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/docs-json' })).json<{
      paths: Record<
        string,
        Record<string, { parameters?: { name: string }[]; responses: Record<string, unknown> }>
      >;
    }>();
    for (const path of ['metrics', 'predictions', 'insights', 'recommendations']) {
      expect(doc.paths[`/api/analytics/${path}`]?.['get']?.responses['200']).toBeDefined();
    }
    expect(doc.paths['/api/analytics/predictions']?.['get']?.parameters?.map((p) => p.name)).toContain(
      'horizonHours',
    );
    expect(doc.paths['/api/analytics/rebuild']?.['post']?.responses['403']).toBeDefined();
    const stream = doc.paths['/api/events/stream']?.['get'];
    expect(stream?.parameters?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['metrics', 'metricsWindowMinutes']),
    );
  });

  describe('without the analytics service', () => {
    beforeAll(async () => {
      await analytics.close();
    });

    it('answers 503 saying the analytics service is not running', async () => {
      const problem = problemOf(await call('GET', '/api/analytics/insights', keys.viewer), 503);
      expect(problem.type).toBe('urn:orch:problem:unavailable');
      expect(problem.detail).toBe(
        'the analytics service is not running, so the insights cannot be read; retry later',
      );
      const rebuild = problemOf(
        await gw.app.inject({ method: 'POST', url: '/api/analytics/rebuild', headers: gw.auth(gw.adminKey) }),
        503,
      );
      expect(rebuild.detail).toContain('the projections cannot be rebuilt');
    });
  });
});
