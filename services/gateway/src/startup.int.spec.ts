import { Writable } from 'node:stream';
import { createLogger } from '@orch/observability';
import {
  eventually,
  freePort,
  testDatabaseUrl,
  testNatsUrl,
  startTcpProxy,
  type TcpProxy,
} from '@orch/testing';
import { loadConfig } from './config';
import { waitForDependencies } from './startup';

describe('the gateway started before its dependencies', () => {
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  it.each([
    ['postgres', 'PostgreSQL not reachable'],
    ['nats', 'NATS not reachable'],
  ] as const)('holds its port, reports %s missing, and lets go once it answers', async (missing, logLine) => {
    const target = new URL(missing === 'postgres' ? testDatabaseUrl() : testNatsUrl());
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    proxies.push(proxy);
    proxy.setMode('refuse');
    const lines: string[] = [];
    const logger = createLogger({
      service: 'gateway',
      destination: new Writable({
        write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()),
      }),
    });
    const port = await freePort();
    const config = loadConfig({
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: '127.0.0.1',
      DATABASE_URL: missing === 'postgres' ? proxy.url(testDatabaseUrl()) : testDatabaseUrl(),
      NATS_URL: missing === 'nats' ? proxy.url(testNatsUrl()) : testNatsUrl(),
      ORCH_ADMIN_KEY: 'orch_test_admin_key_0123456789abcdef',
    });
    let done = false;
    const waiting = waitForDependencies(config, logger).then(() => {
      done = true;
    });

    const ready = await eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
        return res?.status === 503 && lines.some((l) => l.includes(logLine)) ? res : undefined;
      },
      { what: `503 from /health/ready and "${logLine}"` },
    );
    const body = (await ready.json()) as { checks: Record<string, { status: string }> };
    expect(body.checks[missing]?.status).toBe('down');
    const other = await fetch(`http://127.0.0.1:${port}/api/agents`);
    expect(other.status).toBe(503);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    expect(((await other.json()) as { detail: string }).detail).toContain(missing);
    expect(done).toBe(false);

    proxy.setMode('up');
    await waiting;
    // The port is free again for the application.
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
  });
});
