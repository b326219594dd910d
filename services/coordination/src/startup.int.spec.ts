import { Writable } from 'node:stream';
import { connect } from '@nats-io/transport-node';
import { naming } from '@orch/messaging';
import { deleteStreams } from '@orch/messaging/testing';
import { createLogger } from '@orch/observability';
import {
  eventually,
  freePort,
  testDatabaseUrl,
  testNatsUrl,
  uniqueName,
  startTcpProxy,
  type TcpProxy,
} from '@orch/testing';
import { Client } from 'pg';
import { startCoordination, type CoordinationService } from './app';
import { loadConfig } from './config';

/** A logger whose lines the test can read. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ service: 'coordination', level: 'info', destination }), lines };
}

async function readiness(
  port: number,
): Promise<{ status: number; body: { checks?: Record<string, { status: string }> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('coordination started before its dependencies', () => {
  const namespace = uniqueName('startup');
  const eventStoreSchema = uniqueName('es');
  const schema = uniqueName('coord');
  const proxies: TcpProxy[] = [];
  let service: CoordinationService | undefined;

  afterEach(async () => {
    await service?.close();
    service = undefined;
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    const nc = await connect({ servers: testNatsUrl() });
    await deleteStreams(nc, naming(namespace));
    await nc.close();
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${eventStoreSchema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
  });

  const config = (overrides: Record<string, string>, port: number) =>
    loadConfig({
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      ORCH_NAMESPACE: namespace,
      EVENTSTORE_SCHEMA: eventStoreSchema,
      COORDINATION_SCHEMA: schema,
      COORDINATION_OPS_PORT: String(port),
      COORDINATION_OPS_HOST: '127.0.0.1',
      ...overrides,
    });

  it('waits for PostgreSQL with a log line per attempt, reports it missing, and starts once it answers', async () => {
    const { hostname, port } = new URL(testDatabaseUrl());
    const proxy = await startTcpProxy(hostname, Number(port || 5432));
    proxies.push(proxy);
    proxy.setMode('refuse');
    const opsPort = await freePort();
    const { logger, lines } = capturedLogger();
    const starting = startCoordination(config({ DATABASE_URL: proxy.url(testDatabaseUrl()) }, opsPort), {
      logger,
    });

    const report = await eventually(
      async () => {
        const r = await readiness(opsPort).catch(() => undefined);
        return r?.status === 503 ? r : undefined;
      },
      { what: 'a 503 from /health/ready' },
    );
    expect(report.body.checks?.['postgres']?.status).toBe('down');
    await eventually(() => (lines.some((l) => l.includes('PostgreSQL not reachable')) ? true : undefined), {
      what: 'a "PostgreSQL not reachable" log line',
    });

    proxy.setMode('up');
    service = await starting;
    const ready = await eventually(
      async () => {
        const r = await readiness(opsPort);
        return r.status === 200 ? r : undefined;
      },
      { what: 'a 200 from /health/ready' },
    );
    expect(ready.body.checks?.['postgres']?.status).toBe('up');
  });

  it('waits for NATS, reports it missing, and starts once it answers', async () => {
    const { hostname, port } = new URL(testNatsUrl());
    const proxy = await startTcpProxy(hostname, Number(port || 4222));
    proxies.push(proxy);
    proxy.setMode('refuse');
    const opsPort = await freePort();
    const { logger, lines } = capturedLogger();
    const starting = startCoordination(config({ NATS_URL: proxy.url(testNatsUrl()) }, opsPort), { logger });

    const report = await eventually(
      async () => {
        const r = await readiness(opsPort).catch(() => undefined);
        return r?.status === 503 && lines.some((l) => l.includes('NATS not reachable')) ? r : undefined;
      },
      { what: 'a 503 from /health/ready and a "NATS not reachable" log line' },
    );
    expect(report.body.checks?.['nats']?.status).toBe('down');
    expect(report.body.checks?.['postgres']?.status).toBe('up');

    proxy.setMode('up');
    service = await starting;
    await eventually(async () => ((await readiness(opsPort)).status === 200 ? true : undefined), {
      what: 'a 200 from /health/ready',
    });
  });
});
