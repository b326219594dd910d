import { DuplicateHealthCheckError, HealthRegistry } from './health';

describe('HealthRegistry', () => {
  it('is live whatever its checks say', () => {
    const health = new HealthRegistry().register('postgres', () => {
      throw new Error('down');
    });
    expect(health.live()).toEqual({ status: 'ok' });
  });

  it('is ready when every check passes', async () => {
    const health = new HealthRegistry()
      .register('postgres', async () => undefined)
      .register('nats', () => 'connected');
    await expect(health.ready()).resolves.toEqual({
      status: 'ok',
      checks: { postgres: { status: 'up' }, nats: { status: 'up' } },
    });
  });

  it('names the dependency that is missing and why', async () => {
    const health = new HealthRegistry()
      .register('postgres', async () => undefined)
      .register('nats', async () => {
        throw new Error('connection refused');
      });
    await expect(health.ready()).resolves.toEqual({
      status: 'unavailable',
      checks: { postgres: { status: 'up' }, nats: { status: 'down', error: 'connection refused' } },
    });
  });

  it('counts a synchronous throw and a non-Error rejection as down', async () => {
    const health = new HealthRegistry()
      .register('sync', () => {
        throw new Error('sync failure');
      })
      .register('odd', () => Promise.reject('plain string'));
    const report = await health.ready();
    expect(report.checks).toEqual({
      sync: { status: 'down', error: 'sync failure' },
      odd: { status: 'down', error: 'plain string' },
    });
  });

  it('counts a check that never settles as down after the check timeout', async () => {
    const health = new HealthRegistry({ checkTimeoutMs: 20 }).register(
      'stuck',
      () => new Promise(() => undefined),
    );
    const report = await health.ready();
    expect(report).toEqual({
      status: 'unavailable',
      checks: { stuck: { status: 'down', error: 'check timed out after 20 ms' } },
    });
  });

  it('reuses a report within the cache TTL and runs the checks again after it', async () => {
    let now = 1_000;
    let calls = 0;
    const health = new HealthRegistry({ cacheTtlMs: 1000, now: () => now }).register('db', () => {
      calls += 1;
    });
    await health.ready();
    now += 999;
    await health.ready();
    expect(calls).toBe(1);
    now += 1;
    await health.ready();
    expect(calls).toBe(2);
  });

  it('lets concurrent probes share one round of checks', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const health = new HealthRegistry().register('db', async () => {
      calls += 1;
      await gate;
    });
    const both = Promise.all([health.ready(), health.ready()]);
    release();
    const [a, b] = await both;
    expect(calls).toBe(1);
    expect(a).toBe(b);
  });

  it('refuses a second check with the same name', () => {
    const health = new HealthRegistry().register('db', () => undefined);
    expect(() => health.register('db', () => undefined)).toThrow(DuplicateHealthCheckError);
  });

  it('is ready with no checks and forgets an unregistered check', async () => {
    const health = new HealthRegistry().register('db', () => {
      throw new Error('down');
    });
    health.unregister('db');
    await expect(health.ready()).resolves.toEqual({ status: 'ok', checks: {} });
    expect(health.names()).toEqual([]);
  });
});
