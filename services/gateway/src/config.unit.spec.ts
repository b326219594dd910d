import { ConfigError, loadConfig } from './config';

const base = { DATABASE_URL: 'postgres://u@db:5432/orch', NATS_URL: 'nats://nats:4222' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dbSchema: 'gateway',
      namespace: '',
      bodyLimitBytes: 1024 * 1024,
      idempotencyTtlMs: 24 * 3_600_000,
      commandTimeoutMs: 5000,
      sseHeartbeatMs: 15_000,
      analyticsSseIntervalMs: 5_000,
      openApiUi: true,
    });
    expect(c.adminKey).toBeUndefined();
  });

  it('reads every variable', () => {
    const c = loadConfig({
      ...base,
      GATEWAY_PORT: '9090',
      ORCH_NAMESPACE: 'staging',
      ORCH_ADMIN_KEY: 'x'.repeat(40),
      GATEWAY_BODY_LIMIT_BYTES: '2048',
      GATEWAY_RATE_LIMIT_VIEWER: '5',
      GATEWAY_RATE_LIMIT_ANONYMOUS: '2',
      GATEWAY_OPENAPI_UI: 'false',
      ANALYTICS_SSE_INTERVAL_MS: '250',
    });
    expect(c).toMatchObject({
      port: 9090,
      namespace: 'staging',
      bodyLimitBytes: 2048,
      openApiUi: false,
      analyticsSseIntervalMs: 250,
    });
    expect(c.rateLimits.perRole.viewer).toBe(5);
    expect(c.rateLimits.anonymous).toBe(2);
    expect(c.adminKey).toHaveLength(40);
  });

  it('fails fast naming every missing or invalid variable', () => {
    let error: unknown;
    try {
      loadConfig({ GATEWAY_PORT: 'eighty', ORCH_ADMIN_KEY: 'short', ORCH_NAMESPACE: 'a.b' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('DATABASE_URL: is required');
    expect(message).toContain('NATS_URL: is required');
    expect(message).toContain('GATEWAY_PORT: must be an integer between 0 and 65535');
    expect(message).toContain('ORCH_ADMIN_KEY: must be at least 32 characters');
    expect(message).toContain('ORCH_NAMESPACE: must be a single NATS subject token');
  });

  it('rejects a URL of the wrong kind and a port out of range', () => {
    const run = () => loadConfig({ ...base, DATABASE_URL: 'mysql://x', GATEWAY_PORT: '70000' });
    expect(run).toThrow('DATABASE_URL: must be a postgres or postgresql URL');
    expect(run).toThrow('GATEWAY_PORT: must be an integer between 0 and 65535');
  });

  it('refuses a live-metrics interval below 100 ms', () => {
    expect(() => loadConfig({ ...base, ANALYTICS_SSE_INTERVAL_MS: '10' })).toThrow(
      'ANALYTICS_SSE_INTERVAL_MS: must be an integer between 100 and 3600000',
    );
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...base, GATEWAY_PORT: '', ORCH_ADMIN_KEY: '' }).port).toBe(8080);
  });
});
